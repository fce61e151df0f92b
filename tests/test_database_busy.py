"""A database too busy to take a write in time answers 503 with Retry-After, saves nothing, and the
same request succeeds once the database is free again (SQLite's "database is locked")."""
import sqlite3

import pytest
import sqlalchemy as sa

from booking.models import Booking
from samskap.extensions import db
from tests.factories import api_headers, make_space, make_user


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SAMSKAP_SQLITE_BUSY_TIMEOUT_MS": 50}


@pytest.fixture
def locked(database_url):
    """Another process holding SQLite's write lock."""
    other = sqlite3.connect(sa.make_url(database_url).database, isolation_level=None, timeout=0)

    class Lock:
        def take(self):
            other.execute("BEGIN IMMEDIATE")

        def release(self):
            other.execute("ROLLBACK")

    yield Lock()
    other.close()


def booking_body(space):
    return {"space_id": space.id, "title": "Planning", "start": "2030-03-12T09:00:00+01:00",
            "end": "2030-03-12T10:00:00+01:00"}


def test_api_write_while_locked_is_503_with_retry_after_and_saves_nothing(client, locked):
    body = booking_body(make_space())
    headers = {**api_headers(make_user(locale="en")), "Accept-Language": "en"}  # the user row cannot be read
    db.session.remove()  # the test's own session holds no transaction while the other process locks
    locked.take()
    response = client.post("/api/v1/bookings", json=body, headers=headers)
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "2"
    assert response.json["error"]["code"] == "busy"
    assert "nothing was saved" in response.json["error"]["message"]
    locked.release()
    db.session.remove()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0

    again = client.post("/api/v1/bookings", json=body, headers=headers)
    assert again.status_code == 201, again.get_data(as_text=True)


def test_page_write_while_locked_shows_a_page_not_a_500(client, auth, locked):
    user = make_user(locale="nb")
    user_id = user.id
    auth.as_user(user)
    db.session.remove()
    locked.take()
    response = client.post("/profile", data={"name": "Nytt navn", "locale": "nb"})
    locked.release()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert "text/html" in response.content_type
    db.session.remove()
    assert db.session.get(type(user), user_id).name != "Nytt navn"
