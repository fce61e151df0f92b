"""A database connection that dies inside a request: a GET is answered from a fresh connection,
anything else answers 503 with Retry-After, never 500; the pool recovers without a restart.

The connection is really ended by PostgreSQL (``pg_terminate_backend`` from another session, as a
failover or restart does), at the moment the request sends a chosen statement.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from accounts import services as account_services
from booking.models import Booking
from samskap.extensions import db
from tests.booking_helpers import oslo_in
from tests.conftest import POSTGRES
from tests.factories import make_booking, make_space, make_user

pytestmark = POSTGRES


@pytest.fixture
def app_config():
    # Production error handling: a 500 would be rendered, not raised into the test.
    return {"SAMSKAP_RENDER_500_IN_TESTS": True}


@contextmanager
def connection_killed_on(fragment: str, times: int = 1, when: str = "before"):
    """End this process's database connection when it is about to send (``when="after"``: has
    just sent) a statement containing ``fragment``, the first ``times`` such statements; yields
    the list of killed backend pids."""
    admin = sa.create_engine(db.engine.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    killed: list[int] = []

    def kill(conn, cursor, statement, parameters, context, executemany):
        if fragment in statement and len(killed) < times:
            pid = conn.connection.dbapi_connection.info.backend_pid
            with admin.connect() as other:
                # The second argument waits (ms) until the backend is gone.
                other.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
            killed.append(pid)

    event = f"{when}_cursor_execute"
    sa.event.listen(db.engine, event, kill)
    try:
        yield killed
    finally:
        sa.event.remove(db.engine, event, kill)
        admin.dispose()


def token(user) -> dict:
    _, secret = account_services.create_api_token(None, user)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def booking_body(space) -> dict:
    # Ten days ahead at 09:00 in Oslo (a fixed date in 2027 would be refused as past once it is).
    return {"space_id": space.id, "title": "Co-creation", "start": oslo_in(10, 9).isoformat(),
            "end": oslo_in(10, 10).isoformat()}


def lost_connection_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "samskap.outages"]


def test_a_get_whose_connection_dies_is_answered_from_a_fresh_connection(client, caplog):
    user = make_user(locale="en")
    make_booking(space=make_space(), user=user)
    headers = token(user)
    with caplog.at_level(logging.WARNING), connection_killed_on("FROM bookings") as killed:
        response = client.get("/api/v1/bookings?start=2020-01-01T00:00Z&end=2020-12-31T00:00Z", headers=headers)
    assert killed and response.status_code == 200, response.get_data(as_text=True)
    records = lost_connection_records(caplog)
    assert len(records) == 1 and "running it again" in records[0].getMessage()
    assert not any(r.exc_info for r in caplog.records), "logged with a traceback"


def test_losing_the_connection_while_loading_the_caller_loads_again(client, caplog):
    user = make_user(locale="en")
    headers = token(user)
    with caplog.at_level(logging.WARNING), connection_killed_on("FROM api_tokens") as killed:
        response = client.get("/api/v1/me", headers=headers)
    assert killed and response.status_code == 200, response.get_data(as_text=True)
    assert "loading again" in lost_connection_records(caplog)[0].getMessage()


def test_a_booking_whose_connection_dies_answers_503_and_saves_nothing(client, caplog):
    user, space = make_user(locale="en"), make_space()
    headers = token(user)
    with caplog.at_level(logging.WARNING), connection_killed_on("INSERT INTO bookings") as killed:
        response = client.post("/api/v1/bookings", json=booking_body(space), headers=headers)
    assert killed
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.headers["Retry-After"].isdigit()
    error = response.json["error"]
    assert error["code"] == "unavailable" and "try again" in error["message"]
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0
    records = lost_connection_records(caplog)
    assert len(records) == 1 and "503" in records[0].getMessage()
    assert not any(r.exc_info for r in caplog.records), "logged with a traceback"
    # The write is not retried by the server; the client's resend is what books, once.
    again = client.post("/api/v1/bookings", json=booking_body(space), headers=headers)
    assert again.status_code == 201


def test_a_booking_whose_connection_dies_before_its_commit_answers_503(client):
    user, space = make_user(locale="en"), make_space()
    headers = token(user)
    # The audit entry is the booking's last statement: what follows is the commit, on a dead connection.
    with connection_killed_on("INSERT INTO audit_log", when="after") as killed:
        response = client.post("/api/v1/bookings", json=booking_body(space), headers=headers)
    assert killed and response.status_code == 503
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_a_get_that_loses_its_connection_twice_answers_503(client):
    user = make_user(locale="en")
    headers = token(user)
    with connection_killed_on("FROM bookings", times=2) as killed:
        response = client.get("/api/v1/bookings", headers=headers)
    assert len(killed) == 2 and response.status_code == 503
    assert response.json["error"]["code"] == "unavailable"


@pytest.mark.parametrize("language, words", [("nb", "kort tid utilgjengelig"), ("en", "briefly unavailable")])
def test_a_page_says_briefly_unavailable_in_the_readers_language(client, language, words):
    make_booking(space=make_space(), visibility="public")
    with connection_killed_on("FROM bookings", times=2):
        response = client.get("/events", headers={"Accept-Language": language})
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    page = response.get_data(as_text=True)
    assert words in page.lower() and f'lang="{language}"' in page


def test_the_pool_recovers_after_every_connection_is_terminated(client):
    user = make_user(locale="en")
    headers = token(user)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    admin = sa.create_engine(db.engine.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        ended = conn.execute(sa.text(
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    admin.dispose()
    assert ended >= 1
    for _ in range(3):
        assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_a_connection_idle_past_the_ping_threshold_is_checked_so_a_write_after_a_restart_books(app, client, caplog):
    """Connections used within SAMSKAP_DB_PING_AFTER_IDLE seconds are not pinged (the test above: the
    caller's loading meets the dead one and runs again); one idle longer is pinged and replaced before
    the request uses it, so even a write, which is never run twice, does not notice the restart."""
    user, space = make_user(locale="en"), make_space()
    headers = token(user)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    admin = sa.create_engine(db.engine.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                             "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    admin.dispose()
    time.sleep(app.config["SAMSKAP_DB_PING_AFTER_IDLE"] + 0.1)
    with caplog.at_level(logging.WARNING):
        assert client.post("/api/v1/bookings", json=booking_body(space), headers=headers).status_code == 201
    assert not lost_connection_records(caplog)


def test_a_connection_lost_after_the_answer_was_made_does_not_spoil_it(client, caplog):
    user = make_user(locale="en")
    headers = token(user)
    # With no bookings, the list's query is the request's last statement: what dies is its rollback.
    with caplog.at_level(logging.WARNING), connection_killed_on("FROM bookings", when="after") as killed:
        response = client.get("/api/v1/bookings", headers=headers)
    assert killed and response.status_code == 200, response.get_data(as_text=True)
    assert response.json["bookings"] == []
    assert "had its answer" in lost_connection_records(caplog)[-1].getMessage()
    assert client.get("/api/v1/me", headers=headers).status_code == 200


@pytest.mark.parametrize("writes, status, runs", [(False, 200, 2), (True, 503, 1)])
def test_a_get_is_run_again_only_if_it_wrote_nothing(app, client, writes, status, runs):
    from accounts.models import User

    user = make_user(locale="en")
    calls = []

    def view():
        calls.append(1)
        if writes:
            db.session.get(User, user.id).name = "Changed"
            db.session.flush()
        db.session.execute(sa.text("SELECT count(*) FROM bookings")).scalar()
        return "done"

    app.add_url_rule("/_test/maybe-write", "maybe_write", view)
    with connection_killed_on("FROM bookings"):
        response = client.get("/_test/maybe-write")
    assert (response.status_code, len(calls)) == (status, runs)
    db.session.expire_all()
    assert db.session.get(User, user.id).name != "Changed"


def test_a_booking_form_whose_connection_dies_shows_the_page_in_the_users_language(client, auth):
    from tests.test_booking_pages_actions import form_data, in_a_week

    user, space = make_user(locale="en"), make_space()
    auth.as_user(user)
    with connection_killed_on("INSERT INTO bookings") as killed:
        response = client.post("/bookings/new", data=form_data(space, in_a_week()))
    assert killed and response.status_code == 503
    page = response.get_data(as_text=True)
    assert "Briefly unavailable" in page and 'lang="en"' in page
    assert "Content-Security-Policy" in response.headers  # the security headers are kept
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0
