"""Input the booking services refuse before it reaches the database: text with NUL characters
(PostgreSQL cannot store them) and dates beyond the ten-year horizon (local time and feeds
would overflow); and a far-future row that already exists never breaks a list page."""
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from accounts import services as account_services
from booking.models import Booking, Visibility
from booking.services import book_space, cancel_booking, reject_booking, update_booking
from samskap.errors import ValidationFailed
from samskap.extensions import db
from tests.booking_helpers import UTC, clock, oslo, request_for  # noqa: F401 (clock is a fixture)
from tests.conftest import BOTH
from tests.factories import make_booking, make_space, make_user


def token(user) -> dict:
    _, secret = account_services.create_api_token(None, user)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def count_bookings() -> int:
    return db.session.scalar(sa.select(sa.func.count(Booking.id)))


# --- NUL characters ----------------------------------------------------------------------------

@BOTH
@pytest.mark.parametrize("field", ["title", "description"])
def test_nul_in_booking_text_is_refused(client, backend, field):
    user, space = make_user(locale="en"), make_space()
    payload = {"space_id": space.id, "title": "Pilot", "start": "2027-01-05T10:00:00Z", "end": "2027-01-05T11:00:00Z"}
    payload[field] = "Pilot\x00test"
    # Over HTTP the edge refuses the request as malformed before any service runs ...
    response = client.post("/api/v1/bookings", json=payload, headers=token(user))
    assert response.status_code == 400 and "NUL" in response.json["error"]["message"]
    # ... and the service itself refuses it for every other caller, naming the field.
    request = request_for(space, oslo(2027, 1, 5, 10), oslo(2027, 1, 5, 11), **{field: "Pilot\x00test"})
    with pytest.raises(ValidationFailed) as info:
        book_space(user, request)
    assert info.value.fields[field] == "The text contains a character that is not allowed."
    db.session.rollback()
    assert count_bookings() == 0


@BOTH
def test_changing_a_title_to_text_with_nul_is_refused_and_nothing_changes(client, backend):
    user = make_user(locale="en")
    booking = make_booking(user=user, title="Before")
    db.session.commit()
    response = client.patch(f"/api/v1/bookings/{booking.id}", json={"title": "a\x00"}, headers=token(user))
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).title == "Before"


@BOTH
def test_reasons_with_nul_are_refused_when_cancelling_and_rejecting(app, backend, clock):
    user, staff = make_user(locale="en"), make_user(role="staff", locale="en")
    booking = book_space(user, request_for(make_space(requires_approval=True), oslo(2026, 3, 10, 9),
                                           oslo(2026, 3, 10, 10))).bookings[0]
    db.session.commit()
    with pytest.raises(ValidationFailed) as info:
        cancel_booking(user, booking, reason="bye\x00")
    assert info.value.fields == {"reason": "The text contains a character that is not allowed."}
    with pytest.raises(ValidationFailed) as info:
        reject_booking(staff, booking, reason="no\x00")
    assert set(info.value.fields) == {"reason"}
    assert booking.is_active


# --- the ten-year horizon ----------------------------------------------------------------------

def test_api_refuses_a_booking_in_year_9999_even_without_a_days_ahead_limit(client):
    user, space = make_user(locale="en"), make_space(max_days_ahead=None)
    response = client.post("/api/v1/bookings", headers=token(user), json={
        "space_id": space.id, "title": "Doom", "visibility": "public",
        "start": "9999-12-31T22:00:00Z", "end": "9999-12-31T23:30:00Z"})
    assert response.status_code == 422
    assert "start" in response.json["error"]["details"]["fields"]
    assert count_bookings() == 0


def test_a_booking_may_not_end_beyond_the_horizon_but_may_end_just_inside_it(app, clock):
    user, space = make_user(locale="en"), make_space(max_minutes=None)
    start = clock.now + timedelta(days=1)
    with pytest.raises(ValidationFailed) as info:
        book_space(user, request_for(space, start, start.replace(year=start.year + 11)))
    assert set(info.value.fields) == {"end"}
    inside = start.replace(year=start.year + 9)
    booking = book_space(user, request_for(space, inside, inside + timedelta(hours=1))).bookings[0]
    assert booking.start == inside


def test_moving_a_booking_beyond_the_horizon_is_refused(app, clock):
    user = make_user(locale="en")
    booking = book_space(user, request_for(make_space(), oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10))).bookings[0]
    far = datetime(9999, 12, 31, 20, tzinfo=UTC)
    with pytest.raises(ValidationFailed) as info:
        update_booking(user, booking, {"start": far, "end": far + timedelta(hours=1)})
    assert "10 years" in info.value.fields["start"]
    assert booking.start == oslo(2026, 3, 10, 9)


def test_an_existing_far_future_booking_does_not_break_the_list_pages(client, auth):
    """Rows made before the horizon existed must still let everyone read the lists."""
    user = make_user(locale="en")
    make_booking(user=user, start=datetime(9999, 12, 31, 22, tzinfo=UTC), minutes=90, title="Doom",
                 visibility=Visibility.PUBLIC)
    db.session.commit()
    anonymous = client.get("/events")
    assert anonymous.status_code == 200 and "Doom" in anonymous.get_data(as_text=True)
    assert "UTC" in anonymous.get_data(as_text=True)
    auth.as_user(user)
    for url in ("/bookings/mine", "/bookings/organisation", "/events"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Doom" in response.get_data(as_text=True)
