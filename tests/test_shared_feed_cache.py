"""Built feeds shared between hosts through Redis (``SAMSKAP_CACHE_URL``, issue 22).

Two apps on one database and one Redis stand for two hosts (the same test against real gunicorn
hosts is in tests/test_two_hosts.py). The Redis server is the test's own, on a free port.
"""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.feeds import services as feed_services
from booking.models import Booking, BookingStatus
from samskap import create_app, metrics
from samskap.extensions import db
from samskap.timeutil import utcnow
from tests.conftest import BASE_CONFIG, BOTH, POSTGRES, IsolatedClient
from tests.factories import make_space, make_user
from tests.servers import RedisServer


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


def _host(app, redis_url: str, prefix: str):
    from sqlalchemy.pool import NullPool

    # NullPool: no connection outlives a request, so the test database can be emptied and dropped.
    host = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                       "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": NullPool},
                       "SAMSKAP_CACHE_URL": redis_url, "SAMSKAP_CACHE_PREFIX": prefix})
    host.test_client_class = IsolatedClient
    return host.test_client()


def _seed_feed(events: int) -> tuple[str, list[int]]:
    """A member with ``events`` bookings over five spaces in the coming weeks; their "mine" feed."""
    user = make_user()
    spaces = [make_space() for _ in range(5)]
    first = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    rows = []
    for n in range(events):
        start = first + timedelta(hours=n // len(spaces))
        rows.append({"space_id": spaces[n % len(spaces)].id, "organiser_id": user.id,
                     "organisation_id": user.organisation_id, "title": f"Pilot session {n}", "start": start,
                     "end": start + timedelta(minutes=50), "blocked_until": start + timedelta(minutes=50),
                     "attendees": 2, "status": BookingStatus.CONFIRMED})
    db.session.execute(sa.insert(Booking), rows)
    _feed, token = feed_services.create_feed(user, "mine")
    db.session.commit()
    ids = db.session.scalars(sa.select(Booking.id).where(Booking.organiser_id == user.id)).all()
    return token, ids


def _source(response) -> str:
    """Where the feed came from: process, shared or built (Server-Timing ``feed;desc=...``)."""
    for part in response.headers["Server-Timing"].split(","):
        name, _, rest = part.strip().partition(";")
        if name == "feed":
            return rest.split("=", 1)[1].strip('"')
    raise AssertionError("no feed entry in " + response.headers["Server-Timing"])


def _builds() -> float:
    return metrics.FEED_BUILDS._value.get()


@POSTGRES
def test_a_new_hosts_first_fetch_of_a_5000_event_feed_comes_from_the_shared_cache(app, redis_server):
    token, _ids = _seed_feed(5000)
    prefix = f"test-{uuid.uuid4().hex}:"
    host_a, host_b = _host(app, redis_server.url, prefix), _host(app, redis_server.url, prefix)

    builds = _builds()
    on_a = host_a.get(f"/feeds/{token}.ics")
    assert on_a.status_code == 200 and _source(on_a) == "built"
    assert on_a.data.count(b"BEGIN:VEVENT") == 5000
    assert _builds() == builds + 1

    on_b = host_b.get(f"/feeds/{token}.ics")
    assert on_b.status_code == 200
    assert _source(on_b) == "shared"  # host B built nothing
    assert _builds() == builds + 1
    assert on_b.data == on_a.data and on_b.headers["ETag"] == on_a.headers["ETag"]
    # Last-Modified is withheld while the watermark's second still runs (booking/feeds/views.py),
    # so A's reply may lack it when the feed was built within the second of the seed; once A had it,
    # B's must agree. (The default of .get() was evaluated first and failed whenever B had none.)
    if "Last-Modified" in on_a.headers:
        assert on_b.headers.get("Last-Modified") == on_a.headers["Last-Modified"]

    again = host_b.get(f"/feeds/{token}.ics")
    assert _source(again) == "process"
    print(f"\n5,000-event feed, {len(on_a.data)} bytes; Server-Timing built on A: {on_a.headers['Server-Timing']}; "
          f"shared on B: {on_b.headers['Server-Timing']}; B's own cache: {again.headers['Server-Timing']}")
    conditional = host_b.get(f"/feeds/{token}.ics", headers={"If-None-Match": on_a.headers["ETag"]})
    assert conditional.status_code == 304


@BOTH
def test_a_change_on_one_host_shows_in_the_next_fetch_on_the_other(app, redis_server):
    token, ids = _seed_feed(20)
    prefix = f"test-{uuid.uuid4().hex}:"
    host_a, host_b = _host(app, redis_server.url, prefix), _host(app, redis_server.url, prefix)
    before_a = host_a.get(f"/feeds/{token}.ics")
    before_b = host_b.get(f"/feeds/{token}.ics")
    assert _source(before_b) == "shared"

    db.session.execute(sa.update(Booking).where(Booking.id == ids[0]).values(title="Moved to the living lab"))
    db.session.commit()  # any committed change moves the feed generation

    after_b = host_b.get(f"/feeds/{token}.ics")
    assert _source(after_b) == "built"
    assert b"Moved to the living lab" in after_b.data
    assert after_b.headers["ETag"] != before_b.headers["ETag"]
    after_a = host_a.get(f"/feeds/{token}.ics")
    assert _source(after_a) == "shared" and after_a.data == after_b.data
    assert before_a.data == before_b.data


@BOTH
def test_feeds_are_served_when_redis_is_down_and_the_outage_is_logged_once(app, redis_server, caplog,
                                                                            monkeypatch):
    import samskap.shared_cache as shared_module

    monkeypatch.setattr(shared_module, "PAUSE_AFTER_ERROR", 0.0)  # ask Redis on every fetch
    token, ids = _seed_feed(10)
    prefix = f"test-{uuid.uuid4().hex}:"
    host = _host(app, redis_server.url, prefix)
    assert host.get(f"/feeds/{token}.ics").status_code == 200
    port = redis_server.port
    redis_server.stop()

    caplog.set_level(logging.INFO, logger="samskap.shared_cache")
    for n in range(3):
        db.session.execute(sa.update(Booking).where(Booking.id == ids[0]).values(title=f"Title {n}"))
        db.session.commit()
        response = host.get(f"/feeds/{token}.ics")
        assert response.status_code == 200
        assert f"Title {n}".encode() in response.data
        assert _source(response) == "built"
        cached = host.get(f"/feeds/{token}.ics")
        assert cached.status_code == 200 and _source(cached) == "process"
    warnings = [r for r in caplog.records if "Shared cache unreachable" in r.getMessage()]
    assert len(warnings) == 1
    assert metrics.SHARED_CACHE_ERRORS.labels("get")._value.get() >= 3

    redis_server.port = port
    redis_server.start()
    db.session.execute(sa.update(Booking).where(Booking.id == ids[0]).values(title="Back"))
    db.session.commit()
    assert _source(host.get(f"/feeds/{token}.ics")) == "built"
    assert any("reachable again" in r.getMessage() for r in caplog.records)
    other = _host(app, redis_server.url, prefix)
    assert _source(other.get(f"/feeds/{token}.ics")) == "shared"


def test_a_slow_or_unreachable_cache_costs_a_fetch_little(app, monkeypatch):
    """An address that never answers (a blackholed Redis): the fetch waits at most the connect
    timeout once, and not at all for a while after that."""
    import time

    token, _ids = _seed_feed(5)
    host = _host(app, "redis://10.255.255.1:6379/0", f"test-{uuid.uuid4().hex}:")  # not routed
    host.get("/feeds/public.ics")  # the app's first request (imports, templates) is not measured
    started = time.perf_counter()
    for _ in range(5):
        assert host.get(f"/feeds/{token}.ics").status_code == 200
    assert time.perf_counter() - started < 2.5
