"""Domain errors raised by services, and the one place that turns errors into responses.

Pages get friendly HTML; everything under ``/api/`` gets the API's one JSON error
shape: ``{"error": {"code", "message", "details"}}``.
"""
from __future__ import annotations

import time

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from samskap.database import is_busy, is_collision
from samskap.extensions import db
from samskap.outages import busy_response, is_connection_lost, unavailable_response


class DomainError(Exception):
    """A rule was broken; ``message`` is meant for people."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: dict | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code:
            self.code = code


class ValidationFailed(DomainError):
    """One or more fields are invalid: ``details['fields']`` maps field name to message."""

    status = 422
    code = "invalid"

    def __init__(self, fields: dict[str, str], message: str | None = None):
        super().__init__(message or "; ".join(str(v) for v in fields.values()), details={"fields": fields})
        self.fields = fields


class Conflict(DomainError):
    """The request clashes with existing data: ``details['conflicts']`` lists the clashes."""

    status = 409
    code = "conflict"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def api_error(status: int, code: str, message: str, details: dict | None = None):
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    return response


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "server_error",
    503: "unavailable",
}


def retry_after(error: HTTPException) -> str:
    """Whole seconds until the limit that refused this request lets it through again: asked of the
    limiter's storage only now, on a refusal, not on every answer."""
    from samskap.extensions import limiter

    existing = error.get_response().headers.get("Retry-After")
    if existing:
        return existing
    try:
        current = limiter.current_limit
        seconds = int(current.reset_at - time.time()) if current is not None else 60
    except Exception:  # storage unreachable: a minute is the shortest window any limit here has
        seconds = 60
    return str(max(1, seconds))


def register_error_handlers(app) -> None:
    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError):
        if is_api_request():
            return api_error(error.status, error.code, error.message, error.details)
        return render_template("errors/error.html", status=error.status, message=error.message), error.status

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException):
        status = error.code or 500
        if getattr(error, "response", None) is not None and not is_api_request():
            return error.response  # a view (or the sign-in rate limit) already rendered its own answer
        if is_api_request():
            response = api_error(status, _HTTP_CODES.get(status, "error"), error.description or error.name)
            if status == 429:
                response.headers["Retry-After"] = retry_after(error)
            if status == 405 and getattr(error, "valid_methods", None):
                response.headers["Allow"] = ", ".join(error.valid_methods)
            return response
        response = error.get_response()
        template = "errors/error.html"
        body = render_template(template, status=status, message=None, error=error)
        response.set_data(body)
        response.content_type = "text/html; charset=utf-8"
        return response

    @app.errorhandler(DBAPIError)
    def handle_database_error(error: DBAPIError):
        if is_connection_lost(error):
            return unavailable_response(error)
        if is_busy(error):
            return busy_response(error)
        if not is_collision(error):
            return handle_unexpected(error)
        # The database ended this request's transaction because another one was changing the
        # same rows at the same moment: nothing was saved, and trying again is safe.
        db.session.rollback()
        app.logger.warning("Concurrent-write collision on %s %s", request.method, request.url_rule or "(no route)")
        message = _("Someone else changed the same thing at the same moment, so nothing was saved. Please try again.")
        if is_api_request():
            return api_error(409, "concurrent_change", message)
        return render_template("errors/error.html", status=409, message=message), 409

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        if app.testing and not app.config.get("SAMSKAP_RENDER_500_IN_TESTS"):
            raise error  # let tests see the traceback instead of a friendly page
        # The route pattern, not the path: feed paths carry secret tokens.
        app.logger.exception("Unhandled error on %s %s", request.method, request.url_rule or "(no route)")
        if is_api_request():
            return api_error(500, "server_error", _("Something went wrong on our side."))
        return render_template("errors/error.html", status=500, message=None), 500
