"""Prometheus metrics: ``GET /metrics`` (samskap/ops.py) and the counters the app keeps.

Under gunicorn every worker is its own process, so the metrics are kept in prometheus_client's
multiprocess mode: ``PROMETHEUS_MULTIPROC_DIR`` names a directory where each worker writes its
values into memory-mapped files, and a scrape adds them up (``gunicorn.conf.py`` sets the
directory before the app is loaded and marks a worker dead when it exits). Without that
variable (``flask run``, tests) the metrics live in the process's own registry.

A request costs a counter increment and a histogram observation (a few microseconds, no
database work). What needs the database (the notification queue) is read only when scraped, by
collectors registered with :func:`register_scrape_collector`.
"""
from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterable

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric

log = logging.getLogger(__name__)

# Buckets in seconds: most requests here answer in a few milliseconds (feeds from the cache,
# 304s), bookings in tens of milliseconds, a cold 5,000-event feed in a few hundred.
LATENCY_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# The histogram's ``_count`` series is the request count by endpoint, method and status (a
# separate counter would double the per-request work for the same number).
LATENCY = Histogram("samskap_http_request_duration_seconds",
                    "Time the application took to answer, by endpoint, method and status "
                    "(_count: requests answered)",
                    ("endpoint", "method", "status"), buckets=LATENCY_BUCKETS)
BOOKINGS_CREATED = Counter("samskap_bookings_created", "Bookings the service accepted (each occurrence of a "
                           "series counts)", ("kind",))
BOOKINGS_REFUSED = Counter("samskap_bookings_refused", "Booking requests the service refused, by error code",
                           ("reason",))
FEED_CACHE = Counter("samskap_feed_cache", "Calendar feed lookups by cache level (process, shared) and "
                     "result (hit, miss; an unreachable shared cache counts as a miss)", ("level", "result"))
SHARED_CACHE_ERRORS = Counter("samskap_shared_cache_errors", "Failed calls to the shared cache (Redis), by action",
                              ("action",))
FEED_BUILDS = Counter("samskap_feed_builds", "Calendar feeds built from the database (both cache levels missed)")


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


# --- what is read only at scrape time --------------------------------------------------------

_scrape_collectors: list[Callable[[], Iterable[Metric]]] = []


def register_scrape_collector(collect: Callable[[], Iterable[Metric]]) -> None:
    """Register ``collect() -> metric families``, called in the app context of each scrape of
    ``/metrics`` (and only then): for figures read from the database, such as the notification
    queue. A collector that raises is logged and left out of that scrape."""
    if collect not in _scrape_collectors:
        _scrape_collectors.append(collect)


class _ScrapeCollectors:
    def collect(self):
        for collect in list(_scrape_collectors):
            try:
                yield from list(collect())
            except Exception:  # a broken collector must not take the other metrics with it
                log.exception("metrics collector %s failed", getattr(collect, "__name__", collect))


# Statuses of outbox rows (samskap/mail.py) that still wait for delivery, and those that gave up.
OUTBOX_WAITING = frozenset({"queued", "sending"})
OUTBOX_FAILED = frozenset({"failed"})


def outbox_metrics() -> list[Metric]:
    from samskap.extensions import db

    rows = db.session.execute(sa.text("SELECT status, count(*) FROM outbox_messages GROUP BY status")).all()
    db.session.rollback()
    by_status = GaugeMetricFamily("samskap_outbox_messages", "Notification outbox rows by status",
                                  labels=("status",))
    counts = {str(status): int(count) for status, count in rows}
    for status, count in sorted(counts.items()):
        by_status.add_metric((status,), count)
    depth = GaugeMetricFamily("samskap_outbox_queue_depth", "Notifications waiting to be delivered",
                              value=sum(n for s, n in counts.items() if s.lower() in OUTBOX_WAITING))
    failed = GaugeMetricFamily("samskap_outbox_failed", "Notifications that could not be delivered",
                               value=sum(n for s, n in counts.items() if s.lower() in OUTBOX_FAILED))
    return [by_status, depth, failed]


register_scrape_collector(outbox_metrics)


def render_latest() -> bytes:
    """The text exposition of every metric: all gunicorn workers' in multiprocess mode."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(_ScrapeCollectors())
        return generate_latest(registry)
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY) + generate_latest(_single_process_scrape_registry())


_single_registry: CollectorRegistry | None = None


def _single_process_scrape_registry() -> CollectorRegistry:
    global _single_registry
    if _single_registry is None:
        _single_registry = CollectorRegistry()
        _single_registry.register(_ScrapeCollectors())
    return _single_registry


# --- recording --------------------------------------------------------------------------------

_latency_children: dict[tuple[str, str, int], object] = {}


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    key = (endpoint, method, status)
    child = _latency_children.get(key)
    if child is None:  # labels() validates and locks: once per label set, not per request
        child = _latency_children.setdefault(key, LATENCY.labels(endpoint, method, str(status)))
    child.observe(seconds)


def counts_bookings(service: Callable) -> Callable:
    """Count what a booking service accepted (``result.bookings``) and refused (the domain
    error's code). Counted when the service returns or raises, before the request commits."""
    from samskap.errors import DomainError

    @functools.wraps(service)
    def counted(*args, **kwargs):
        try:
            result = service(*args, **kwargs)
        except DomainError as error:
            BOOKINGS_REFUSED.labels(error.code).inc()
            raise
        made = getattr(result, "bookings", None) or ()
        kind = "series" if getattr(result, "series", None) is not None else "single"
        if made:
            BOOKINGS_CREATED.labels(kind).inc(len(made))
        return result

    return counted
