"""Security headers and the open-redirect guard."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import request

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def register_security(app) -> None:
    @app.after_request
    def set_security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Feed URLs carry secrets in their path: never leak them in Referer headers.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config.get("SAMSKAP_HSTS") and request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
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
