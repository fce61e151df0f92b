"""Equipment reservation rules through the services: each rule accepted and refused,
turnaround after return, units out of service, shortages, decisions, check-out/in, overdue."""
from datetime import date, datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa

from booking.equipment import services
from booking.models import BookingStatus, EquipmentAllocation, EquipmentReservation, ReservationStatus
from samskap.audit import AuditEntry
from samskap.errors import Conflict, PermissionDenied, ValidationFailed
from samskap.extensions import db
from samskap.timeutil import local_to_utc, utcnow
from spaces.models import UnitStatus
from tests.conftest import BOTH
from tests.factories import make_booking, make_equipment_type, make_org, make_user

UTC = timezone.utc


def day(offset: int) -> date:
    return (utcnow() + timedelta(days=offset)).date()


def at(offset: int, hour: int = 9) -> datetime:
    """Local wall-clock ``hour`` on the day ``offset`` days from today, as UTC."""
    return local_to_utc(day(offset), time(hour))


def tags(reservation) -> list[str]:
    return [unit.asset_tag for unit in services.allocated_units(reservation)]


@pytest.fixture
def member(app):
    return make_user(make_org("municipality"), locale="en")


@pytest.fixture
def staff(app):
    return make_user(role="staff", locale="en")


# --- reserving: each rule ------------------------------------------------------------------

@BOTH
def test_reserving_allocates_specific_free_units_with_turnaround(app, member):
    etype = make_equipment_type(units=3, turnaround_hours=24)
    reservation = services.reserve_equipment(member, etype.id, 2, at(3), at(5), purpose="Fall sensors")
    db.session.commit()
    assert reservation.status == ReservationStatus.CONFIRMED
    assert reservation.organisation_id == member.organisation_id
    assert len(tags(reservation)) == 2 and len(set(tags(reservation))) == 2
    for allocation in reservation.allocations:
        assert allocation.active
        assert allocation.start == at(3)
        assert allocation.blocked_until == at(5) + timedelta(hours=24)
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "equipment_reservation.create"))
    assert entry.object_id == reservation.id


def test_a_second_reservation_gets_other_units(app, member):
    etype = make_equipment_type(units=3)
    first = services.reserve_equipment(member, etype.id, 2, at(3), at(5))
    second = services.reserve_equipment(member, etype.id, 1, at(4), at(6))
    assert not set(tags(first)) & set(tags(second))


def test_back_to_back_loans_may_touch(app, member):
    etype = make_equipment_type(units=1, turnaround_hours=2)
    services.reserve_equipment(member, etype.id, 1, at(3, 9), at(3, 12))
    with pytest.raises(Conflict):
        services.reserve_equipment(member, etype.id, 1, at(3, 13), at(3, 15))  # inside the cleaning time
    later = services.reserve_equipment(member, etype.id, 1, at(3, 14), at(3, 16))
    assert later.allocations[0].start == at(3, 14)


@pytest.mark.parametrize("quantity", [0, -1, "two", None, True])
def test_quantity_must_be_at_least_one(app, member, quantity):
    etype = make_equipment_type(units=3)
    with pytest.raises(ValidationFailed) as info:
        services.reserve_equipment(member, etype.id, quantity, at(3), at(4))
    assert "quantity" in info.value.fields
    assert db.session.scalar(sa.select(sa.func.count(EquipmentReservation.id))) == 0


def test_end_must_be_after_start(app, member):
    etype = make_equipment_type(units=1)
    with pytest.raises(ValidationFailed) as info:
        services.reserve_equipment(member, etype.id, 1, at(4), at(4))
    assert info.value.fields["end"] == "The end must be after the start."


def test_start_cannot_be_in_the_past(app, member):
    etype = make_equipment_type(units=1)
    with pytest.raises(ValidationFailed) as info:
        services.reserve_equipment(member, etype.id, 1, utcnow() - timedelta(hours=1), at(2))
    assert info.value.fields["start"] == "The start cannot be in the past."
    assert services.reserve_equipment(member, etype.id, 1, utcnow() - timedelta(minutes=1), at(2))


