"""Built feeds are cached per process under the feed generation, a counter the database moves with
every committed change to what feeds show (migration 0004, booking/feeds/cache.py). A cached feed
must never be stale: whatever changed, by the app or by hand in SQL, the next fetch shows it."""
from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from accounts.models import Role
from booking.feeds import calendar, services
from booking.feeds.cache import FeedCache, BuiltFeed, current_generation
from booking.feeds.views import site
from booking.models import Booking, BookingStatus, EquipmentAllocation, Visibility
from samskap.extensions import db
from spaces.models import EquipmentUnit
from tests.conftest import BOTH, POSTGRES
from tests.factories import (make_booking, make_equipment_type, make_org, make_reservation, make_series, make_space,
                             make_user)
from tests.sql_count import counted_statements

UTC = timezone.utc
NOW = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr("booking.feeds.views.feed_clock", lambda: NOW)


def generation() -> int:
    db.session.commit()  # a fresh transaction sees the latest committed value
    return current_generation()


def outside_the_app(sql, **params) -> None:
    """A change made by hand (psql, a data fix): no ORM session, its own connection and transaction.
    ``sql`` is text, or a Core statement where it writes times (so SQLite stores them as the app does)."""
    db.session.commit()  # SQLite: the test's own session must not hold the write lock
    with db.engine.begin() as conn:
        conn.execute(sa.text(sql) if isinstance(sql, str) else sql, params)


def reserve_with_unit(etype, user=None, start=datetime(2027, 2, 1, 9, tzinfo=UTC)):
    reservation = make_reservation(equipment_type=etype, user=user, start=start)
    unit = db.session.scalar(sa.select(EquipmentUnit).where(EquipmentUnit.equipment_type_id == etype.id))
    db.session.add(EquipmentAllocation(reservation_id=reservation.id, unit_id=unit.id, start=reservation.start,
                                       blocked_until=reservation.end, active=True))
    db.session.commit()
    return reservation, unit


def fetch(client, token: str, **headers):
    return client.get(f"/feeds/{token}.ics", headers=headers)


# --- the counter --------------------------------------------------------------------------------

@BOTH
def test_the_generation_moves_with_every_committed_change_and_not_with_a_rolled_back_one(app, backend):
    booking = make_booking(start=datetime(2027, 1, 4, 9, tzinfo=UTC))
    before = generation()
    booking.title = "Retitled"
    db.session.commit()
    after = generation()
    assert after > before

    db.session.execute(sa.update(Booking).values(title="Never committed"))
    db.session.rollback()
    assert generation() == after

    # Several rows in one transaction: PostgreSQL moves it once, at commit (SQLite once per row).
    for title in ("One", "Two", "Three"):
        make_booking(title=title, start=datetime(2027, 1, 5, 9, tzinfo=UTC) + timedelta(days=len(title)))
    db.session.execute(sa.update(Booking).values(description="Both in one go"))
    db.session.commit()
    moved = generation()
    assert moved > after
    if backend == "postgresql":
        db.session.execute(sa.update(Booking).values(description="Again"))
        db.session.commit()
        assert generation() == moved + 1


@BOTH
def test_every_table_a_feed_shows_or_names_moves_it_and_users_and_feeds_do_not(app):
    etype = make_equipment_type(units=1)
    reservation, _unit = reserve_with_unit(etype)
    booking = make_booking(start=datetime(2027, 1, 4, 9, tzinfo=UTC))
    series = make_series()
    changes = {
        "bookings": "UPDATE bookings SET title = 'x' WHERE id = :id",
        "booking_series": "UPDATE booking_series SET rrule = rrule WHERE id = :series",
        "equipment_reservations": "UPDATE equipment_reservations SET purpose = 'x' WHERE id = :reservation",
        "equipment_allocations": "UPDATE equipment_allocations SET active = active",
        "spaces": "UPDATE spaces SET name = 'Renamed' WHERE id = :space",
        "equipment_types": "UPDATE equipment_types SET name = 'Renamed type'",
        "equipment_units": "UPDATE equipment_units SET asset_tag = 'NEW-TAG'",
        "organisations": "UPDATE organisations SET name = 'Renamed AS' WHERE id = :org",
        "DELETE FROM bookings": "DELETE FROM bookings WHERE id = :id",
    }
    params = dict(id=booking.id, series=series.id, reservation=reservation.id, space=booking.space_id,
                  org=booking.organisation_id)
    for name, sql in changes.items():
        before = generation()
        outside_the_app(sql, **params)
        assert generation() > before, name
    for sql in ("UPDATE users SET locale = 'en'", "UPDATE feeds SET last_used_at = NULL"):
        before = generation()
        outside_the_app(sql)
        assert generation() == before, sql


