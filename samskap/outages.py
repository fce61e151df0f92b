"""When the database is briefly gone: an honest 503, never a 500, and one safe retry.

A failover, a restart or ``pg_terminate_backend`` ends the connections a worker holds. The
pool recovers by itself (a connection idle for a second or more is pinged and replaced at
checkout, samskap/database.py, and SQLAlchemy invalidates every older pooled connection once it
sees one disconnect), so what is
left to decide is what the request that held a dying connection answers:

* The caller (session user or API token) is loaded first, before the rate limiter and the
  views, and once more on a fresh connection if the connection dies while loading: nothing of
  the request has happened yet. (Loading it inside the rate limiter's key function instead
  would let Flask-Limiter take the database error for a rate-limit storage failure.)
* A GET or HEAD whose connection dies before the request wrote anything runs its view once
  more on a fresh connection, inside the same request.
* Anything else (a write, or a second loss) answers **503** with ``Retry-After``: the API's
  error shape with ``error.code`` ``unavailable``, or a page saying the service is briefly
  unavailable. The transaction was rolled back; the client may send the request again (for
  bookings, with an ``Idempotency-Key`` to be safe even if the commit's answer was lost).

Each such request is logged in one line, without a traceback: a failover ends dozens of
requests at once, and a traceback for each buries the one line that says what happened. A
connection that dies after the answer was made (its rollback at the end of the request fails)
is logged the same way and the answer still goes out.

Redis, for the rate limiter: Flask-Limiter's in-memory fallback carries every limit on in the
process's memory while its storage is down (configuration in samskap/config.py), and
:func:`rate_limit_storage_options` makes an unreachable Redis fail fast instead of holding
requests through redis-py's retries.
"""
from __future__ import annotations

import logging

from flask import Flask, current_app, g, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from samskap.database import sqlstate
from samskap.extensions import db

RETRY_AFTER_SECONDS = 5
SAFE_METHODS = frozenset({"GET", "HEAD"})
# SQLSTATEs that mean "the server is going away or not taking connections", besides class 08
# (connection exception): admin_shutdown (pg_terminate_backend, a fast shutdown),
# crash_shutdown, cannot_connect_now (starting up or in recovery), too_many_connections.
LOST_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})

log = logging.getLogger("samskap.outages")


def is_connection_lost(error: BaseException) -> bool:
    """The database connection broke or could not be made: nothing is wrong with the request."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    state = sqlstate(error)
    if state:
        return state.startswith("08") or state in LOST_STATES
    # A failed connect (refused, timed out) comes without SQLSTATE, and SQLAlchemy gives it no statement.
    return isinstance(error, OperationalError) and error.statement is None


def _describe(error: DBAPIError) -> str:
    orig = getattr(error, "orig", None) or error
    first_line = (str(orig).strip().splitlines() or [""])[0][:200]
    return f"{type(orig).__name__}: {first_line}"


def _route() -> str:
    # The route pattern, never the path: feed paths carry secret tokens.
    return f"{request.method} {request.url_rule or '(no route)'}"


def _wrote_in_this_request() -> bool:
    return bool(g.get("_samskap_db_wrote"))


def _mark_written(*_args) -> None:
    from flask import has_request_context

    if has_request_context():
        g._samskap_db_wrote = True


def _mark_orm_write(orm_execute_state) -> None:
    if orm_execute_state.is_insert or orm_execute_state.is_update or orm_execute_state.is_delete:
        _mark_written()


def _discard_dead_connection() -> None:
    """Roll back the session; its invalidated connection is dropped, not returned to the pool."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the session is removed at the end of the request anyway
        log.debug("rollback after a lost connection failed", exc_info=True)


class SamskapFlask(Flask):
    """Flask with one retry of a read-only view whose database connection was lost."""

    def dispatch_request(self):
        if request.method not in SAFE_METHODS:
            return super().dispatch_request()
        # What counts is a write by the view: loading the caller may have committed a token's
        # last-used touch already, which running the view again does not repeat.
        g._samskap_db_wrote = False
        try:
            return super().dispatch_request()
        except DBAPIError as error:
            if not is_connection_lost(error) or _wrote_in_this_request() or g.get("_samskap_db_retried"):
                raise
            lost = _describe(error)
        g._samskap_db_retried = True
        _discard_dead_connection()
        log.warning("Database connection lost on %s (%s); running it again on a fresh connection", _route(), lost)
        return super().dispatch_request()


# Endpoints that never need the caller (health checks answer for the server, not for a person).
CALLER_NOT_NEEDED = {"static", "ops.health", "ops.ready", "ops.metrics_text"}


def _load_caller() -> None:
    """Load the signed-in user or the API token's user before anything else uses the database.
    (Costs nothing extra: every page and API call loads the caller anyway, and a request with
    neither a session nor a bearer token loads nobody.)"""
    if request.endpoint is None or request.endpoint in CALLER_NOT_NEEDED:
        return
    from flask_login import current_user

    try:
        _load(current_user)
        return
    except DBAPIError as error:
        if not is_connection_lost(error) or g.get("_samskap_db_retried"):
            raise
        lost = _describe(error)
    g._samskap_db_retried = True
    _discard_dead_connection()
    log.warning("Database connection lost on %s while loading the caller (%s); loading again", _route(), lost)
    _load(current_user)  # Flask-Login keeps the user only once it loaded


