"""An event with registration and the release of no-shows (booking.fairuse.checkin): where people
hold confirmed places the event is not released for a missing check-in (they come for the event,
whoever checks in); a released booking's other registrations end and their people are told, as
for a cancelled booking."""
from __future__ import annotations

from datetime import timedelta

from booking.fairuse.checkin import check_in, check_in_deadline, release_no_shows
from booking.models import Booking, BookingStatus
from booking.registrations.models import RegistrationStatus
from samskap.extensions import db
from tests.conftest import BOTH
from tests.factories import make_user
from tests.test_registrations import START, make_event, outbox, register_as, world  # noqa: F401
from tests.test_registrations_lifecycle import anonymous, full_event, registrations

LATE = START + timedelta(minutes=11)  # past a 10-minute check-in deadline, the event still running


def _require_check_in(world, minutes=10):
    world["space"].check_in_minutes = minutes
    db.session.commit()


@BOTH
def test_an_event_where_people_hold_places_is_not_released_and_its_registrations_stay(client, auth, world):
    event = full_event(client, world)  # one confirmed, one waitlisted, one waiting for the email link
    _require_check_in(world)
    before = {email: r.status for email, r in registrations(event["id"]).items()}
    assert release_no_shows(LATE) == []
    db.session.commit()
    booking = db.session.get(Booking, event["id"])
    assert booking.status == BookingStatus.CONFIRMED and booking.cancelled_at is None
    assert {email: r.status for email, r in registrations(event["id"]).items()} == before
    assert before["plass@example.no"] == RegistrationStatus.CONFIRMED
    assert outbox("fairuse.no_show") == [] and outbox("registration.event_cancelled") == []
    # Nothing on its page threatens a release, and its organiser may still check in.
    assert check_in_deadline(booking) is None
    auth.as_user(world["organiser"])
    assert "Check in by" not in client.get(f"/bookings/{event['id']}").get_data(as_text=True)
    check_in(world["organiser"], booking, now=START + timedelta(minutes=20))
    assert booking.checked_in_at is not None


@BOTH
def test_a_released_event_without_places_ends_its_waiting_registrations_and_tells_them(client, world):
    event = make_event(client, world, capacity=5)
    assert anonymous(client, event["id"], name="Gjest", email="gjest@example.no").status_code == 201
    leaver = make_user(email="borte@example.no", locale="en")
    placed = register_as(client, event["id"], leaver).json
    assert placed["status"] == "confirmed"
    response = client.post(f"/api/v1/bookings/{event['id']}/registrations/{placed['id']}/cancel",
                           headers=world["headers"]["organiser"])
    assert response.status_code == 200, response.get_data(as_text=True)
    _require_check_in(world)
    booking = db.session.get(Booking, event["id"])
    assert check_in_deadline(booking) == START + timedelta(minutes=10)  # nobody holds a place now

    assert [b.id for b in release_no_shows(LATE)] == [event["id"]]
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Booking, event["id"]).status == BookingStatus.NO_SHOW
    assert {email: r.status for email, r in registrations(event["id"]).items()} == {
        "gjest@example.no": RegistrationStatus.CANCELLED, "borte@example.no": RegistrationStatus.CANCELLED}
    [told] = outbox("registration.event_cancelled")
    assert told.to_address == "gjest@example.no" and not told.attachment_items()  # held no place: no calendar
    assert [m.to_address for m in outbox("fairuse.no_show")] == [world["organiser"].email]


def test_a_place_confirmed_after_the_worker_looked_keeps_the_event(client, world, monkeypatch):
    """The release is one conditional UPDATE: a place taken since the worker's query wins, as a
    check-in does."""
    from booking.fairuse import checkin

    event = make_event(client, world, capacity=5)
    _require_check_in(world)
    due = checkin.due_for_release(LATE)
    assert [b.id for b in due] == [event["id"]]
    assert register_as(client, event["id"], make_user(locale="en")).json["status"] == "confirmed"
    monkeypatch.setattr(checkin, "due_for_release", lambda now: due)
    assert release_no_shows(LATE) == []
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Booking, event["id"]).status == BookingStatus.CONFIRMED