@POSTGRES
def test_truncate_moves_it(app):
    before = generation()
    outside_the_app("TRUNCATE equipment_allocations")
    assert generation() > before


# --- cached feeds -------------------------------------------------------------------------------

@BOTH
def test_an_unchanged_feed_is_answered_from_the_cache_in_three_statements_at_most(client):
    user = make_user()
    make_booking(user=user, start=datetime(2027, 1, 4, 9, tzinfo=UTC), title="Kick-off")
    _feed, token = services.create_feed(user, "mine")
    db.session.commit()
    first = fetch(client, token)
    assert first.status_code == 200 and b"Kick-off" in first.data
    with counted_statements() as count:
        again = fetch(client, token)
        not_modified = fetch(client, token, **{"If-None-Match": first.headers["ETag"]})
    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert count[0] <= 2 * 3  # per fetch: the token (with owner), the generation; no booking rows


@BOTH
def test_changes_made_outside_the_app_reach_the_next_fetch(client):
    user = make_user(make_org(name="Gjøvik kommune"))
    space = make_space(name="Verkstedet")
    booking = make_booking(space=space, user=user, start=datetime(2027, 1, 4, 9, tzinfo=UTC), title="Kick-off")
    _feed, token = services.create_feed(user, "organisation")
    db.session.commit()
    assert b"Kick-off" in fetch(client, token).data

    outside_the_app("UPDATE bookings SET title = 'Renamed workshop' WHERE id = :id", id=booking.id)
    body = fetch(client, token).data
    assert b"Renamed workshop" in body and b"Kick-off" not in body

    outside_the_app("UPDATE spaces SET name = 'Simuleringslab' WHERE id = :id", id=space.id)
    assert b"Simuleringslab" in fetch(client, token).data

    outside_the_app("UPDATE organisations SET name = 'Vestre Toten kommune' WHERE id = :id", id=user.organisation_id)
    assert "Vestre Toten kommune".encode() in fetch(client, token).data.replace(b"\r\n ", b"")

    outside_the_app("UPDATE bookings SET status = 'rejected' WHERE id = :id", id=booking.id)
    assert b"Renamed workshop" not in fetch(client, token).data


@BOTH
def test_an_equipment_feed_follows_a_units_new_asset_tag(client):
    staff = make_user(role=Role.STAFF)
    etype = make_equipment_type(units=1)
    _reservation, unit = reserve_with_unit(etype, user=staff)
    _feed, token = services.create_feed(staff, "equipment", equipment_type_id=etype.id)
    db.session.commit()
    assert unit.asset_tag.encode() in fetch(client, token).data
    outside_the_app("UPDATE equipment_units SET asset_tag = 'HELSEINN-0042' WHERE id = :id", id=unit.id)
    assert b"HELSEINN-0042" in fetch(client, token).data


