"""``Server-Timing: app;dur=<ms>`` on every response: how long the application itself took,
so that benchmarks (and browser dev tools) can tell server time from network and client time.
Code handling a request may add entries of its own with :func:`note` (for example
``feed;desc=shared``: where a calendar feed came from)."""
from __future__ import annotations

import time

from flask import g, has_request_context


def register_timing(app) -> None:
    @app.before_request
    def _start_timer():
        g._request_started = time.perf_counter()

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
