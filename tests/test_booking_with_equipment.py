"""Room bookings that include pilot-test equipment: made whole or not at all, and a
cancellation takes the equipment with it unless told otherwise."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from accounts import services as account_services
from booking import services
from booking.models import Booking, BookingStatus, EquipmentReservation, ReservationStatus
from samskap.errors import Conflict
from samskap.extensions import db
from samskap.timeutil import utcnow
from tests.conftest import BOTH
from tests.factories import make_equipment_type, make_space, make_user


def bearer(user) -> dict:
    _token, secret = account_services.create_api_token(None, user)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def future(hours: int = 0):
    return (utcnow() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours)


def count(model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@BOTH
def test_api_books_a_room_with_equipment_and_lists_the_units(client):
    user = make_user()
    space = make_space()
    kits = make_equipment_type(units=3, name="Fall sensor kit")
    response = client.post("/api/v1/bookings", headers=bearer(user), json={
        "space_id": space.id, "title": "Pilot kick-off", "start": future().isoformat(),
        "end": future(2).isoformat(), "equipment": [{"equipment_id": kits.id, "quantity": 2}]})
    assert response.status_code == 201, response.json
    booking_id = response.json["id"]
    reservation = db.session.scalar(sa.select(EquipmentReservation).where(EquipmentReservation.booking_id == booking_id))
    assert reservation.quantity == 2 and len(reservation.allocations) == 2
    assert reservation.start == future() and reservation.end == future(2)


@BOTH
def test_too_little_equipment_means_no_booking_either(client):
    user = make_user()
    space = make_space()
    kits = make_equipment_type(units=1)
    response = client.post("/api/v1/bookings", headers=bearer(user), json={
        "space_id": space.id, "title": "Pilot", "start": future().isoformat(), "end": future(1).isoformat(),
        "equipment": [{"equipment_id": kits.id, "quantity": 2}]})
    assert response.status_code == 409
    assert response.json["error"]["details"]["free_now"] == 1
    assert count(Booking) == 0 and count(EquipmentReservation) == 0


@pytest.mark.parametrize("equipment,field", [
    ("two kits", "equipment"), ([{"equipment_id": "x", "quantity": 1}], "equipment[0].equipment_id"),
    ([{"equipment_id": 1, "quantity": 0}], "equipment[0].quantity"),
])
def test_bad_equipment_lists_are_refused_per_field(client, equipment, field):
    user = make_user()
    space = make_space()
    make_equipment_type(units=2)
    response = client.post("/api/v1/bookings", headers=bearer(user), json={
        "space_id": space.id, "title": "Pilot", "start": future().isoformat(), "end": future(1).isoformat(),
        "equipment": equipment})
    assert response.status_code == 422
    assert field in response.json["error"]["details"]["fields"]
    assert count(Booking) == 0


def test_series_with_equipment_fails_whole_when_one_date_lacks_units(app):
    user = make_user()
    space = make_space()
    kits = make_equipment_type(units=1)
    other = make_user()
    services_eq = __import__("booking.equipment.services", fromlist=["reserve_equipment"])
    services_eq.reserve_equipment(other, kits.id, 1, future() + timedelta(days=7), future(1) + timedelta(days=7))
    db.session.commit()
    request = services.BookingRequest(space_id=space.id, title="Weekly pilot", start=future(), end=future(1),
                                      recurrence=services.Recurrence(freq="weekly", count=3),
                                      equipment=[{"equipment_id": kits.id, "quantity": 1}])
    with pytest.raises(Conflict) as info:
        services.book_space(user, request)
    assert "occurrence_start" in info.value.details
    db.session.rollback()
    assert count(Booking) == 0 and count(EquipmentReservation, EquipmentReservation.user_id == user.id) == 0


@BOTH
def test_cancelling_the_booking_cancels_its_equipment_unless_told_not_to(client):
    user = make_user()
    headers = bearer(user)
    space = make_space()
    kits = make_equipment_type(units=2)
    ids = []
    for hour in (0, 3):
        created = client.post("/api/v1/bookings", headers=headers, json={
            "space_id": space.id, "title": "Pilot", "start": future(hour).isoformat(),
            "end": future(hour + 1).isoformat(), "equipment": [{"equipment_id": kits.id, "quantity": 1}]})
        ids.append(created.json["id"])
    assert client.post(f"/api/v1/bookings/{ids[0]}/cancel", headers=headers, json={"reason": "moved"}).status_code == 200
    assert client.post(f"/api/v1/bookings/{ids[1]}/cancel", headers=headers,
                       json={"cancel_equipment": False}).status_code == 200
    statuses = {r.booking_id: r.status for r in db.session.scalars(sa.select(EquipmentReservation))}
    assert statuses == {ids[0]: ReservationStatus.CANCELLED, ids[1]: ReservationStatus.CONFIRMED}
    bad = client.post(f"/api/v1/bookings/{ids[1]}/cancel", headers=headers, json={"cancel_equipment": "yes"})
    assert bad.status_code == 422  # an invalid field, not a clash
    assert "cancel_equipment" in bad.json["error"]["details"]["fields"]


def test_staff_bookings_in_approval_spaces_are_confirmed_at_once_members_wait(app):
    space = make_space(requires_approval=True)
    staff = make_user(role="staff")
    member = make_user()
    staff_booking = services.book_space(staff, services.BookingRequest(
        space_id=space.id, title="Staff", start=future(), end=future(1))).bookings[0]
    member_booking = services.book_space(member, services.BookingRequest(
        space_id=space.id, title="Member", start=future(2), end=future(3))).bookings[0]
    assert staff_booking.status == BookingStatus.CONFIRMED
    assert member_booking.status == BookingStatus.PENDING
