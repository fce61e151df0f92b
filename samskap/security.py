"""Security headers and the open-redirect guard."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import request

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


# Set on every answer that has not set its own. "same-origin" referrers: a Referer goes to this
# site only (the HTTPS CSRF check may use it), never to another site, so feed URLs with their
# secret tokens stay out of other sites' logs.
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)

_SECURITY_HEADERS = tuple((name.lower(), name, value) for name, value in SECURITY_HEADERS)

NUL_MARKERS = (b"\x00", b"%00", b"\\u0000")


def _has_nul(request) -> bool:
    """NUL characters anywhere in the path, query or body (raw, percent-encoded or JSON-escaped).
    No text in Samskap may hold one, and PostgreSQL cannot store them."""
    if "\x00" in request.path:
        return True
    query = request.query_string.lower()
    if any(marker in query for marker in NUL_MARKERS):
        return True
    body = request.get_data(cache=True).lower()  # cached: forms and JSON are parsed from it later
    return any(marker in body for marker in NUL_MARKERS)


MAX_JSON_DEPTH = 64  # no request here nests deeper than a few levels
_OPENERS, _CLOSERS, _QUOTE, _BACKSLASH = frozenset(b"[{"), frozenset(b"]}"), ord('"'), ord("\\")


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the JSON text ``body`` nests arrays/objects deeper than ``limit``, judged by a
    scan of its bytes (brackets inside strings do not count) before any parser recurses into it:
    Python's json module raises RecursionError (a 500) on about a thousand levels."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # cannot be that deep: the common case costs two byte counts
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        elif byte in _CLOSERS:
            depth -= 1
    return False


def register_security(app) -> None:
    if app.config.get("MAX_CONTENT_LENGTH") is None:  # Flask's default is None: unlimited
        app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024  # no request here needs more

    @app.before_request
    def refuse_nul_characters():
        if _has_nul(request):
            from flask_babel import gettext as _
            from werkzeug.exceptions import BadRequest

            raise BadRequest(_("The request contains a NUL character, which no field may hold."))

    @app.before_request
    def refuse_over_deep_json():
        # Every JSON body, whichever view reads it later: one guard, before any parser recurses.
        if request.is_json and json_too_deep(request.get_data(cache=True)):
            from flask_babel import gettext as _
            from werkzeug.exceptions import BadRequest

            raise BadRequest(_("The JSON body is nested more than %(n)d levels deep.", n=MAX_JSON_DEPTH))

    @app.after_request
    def set_security_headers(response):
        # Each header unless the view set its own (feeds say "no-referrer", booking/feeds/views.py):
        # one pass over the answer's headers, not one search per header.
        headers = response.headers
        present = {name.lower() for name, _value in headers}
        for lower, name, value in _SECURITY_HEADERS:
            if lower not in present:
                headers.add(name, value)
        if app.config.get("SAMSKAP_HSTS") and request.is_secure and "strict-transport-security" not in present:
            headers.add("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        # Werkzeug's make_conditional (feeds, static files) adds a Date header, and the HTTP server
        # (gunicorn, Werkzeug's own) always writes one more: two Date headers. The server's is the
        # one HTTP requires; the application's is dropped.
        if "date" in present:
            headers.pop("Date", None)
        return response


def safe_next_url(target: str | None) -> str | None:
    """Return ``target`` only if it is a path on this site; refuse anything else.

    Refuses absolute URLs, scheme-relative ``//host`` URLs, backslash tricks and
    control characters, so ``?next=`` cannot be used to send users elsewhere.
    """
    if not target or not isinstance(target, str):
        return None
    if any(ord(ch) < 32 for ch in target) or "\\" in target:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
