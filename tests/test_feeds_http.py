"""Feeds over HTTP: caching headers and 304s, identical 404s for every token that opens
nothing, the hourly last-used touch, and one booking as an .ics download."""
from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from accounts.models import Organisation, Role, User
from booking.feeds import RedactFeedTokens, services
from booking.models import Booking, BookingSeries, BookingStatus, Feed, Visibility
from samskap.audit import AuditEntry
from samskap.extensions import db
from samskap.timeutil import utcnow
from spaces.models import EquipmentType, Space
from tests.conftest import BOTH
from tests.factories import make_booking, make_space, make_user
from tests.feeds_ics import parse_calendar

UTC = timezone.utc
NOW = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    """The feed's clock, fixed (and movable) so windows and touches are deterministic."""
    state = {"now": NOW}
    monkeypatch.setattr("booking.feeds.views.feed_clock", lambda: state["now"])
    return state


def new_feed(user, scope="mine", **target):
    feed, token = services.create_feed(user, scope, **target)
    db.session.commit()
    return feed, token


def written_a_minute_ago():
    """Date every row a minute back. HTTP dates have whole seconds, and a watermark from the
    second still running is (rightly) not sent as Last-Modified."""
    past = utcnow() - timedelta(minutes=1)
    for model in (Booking, BookingSeries, User, Organisation, Space, EquipmentType):
        db.session.execute(sa.update(model).values(updated_at=past))
    db.session.execute(sa.update(Feed).values(created_at=past))
    db.session.commit()


# --- caching -----------------------------------------------------------------------------------

@BOTH
def test_feed_answers_304_to_a_matching_if_none_match(client, clock):
    user = make_user()
    make_booking(user=user, start=datetime(2027, 2, 1, 9, tzinfo=UTC))
    _feed, token = new_feed(user)
    written_a_minute_ago()
    first = client.get(f"/feeds/{token}.ics")
    assert first.status_code == 200
    assert first.headers["ETag"] == f'"{hashlib.sha256(first.data).hexdigest()}"'
    assert "Last-Modified" in first.headers
    assert "Content-Encoding" not in first.headers
    again = client.get(f"/feeds/{token}.ics", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]


def test_feed_answers_304_to_if_modified_since_until_something_changes(client, clock):
    user = make_user()
    booking = make_booking(user=user, start=datetime(2027, 2, 1, 9, tzinfo=UTC))
    _feed, token = new_feed(user)
    written_a_minute_ago()
    first = client.get(f"/feeds/{token}.ics")
    since = {"If-Modified-Since": first.headers["Last-Modified"]}
    assert client.get(f"/feeds/{token}.ics", headers=since).status_code == 304
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at = NOW
    booking.sequence += 1
    db.session.commit()
    changed = client.get(f"/feeds/{token}.ics", headers=since)
    assert changed.status_code == 200
    assert b"STATUS:CANCELLED" in changed.data
    assert changed.headers["ETag"] != first.headers["ETag"]