@BOTH
def test_the_owners_rights_and_language_are_part_of_the_key(client):
    org = make_org(members_share_bookings=False)
    owner = make_user(org)
    colleague = make_user(org)
    make_booking(user=colleague, start=datetime(2027, 1, 4, 9, tzinfo=UTC), title="Colleague's workshop",
                 visibility=Visibility.PRIVATE)
    _feed, token = services.create_feed(owner, "organisation")
    db.session.commit()
    body = fetch(client, token).data
    assert b"Colleague's workshop" not in body and "Opptatt".encode() in body

    owner.is_org_contact = True  # a contact sees the organisation's private bookings (users move no generation)
    db.session.commit()
    assert b"Colleague's workshop" in fetch(client, token).data

    owner.is_org_contact = False
    owner.locale = "en"
    db.session.commit()
    body = fetch(client, token).data
    assert b"SUMMARY:Busy" in body and b"Colleague's workshop" not in body


@BOTH
def test_a_revoked_or_deactivated_feed_is_gone_even_though_its_text_is_cached(client):
    user = make_user()
    make_booking(user=user, start=datetime(2027, 1, 4, 9, tzinfo=UTC))
    feed, token = services.create_feed(user, "mine")
    db.session.commit()
    assert fetch(client, token).status_code == 200
    services.revoke_feed(user, feed.id)
    db.session.commit()
    assert fetch(client, token).status_code == 404


@BOTH
def test_the_window_moves_at_local_midnight_and_the_cached_text_with_it(client, monkeypatch):
    user = make_user()
    # 12 hours after the window's start today; before it tomorrow.
    anchor = services.FeedPeriod.around(NOW).start
    make_booking(user=user, start=anchor + timedelta(hours=12), title="Old news")
    _feed, token = services.create_feed(user, "mine")
    db.session.commit()
    assert b"Old news" in fetch(client, token).data
    monkeypatch.setattr("booking.feeds.views.feed_clock", lambda: NOW + timedelta(days=1))
    assert b"Old news" not in fetch(client, token).data


@BOTH
def test_the_public_feed_is_cached_and_follows_changes(client):
    booking = make_booking(start=datetime(2027, 1, 4, 9, tzinfo=UTC), title="Open day", visibility=Visibility.PUBLIC)
    assert b"Open day" in client.get("/feeds/public.ics").data
    outside_the_app("UPDATE bookings SET visibility = 'private' WHERE id = :id", id=booking.id)
    assert b"Open day" not in client.get("/feeds/public.ics").data


@POSTGRES
def test_a_change_committed_after_a_fetch_that_could_not_see_it_reaches_the_next_one(client):
    """The stale-cache trap of timestamps: a transaction that wrote before a fetch but commits
    after it. A watermark of max(updated_at) would not move (its rows carry the earlier time);
    the generation moves at commit."""
    user = make_user()
    booking = make_booking(user=user, start=datetime(2027, 1, 4, 9, tzinfo=UTC), title="Before")
    _feed, token = services.create_feed(user, "mine")
    db.session.commit()
    writer = db.engine.connect()
    try:
        transaction = writer.begin()
        writer.execute(sa.text("UPDATE bookings SET title = 'After', updated_at = now() WHERE id = :id"),
                       {"id": booking.id})
        assert b"Before" in fetch(client, token).data  # built and cached while the change is open
        transaction.commit()
    finally:
        writer.close()
    assert b"After" in fetch(client, token).data


@POSTGRES
def test_a_change_committed_while_a_fetch_loads_its_owner_is_not_cached_under_the_new_generation(client, monkeypatch):
    """The token, its owner and their organisation are loaded before the feed is built, and the
    build reads the organisation from the session (members_share_bookings decides what a member
    sees). A change committed right after that load must not be cached as if the build had seen
    it: the next fetch must show it."""
    org = make_org(members_share_bookings=True)
    owner, colleague = make_user(org), make_user(org)
    make_booking(user=colleague, start=datetime(2027, 1, 4, 9, tzinfo=UTC), title="Secret plan",
                 visibility=Visibility.PRIVATE)
    _feed, token = services.create_feed(owner, "organisation")
    db.session.commit()
    load_token = services.feed_for_token
    engine, org_id = db.engine, org.id

    def load_then_change(*args, **kwargs):
        feed = load_token(*args, **kwargs)
        monkeypatch.setattr(services, "feed_for_token", load_token)  # once
        with engine.begin() as conn:  # the organisation stops sharing, just after it was loaded
            conn.execute(sa.text("UPDATE organisations SET members_share_bookings = false WHERE id = :id"),
                         {"id": org_id})
        return feed

    monkeypatch.setattr(services, "feed_for_token", load_then_change)
    fetch(client, token)  # built from the organisation as it was loaded
    body = fetch(client, token).data
    assert b"Secret plan" not in body and "Opptatt".encode() in body


