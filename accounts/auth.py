"""Flask-Login wiring: session users carry a version so that sign-out, password change
and deactivation end every other session; API requests may use a bearer token."""
from __future__ import annotations

from datetime import timedelta
from functools import cache

import sqlalchemy as sa
from flask import g, request
from flask_babel import lazy_gettext as _l

from accounts.models import ApiToken, User, hash_token
from samskap.extensions import db
from samskap.ids import parse_count, parse_id
from samskap.timeutil import utcnow

# A token's last use is written at most this often: a write on every request would turn reads
# into lock traffic.
TOKEN_TOUCH_INTERVAL = timedelta(hours=1)
MAX_TOKEN_LENGTH = 200


@cache
def _token_query() -> sa.Select:
    """Built once per process: building the statement and its cache key again on every request
    cost about a fifth of the lookup's CPU (bench/RESULTS.md); only the token's hash is bound."""
    return (sa.select(ApiToken.id, ApiToken.last_used_at, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == sa.bindparam("token_hash"), ApiToken.revoked_at.is_(None)))


def user_for_api_token(secret: str) -> User | None:
    """The active user a live API token belongs to, or None; records the token's use (hourly).

    One query every request, never a cache: revoking a token or deactivating its user takes
    effect at once, on every host. It reads the token's three columns it needs as a plain row
    beside the user (with their organisation, joined), not a third ORM object."""
    if not secret or len(secret) > MAX_TOKEN_LENGTH:
        return None
    row = db.session.execute(_token_query(), {"token_hash": hash_token(secret)}).first()
    if row is None or not row.User.is_active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > TOKEN_TOUCH_INTERVAL:
        db.session.execute(sa.update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
        db.session.commit()
    return row.User


def init_login(app, login_manager) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str):
        ident, _, version = (user_id or "").partition(":")
        user_id, version = parse_id(ident), parse_count(version)
        if user_id is None or version is None:
            return None
        user = db.session.get(User, user_id)
        if user is None or user.session_version != version or not user.is_active:
            return None
        return user

    @login_manager.request_loader
    def load_user_from_bearer(req):
        # Bearer tokens are for the JSON API only; pages need a browser session.
        if not req.path.startswith("/api/"):
            return None
        header = req.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            return None
        user = user_for_api_token(secret.strip())
        if user is not None:
            g.auth_via_token = True
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import flash, redirect, url_for
        from samskap.errors import api_error, is_api_request
        from samskap.security import safe_next_url

        if is_api_request():
            return api_error(401, "unauthorized", "Authentication required: send 'Authorization: Bearer <token>' "
                                                  "or sign in.")
        flash(login_manager.login_message, "info")
        return redirect(url_for("auth.login", next=safe_next_url(request.full_path.rstrip("?"))))