def test_last_modified_moves_forward_when_a_booking_leaves_the_feed(client, clock):
    staff = make_user(role=Role.STAFF)
    room, other = make_space(), make_space()
    booking = make_booking(space=room, user=staff, start=datetime(2027, 2, 1, 9, tzinfo=UTC))
    _feed, token = new_feed(staff, "space", space_id=room.id)
    written_a_minute_ago()
    first = client.get(f"/feeds/{token}.ics")
    booking.space_id = other.id  # no longer in this space's feed
    booking.sequence += 1
    booking.updated_at = utcnow() - timedelta(seconds=30)  # after the first fetch's watermark
    db.session.commit()
    after = client.get(f"/feeds/{token}.ics", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert after.status_code == 200
    assert f"booking-{booking.id}@".encode() not in after.data
    assert after.last_modified > first.last_modified


def test_last_modified_is_withheld_while_its_second_is_still_running(client, clock):
    user = make_user()
    booking = make_booking(user=user, start=datetime(2027, 2, 1, 9, tzinfo=UTC))
    _feed, token = new_feed(user)
    written_a_minute_ago()
    booking.updated_at = utcnow() + timedelta(seconds=5)  # a change whose second is not over yet
    db.session.commit()
    response = client.get(f"/feeds/{token}.ics")
    assert response.status_code == 200
    assert "Last-Modified" not in response.headers and "ETag" in response.headers


def test_equal_data_gives_equal_bytes_and_the_feed_writes_nothing_per_fetch(client, clock):
    user = make_user()
    make_booking(user=user, start=datetime(2027, 2, 1, 9, tzinfo=UTC))
    feed, token = new_feed(user)
    first = client.get(f"/feeds/{token}.ics")
    touched = db.session.get(Feed, feed.id).last_used_at
    assert touched == NOW
    clock["now"] = NOW + timedelta(minutes=30)
    second = client.get(f"/feeds/{token}.ics")
    assert second.data == first.data
    assert db.session.get(Feed, feed.id).last_used_at == NOW  # not touched again within the hour
    clock["now"] = NOW + timedelta(minutes=61)
    client.get(f"/feeds/{token}.ics")
    assert db.session.get(Feed, feed.id).last_used_at == NOW + timedelta(minutes=61)


# --- tokens that open nothing ------------------------------------------------------------------

def test_revoked_unknown_and_malformed_tokens_get_the_same_404(client, clock):
    user = make_user()
    feed, revoked_token = new_feed(user)
    services.revoke_feed(user, feed.id)
    db.session.commit()
    answers = [client.get(f"/feeds/{token}.ics") for token in (
        revoked_token,
        secrets.token_urlsafe(32),  # never issued
        "short",
        "x" * 43,  # the decoy used for malformed tokens
        "not+a*token" + "A" * 32,
        "A" * 400,
    )]
    assert {a.status_code for a in answers} == {404}
    assert {a.data for a in answers} == {b"Not found\n"}
    assert {a.headers["Content-Type"] for a in answers} == {"text/plain; charset=utf-8"}
    assert all("Set-Cookie" not in a.headers for a in answers)


def test_feed_of_a_deactivated_owner_is_gone(client, clock):
    user = make_user()
    _feed, token = new_feed(user)
    assert client.get(f"/feeds/{token}.ics").status_code == 200
    user.active = False
    db.session.commit()
    response = client.get(f"/feeds/{token}.ics")
    assert response.status_code == 404 and response.data == b"Not found\n"


def test_everything_feed_stops_when_its_owner_is_no_longer_staff(client, clock):
    staff = make_user(role=Role.STAFF)
    _feed, token = new_feed(staff, "all")
    assert client.get(f"/feeds/{token}.ics").status_code == 200
    staff.role = Role.MEMBER
    db.session.commit()
    assert client.get(f"/feeds/{token}.ics").status_code == 404


def test_only_the_tokens_hash_is_stored(client, clock):
    user = make_user()
    feed, token = new_feed(user)
    assert len(token) >= 43  # 32 random bytes
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    audit_text = " ".join(str(e.changes) + str(e.summary) for e in db.session.scalars(sa.select(AuditEntry)))
    assert token not in audit_text


def test_feed_tokens_are_kept_out_of_the_access_log():
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '"%s" %s %s',
                               ("GET /feeds/" + "A1b2_-" * 7 + "x.ics HTTP/1.1", "200", "-"), None)
    RedactFeedTokens().filter(record)
    assert record.getMessage() == '"GET /feeds/[token].ics HTTP/1.1" 200 -'


# --- one booking as .ics -----------------------------------------------------------------------

def test_organiser_downloads_their_booking_as_ics(client, auth):
    user = auth.as_user(make_user())
    booking = make_booking(user=user, start=datetime(2027, 2, 1, 9, tzinfo=UTC), title="Workshop day")
    response = client.get(f"/bookings/{booking.id}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="booking-{booking.id}.ics"'
    calendar = parse_calendar(response.data)
    assert "refresh-interval" not in calendar and "method" not in calendar
    event = calendar.walk("VEVENT")[0]
    assert str(event["uid"]) == f"booking-{booking.id}@samskap.test"
    assert str(event["summary"]) == "Workshop day"
    assert event.decoded("dtstart") == booking.start


@pytest.mark.parametrize("visibility, status, expected", [
    (Visibility.PRIVATE, BookingStatus.CONFIRMED, 404),
    (Visibility.PARTNERS, BookingStatus.CONFIRMED, 200),
    (Visibility.PUBLIC, BookingStatus.CONFIRMED, 200),
    (Visibility.PUBLIC, BookingStatus.REJECTED, 404),
])
def test_other_organisations_booking_downloads_only_when_visible(client, auth, visibility, status, expected):
    auth.as_user(make_user())
    booking = make_booking(user=make_user(kind="hospital"), visibility=visibility, status=status)
    assert client.get(f"/bookings/{booking.id}.ics").status_code == expected


def test_booking_download_needs_sign_in_and_an_existing_booking(client, auth):
    booking = make_booking(visibility=Visibility.PUBLIC)
    assert client.get(f"/bookings/{booking.id}.ics").status_code == 302
    auth.as_user(make_user())
    assert client.get("/bookings/999999.ics").status_code == 404