@POSTGRES
def test_concurrent_writers_each_move_the_generation(app):
    """Writers serialise only on the counter, and only while they commit."""
    spaces = [make_space() for _ in range(6)]
    user = make_user()
    before = generation()
    errors = []
    engine = db.engine
    who = dict(user=user.id, org=user.organisation_id)
    space_ids = [space.id for space in spaces]
    all_written = threading.Barrier(len(spaces), timeout=30)

    def book(space_id: int) -> None:
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(
                    "INSERT INTO bookings (space_id, organiser_id, organisation_id, title, description, purpose, "
                    "start, \"end\", blocked_until, attendees, visibility, status, sequence, "
                    "opening_hours_overridden, decision_reason, cancel_reason, created_at, updated_at) VALUES "
                    "(:space, :user, :org, 'Parallel', '', 'meeting', :start, :end, :end, 1, 'private', "
                    "'confirmed', 0, false, '', '', now(), now())"),
                    dict(space=space_id, **who, start=datetime(2027, 3, 1, 9, tzinfo=UTC),
                         end=datetime(2027, 3, 1, 10, tzinfo=UTC)))
                all_written.wait()  # every transaction has written before any commits
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=book, args=(space_id,)) for space_id in space_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert generation() == before + len(spaces)


# --- a cached feed is always what a fresh build gives ------------------------------------------

def fresh_build(app, token: str) -> bytes:
    """The feed built from scratch: no feed cache, no cached event text."""
    calendar.clear_text_cache()
    with app.test_request_context():
        feed = services.feed_for_token(token, NOW)
        with force_locale(feed.owner.locale):
            body = calendar.build_feed(services.feed_contents(feed, NOW), site())
        db.session.rollback()
        return body


@BOTH
def test_after_random_changes_the_served_feed_is_always_a_fresh_build(app, client):
    rng = random.Random(9)
    org = make_org(name="Raufoss Helse AS")
    staff = make_user(role=Role.STAFF)
    members = [make_user(org) for _ in range(2)]
    spaces = [make_space() for _ in range(3)]
    bookings = [make_booking(space=spaces[i % 3], user=members[i % 2], title=f"Meeting {i}",
                             start=datetime(2027, 1, 4 + i, 9, tzinfo=UTC)) for i in range(6)]
    make_series(space=spaces[0], user=members[0], dtstart_local="2027-03-01T10:00:00", rrule="FREQ=WEEKLY;COUNT=6")
    _feed, token = services.create_feed(staff, "all")
    db.session.commit()

    def retitle():
        outside_the_app("UPDATE bookings SET title = :t WHERE id = :id", t=f"T{rng.randrange(999)}",
                        id=rng.choice(bookings).id)

    def cancel():
        outside_the_app(sa.update(Booking).where(Booking.id == rng.choice(bookings).id)
                        .values(status=BookingStatus.CANCELLED, cancelled_at=NOW))

    def move():
        start = datetime(2027, 1, 1, 8, tzinfo=UTC) + timedelta(days=rng.randrange(1, 90), hours=rng.randrange(10))
        outside_the_app(sa.update(Booking).where(Booking.id == rng.choice(bookings).id)
                        .values(start=start, end=start + timedelta(hours=1), blocked_until=start + timedelta(hours=1)))

    def rename_space():
        outside_the_app("UPDATE spaces SET name = :n WHERE id = :id", n=f"Rom {rng.randrange(999)}",
                        id=rng.choice(spaces).id)

    def rename_org():
        outside_the_app("UPDATE organisations SET name = :n WHERE id = :id", n=f"Org {rng.randrange(999)}",
                        id=org.id)

    def cancel_an_occurrence():
        first = (sa.select(Booking.id).where(Booking.series_id.is_not(None), Booking.status == BookingStatus.CONFIRMED)
                 .order_by(Booking.start).limit(1).scalar_subquery())
        outside_the_app(sa.update(Booking).where(Booking.id == first)
                        .values(status=BookingStatus.CANCELLED, cancelled_at=NOW))

    def add():
        bookings.append(make_booking(space=rng.choice(spaces), user=rng.choice(members),
                                     start=datetime(2027, 6, 1, 9, tzinfo=UTC) + timedelta(days=len(bookings))))

    def nothing():
        """No change: the next fetch comes from the cache and must still equal a fresh build."""

    actions = [retitle, cancel, move, rename_space, rename_org, cancel_an_occurrence, add, nothing]
    for step in range(24):
        action = rng.choice(actions)
        action()
        served = fetch(client, token)
        assert served.status_code == 200
        assert served.data == fresh_build(app, token), f"step {step}: {action.__name__}"


