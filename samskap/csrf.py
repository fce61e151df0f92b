"""CSRF protection: Flask-WTF's token check, plus a same-origin check over HTTPS that works
with the referrer policy the pages send.

Flask-WTF's own HTTPS check (``WTF_CSRF_SSL_STRICT``) insists on a same-origin ``Referer``.
That is sound, but only as long as browsers send one: with ``Referrer-Policy: no-referrer``
every form failed over HTTPS. Here the ``Origin`` header (sent by browsers on every POST)
decides when present, and the ``Referer`` (sent to our own origin under the pages'
``Referrer-Policy: same-origin``) otherwise; a request naming neither is refused, as before.
So a form over HTTPS needs a valid token AND must come from a page of this site.
"""
from __future__ import annotations

from flask import current_app, g, request
from flask_wtf.csrf import CSRFProtect, same_origin, validate_csrf
from wtforms.validators import ValidationError


def request_origin_problem() -> str | None:
    """Why this HTTPS request does not come from a page of this site, or None when it does."""
    own = f"https://{request.host}"
    origin = request.headers.get("Origin")
    if origin and origin != "null":  # "null": an opaque origin (sandboxed frame, privacy mode)
        return None if origin.rstrip("/") == own else "The request comes from another site."
    if not request.referrer:
        return "The request names neither its origin nor its referrer."
    if not same_origin(request.referrer, own + "/"):
        return "The referrer does not match the host."
    return None


class SameOriginCSRFProtect(CSRFProtect):
    def protect(self, apply_exemptions=False):
        if apply_exemptions and (not request.endpoint or self._is_exempt()):
            return
        if request.method not in current_app.config["WTF_CSRF_METHODS"]:
            return
        try:
            validate_csrf(self._get_csrf_token())
        except ValidationError as e:
            self._error_response(e.args[0])
        if request.is_secure and current_app.config["WTF_CSRF_SSL_STRICT"]:
            problem = request_origin_problem()
            if problem:
                self._error_response(problem)
        g.csrf_valid = True
