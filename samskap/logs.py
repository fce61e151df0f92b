"""Logs: a request id on every response, JSON lines on request, and no secrets in any line.

* ``X-Request-ID``: a safe incoming id (from the load balancer) is kept, otherwise one is made;
  it is sent back on every response and added to every log record of the request.
* ``SAMSKAP_LOG_FORMAT=json``: one JSON object a line (``time``, ``level``, ``logger``,
  ``message``, ``request_id``, and for the line each request writes: ``method``, ``path``,
  ``status``, ``duration_ms``). Gunicorn's own logs use the same formatter when started with
  ``gunicorn.conf.py``.
* Paths are logged without their query string, and path segments that are secrets (feed tokens,
  any long token-like segment) are replaced by ``[token]``: a feed URL is a password.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from datetime import UTC, datetime

from flask import g, has_request_context, request

REQUEST_LOG = logging.getLogger("samskap.request")

_FEED_TOKEN = re.compile(r"(/feeds/)[A-Za-z0-9_-]{16,}(\.ics)")
# secrets.token_urlsafe(32) is 43 characters; slugs and ids are far shorter. A long token-like
# segment anywhere (an invitation or sign-in link) is redacted too.
_LONG_SEGMENT = re.compile(r"(?<=/)[A-Za-z0-9_-]{32,}(?=[/.?#\s\"]|$)")
_LONG_VALUE = re.compile(r"(?<==)[A-Za-z0-9_-]{32,}")  # a token as a query or form value
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def redact_path(path: str) -> str:
    """``path`` with feed tokens and other token-like segments replaced by ``[token]``."""
    path = _FEED_TOKEN.sub(r"\1[token]\2", path)
    return _LONG_SEGMENT.sub("[token]", path)


def redact_text(text: str) -> str:
    """Any text that may hold a URL (a request line, a message): tokens redacted, and the query
    string of a feed URL dropped."""
    text = re.sub(r"(/feeds/[^\s?\"]*)\?[^\s\"]*", r"\1", text)
    text = _LONG_SEGMENT.sub("[token]", _FEED_TOKEN.sub(r"\1[token]\2", text))
    return _LONG_VALUE.sub("[token]", text)


def current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record logged while a request is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class RedactTokens(logging.Filter):
    """Removes tokens from a record's message and arguments, whoever logs it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_text(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact_text(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


_RECORD_FIELDS = ("method", "path", "status", "duration_ms", "remote_addr", "user_agent", "endpoint")


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact_text(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        for name in _RECORD_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def json_handler(stream=None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactTokens())
    handler._samskap_json = True  # noqa: SLF001 - marks the handler so it is installed once
    return handler


def configure_json_logging(level: int = logging.INFO) -> None:
    """Route every logger through one JSON handler on standard error (once per process)."""
    root = logging.getLogger()
    if any(getattr(h, "_samskap_json", False) for h in root.handlers):
        return
    root.addHandler(json_handler())
    root.setLevel(level)
    from flask.logging import default_handler

    logging.getLogger("samskap").removeHandler(default_handler)  # the app's logger: root's handler only


def _incoming_request_id() -> str:
    given = request.headers.get("X-Request-ID", "")
    if _SAFE_REQUEST_ID.fullmatch(given):
        return given
    return os.urandom(16).hex()  # a uuid4's 32 hex digits, without building a UUID


def register_logging(app) -> None:
    """Request ids on every request; in JSON mode, every logger as JSON and a line per request."""
    json_mode = (app.config.get("SAMSKAP_LOG_FORMAT") or "text").lower() == "json"
    if json_mode:
        configure_json_logging()
    for name in ("werkzeug", "samskap"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())

    @app.before_request
    def _request_id():
        g.request_id = _incoming_request_id()

    @app.after_request
    def _send_request_id(response):
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        if json_mode:
            started = g.get("_request_started")
            duration = round((time.perf_counter() - started) * 1000, 2) if started is not None else None
            REQUEST_LOG.info("%s %s %s", request.method, redact_path(request.path), response.status_code,
                             extra={"method": request.method, "path": redact_path(request.path),
                                    "status": response.status_code, "duration_ms": duration,
                                    "remote_addr": request.remote_addr,
                                    "endpoint": request.url_rule.endpoint if request.url_rule else None})
        return response


try:  # gunicorn is a production dependency, but the app runs without it (flask run, tests)
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover
    _GunicornLogger = None

if _GunicornLogger is not None:
    class GunicornLogger(_GunicornLogger):
        """Gunicorn's logger with every access-log field that can hold a URL redacted."""

        def atoms(self, resp, req, environ, request_time):
            atoms = super().atoms(resp, req, environ, request_time)
            for key, value in atoms.items():
                if isinstance(value, str) and ("/" in value or "=" in value):
                    atoms[key] = redact_text(value)
            return atoms
