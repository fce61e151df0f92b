"""What a booking holds stays consistent: its equipment follows it when it is rejected,
cancelled or moved, and a series never overlaps itself (or half-exists across a DST gap)."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from accounts import services as account_services
from booking.equipment import services as equipment
from booking.models import Booking, EquipmentAllocation, EquipmentReservation, ReservationStatus
from booking.recurrence import Recurrence
from booking.services import book_space, reject_booking, update_booking
from samskap.errors import Conflict, PermissionDenied
from samskap.extensions import db
from tests.booking_helpers import clock, oslo, request_for  # noqa: F401 (clock is a fixture)
from tests.conftest import BOTH
from tests.factories import make_equipment_type, make_org, make_space, make_user


def token(user) -> dict:
    _, secret = account_services.create_api_token(None, user)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def en_user(**fields):
    return make_user(locale="en", **fields)


def reservations_of(booking) -> list[EquipmentReservation]:
    return list(db.session.scalars(sa.select(EquipmentReservation)
                                   .where(EquipmentReservation.booking_id == booking.id)
                                   .order_by(EquipmentReservation.id)))


def active_allocations() -> list[EquipmentAllocation]:
    return list(db.session.scalars(sa.select(EquipmentAllocation).where(EquipmentAllocation.active.is_(True))))


# --- rejecting and cancelling take the equipment with them -------------------------------------

@BOTH
def test_rejecting_a_booking_frees_the_equipment_reserved_with_it(app, clock, backend):
    staff, member, other = en_user(role="staff"), en_user(), en_user()
    kit = make_equipment_type(units=1)
    booking = book_space(member, request_for(make_space(requires_approval=True), oslo(2026, 4, 6, 9),
                                             oslo(2026, 4, 6, 10), equipment=[{"equipment_id": kit.id,
                                                                                "quantity": 1}])).bookings[0]
    db.session.commit()
    reject_booking(staff, booking, "The room is needed for an inspection")
    db.session.commit()
    [reservation] = reservations_of(booking)
    assert reservation.status == ReservationStatus.CANCELLED
    assert reservation.cancel_reason == "The room is needed for an inspection"
    assert active_allocations() == []
    # The unit is free for someone else at that time.
    taken = equipment.reserve_equipment(other, kit.id, 1, oslo(2026, 4, 6, 9), oslo(2026, 4, 6, 10), now=clock.now)
    assert len(taken.allocations) == 1


@BOTH
def test_organiser_cancels_a_booking_whose_equipment_a_colleague_added(client, clock, backend):
    org = make_org(members_share_bookings=False)
    organiser, contact = en_user(org=org), en_user(org=org, is_org_contact=True)
    kit = make_equipment_type(units=1)
    booking = book_space(organiser, request_for(make_space(), oslo(2026, 4, 6, 9), oslo(2026, 4, 6, 10))).bookings[0]
    db.session.commit()
    added = equipment.reserve_equipment(contact, kit.id, 1, booking.start, booking.end, booking=booking,
                                        now=clock.now)
    db.session.commit()
    response = client.post(f"/api/v1/bookings/{booking.id}/cancel", json={"reason": "Postponed"},
                           headers=token(organiser))
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status.value == "cancelled"
    assert db.session.get(EquipmentReservation, added.id).status == ReservationStatus.CANCELLED
    assert active_allocations() == []


def test_someone_who_may_not_manage_the_booking_cannot_cancel_its_equipment_through_it(app, clock):
    organiser, stranger = en_user(), en_user()
    kit = make_equipment_type(units=1)
    booking = book_space(organiser, request_for(make_space(), oslo(2026, 4, 6, 9), oslo(2026, 4, 6, 10),
                                                equipment=[{"equipment_id": kit.id, "quantity": 1}])).bookings[0]
    db.session.commit()
    with pytest.raises(PermissionDenied):
        equipment.cancel_for_booking(stranger, booking)
    assert [r.status for r in reservations_of(booking)] == [ReservationStatus.CONFIRMED]


# --- a series never overlaps itself -----------------------------------------------------------

def count_active(space) -> int:
    return db.session.scalar(sa.select(sa.func.count(Booking.id))
                             .where(Booking.space_id == space.id, Booking.status.in_(["pending", "confirmed"])))


@BOTH
def test_weekly_series_of_week_long_bookings_overlapping_through_the_buffer_is_refused(client, clock, backend):
    user, space = en_user(), make_space(max_minutes=None, buffer_minutes=60)
    response = client.post("/api/v1/bookings", headers=token(user), json={
        "space_id": space.id, "title": "Living-lab stay", "start": "2026-04-06T09:00:00+02:00",
        "end": "2026-04-13T09:00:00+02:00", "recurrence": {"freq": "weekly", "count": 3}})
    assert response.status_code == 409, response.get_data(as_text=True)
    error = response.json["error"]
    assert error["code"] == "series_self_overlap"
    assert error["details"]["dates"] == ["2026-04-13", "2026-04-20"]
    assert {c["reason"] for c in error["details"]["conflicts"]} == {"series_self_overlap"}
    assert "2026-04-06 09:00–2026-04-13 09:00 and 2026-04-13 09:00–2026-04-20 09:00" in error["message"]
    assert "60 minutes of preparation time" in error["message"]
    assert count_active(space) == 0


@BOTH
def test_back_to_back_series_without_buffer_is_allowed(client, clock, backend):
    user, space = en_user(), make_space(max_minutes=None)
    response = client.post("/api/v1/bookings", headers=token(user), json={
        "space_id": space.id, "title": "Living-lab stay", "start": "2026-04-06T09:00:00+02:00",
        "end": "2026-04-13T09:00:00+02:00", "recurrence": {"freq": "weekly", "count": 3}})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert count_active(space) == 3


@BOTH
def test_daily_series_of_two_day_bookings_is_refused_before_anything_is_written(app, clock, backend):
    user, space = en_user(), make_space(max_minutes=None)
    with pytest.raises(Conflict) as info:
        book_space(user, request_for(space, oslo(2026, 4, 6, 9), oslo(2026, 4, 8, 9),
                                     recurrence=Recurrence(freq="daily", count=3)))
    assert info.value.code == "series_self_overlap"
    # Each occurrence overlaps the next; the third also overlaps the first, which reaches furthest.
    assert info.value.details["dates"] == ["2026-04-07", "2026-04-08"]
    db.session.rollback()
    assert count_active(space) == 0


@BOTH
@pytest.mark.parametrize("scope", ["series", "following"])
def test_lengthening_a_series_so_that_its_bookings_overlap_is_refused(app, clock, backend, scope):
    user, space = en_user(), make_space(max_minutes=None)
    bookings = book_space(user, request_for(space, oslo(2026, 4, 6, 9), oslo(2026, 4, 6, 10),
                                            recurrence=Recurrence(freq="daily", count=3))).bookings
    db.session.commit()
    with pytest.raises(Conflict) as info:
        update_booking(user, bookings[0], {"end": oslo(2026, 4, 7, 12)}, scope=scope)
    assert info.value.code == "series_self_overlap"
    assert info.value.details["dates"] == ["2026-04-07", "2026-04-08"]
    db.session.rollback()
    assert [(b.start, b.end) for b in bookings] == [(oslo(2026, 4, d, 9), oslo(2026, 4, d, 10)) for d in (6, 7, 8)]


@BOTH
def test_moving_a_whole_series_onto_its_own_later_dates_is_allowed(app, clock, backend):
    """The new periods overlap other occurrences' old periods; only the final state counts."""
    user, space = en_user(), make_space()
    bookings = book_space(user, request_for(space, oslo(2026, 4, 6, 9), oslo(2026, 4, 6, 10),
                                            recurrence=Recurrence(freq="daily", count=3))).bookings
    db.session.commit()
    update_booking(user, bookings[0], {"start": oslo(2026, 4, 7, 9), "end": oslo(2026, 4, 7, 10)}, scope="series")
    db.session.commit()
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Booking).where(Booking.space_id == space.id).order_by(Booking.start)).all()
    assert [(b.start, b.end) for b in rows] == [(oslo(2026, 4, d, 9), oslo(2026, 4, d, 10)) for d in (7, 8, 9)]
    assert all(b.is_active for b in rows)


