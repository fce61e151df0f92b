"""Feeds reflect what the booking services do: an edit through update_booking raises SEQUENCE
and moves the event, a cancellation through cancel_booking shows STATUS:CANCELLED, and the
UID never changes — what subscribers' calendars need to update in place."""
from datetime import timedelta

from booking import services as booking_services
from booking.feeds import services as feed_services
from samskap.extensions import db
from samskap.timeutil import utcnow
from tests.factories import make_space, make_user
from tests.feeds_ics import parse_calendar


def events(client, token):
    response = client.get(f"/feeds/{token}.ics")
    assert response.status_code == 200
    return {str(e["UID"]): e for e in parse_calendar(response.data).walk("VEVENT")}


def test_edit_and_cancel_through_the_services_update_the_feed_in_place(client):
    user = make_user()
    space = make_space()
    start = (utcnow() + timedelta(days=5)).replace(minute=0, second=0, microsecond=0)
    booking = booking_services.book_space(user, booking_services.BookingRequest(
        space_id=space.id, title="Pilot planning", start=start, end=start + timedelta(hours=1))).bookings[0]
    _feed, token = feed_services.create_feed(user, "mine")
    db.session.commit()

    (uid, first), = events(client, token).items()
    assert int(first["SEQUENCE"]) == 0 and str(first["STATUS"]) == "CONFIRMED"

    booking_services.update_booking(user, booking, {"start": start + timedelta(hours=2),
                                                    "end": start + timedelta(hours=3)})
    db.session.commit()
    moved = events(client, token)[uid]
    assert int(moved["SEQUENCE"]) > 0
    assert moved.decoded("DTSTART") == start + timedelta(hours=2)

    booking_services.cancel_booking(user, booking, "No longer needed")
    db.session.commit()
    cancelled = events(client, token)[uid]
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert int(cancelled["SEQUENCE"]) > int(moved["SEQUENCE"])
