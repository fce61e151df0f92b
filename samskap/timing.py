"""``Server-Timing: app;dur=<ms>`` on every response: how long the application itself took,
so that benchmarks (and browser dev tools) can tell server time from network and client time.
Code handling a request may add entries of its own with :func:`note` (for example
``feed;desc=shared``: where a calendar feed came from)."""
from __future__ import annotations

import time

from flask import g, has_request_context, request


STARTED = "samskap.request_started"


def register_timing(app) -> None:
    # The clock starts where the request enters the application, before Flask opens the session,
    # loads the caller and asks the rate limiter (all before_request work of the extensions), so
    # the figure is the whole request's cost and not only the view's.
    inner = app.wsgi_app

    def timed_wsgi_app(environ, start_response):
        environ[STARTED] = time.perf_counter()
        return inner(environ, start_response)

    app.wsgi_app = timed_wsgi_app

    def _start_timer():
        g._request_started = request.environ.get(STARTED) or time.perf_counter()

    # First of all before_request functions, so a request refused by an earlier one (the rate
    # limiter, a lost database connection) is timed too.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)

    @app.after_request
    def _server_timing(response):
        started = g.get("_request_started")
        if started is not None:
            header = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
            for name, description in g.get("_server_timing_notes", ()):
                header += f', {name};desc="{description}"'
            response.headers["Server-Timing"] = header
        return response


def note(name: str, description: str) -> None:
    """Add ``name;desc="description"`` to this request's Server-Timing header (plain tokens only)."""
    if has_request_context():
        g.setdefault("_server_timing_notes", []).append((name, description))