# --- a date in the spring-forward gap counts like a clash --------------------------------------

def test_series_with_a_date_in_the_spring_gap_is_refused_whole_unless_skipping(app, clock):
    user, space = en_user(), make_space()
    with pytest.raises(Conflict) as info:
        book_space(user, request_for(space, oslo(2026, 3, 28, 2, 30), oslo(2026, 3, 28, 3, 30),
                                     recurrence=Recurrence(freq="daily", count=3)))
    assert info.value.details["dates"] == ["2026-03-29"]
    assert info.value.details["nonexistent"] == ["2026-03-29T02:30"]
    assert "2026-03-29 02:30" in info.value.message and "clocks go forward" in info.value.message
    db.session.rollback()
    assert count_active(space) == 0


@BOTH
def test_series_naming_both_clashes_and_spring_gap_dates(client, clock, backend):
    user, space = en_user(), make_space()
    book_space(user, request_for(space, oslo(2026, 3, 30, 2), oslo(2026, 3, 30, 4)))
    db.session.commit()
    response = client.post("/api/v1/bookings", headers=token(user), json={
        "space_id": space.id, "title": "Night test", "start": "2026-03-28T02:30:00+01:00",
        "end": "2026-03-28T03:30:00+01:00", "recurrence": {"freq": "daily", "count": 3}})
    assert response.status_code == 409
    details = response.json["error"]["details"]
    assert details["dates"] == ["2026-03-29", "2026-03-30"]
    assert "2026-03-30" in response.json["error"]["message"] and "2026-03-29 02:30" in response.json["error"]["message"]
    assert count_active(space) == 1