def test_loan_cannot_be_longer_than_the_types_maximum(app, member):
    etype = make_equipment_type(units=1, max_loan_days=7)
    with pytest.raises(ValidationFailed) as info:
        services.reserve_equipment(member, etype.id, 1, at(2), at(2) + timedelta(days=7, minutes=1))
    assert "at most 7 days" in info.value.fields["end"]
    assert services.reserve_equipment(member, etype.id, 1, at(2), at(2) + timedelta(days=7))


def test_unknown_or_inactive_type_is_refused(app, member):
    etype = make_equipment_type(units=1, active=False)
    for type_id in (etype.id, 999_999, "x", None):
        with pytest.raises(ValidationFailed) as info:
            services.reserve_equipment(member, type_id, 1, at(2), at(3))
        assert "equipment_id" in info.value.fields


def test_organisation_kind_must_be_allowed(app):
    etype = make_equipment_type(units=1, bookable_by=["hospital"])
    company_member = make_user(make_org("company"), locale="en")
    with pytest.raises(PermissionDenied):
        services.reserve_equipment(company_member, etype.id, 1, at(2), at(3))
    hospital_member = make_user(make_org("hospital"))
    assert services.reserve_equipment(hospital_member, etype.id, 1, at(2), at(3)).status == ReservationStatus.CONFIRMED


def test_staff_reserve_on_behalf_of_an_organisation_but_members_cannot(app, staff, member):
    etype = make_equipment_type(units=2)
    hospital = make_org("hospital")
    reservation = services.reserve_equipment(staff, etype.id, 1, at(2), at(3), organisation_id=hospital.id)
    assert reservation.organisation_id == hospital.id
    with pytest.raises(PermissionDenied):
        services.reserve_equipment(member, etype.id, 1, at(2), at(3), organisation_id=hospital.id)


def test_units_in_maintenance_or_retired_are_never_allocated(app, member):
    etype = make_equipment_type(units=3)
    first, second, third = etype.units
    first.status = UnitStatus.MAINTENANCE
    third.status = UnitStatus.RETIRED
    db.session.commit()
    reservation = services.reserve_equipment(member, etype.id, 1, at(2), at(3))
    assert tags(reservation) == [second.asset_tag]
    with pytest.raises(Conflict) as info:
        services.reserve_equipment(member, etype.id, 1, at(2), at(3))
    assert info.value.details["free_now"] == 0
    with pytest.raises(Conflict) as info:
        services.reserve_equipment(member, etype.id, 2, at(10), at(11))
    assert info.value.details["available_from"] is None
    assert "only 1 are in service" in info.value.message


# --- shortage ------------------------------------------------------------------------------

@BOTH
def test_shortage_says_how_many_are_free_and_when_enough_become_free(app, member):
    etype = make_equipment_type(units=3, turnaround_hours=24)
    services.reserve_equipment(member, etype.id, 1, at(2), at(4))   # blocks until day 5 09:00
    services.reserve_equipment(member, etype.id, 1, at(2), at(6))   # blocks until day 7 09:00
    db.session.commit()
    with pytest.raises(Conflict) as info:
        services.reserve_equipment(member, etype.id, 3, at(3), at(4))
    details = info.value.details
    assert details["free_now"] == 1
    assert details["needed"] == 3
    assert datetime.fromisoformat(details["available_from"]) == at(7)
    assert len(details["conflicts"]) == 2
    when = services.format_local(at(7))
    assert info.value.message == (f"Only 1 of the 3 requested units of {etype.name} are free for that period. "
                                  f"3 units are free for a loan of the same length from {when}.")
    assert db.session.scalar(sa.select(sa.func.count(EquipmentReservation.id))) == 2
    # ...and at that time the reservation goes through.
    assert len(services.reserve_equipment(member, etype.id, 3, at(7), at(8)).allocations) == 3


