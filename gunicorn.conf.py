"""Gunicorn settings for Samskap in production: ``gunicorn -c gunicorn.conf.py app:app``.

Every value can be changed by environment variables (gunicorn reads ``GUNICORN_CMD_ARGS`` and
``WEB_CONCURRENCY`` itself; the others are Samskap's):

* ``SAMSKAP_BIND`` (``127.0.0.1:8000``), ``WEB_CONCURRENCY`` (workers, ``2 × cores + 1``),
  ``SAMSKAP_THREADS`` (threads per worker, ``4``).
* Metrics: prometheus_client's multiprocess mode needs ``PROMETHEUS_MULTIPROC_DIR`` set before
  the app (and prometheus_client) is imported; when unset, a fresh directory is made here. Give
  each gunicorn instance its own: it is emptied when gunicorn starts, and a worker that exits
  is marked dead so its gauges go.
* Restarts that drop no request: ``kill -HUP <master>`` replaces the workers; each old worker
  stops accepting, finishes what it holds (``graceful_timeout``) and exits, while the master keeps
  the listening socket. ``preload_app``: the master loads the app once and workers fork from it in
  milliseconds; without it the old workers stop before the new ones have loaded the app, and
  requests wait in the backlog meanwhile (seconds on a busy machine). The price:
  HUP reloads configuration and workers, not code; new code needs a rolling restart (README,
  "When something fails").
* Logs: with ``SAMSKAP_LOG_FORMAT=json`` gunicorn's own messages are JSON lines too, and the
  access log is left to the app (one JSON line a request, with the request id). Otherwise the
  access log is gunicorn's, with the request id, and feed tokens replaced by ``[token]``.
  ``SAMSKAP_ACCESS_LOG=off`` leaves gunicorn's access log out (behind a proxy that logs every
  request already: one line less to format and write per request); errors and the app's own
  lines are still written, and ``X-Request-ID`` ties the proxy's line to them.
"""
import multiprocessing
import os
import tempfile
from pathlib import Path

bind = os.environ.get("SAMSKAP_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
worker_class = "gthread"
threads = int(os.environ.get("SAMSKAP_THREADS", "4"))
timeout = 30
graceful_timeout = 30  # SIGTERM: finish running requests, then stop (rolling upgrades)
# Seconds an idle client connection is kept. With upstream keep-alive at the proxy, set it above
# the proxy's idle timeout (nginx keepalive_timeout 60s -> 75), so the proxy closes idle connections.
keepalive = 5
preload_app = True
# Gunicorn 27's control socket defaults to one path per user: several instances on one machine
# (hosts in tests, a blue/green pair) would take it from each other. Off unless a path is given.
control_socket = os.environ.get("SAMSKAP_CONTROL_SOCKET") or None
control_socket_disable = control_socket is None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="samskap-metrics-")
_metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])

_json_logs = os.environ.get("SAMSKAP_LOG_FORMAT", "text").strip().lower() == "json"
_access_log = os.environ.get("SAMSKAP_ACCESS_LOG", "on").strip().lower() not in {"off", "0", "false", "no"}
logger_class = "samskap.logs.GunicornLogger"
errorlog = "-"
loglevel = os.environ.get("SAMSKAP_LOG_LEVEL", "info")
if _json_logs:
    accesslog = None  # the app writes one JSON line per request
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "samskap.logs.JsonFormatter"}},
        "filters": {"redact": {"()": "samskap.logs.RedactTokens"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["redact"],
                                "stream": "ext://sys.stderr"}},
        "root": {"level": "INFO", "handlers": []},  # the app adds its own JSON handler (samskap/logs.py)
        "loggers": {
            "gunicorn.error": {"level": loglevel.upper(), "handlers": ["stderr"], "propagate": False},
            # The app writes the request lines; gunicorn's own would repeat each one.
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        },
    }
else:
    accesslog = "-" if _access_log else None
    access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s" request_id=%({x-request-id}o)s'


def on_starting(server):
    _metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in _metrics_dir.glob("*.db"):  # values of a previous run's workers
        stale.unlink()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_fork(server, worker):
    """A forked worker must never use a database connection its master opened (two processes on
    one socket). The app opens none while loading; this keeps it so if that ever changes:
    SQLAlchemy's recipe for pools inherited across fork."""
    app = getattr(server.app, "callable", None)  # the preloaded app, or None
    if app is None or "sqlalchemy" not in getattr(app, "extensions", {}):
        return  # not the Samskap app (the benchmark's minimal app, say), or not preloaded
    from samskap.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