# --- equipment follows a moved booking ---------------------------------------------------------

def book_with_kit(user, space, start, end, kit, **fields):
    result = book_space(user, request_for(space, start, end, equipment=[{"equipment_id": kit.id, "quantity": 1}],
                                          **fields))
    db.session.commit()
    return result.bookings


@BOTH
def test_moving_a_booking_moves_its_equipment_and_frees_the_old_time(app, clock, backend):
    user, other = en_user(), en_user()
    kit = make_equipment_type(units=1)
    [booking] = book_with_kit(user, make_space(), oslo(2026, 4, 6, 9), oslo(2026, 4, 6, 10), kit)
    update_booking(user, booking, {"start": oslo(2026, 4, 13, 9), "end": oslo(2026, 4, 13, 11)})
    db.session.commit()
    [reservation] = reservations_of(booking)
    assert (reservation.start, reservation.end) == (oslo(2026, 4, 13, 9), oslo(2026, 4, 13, 11))
    assert reservation.status == ReservationStatus.CONFIRMED
    assert [(a.start, a.blocked_until) for a in active_allocations()] == [(oslo(2026, 4, 13, 9), oslo(2026, 4, 13, 11))]
    # The old time is free for someone else; the new time is not.
    equipment.reserve_equipment(other, kit.id, 1, oslo(2026, 4, 6, 9), oslo(2026, 4, 6, 10), now=clock.now)
    with pytest.raises(Conflict):
        equipment.reserve_equipment(other, kit.id, 1, oslo(2026, 4, 13, 10), oslo(2026, 4, 13, 12), now=clock.now)


