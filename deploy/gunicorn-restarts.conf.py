"""gunicorn settings for restarts that drop no request: ``gunicorn -c deploy/gunicorn-restarts.conf.py 'app:create_app()'``.

* ``kill -HUP <master>`` replaces the workers: new ones start, then each old worker stops
  accepting, finishes the requests it holds (up to ``graceful_timeout``) and exits. The listening
  socket stays with the master throughout, so no connection is refused.
* ``preload_app = True``: the master loads the app once and workers are forked from it in
  milliseconds. Without it gunicorn stops the old workers as soon as the new ones are forked, not
  when they have loaded the app, and requests wait in the socket's backlog for that long (8 s on
  a busy 2-core machine, measured): none is lost, but each waits. The app opens no database or
  Redis connection while loading (checked), so nothing is shared across the fork.
  The price: HUP reloads configuration and workers, not code. New code: a rolling restart
  (take a host out of the load balancer, ``kill -TERM`` — in-flight requests finish — start it,
  put it back, then the next host), or on one host ``kill -USR2`` (a new master with the new
  code), then ``kill -WINCH`` and ``kill -QUIT`` to the old master. See README.

Every value can be overridden on the command line (``--workers 8``) or with GUNICORN_CMD_ARGS.
"""
import os

bind = os.environ.get("SAMSKAP_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# Threads let a worker keep idle keep-alive connections without blocking on them.
worker_class = "gthread"
threads = int(os.environ.get("SAMSKAP_THREADS", "4"))
# How long an old worker may finish in-flight requests after HUP or TERM; longer than the
# slowest request (a year-long feed, a report), shorter than the process manager's own stop timeout.
graceful_timeout = 30
timeout = 60
# Seconds an idle client connection is kept. Behind a proxy without upstream keep-alive (nginx's
# default) every request has a connection of its own and this does not matter. With upstream
# keep-alive, set it above the proxy's idle timeout (nginx keepalive_timeout 60s -> 75), so the
# proxy, not gunicorn, closes idle connections and never sends a request on one being closed.
keepalive = 5
preload_app = True


def post_fork(server, worker):
    """A forked worker must never use a database connection its master opened (two processes on
    one socket). The app opens none while loading today; this keeps it so if that ever changes:
    SQLAlchemy's recipe for pools inherited across fork."""
    app = getattr(server.app, "callable", None)  # the preloaded app, or None
    if app is None or not hasattr(app, "app_context"):
        return
    from samskap.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
