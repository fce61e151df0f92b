"""Engine set-up that makes the database the last word on integrity.

PostgreSQL enforces "no overlap" with exclusion constraints (declared on the
models and in the migrations). SQLite has none, so every transaction starts
with ``BEGIN IMMEDIATE``: writers are serialised, and a service's
check-then-insert cannot interleave with another's (SQLAlchemy's documented
pysqlite recipe).
"""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError

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


def configure_engine(engine, *, busy_timeout_ms: int = 15000) -> None:
    if engine.dialect.name != "sqlite":
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