@BOTH
def test_moving_a_booking_to_a_time_its_equipment_is_taken_is_refused_whole(client, clock, backend):
    user, other = en_user(), en_user()
    kit = make_equipment_type(units=1)
    [booking] = book_with_kit(user, make_space(), oslo(2026, 4, 6, 9), oslo(2026, 4, 6, 10), kit)
    equipment.reserve_equipment(other, kit.id, 1, oslo(2026, 4, 13, 8), oslo(2026, 4, 13, 12), now=clock.now)
    db.session.commit()
    response = client.patch(f"/api/v1/bookings/{booking.id}", headers=token(user),
                            json={"start": "2026-04-13T09:00:00+02:00", "end": "2026-04-13T10:00:00+02:00"})
    assert response.status_code == 409, response.get_data(as_text=True)
    assert "cannot be moved to 2026-04-13 09:00" in response.json["error"]["message"]
    db.session.expire_all()
    moved = db.session.get(Booking, booking.id)
    assert (moved.start, moved.sequence) == (oslo(2026, 4, 6, 9), 0)
    [reservation] = reservations_of(booking)
    assert (reservation.start, reservation.status) == (oslo(2026, 4, 6, 9), ReservationStatus.CONFIRMED)
    assert sorted(a.start for a in active_allocations()) == [oslo(2026, 4, 6, 9), oslo(2026, 4, 13, 8)]


@BOTH
def test_moving_a_series_moves_the_equipment_of_every_occurrence(app, clock, backend):
    user = en_user()
    kit = make_equipment_type(units=1)
    bookings = book_with_kit(user, make_space(), oslo(2026, 4, 6, 9), oslo(2026, 4, 6, 10), kit,
                             recurrence=Recurrence(freq="daily", count=3))
    update_booking(user, bookings[0], {"start": oslo(2026, 4, 6, 9, 30), "end": oslo(2026, 4, 6, 10, 30)},
                   scope="series")
    db.session.commit()
    assert [(r.start, r.end) for b in bookings for r in reservations_of(b)] == [
        (oslo(2026, 4, d, 9, 30), oslo(2026, 4, d, 10, 30)) for d in (6, 7, 8)]
    assert sorted(a.start for a in active_allocations()) == [oslo(2026, 4, d, 9, 30) for d in (6, 7, 8)]


def test_a_colleagues_equipment_moves_with_the_organisers_booking_and_needs_approval_again(app, clock):
    org = make_org(members_share_bookings=False)
    organiser, contact, staff = en_user(org=org), en_user(org=org, is_org_contact=True), en_user(role="staff")
    kit = make_equipment_type(units=2, requires_approval=True)
    booking = book_space(organiser, request_for(make_space(), oslo(2026, 4, 6, 9), oslo(2026, 4, 6, 10))).bookings[0]
    added = equipment.reserve_equipment(contact, kit.id, 1, booking.start, booking.end, booking=booking, now=clock.now)
    equipment.approve_reservation(staff, added)
    db.session.commit()
    update_booking(organiser, booking, {"start": oslo(2026, 4, 7, 9), "end": oslo(2026, 4, 7, 10)})
    db.session.commit()
    assert (added.start, added.status) == (oslo(2026, 4, 7, 9), ReservationStatus.PENDING)
    assert [a.start for a in active_allocations()] == [oslo(2026, 4, 7, 9)]


def test_renaming_a_booking_leaves_its_equipment_alone(app, clock):
    user = en_user()
    kit = make_equipment_type(units=1)
    [booking] = book_with_kit(user, make_space(), oslo(2026, 4, 6, 9), oslo(2026, 4, 6, 10), kit)
    [reservation] = reservations_of(booking)
    sequence = reservation.sequence
    update_booking(user, booking, {"title": "Renamed"})
    db.session.commit()
    assert reservation.sequence == sequence and len(active_allocations()) == 1


def test_equipment_for_part_of_a_booking_moves_by_as_much_as_the_booking(app, clock):
    user = en_user()
    kit = make_equipment_type(units=1)
    booking = book_space(user, request_for(make_space(), oslo(2026, 4, 6, 9), oslo(2026, 4, 6, 12))).bookings[0]
    part = equipment.reserve_equipment(user, kit.id, 1, oslo(2026, 4, 6, 10), oslo(2026, 4, 6, 11), booking=booking,
                                       now=clock.now)
    db.session.commit()
    update_booking(user, booking, {"start": oslo(2026, 4, 8, 13), "end": oslo(2026, 4, 8, 17)})
    db.session.commit()
    assert (part.start, part.end) == (oslo(2026, 4, 8, 14), oslo(2026, 4, 8, 15))
