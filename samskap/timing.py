"""``Server-Timing: app;dur=<ms>`` on every response: how long the application itself took,
so that benchmarks (and browser dev tools) can tell server time from network and client time."""
from __future__ import annotations

import time

from flask import g


def register_timing(app) -> None:
    @app.before_request
    def _start_timer():
        g._request_started = time.perf_counter()

    @app.after_request
    def _server_timing(response):
        started = g.get("_request_started")
        if started is not None:
            response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        return response