# --- approval ------------------------------------------------------------------------------

def test_type_requiring_approval_gives_pending_reservation_that_holds_units(app, member, staff):
    etype = make_equipment_type(units=1, requires_approval=True)
    reservation = services.reserve_equipment(member, etype.id, 1, at(2), at(3))
    assert reservation.status == ReservationStatus.PENDING
    with pytest.raises(Conflict):
        services.reserve_equipment(member, etype.id, 1, at(2), at(3))
    with pytest.raises(PermissionDenied):
        services.approve_reservation(member, reservation)
    services.approve_reservation(staff, reservation, "ok")
    assert reservation.status == ReservationStatus.CONFIRMED
    assert reservation.decided_by_id == staff.id
    assert reservation.sequence == 1
    with pytest.raises(Conflict):
        services.approve_reservation(staff, reservation)


def test_reject_needs_a_reason_and_frees_the_units(app, member, staff):
    etype = make_equipment_type(units=1, requires_approval=True)
    reservation = services.reserve_equipment(member, etype.id, 1, at(2), at(3))
    with pytest.raises(PermissionDenied):
        services.reject_reservation(member, reservation, "no")
    with pytest.raises(ValidationFailed) as info:
        services.reject_reservation(staff, reservation, "  ")
    assert "reason" in info.value.fields
    services.reject_reservation(staff, reservation, "Needed for a calibration")
    assert reservation.status == ReservationStatus.REJECTED
    assert reservation.decision_reason == "Needed for a calibration"
    assert services.reserve_equipment(member, etype.id, 1, at(2), at(3))


def test_staff_reservation_of_approval_type_is_confirmed(app, staff):
    etype = make_equipment_type(units=1, requires_approval=True)
    assert services.reserve_equipment(staff, etype.id, 1, at(2), at(3)).status == ReservationStatus.CONFIRMED


# --- cancel --------------------------------------------------------------------------------

def test_cancel_frees_units_at_once(app, member):
    etype = make_equipment_type(units=1)
    reservation = services.reserve_equipment(member, etype.id, 1, at(2), at(3))
    services.cancel_reservation(member, reservation, "Plans changed")
    assert reservation.status == ReservationStatus.CANCELLED
    assert reservation.cancelled_by_id == member.id
    assert not any(a.active for a in reservation.allocations)
    assert reservation.sequence == 1
    assert services.reserve_equipment(member, etype.id, 1, at(2), at(3))
    with pytest.raises(Conflict):
        services.cancel_reservation(member, reservation)


def test_other_organisation_cannot_cancel(app, member):
    etype = make_equipment_type(units=1)
    reservation = services.reserve_equipment(member, etype.id, 1, at(2), at(3))
    with pytest.raises(PermissionDenied):
        services.cancel_reservation(make_user(make_org("hospital")), reservation)
    colleague = make_user(member.organisation)
    services.cancel_reservation(colleague, reservation)
    assert reservation.status == ReservationStatus.CANCELLED


# --- check-out, check-in, turnaround, maintenance --------------------------------------------

@BOTH
def test_return_at_noon_with_24h_turnaround_blocks_unit_until_noon_next_day(app, member, staff):
    etype = make_equipment_type(units=1, turnaround_hours=24)
    reservation = services.reserve_equipment(member, etype.id, 1, at(2, 9), at(6, 9))
    services.check_out(staff, reservation, "All parts present", now=at(2, 9))
    receipt = services.check_in(staff, reservation, "Fine", now=at(3, 12))
    db.session.commit()
    assert receipt.reservation.status == ReservationStatus.RETURNED
    assert reservation.returned_at == at(3, 12)
    assert reservation.allocations[0].blocked_until == at(4, 12)
    with pytest.raises(Conflict) as info:
        services.reserve_equipment(member, etype.id, 1, at(4, 11), at(4, 15))
    assert datetime.fromisoformat(info.value.details["available_from"]) == at(4, 12)
    assert services.reserve_equipment(member, etype.id, 1, at(4, 12), at(4, 15))


