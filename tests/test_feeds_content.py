"""What feeds contain: every feed kind read back by the icalendar package and by Mozilla's
ical.js, which must both give exactly the occurrences, UTC instants and statuses the
database holds, including recurring series across the 2027-03-28 DST change."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from accounts.models import Role
from booking.feeds import services
from booking.models import BookingStatus, EquipmentAllocation, ReservationStatus, Visibility
from samskap.extensions import db
from tests.conftest import BOTH
from tests.factories import (make_booking, make_equipment_type, make_org, make_reservation, make_series, make_space,
                             make_user)
from tests.feeds_ics import expand_both, parse_calendar, timeline

UTC = timezone.utc
NOW = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)  # before the rows' real updated_at, so edits move Last-Modified
FROM = datetime(2026, 1, 1, tzinfo=UTC)  # wider than any feed window: nothing may leak outside it
UNTIL = datetime(2029, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr("booking.feeds.views.feed_clock", lambda: NOW)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def new_feed(user, scope="mine", **target) -> str:
    _feed, token = services.create_feed(user, scope, **target)
    db.session.commit()
    return token


def fetch(client, token) -> bytes:
    response = client.get(f"/feeds/{token}.ics")
    assert response.status_code == 200, response.data
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return response.data


def occurrences(client, token, tmp_path):
    return expand_both(fetch(client, token), FROM, UNTIL, tmp_path)


def edit(booking, **changes):
    """What the booking service does on a change of time, place or status."""
    for key, value in changes.items():
        setattr(booking, key, value)
    booking.sequence += 1
    db.session.commit()


def cancel(booking, when=None):
    edit(booking, status=BookingStatus.CANCELLED, cancelled_at=when or utc(2026, 10, 30, 12))


# --- single bookings -------------------------------------------------------------------------

def test_single_bookings_are_written_in_utc_with_their_status(client, tmp_path):
    user = make_user(locale="en")
    confirmed = make_booking(user=user, start=utc(2027, 3, 16, 8), title="Pilot kick-off")
    pending = make_booking(user=user, start=utc(2027, 10, 31, 0, 30), minutes=120,
                           status=BookingStatus.PENDING)  # across the autumn change: no ambiguity in UTC
    token = new_feed(user)
    body = fetch(client, token)
    assert b"DTSTART:20270316T080000Z" in body
    assert b"VTIMEZONE" not in body and b"METHOD" not in body
    assert timeline(expand_both(body, FROM, UNTIL, tmp_path)) == [
        (confirmed.start, confirmed.end, "CONFIRMED"),
        (pending.start, pending.end, "TENTATIVE"),
    ]


def test_calendar_carries_name_time_zone_and_refresh_hints(client):
    user = make_user(locale="en")
    make_booking(user=user, start=utc(2027, 1, 5, 9))
    calendar = parse_calendar(fetch(client, new_feed(user)))
    assert str(calendar["x-wr-calname"]) == "Samskap – My bookings"
    assert str(calendar["x-wr-timezone"]) == "Europe/Oslo"
    lines = fetch(client, new_feed(user)).decode().split("\r\n")
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in lines
    assert "X-PUBLISHED-TTL:PT1H" in lines


def test_event_has_stable_uid_stamps_location_link_and_organisation(client, app):
    user = make_user(locale="en")
    space = make_space(name="Living lab")
    booking = make_booking(space=space, user=user, start=utc(2027, 2, 1, 9), title="Fall sensors",
                           description="Bring the kits.")
    token = new_feed(user)
    first, second = fetch(client, token), fetch(client, token)
    assert first == second
    event = parse_calendar(first).walk("VEVENT")[0]
    assert str(event["uid"]) == f"booking-{booking.id}@samskap.test"
    assert event.decoded("dtstamp") == booking.updated_at.replace(microsecond=0)
    assert event.decoded("last-modified") == booking.updated_at.replace(microsecond=0)
    assert str(event["location"]) == f"Living lab, {app.config['SAMSKAP_ADDRESS']}"
    description = str(event["description"])
    assert "Bring the kits." in description
    assert f"http://samskap.test/bookings/{booking.id}" in description
    assert user.organisation.name in description
    assert str(event["x-samskap-organisation"]) == user.organisation.name
    assert "ORGANIZER" not in event and user.email not in first.decode()


def test_sequence_grows_and_uid_stays_when_a_booking_is_moved(client, tmp_path):
    user = make_user()
    booking = make_booking(user=user, start=utc(2027, 2, 1, 9))
    token = new_feed(user)
    before = parse_calendar(fetch(client, token)).walk("VEVENT")[0]
    edit(booking, start=utc(2027, 2, 2, 9), end=utc(2027, 2, 2, 10), blocked_until=utc(2027, 2, 2, 10))
    after = parse_calendar(fetch(client, token)).walk("VEVENT")[0]
    assert str(after["uid"]) == str(before["uid"])
    assert after["sequence"] > before["sequence"]
    assert timeline(occurrences(client, token, tmp_path)) == [(utc(2027, 2, 2, 9), utc(2027, 2, 2, 10), "CONFIRMED")]


def test_cancelled_booking_stays_for_thirty_days_as_cancelled(client, tmp_path):
    user = make_user()
    recent = make_booking(user=user, start=utc(2027, 2, 1, 9))
    old = make_booking(user=user, start=utc(2027, 2, 3, 9))
    cancel(recent, when=NOW - timedelta(days=3))
    cancel(old, when=NOW - timedelta(days=45))
    body = fetch(client, new_feed(user))
    assert b"STATUS:CANCELLED" in body
    assert timeline(expand_both(body, FROM, UNTIL, tmp_path)) == [(recent.start, recent.end, "CANCELLED")]


def test_rejected_bookings_are_not_shown(client, tmp_path):
    user = make_user()
    make_booking(user=user, start=utc(2027, 2, 1, 9), status=BookingStatus.REJECTED)
    assert occurrences(client, new_feed(user), tmp_path) == []


@BOTH
def test_window_covers_ninety_days_back_and_eighteen_months_ahead(client, tmp_path):
    user = make_user()
    too_old = make_booking(user=user, start=NOW - timedelta(days=92))
    recent = make_booking(user=user, start=NOW - timedelta(days=88))
    far = make_booking(user=user, start=NOW + timedelta(days=540))
    too_far = make_booking(user=user, start=NOW + timedelta(days=560))
    body = fetch(client, new_feed(user))
    starts = [o.start for o in expand_both(body, FROM, UNTIL, tmp_path)]
    assert starts == [recent.start, far.start]
    assert f"booking-{too_old.id}@".encode() not in body and f"booking-{too_far.id}@".encode() not in body


# --- recurring series ------------------------------------------------------------------------

def dst_series(user, space=None, **fields):
    """Weekly on Fridays at 10:00 Oslo time across the 2027-03-28 change: 09:00Z, then 08:00Z."""
    return make_series(space=space, user=user, dtstart_local="2027-03-12T10:00:00",
                       rrule="FREQ=WEEKLY;COUNT=6", minutes=90, **fields)


@BOTH
def test_weekly_series_across_dst_with_cancelled_and_moved_occurrence(client, tmp_path):
    user = make_user(locale="en")
    series = dst_series(user, title="Steering group")
    rows = series.occurrences
    assert [r.start.hour for r in rows] == [9, 9, 9, 8, 8, 8]  # same wall-clock time, both sides of the change
    cancel(rows[3])  # Friday 2 April
    edit(rows[4], start=utc(2027, 4, 9, 12), end=utc(2027, 4, 9, 13, 30), blocked_until=utc(2027, 4, 9, 13, 30))
    body = fetch(client, new_feed(user))

    text = body.decode()
    assert "DTSTART;TZID=Europe/Oslo:20270312T100000" in text
    assert "RRULE:FREQ=WEEKLY;COUNT=6" in text
    assert "EXDATE;TZID=Europe/Oslo:20270402T100000" in text
    assert "RECURRENCE-ID;TZID=Europe/Oslo:20270409T100000" in text
    # The compact VTIMEZONE Outlook reads: one STANDARD and one DAYLIGHT block with yearly rules.
    assert text.count("BEGIN:VTIMEZONE") == 1 and text.count("BEGIN:STANDARD") == 1
    assert text.count("BEGIN:DAYLIGHT") == 1 and "RDATE" not in text
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in text and "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10" in text

    expected = [(r.start, r.end, "CONFIRMED") for r in rows if r.status != BookingStatus.CANCELLED]
    found = expand_both(body, FROM, UNTIL, tmp_path)
    assert timeline(found) == sorted(expected)
    assert {o.uid for o in found} == {f"series-{series.id}@samskap.test"}
    assert (utc(2027, 4, 9, 12), utc(2027, 4, 9, 13, 30), "CONFIRMED") in timeline(found)


def test_series_ending_on_a_utc_until_is_one_master_event(client, tmp_path):
    user = make_user()
    # As the booking service writes it: with a TZID-anchored DTSTART, UNTIL is in UTC.
    series = make_series(user=user, dtstart_local="2027-03-24T08:15:00",
                         rrule="FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE;UNTIL=20270407T215959Z")
    body = fetch(client, new_feed(user))
    assert body.count(b"BEGIN:VEVENT") == 1 and b"UNTIL=20270407T215959Z" in body
    found = expand_both(body, FROM, UNTIL, tmp_path)
    assert timeline(found) == [(r.start, r.end, "CONFIRMED") for r in series.occurrences]
    assert [r.start.hour for r in series.occurrences] == [7, 6, 6, 6, 6]  # 08:15 Oslo, CET then CEST


def test_series_with_an_instance_in_the_spring_gap_is_written_occurrence_by_occurrence(client, tmp_path):
    user = make_user()
    # 02:30 does not exist on 2027-03-28; the booking service skips that date.
    series = make_series(user=user, dtstart_local="2027-03-27T02:30:00", rrule="FREQ=DAILY;COUNT=3")
    assert len(series.occurrences) == 2
    body = fetch(client, new_feed(user))
    assert b"RRULE" not in body
    found = expand_both(body, FROM, UNTIL, tmp_path)
    assert timeline(found) == [(r.start, r.end, "CONFIRMED") for r in series.occurrences]


def test_series_with_an_instance_in_the_repeated_autumn_hour_is_written_in_utc(client, tmp_path):
    user = make_user()
    # 02:30 happens twice on 2027-10-31; the stored row holds the first (summer-time) one.
    series = make_series(user=user, dtstart_local="2027-10-30T02:30:00", rrule="FREQ=DAILY;COUNT=3")
    body = fetch(client, new_feed(user))
    assert b"RRULE" not in body and b"DTSTART:20271031T003000Z" in body
    # A reader that rewrites UTC into X-WR-TIMEZONE would lose which 02:30 is meant: no hint then.
    assert b"X-WR-TIMEZONE" not in body
    found = expand_both(body, FROM, UNTIL, tmp_path)
    assert timeline(found) == [(r.start, r.end, "CONFIRMED") for r in series.occurrences]


def test_series_occurrence_with_another_status_becomes_an_override(client, tmp_path):
    user = make_user()
    series = dst_series(user)
    rows = series.occurrences
    edit(rows[1], status=BookingStatus.PENDING)
    found = occurrences(client, new_feed(user), tmp_path)
    assert [o.status for o in found] == ["CONFIRMED", "TENTATIVE", "CONFIRMED", "CONFIRMED", "CONFIRMED",
                                         "CONFIRMED"]


def test_wholly_cancelled_series_shows_as_cancelled(client, tmp_path):
    user = make_user()
    series = dst_series(user)
    for row in series.occurrences:
        cancel(row)
    found = occurrences(client, new_feed(user), tmp_path)
    assert timeline(found) == [(r.start, r.end, "CANCELLED") for r in series.occurrences]


def test_series_sequence_grows_when_one_occurrence_changes(client):
    user = make_user()
    series = dst_series(user)
    token = new_feed(user)
    sequence = parse_calendar(fetch(client, token)).walk("VEVENT")[0]["sequence"]
    edit(series.occurrences[2], title="Renamed")
    events = parse_calendar(fetch(client, token)).walk("VEVENT")
    assert all(event["sequence"] > sequence for event in events)
    assert "Renamed" in [str(event["summary"]) for event in events]


def test_series_running_past_the_window_stays_one_master_with_its_whole_rule(client, tmp_path):
    user = make_user()
    # Started four months before NOW: its first instances are outside the window. Written
    # occurrence by occurrence, its UIDs would change once it was no longer clipped.
    series = make_series(user=user, dtstart_local="2026-07-06T09:00:00", rrule="FREQ=WEEKLY;COUNT=20")
    cancel(series.occurrences[-1])
    body = fetch(client, new_feed(user))
    assert body.count(b"BEGIN:VEVENT") == 1 and b"RRULE:FREQ=WEEKLY;COUNT=20" in body
    assert b"DTSTART;TZID=Europe/Oslo:20260706T090000" in body
    found = expand_both(body, FROM, UNTIL, tmp_path)
    assert timeline(found) == [(r.start, r.end, "CONFIRMED") for r in series.occurrences
                               if r.status != BookingStatus.CANCELLED]
    assert {o.uid for o in found} == {f"series-{series.id}@samskap.test"}


def test_series_occurrence_moved_to_another_space_leaves_the_space_feed(client, tmp_path):
    staff = make_user(role=Role.STAFF)
    room, other = make_space(), make_space()
    series = dst_series(staff, space=room)
    moved = series.occurrences[1]
    edit(moved, space_id=other.id)
    room_feed = occurrences(client, new_feed(staff, "space", space_id=room.id), tmp_path)
    assert [o.start for o in room_feed] == [r.start for r in series.occurrences if r.id != moved.id]
    other_feed = occurrences(client, new_feed(staff, "space", space_id=other.id), tmp_path)
    assert [o.start for o in other_feed] == [moved.start]


def test_series_skipping_a_conflicting_date_excludes_it(client, tmp_path):
    user = make_user()
    series = dst_series(user)
    skipped = series.occurrences[2]
    db.session.delete(skipped)  # made with "skip conflicting dates": that instance has no row
    db.session.commit()
    found = occurrences(client, new_feed(user), tmp_path)
    assert skipped.start not in [o.start for o in found] and len(found) == 5


# --- scopes and privacy ----------------------------------------------------------------------

@BOTH
def test_other_organisations_private_booking_shows_only_as_busy(client, tmp_path):
    space = make_space()
    viewer = make_user(locale="en")
    other = make_user(kind="hospital")
    secret = make_booking(space=space, user=other, start=utc(2027, 2, 1, 9), title="Secret merger",
                          description="Confidential", visibility=Visibility.PRIVATE)
    shared = make_booking(space=space, user=other, start=utc(2027, 2, 2, 9), title="Partner day",
                          visibility=Visibility.PARTNERS)
    body = fetch(client, new_feed(viewer, "space", space_id=space.id))
    found = expand_both(body, FROM, UNTIL, tmp_path)
    assert [(o.start, o.summary) for o in found] == [(secret.start, "Busy"), (shared.start, "Partner day")]
    text = body.decode()
    assert "Secret merger" not in text and "Confidential" not in text
    busy = [e for e in parse_calendar(body).walk("VEVENT") if str(e["summary"]) == "Busy"][0]
    assert "description" not in busy and "x-samskap-organisation" not in busy and "url" not in busy
    assert other.organisation.name not in text.split("Partner day")[0]


def test_busy_is_norwegian_for_a_norwegian_owner(client):
    space = make_space()
    viewer = make_user(locale="nb")
    make_booking(space=space, user=make_user(kind="company"), start=utc(2027, 2, 1, 9), title="Hemmelig")
    body = fetch(client, new_feed(viewer, "space", space_id=space.id)).decode()
    assert "SUMMARY:Opptatt" in body and "Hemmelig" not in body


def test_privacy_follows_the_owners_current_organisation(client):
    space = make_space()
    hospital = make_org("hospital")
    viewer = make_user(org=make_org("municipality"), locale="en")
    make_booking(space=space, user=make_user(org=hospital), start=utc(2027, 2, 1, 9), title="Ward trial")
    token = new_feed(viewer, "space", space_id=space.id)
    assert b"Ward trial" not in fetch(client, token)
    viewer.organisation_id = hospital.id  # moved to the hospital: its bookings are now theirs to see
    db.session.commit()
    assert b"Ward trial" in fetch(client, token)


def test_organisation_feed_shows_the_organisations_bookings_only(client, tmp_path):
    org = make_org()
    viewer, colleague = make_user(org=org), make_user(org=org)
    mine = make_booking(user=viewer, start=utc(2027, 2, 1, 9))
    theirs = make_booking(user=colleague, start=utc(2027, 2, 2, 9))
    make_booking(user=make_user(), start=utc(2027, 2, 3, 9))  # another organisation
    found = occurrences(client, new_feed(viewer, "organisation"), tmp_path)
    assert [o.start for o in found] == [mine.start, theirs.start]


def test_all_feed_shows_every_booking_with_details_to_staff(client, tmp_path):
    staff = make_user(role=Role.STAFF)
    first = make_booking(start=utc(2027, 2, 1, 9), title="One")
    second = make_booking(start=utc(2027, 2, 2, 9), title="Two", visibility=Visibility.PRIVATE)
    found = occurrences(client, new_feed(staff, "all"), tmp_path)
    assert [(o.start, o.summary) for o in found] == [(first.start, "One"), (second.start, "Two")]


def test_equipment_feed_has_one_event_per_reservation(client, tmp_path):
    kit = make_equipment_type(units=3, name="Fall-detection kit")
    viewer = make_user(locale="en")
    own = make_reservation(kit, user=viewer, start=utc(2027, 3, 1, 8), days=7, quantity=2, purpose="Home pilot")
    foreign = make_reservation(kit, start=utc(2027, 3, 10, 8), status=ReservationStatus.PENDING)
    make_reservation(kit, start=utc(2027, 3, 20, 8), status=ReservationStatus.REJECTED)
    make_reservation(start=utc(2027, 3, 2, 8))  # another equipment type
    body = fetch(client, new_feed(viewer, "equipment", equipment_type_id=kit.id))
    found = expand_both(body, FROM, UNTIL, tmp_path)
    assert [(o.uid, o.start, o.end, o.status, o.summary) for o in found] == [
        (f"reservation-{own.id}@samskap.test", own.start, own.end, "CONFIRMED", "2 × Fall-detection kit: Home pilot"),
        (f"reservation-{foreign.id}@samskap.test", foreign.start, foreign.end, "TENTATIVE",
         "Reserved: 1 × Fall-detection kit"),
    ]
    assert foreign.purpose.encode() not in body


def test_equipment_event_names_its_units_place_and_page(client):
    kit = make_equipment_type(units=2, name="Sensor kit")
    viewer = make_user(locale="en")
    space = make_space(name="Living lab")
    booking = make_booking(space=space, user=viewer, start=utc(2027, 3, 1, 8))
    reservation = make_reservation(kit, user=viewer, start=utc(2027, 3, 1, 8), booking_id=booking.id)
    unit = kit.units[0]
    db.session.add(EquipmentAllocation(reservation_id=reservation.id, unit_id=unit.id, start=reservation.start,
                                       blocked_until=reservation.end))
    db.session.commit()
    event = parse_calendar(fetch(client, new_feed(viewer, "equipment", equipment_type_id=kit.id))).walk("VEVENT")[0]
    assert f"Units: {unit.asset_tag}" in str(event["description"])
    assert str(event["location"]).startswith("Living lab, ")
    assert str(event["url"]) == f"http://samskap.test/equipment-reservations/{reservation.id}"


def test_public_feed_shows_confirmed_public_events_to_anyone(client, tmp_path):
    public = make_booking(start=utc(2027, 5, 1, 10), title="Open day", visibility=Visibility.PUBLIC)
    make_booking(start=utc(2027, 5, 2, 10), title="Partners only", visibility=Visibility.PARTNERS)
    make_booking(start=utc(2027, 5, 3, 10), title="Not yet", visibility=Visibility.PUBLIC,
                 status=BookingStatus.PENDING)
    response = client.get("/feeds/public.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    found = expand_both(response.data, FROM, UNTIL, tmp_path)
    assert [(o.start, o.summary, o.status) for o in found] == [(public.start, "Open day", "CONFIRMED")]


def test_public_feed_expands_a_public_series(client, tmp_path):
    series = dst_series(make_user(), visibility=Visibility.PUBLIC, title="Open lab")
    found = expand_both(client.get("/feeds/public.ics").data, FROM, UNTIL, tmp_path)
    assert timeline(found) == [(r.start, r.end, "CONFIRMED") for r in series.occurrences]