def _load(current_user) -> None:
    user = current_user._get_current_object()
    # Loaded here, not later inside the rate limiter's key function (which reads the id): a token's
    # last-used touch commits and expires the row, and Flask-Limiter takes any error in its key
    # function for its storage failing.
    if user.is_authenticated:
        user.id  # noqa: B018 - refreshes an expired row


def _locale_without_database() -> str:
    """The language for the 503 answer, chosen without a query: the one this request already
    chose, the signed-in user's if their row is loaded, else the session's or the browser's."""
    from flask import session

    languages = current_app.config.get("LANGUAGES", ("nb", "en"))
    chosen = getattr(g.get("_flask_babel"), "babel_locale", None)  # Flask-Babel's per-request cache
    if chosen is not None:
        return str(chosen)
    user = g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False):
        from sqlalchemy import inspect

        loaded = inspect(user).dict.get("locale")  # never loads: an expired attribute is simply absent
        if loaded in languages:
            return loaded
    if session.get("locale") in languages:
        return session["locale"]
    best = request.accept_languages.best_match(["nb", "no", "nn", "en"])
    return "en" if best == "en" else current_app.config.get("BABEL_DEFAULT_LOCALE", "nb")


def unavailable_response(error: DBAPIError):
    """503 with ``Retry-After`` for a request whose database connection was lost."""
    locale = _locale_without_database()  # before the rollback expires the user's row
    _discard_dead_connection()
    log.warning("Database unavailable on %s (%s); answered 503", _route(), _describe(error))
    with force_locale(locale):
        return _try_again_later("unavailable", _("The service is briefly unavailable. Please try again in a moment."),
                                RETRY_AFTER_SECONDS)


BUSY_RETRY_AFTER_SECONDS = 2


def busy_response(error: DBAPIError):
    """503 with ``Retry-After`` for a write the database could not take in time (SQLite's busy
    timeout, PostgreSQL's lock timeout): nothing was saved, and trying again shortly is safe."""
    locale = _locale_without_database()
    _discard_dead_connection()
    log.warning("Database busy on %s (%s); answered 503", _route(), _describe(error))
    with force_locale(locale):
        return _try_again_later(
            "busy", _("Samskap is very busy right now, so nothing was saved. Please try again in a moment."),
            BUSY_RETRY_AFTER_SECONDS)


def _try_again_later(code: str, message: str, retry_after: int):
    """The 503 answer, rendered without the database (no layout, no signed-in user)."""
    from samskap.errors import api_error, is_api_request

    if "_login_user" not in g:  # the caller could not be loaded: render for nobody, not by asking again
        g._login_user = current_app.login_manager.anonymous_user()
    if is_api_request():
        response = api_error(503, code, message, {"retry_after": retry_after})
    else:
        response = current_app.make_response(
            (render_template("errors/unavailable.html", message=message, retry_after=retry_after), 503))
    response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


REDIS_TIMEOUT_SECONDS = 0.5


def rate_limit_storage_options(uri: str) -> dict:
    """Options for a Redis rate-limit storage: give up on an unreachable Redis within half a second
    and without redis-py's default ten retries, so the limiter falls back to memory at once
    instead of holding every request while Redis is down."""
    if not uri.split(":", 1)[0].startswith("redis"):
        return {}
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {"socket_connect_timeout": REDIS_TIMEOUT_SECONDS, "socket_timeout": REDIS_TIMEOUT_SECONDS,
            "retry": Retry(NoBackoff(), 0)}


def _end_session(exc=None) -> None:
    """End the request's session. The connection may have died after the answer was made (a
    read-only request, or one that already committed): its rollback then fails, and that must
    not turn a finished answer into a 500."""
    try:
        db.session.remove()
    except DBAPIError as error:
        if not is_connection_lost(error):
            raise
        try:
            db.session.remove()  # the connection is invalidated now: closing costs nothing
        except DBAPIError:
            db.session.registry.clear()
        log.warning("Database connection lost after %s had its answer (%s); answer sent", _route_if_any(),
                    _describe(error))


def _route_if_any() -> str:
    from flask import has_request_context

    return _route() if has_request_context() else "a request"  # the request context may be gone already


def register_outage_handling(app: Flask) -> None:
    """Call after ``db.init_app`` and before the rate limiter is initialised: the caller must be
    loaded before the limiter's check, and the session ended before Flask-SQLAlchemy's teardown
    (teardown functions run last-registered first)."""
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS",
                          rate_limit_storage_options(app.config.get("RATELIMIT_STORAGE_URI") or ""))
    app.before_request(_load_caller)
    app.teardown_appcontext(_end_session)
    if not getattr(register_outage_handling, "_listening", False):
        # Class-wide and once: any flush or ORM write in a request means "this request wrote".
        event.listen(Session, "after_flush", _mark_written)
        event.listen(Session, "do_orm_execute", _mark_orm_write)
        register_outage_handling._listening = True