def test_late_return_does_not_reach_into_the_next_loan(app, member, staff):
    etype = make_equipment_type(units=1, turnaround_hours=24)
    first = services.reserve_equipment(member, etype.id, 1, at(2), at(3))
    services.reserve_equipment(member, etype.id, 1, at(5), at(6))
    services.check_out(staff, first, now=at(2))
    receipt = services.check_in(staff, first, now=at(4, 15))
    assert first.allocations[0].blocked_until == at(5)
    assert receipt.notices and first.allocations[0].unit.asset_tag in receipt.notices[0]


def test_check_out_and_in_stamp_who_and_when(app, member, staff):
    etype = make_equipment_type(units=2)
    reservation = services.reserve_equipment(member, etype.id, 2, at(2), at(3))
    services.check_out(staff, reservation, "Scratch on lid", now=at(2))
    assert (reservation.status, reservation.checked_out_by_id, reservation.checked_out_at,
            reservation.checkout_note) == (ReservationStatus.CHECKED_OUT, staff.id, at(2), "Scratch on lid")
    services.check_in(staff, reservation, "Returned clean", now=at(3))
    assert (reservation.returned_by_id, reservation.return_note) == (staff.id, "Returned clean")
    actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert {"equipment_reservation.check_out", "equipment_reservation.check_in"} <= actions


def test_only_staff_check_out_and_in(app, member, staff):
    etype = make_equipment_type(units=1)
    reservation = services.reserve_equipment(member, etype.id, 1, at(2), at(3))
    with pytest.raises(PermissionDenied):
        services.check_out(member, reservation)
    services.check_out(staff, reservation)
    with pytest.raises(PermissionDenied):
        services.check_in(member, reservation)
    assert reservation.status == ReservationStatus.CHECKED_OUT


def test_pending_or_cancelled_reservations_cannot_be_checked_out(app, member, staff):
    etype = make_equipment_type(units=2, requires_approval=True)
    pending = services.reserve_equipment(member, etype.id, 1, at(2), at(3))
    with pytest.raises(Conflict) as info:
        services.check_out(staff, pending)
    assert "approve" in info.value.message
    services.cancel_reservation(member, pending)
    with pytest.raises(Conflict):
        services.check_out(staff, pending)
    with pytest.raises(Conflict):
        services.check_in(staff, pending)


def test_checked_out_reservation_cannot_be_cancelled(app, member, staff):
    etype = make_equipment_type(units=1)
    reservation = services.reserve_equipment(member, etype.id, 1, at(2), at(3))
    services.check_out(staff, reservation)
    with pytest.raises(Conflict) as info:
        services.cancel_reservation(member, reservation)
    assert "checked in" in info.value.message


def test_unit_sent_to_maintenance_on_return_is_not_allocated_again(app, member, staff):
    etype = make_equipment_type(units=2)
    reservation = services.reserve_equipment(member, etype.id, 2, at(2), at(3))
    broken, fine = services.allocated_units(reservation)
    services.check_out(staff, reservation, now=at(2))
    with pytest.raises(ValidationFailed):
        services.check_in(staff, reservation, "x", to_maintenance_unit_ids=[999_999], now=at(3))
    services.check_in(staff, reservation, "Cracked housing", to_maintenance_unit_ids=[broken.id], now=at(3))
    assert broken.status == UnitStatus.MAINTENANCE and broken.status_note == "Cracked housing"
    assert fine.status == UnitStatus.AVAILABLE
    assert tags(services.reserve_equipment(member, etype.id, 1, at(5), at(6))) == [fine.asset_tag]
    with pytest.raises(Conflict):
        services.reserve_equipment(member, etype.id, 1, at(5), at(6))


