"""Flask extensions, created unbound and initialised in the application factory."""
from flask_babel import Babel
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from samskap.csrf import SameOriginCSRFProtect
from samskap.limits import SamskapLimiter

# Stable constraint names, so that migrations are reproducible and a database
# error names the rule it broke (for example ``ck_bookings_end_after_start``).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = SameOriginCSRFProtect()
babel = Babel()
# X-RateLimit-* headers on every answer would cost two more storage round trips per request
# (Redis in production) for figures no client of ours reads; a refused request still says when to
# come back (Retry-After, samskap/errors.py). Flask-Limiter, with the common checks answered directly
# (samskap/limits.py).
limiter = SamskapLimiter(key_func=get_remote_address)
