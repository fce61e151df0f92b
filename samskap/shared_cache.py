"""A cache shared by every host and process: Redis at ``SAMSKAP_CACHE_URL``, or nothing.

It only ever saves work: whatever goes wrong with Redis (down, slow, full, a wrong password),
the caller is told "not there" and builds the value itself. Timeouts are short, the first
error of an outage is logged once (and the recovery once), and for a few seconds after an error
Redis is not asked at all, so that a dead Redis costs a request nothing but a clock reading.

Keys carry a prefix (``SAMSKAP_CACHE_PREFIX``; by default one made from the database URL, so
that two databases sharing one Redis never see each other's entries).
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time

from flask import current_app

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 0.25  # seconds; Redis runs next to the app hosts
READ_TIMEOUT = 0.5
PAUSE_AFTER_ERROR = 5.0  # seconds without asking Redis after an error


class SharedCache:
    def __init__(self, url: str, prefix: str, *, pause_after_error: float | None = None):
        import redis

        self.url = url
        self.prefix = prefix
        self._client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT,
                                            socket_timeout=READ_TIMEOUT, retry_on_timeout=False,
                                            health_check_interval=30)
        self._pause = PAUSE_AFTER_ERROR if pause_after_error is None else pause_after_error
        self._paused_until = 0.0
        self._down = False
        self._lock = threading.Lock()

    def _available(self) -> bool:
        return time.monotonic() >= self._paused_until

    def _failed(self, action: str, error: Exception) -> None:
        from samskap.metrics import SHARED_CACHE_ERRORS

        SHARED_CACHE_ERRORS.labels(action).inc()
        with self._lock:
            self._paused_until = time.monotonic() + self._pause
            first = not self._down
            self._down = True
        if first:
            log.warning("Shared cache unreachable (%s: %s); serving from this process until it answers again",
                        action, type(error).__name__)

    def _succeeded(self) -> None:
        if self._down:
            with self._lock:
                was_down, self._down = self._down, False
            if was_down:
                log.info("Shared cache reachable again")

    def get(self, key: str) -> bytes | None:
        """The value, or None when absent or when Redis cannot answer."""
        if not self._available():
            return None
        try:
            value = self._client.get(self.prefix + key)
        except Exception as error:  # any failure of the cache is a miss, never an error page
            self._failed("get", error)
            return None
        self._succeeded()
        return value

    def set(self, key: str, value: bytes, ttl_seconds: int) -> bool:
        if not self._available():
            return False
        try:
            self._client.set(self.prefix + key, value, ex=ttl_seconds)
        except Exception as error:
            self._failed("set", error)
            return False
        self._succeeded()
        return True

    def ping(self) -> bool:
        """Whether Redis answers now (asked even while paused: for /readyz)."""
        try:
            ok = bool(self._client.ping())
        except Exception as error:
            self._failed("ping", error)
            return False
        self._succeeded()
        return ok

    def clear(self) -> int:
        """Delete every key under this prefix (SCAN, never FLUSHDB); how many went."""
        deleted = 0
        batch = []
        for key in self._client.scan_iter(match=self._escaped_prefix() + "*", count=500):
            batch.append(key)
            if len(batch) >= 500:
                deleted += self._client.delete(*batch)
                batch = []
        if batch:
            deleted += self._client.delete(*batch)
        return deleted

    def _escaped_prefix(self) -> str:
        return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in self.prefix)

    def close(self) -> None:
        self._client.close()


def default_prefix(database_url: str) -> str:
    """``samskap:<12 hex digits>:`` from the database URL without its password."""
    import sqlalchemy as sa

    try:
        shown = sa.make_url(database_url).render_as_string(hide_password=True)
    except Exception:
        shown = database_url
    return "samskap:" + hashlib.sha256(shown.encode()).hexdigest()[:12] + ":"


def shared_cache(app=None) -> SharedCache | None:
    """This app's shared cache, or None when ``SAMSKAP_CACHE_URL`` is unset."""
    app = app or current_app._get_current_object()
    if "samskap_shared_cache" not in app.extensions:
        url = app.config.get("SAMSKAP_CACHE_URL")
        cache = None
        if url:
            prefix = app.config.get("SAMSKAP_CACHE_PREFIX") or default_prefix(app.config["SQLALCHEMY_DATABASE_URI"])
            cache = SharedCache(url, prefix)
        app.extensions["samskap_shared_cache"] = cache
    return app.extensions["samskap_shared_cache"]
