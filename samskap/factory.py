"""The application factory: configuration, extensions, blueprints, and nothing else."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from samskap.outages import SamskapFlask, register_outage_handling
from samskap import config as config_module
from samskap.extensions import csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    app = SamskapFlask(
        "samskap",
        root_path=str(ROOT),
        instance_path=os.environ.get("SAMSKAP_INSTANCE_PATH", str(ROOT / "instance")),
        template_folder="templates",
        static_folder="static",
    )
    app.config.update(config_module.base_config(app.instance_path))
    if config:
        app.config.update(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    config_module.finalise(app)

    _init_extensions(app)
    from samskap.ids import IdConverter

    app.url_map.converters["int"] = IdConverter  # before any route: ids beyond the columns' range are 404
    _register_blueprints(app)
    _trust_proxies(app)

    from samskap.errors import register_error_handlers
    from samskap.i18n import register_i18n
    from samskap.logs import register_logging
    from samskap.ops import register_ops
    from samskap.security import register_security
    from samskap.timing import register_timing
    from samskap.cli import register_cli

    register_error_handlers(app)
    register_i18n(app)
    register_timing(app)  # first: every answer, even a refused one, is timed and has a request id
    register_logging(app)
    register_security(app)
    register_ops(app)
    register_cli(app)
    from samskap.worker import register_worker_cli

    register_worker_cli(app)

    from samskap.nav import admin_links, nav_items
    from accounts.forms import KIND_LABELS, ROLE_LABELS, ConfirmForm, LanguageForm

    @app.context_processor
    def inject_layout():
        return {
            "nav_items": nav_items,
            "admin_links": admin_links,
            # The layout's own forms never read the request (an error page may be
            # rendering because the request body itself was refused).
            "layout_confirm_form": lambda: ConfirmForm(formdata=None),
            "layout_language_form": lambda: LanguageForm(formdata=None),
            "kind_label": lambda value: KIND_LABELS.get(value, value),
            "role_label": lambda value: ROLE_LABELS.get(value, value),
        }

    return app


def _init_extensions(app: Flask) -> None:
    # Import models so metadata is complete for Alembic and the session.
    import accounts.models  # noqa: F401
    import accounts.signin.models  # noqa: F401
    import booking.models  # noqa: F401
    import booking.fairuse.models  # noqa: F401
    import booking.projects.models  # noqa: F401
    import booking.registrations.models  # noqa: F401
    import booking.participants  # noqa: F401
    import booking.fields  # noqa: F401
    import spaces.booking_fields  # noqa: F401
    import samskap.audit  # noqa: F401
    import samskap.idempotency  # noqa: F401
    import samskap.mail  # noqa: F401
    import samskap.worker  # noqa: F401
    import spaces.models  # noqa: F401
    from samskap.database import configure_engine

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine, app.config["SAMSKAP_DB_PING_AFTER_IDLE"],
                         busy_timeout_ms=app.config.get("SAMSKAP_SQLITE_BUSY_TIMEOUT_MS", 15000))
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    register_outage_handling(app)  # loads the caller before the rate limiter's check
    limiter.init_app(app)

    from accounts.auth import init_login

    init_login(app, login_manager)


def _trust_proxies(app: Flask) -> None:
    """Behind N reverse proxies, take client address, scheme and host from their X-Forwarded-*
    headers, so rate limits count real clients and HTTPS is recognised (HSTS, Secure links)."""
    count = app.config.get("SAMSKAP_PROXY_COUNT", 0)
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)


def _register_blueprints(app: Flask) -> None:
    from accounts import init_app as init_accounts
    from accounts.views import admin_bp, auth_bp
    from accounts.api import api_bp
    from booking.api import api_bp as booking_api_bp
    from booking.equipment import api as equipment_api, views as equipment_views
    from booking.views import bookings_bp
    from booking.feeds import init_app as init_feeds
    from booking.fairuse import init_app as init_fairuse
    from samskap.views import main_bp
    from spaces import init_app as init_spaces

    init_accounts(app)
    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(equipment_views.equipment_bp)
    app.register_blueprint(equipment_api.api_bp)
    init_spaces(app)
    app.register_blueprint(bookings_bp)
    app.register_blueprint(booking_api_bp)
    init_feeds(app)
    init_fairuse(app)
    from booking.projects import init_app as init_projects

    init_projects(app)
    from booking import init_app as init_booking
    from booking.registrations import init_app as init_registrations

    init_booking(app)  # what booking tells the lower areas (personal data, the catalogue's pages, demo data)
    init_registrations(app)
    import booking.notifications.jobs  # noqa: F401 (registers the worker's scheduled notifications)
    from accounts.signin.views import init_app as init_signin

    init_signin(app)
    from reports import init_app as init_reports

    init_reports(app)