def test_unit_still_out_cannot_be_handed_out_again(app, member, staff):
    etype = make_equipment_type(units=1)
    first = services.reserve_equipment(member, etype.id, 1, at(1), at(2))
    services.check_out(staff, first, now=at(1))
    second = services.reserve_equipment(member, etype.id, 1, at(3), at(4))
    with pytest.raises(Conflict) as info:
        services.check_out(staff, second, now=at(3))
    assert f"reservation {first.id}" in info.value.message


# --- overdue -------------------------------------------------------------------------------

def test_overdue_lists_checked_out_reservations_past_their_end(app, member, staff):
    etype = make_equipment_type(units=3)
    late = services.reserve_equipment(member, etype.id, 1, at(1), at(2))
    on_time = services.reserve_equipment(member, etype.id, 1, at(1), at(5))
    returned = services.reserve_equipment(member, etype.id, 1, at(1), at(2))
    for reservation in (late, on_time, returned):
        services.check_out(staff, reservation, now=at(1))
    services.check_in(staff, returned, now=at(2))
    assert services.overdue_reservations(at(3)) == [late]
    assert services.overdue_reservations(at(1, 10)) == []


def test_unit_out_on_an_overdue_loan_is_not_offered(app, member, staff):
    etype = make_equipment_type(units=1)
    late = services.reserve_equipment(member, etype.id, 1, at(1), at(2))
    services.check_out(staff, late, now=at(1))
    with pytest.raises(Conflict):
        services.reserve_equipment(member, etype.id, 1, at(4), at(5), now=at(3))


# --- with a room booking -------------------------------------------------------------------

def test_reserve_for_booking_is_all_or_nothing(app, member):
    booking = make_booking(user=member, start=at(3), minutes=120)
    plenty = make_equipment_type(units=3)
    scarce = make_equipment_type(units=1)
    with pytest.raises(Conflict):
        services.reserve_for_booking(member, booking, [{"equipment_id": plenty.id, "quantity": 2},
                                                       {"equipment_id": scarce.id, "quantity": 2}])
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(EquipmentAllocation.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(EquipmentReservation.id))) == 0
    made = services.reserve_for_booking(member, booking, [{"equipment_id": plenty.id, "quantity": 2},
                                                          {"equipment_id": scarce.id, "quantity": 1}])
    assert [(r.booking_id, r.start, r.end) for r in made] == [(booking.id, booking.start, booking.end)] * 2


def test_reserve_for_booking_names_the_bad_item(app, member):
    booking = make_booking(user=member, start=at(3))
    etype = make_equipment_type(units=1)
    with pytest.raises(ValidationFailed) as info:
        services.reserve_for_booking(member, booking, [{"equipment_id": etype.id, "quantity": 1},
                                                       {"equipment_id": etype.id, "quantity": 1},
                                                       {"quantity": 0}])
    assert set(info.value.fields) == {"equipment[1].equipment_id", "equipment[2].equipment_id",
                                      "equipment[2].quantity"}


def test_cannot_add_equipment_to_someone_elses_booking(app, member):
    booking = make_booking(start=at(3))
    etype = make_equipment_type(units=1)
    with pytest.raises(PermissionDenied):
        services.reserve_for_booking(member, booking, [{"equipment_id": etype.id, "quantity": 1}])


def test_cancel_for_booking_cancels_its_equipment(app, member):
    booking = make_booking(user=member, start=at(3))
    etype = make_equipment_type(units=1)
    other = services.reserve_equipment(member, etype.id, 1, at(6), at(7))
    made = services.reserve_for_booking(member, booking, [{"equipment_id": etype.id, "quantity": 1}])
    booking.status = BookingStatus.CANCELLED
    assert services.cancel_for_booking(member, booking) == made
    assert made[0].status == ReservationStatus.CANCELLED
    assert other.status == ReservationStatus.CONFIRMED
