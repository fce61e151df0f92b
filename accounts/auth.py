"""Flask-Login wiring: session users carry a version so that sign-out, password change
and deactivation end every other session; API requests may use a bearer token."""
from __future__ import annotations

from flask import g, request
from flask_babel import lazy_gettext as _l

from accounts.models import User
from samskap.extensions import db
from samskap.ids import parse_count, parse_id


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
        from accounts.services import user_for_api_token

        user = user_for_api_token(secret.strip())
        if user is not None:
            g.auth_via_token = True
            if db.session.dirty:
                db.session.commit()  # the hourly last-used touch
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
