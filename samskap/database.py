"""Engine set-up that makes the database the last word on integrity.

PostgreSQL enforces "no overlap" with exclusion constraints (declared on the
models and in the migrations). SQLite has none, so every transaction starts
with ``BEGIN IMMEDIATE``: writers are serialised, and a service's
check-then-insert cannot interleave with another's (SQLAlchemy's documented
pysqlite recipe).
"""
from __future__ import annotations

import time

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError, InvalidatePoolError

EXCLUSION_VIOLATION = "23P01"
UNIQUE_VIOLATION = "23505"
# PostgreSQL ends one of two transactions that wait for each other. Two requests inserting
# overlapping rows at the same moment can do that inside the exclusion constraint's check
# (each waits to see whether the other commits); serialisation failures are the same kind
# of collision.
COLLISION_STATES = ("40P01", "40001")
# PostgreSQL gave up waiting for a lock (lock_timeout); SQLite's equivalent has no SQLSTATE and
# says "database is locked" once busy_timeout has passed.
LOCK_NOT_AVAILABLE = "55P03"


# A pooled connection that came back from a request within this many seconds is handed out without
# a ping (samskap/config.py: SAMSKAP_DB_PING_AFTER_IDLE).
PING_AFTER_IDLE_SECONDS = 1.0
_CHECKED_IN = "samskap_checked_in"


def ping_after_idle(engine, seconds: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Check a pooled connection at checkout only if it sat idle for ``seconds`` or more.

    ``pool_pre_ping`` costs a round trip on every checkout, that is, on every request. A connection
    that served a request a moment ago is alive unless the server went away in that moment, and
    that case is already handled where it happens: the caller's loading (the first statement of
    every signed-in request) runs again on a fresh connection, a GET runs again, anything else
    answers 503 (samskap/outages.py), and SQLAlchemy invalidates the whole pool at the first lost
    connection, so no other request meets a dead one. A connection idle for longer (a quiet
    night, a failover minutes ago) is pinged as before, with SQLAlchemy's own ping; a dead one is
    replaced before the request sees it (the pool's documented checkout-event recipe)."""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _remember_use(dbapi_connection, connection_record):
        if connection_record is not None:
            connection_record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, connection_record, connection_proxy):
        last = connection_record.info.get(_CHECKED_IN)
        if last is not None and time.monotonic() - last < seconds:
            return
        # pool_pre_ping's own ping: False when the connection is gone (any other error raises).
        if not engine.dialect._do_ping_w_event(dbapi_connection):  # noqa: SLF001
            # As pool_pre_ping does: every older pooled connection is dropped too, and the pool
            # retries the checkout with a new connection.
            raise InvalidatePoolError()


def configure_engine(engine, ping_after_idle_seconds: float = PING_AFTER_IDLE_SECONDS, *,
                     busy_timeout_ms: int = 15000) -> None:
    if engine.dialect.name != "sqlite":
        if not engine.pool._pre_ping:  # noqa: SLF001 - pool_pre_ping asked for explicitly pings every checkout
            ping_after_idle(engine, ping_after_idle_seconds)
        return

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection, connection_record):
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if engine.url.database and engine.url.database != ":memory:":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def sqlstate(error: DBAPIError) -> str | None:
    orig = getattr(error, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def constraint_name(error: DBAPIError) -> str | None:
    orig = getattr(error, "orig", None)
    diag = getattr(orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return name
    return None


def is_exclusion_violation(error: Exception, name: str | None = None) -> bool:
    if not isinstance(error, DBAPIError) or sqlstate(error) != EXCLUSION_VIOLATION:
        return False
    return name is None or constraint_name(error) == name


def is_collision(error: Exception) -> bool:
    """A deadlock or serialisation failure: nothing is wrong with the request, it met another one."""
    return isinstance(error, DBAPIError) and sqlstate(error) in COLLISION_STATES


def is_busy(error: Exception) -> bool:
    """The database was too busy to take this request's write in time: nothing was saved."""
    if not isinstance(error, DBAPIError):
        return False
    if sqlstate(error) == LOCK_NOT_AVAILABLE:
        return True
    text = str(getattr(error, "orig", error))
    return text.startswith(("database is locked", "database table is locked"))


def is_unique_violation(error: Exception) -> bool:
    if not isinstance(error, IntegrityError):
        return False
    state = sqlstate(error)
    if state is not None:
        return state == UNIQUE_VIOLATION
    return "UNIQUE constraint failed" in str(getattr(error, "orig", error))
