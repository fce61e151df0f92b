"""Shared plumbing for the JSON API under ``/api/v1``.

Every API blueprint is made with :func:`api_blueprint`, which requires an
authenticated caller (bearer token or browser session), checks CSRF on
cookie-authenticated writes, applies the API rate limit and answers errors in
the API's one JSON error shape (samskap/errors.py).
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms.validators import ValidationError

from flask_babel import gettext as _

from samskap.ids import MAX_ID, parse_count
from samskap.text import unstorable_fields
from samskap.errors import DomainError, ValidationFailed, api_error
from samskap.extensions import csrf, limiter

API_PREFIX = "/api/v1"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def api_limit() -> str:
    return current_app.config["SAMSKAP_API_LIMIT"]


def api_key() -> str:
    if current_user and current_user.is_authenticated:
        return f"api-user:{current_user.id}"
    return f"api-addr:{request.remote_addr}"


def api_blueprint(name: str, import_name: str, *, public_endpoints: tuple[str, ...] = ()) -> Blueprint:
    bp = Blueprint(name, import_name, url_prefix=API_PREFIX)
    csrf.exempt(bp)  # the API checks CSRF itself for cookie-authenticated writes (samskap/csrf.py)
    limiter.limit(api_limit, key_func=api_key, scope="api")(bp)

    @bp.before_request
    def require_caller():
        if request.endpoint in {f"{name}.{e}" for e in public_endpoints}:
            return None
        if not current_user.is_authenticated:
            return api_error(401, "unauthorized",
                             "Authentication required: send 'Authorization: Bearer <token>' or sign in.")
        if request.method in UNSAFE_METHODS and not g.get("auth_via_token"):
            # Cookie-authenticated writes must prove they come from our own pages.
            token = request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token")
            try:
                validate_csrf(token)
            except (ValidationError, CSRFError):
                return api_error(400, "csrf_failed",
                                 "Missing or invalid CSRF token: send it in the X-CSRFToken header.")
        return None

    return bp


def json_body() -> dict:
    """The request's JSON object, or a 400 in the API's error shape."""
    if not request.data:
        raise DomainError("The request needs a JSON object body.", code="bad_request")
    if not request.is_json:
        raise DomainError("Send the body as JSON with 'Content-Type: application/json'.", code="bad_request")
    data = request.get_json(silent=True)
    if data is None:
        raise DomainError("The body is not valid JSON.", code="bad_request")
    if not isinstance(data, dict):
        raise DomainError("The JSON body must be an object.", code="bad_request")
    unstorable = unstorable_fields(data)
    if unstorable:
        message = _("This text holds characters that cannot be stored (a lone UTF-16 surrogate).")
        raise ValidationFailed({field: message for field in unstorable})
    return data


def query_int(name: str, *, required: bool = False, minimum: int | None = None,
              maximum: int = MAX_ID) -> int | None:
    """An integer query parameter, or a 422; beyond ``maximum`` (by default the range of the
    integer columns it is compared with) it is refused rather than overflowing a query."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        if required:
            raise ValidationFailed({name: f"'{name}' is required."})
        return None
    value = parse_count(raw)
    if value is None:
        raise ValidationFailed({name: f"'{name}' must be a whole number from 0 to {MAX_ID}."})
    if minimum is not None and value < minimum:
        raise ValidationFailed({name: f"'{name}' must be at least {minimum}."})
    if value > maximum:
        raise ValidationFailed({name: f"'{name}' must be at most {maximum}."})
    return value
