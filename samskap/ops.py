"""What a load balancer and a monitoring system ask: ``/healthz``, ``/readyz``, ``/metrics``.

* ``GET /healthz``: the process answers. Touches nothing else, so a database outage never makes
  an orchestrator restart healthy app processes.
* ``GET /readyz``: may this host get traffic? 503 when the database cannot be reached or its
  schema is older than this code's newest migration (``db upgrade`` not yet run). A database at
  a revision this code does not know is a newer release's, migrated first during a rolling
  upgrade (README): ready, reported as ``"schema": "newer"``. Redis (the shared feed cache and the
  rate-limit storage) is reported ``degraded`` when configured but unreachable, still with 200:
  Redis is shared by every host, so taking hosts out of rotation for it would turn a slower
  service into no service, and the app falls back without it (feeds are built per process).
* ``GET /metrics``: Prometheus text, only with ``Authorization: Bearer $SAMSKAP_METRICS_TOKEN``
  (401 otherwise); 404 when no token is configured.

All three are exempt from rate limits, read no session and set no cookie.
"""
from __future__ import annotations

import hmac
import time
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask.sessions import SessionInterface

from samskap import metrics

ops_bp = Blueprint("ops", __name__)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@lru_cache(maxsize=1)
def migration_heads() -> tuple[frozenset[str], frozenset[str]]:
    """This code's newest revisions, and every revision it knows."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    return frozenset(script.get_heads()), frozenset(rev.revision for rev in script.walk_revisions())


def database_check() -> dict:
    """Reachable, and the schema's revision against this code's head."""
    import sqlalchemy as sa

    from samskap.extensions import db

    heads, known = migration_heads()
    started = time.perf_counter()
    try:
        revisions = _schema_revisions(db.engine)
    except sa.exc.DBAPIError as error:
        return {"status": "unavailable", "error": type(error.orig or error).__name__,
                "ms": _ms(started)}
    except Exception as error:  # the driver's own error, outside SQLAlchemy's wrapping
        return {"status": "unavailable", "error": type(error).__name__, "ms": _ms(started)}
    result = {"revision": sorted(revisions), "head": sorted(heads), "ms": _ms(started)}
    if revisions == heads:
        return {"status": "ok", "schema": "current", **result}
    if revisions and not revisions <= known:
        return {"status": "ok", "schema": "newer", **result}
    return {"status": "unavailable", "schema": "behind" if revisions else "missing", **result}


def _schema_revisions(engine) -> set[str]:
    """Alembic's revisions, read on a bare driver connection: no SQLAlchemy transaction, so on
    SQLite no ``BEGIN IMMEDIATE`` (samskap/database.py) and no write lock for a probe."""
    import sqlalchemy as sa

    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT version_num FROM alembic_version")
            return {row[0] for row in cursor.fetchall()}
        except Exception:
            connection.rollback()
            if sa.inspect(engine).has_table("alembic_version"):
                raise
            return set()
        finally:
            cursor.close()
    finally:
        connection.rollback()
        connection.close()


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _redis_checks() -> dict:
    from samskap.shared_cache import shared_cache

    checks = {}
    cache = shared_cache()
    if cache is not None:
        started = time.perf_counter()
        checks["cache"] = {"status": "ok" if cache.ping() else "degraded", "ms": _ms(started)}
    storage_uri = current_app.config.get("RATELIMIT_STORAGE_URI") or ""
    if current_app.config.get("RATELIMIT_ENABLED", True) and storage_uri.startswith(("redis", "rediss")):
        from samskap.extensions import limiter

        started = time.perf_counter()
        try:
            ok = bool(limiter.storage.check())
        except Exception:
            ok = False
        checks["rate_limit_storage"] = {"status": "ok" if ok else "degraded", "ms": _ms(started)}
    return checks


@ops_bp.route("/healthz")
def health():
    return jsonify({"status": "ok"})


@ops_bp.route("/readyz")
def ready():
    checks = {"database": database_check(), **_redis_checks()}
    if checks["database"]["status"] != "ok":
        overall, status = "unavailable", 503
    elif any(check["status"] != "ok" for check in checks.values()):
        overall, status = "degraded", 200
    else:
        overall, status = "ok", 200
    response = jsonify({"status": overall, "checks": checks})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@ops_bp.route("/metrics")
def metrics_text():
    token = current_app.config.get("SAMSKAP_METRICS_TOKEN")
    if not token:
        return Response("Not found\n", status=404, mimetype="text/plain")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        response = Response("A metrics token is needed: Authorization: Bearer <SAMSKAP_METRICS_TOKEN>\n",
                            status=401, mimetype="text/plain")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    response = Response(metrics.render_latest())
    response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
    response.headers["Cache-Control"] = "no-store"
    return response


class _NoSessionForProbes(SessionInterface):
    """Wraps the app's session interface: probes and scrapes get a null session, so they never
    read, refresh or set a session cookie (a load balancer polls every few seconds)."""

    def __init__(self, inner: SessionInterface):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def open_session(self, app, request):
        if request.path in PROBE_PATHS:
            return self.inner.make_null_session(app)
        return self.inner.open_session(app, request)

    def save_session(self, app, session, response):
        return self.inner.save_session(app, session, response)

    def is_null_session(self, obj) -> bool:
        return self.inner.is_null_session(obj)

    def make_null_session(self, app):
        return self.inner.make_null_session(app)


def register_ops(app) -> None:
    """The three routes, and a request counter and latency observation on every response."""
    from samskap.extensions import csrf, limiter

    app.register_blueprint(ops_bp)
    limiter.exempt(ops_bp)
    csrf.exempt(ops_bp)
    if not isinstance(app.session_interface, _NoSessionForProbes):
        app.session_interface = _NoSessionForProbes(app.session_interface)

    @app.after_request
    def _observe_request(response):
        started = g.get("_request_started")
        if started is not None:
            endpoint = request.url_rule.endpoint if request.url_rule is not None else "unmatched"
            method = request.method if request.method in _METHODS else "other"
            metrics.observe_request(endpoint, method, response.status_code, time.perf_counter() - started)
        return response