# --- the cache itself ---------------------------------------------------------------------------

def built(size: int) -> BuiltFeed:
    return BuiltFeed(body=b"x" * size, etag="e", watermark=None)


def test_the_cache_keeps_one_entry_per_feed_and_stays_within_its_bytes():
    cache = FeedCache(max_bytes=250)
    cache.put("a", 1, built(100))
    cache.put("a", 2, built(100))  # replaces a's entry
    assert len(cache) == 1 and cache.size_bytes == 100
    assert cache.get("a", 1) is None and cache.get("a", 2) is not None
    cache.put("b", 1, built(100))
    cache.get("a", 2)  # a is now the most recently used
    cache.put("c", 1, built(100))  # over 250 bytes: b goes
    assert cache.get("b", 1) is None and cache.get("a", 2) is not None and cache.get("c", 1) is not None
    assert cache.size_bytes == 200
    cache.put("d", 1, built(300))  # larger than the whole cache: not kept
    assert cache.get("d", 1) is None and cache.size_bytes == 200


@BOTH
def test_with_the_cache_off_every_fetch_builds(client, monkeypatch):
    monkeypatch.setitem(client.application.config, "SAMSKAP_FEED_CACHE_BYTES", 0)
    user = make_user()
    make_booking(user=user, start=datetime(2027, 1, 4, 9, tzinfo=UTC), title="Kick-off")
    _feed, token = services.create_feed(user, "mine")
    db.session.commit()
    fetch(client, token)
    with counted_statements() as count:
        assert b"Kick-off" in fetch(client, token).data
    assert count[0] > 3


def test_the_cycle_collector_is_back_on_after_a_build_even_a_failed_one(app):
    import gc

    from booking.feeds.cache import built_feed

    def fails():
        assert not gc.isenabled()
        raise RuntimeError("build failed")

    with app.test_request_context():
        with pytest.raises(RuntimeError):
            built_feed("slot", (), 1, fails)
    assert gc.isenabled()


@BOTH
def test_event_texts_stay_within_their_byte_budget_and_feeds_stay_whole(client, monkeypatch):
    from booking.feeds.calendar import TEXTS

    monkeypatch.setattr(TEXTS, "max_bytes", 60_000)
    calendar.clear_text_cache()
    user = make_user()
    space = make_space()
    for day in range(60):
        make_booking(space=space, user=user, start=datetime(2027, 1, 1, 9, tzinfo=UTC) + timedelta(days=day),
                     title=f"Long meeting {day}", description="Agenda. " * 200)  # ~1.6 kB of text each
    _feed, token = services.create_feed(user, "mine")
    db.session.commit()
    body = fetch(client, token).data
    assert body.count(b"BEGIN:VEVENT") == 60
    assert 0 < TEXTS.size_bytes <= 60_000 and len(TEXTS) < 60
    calendar.clear_text_cache()
