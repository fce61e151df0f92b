"""UTC storage, local-time edges across DST, and the database's own overlap guard."""
from datetime import date, datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from booking.models import Booking, BookingStatus
from samskap.database import is_exclusion_violation
from samskap.extensions import db
from samskap.timeutil import LocalTimeError, NaiveDatetimeError, local_day_bounds, local_to_utc, parse_aware_iso
from tests.conftest import BOTH, POSTGRES
from tests.factories import make_booking, make_space, make_user

UTC = timezone.utc


def test_spring_forward_booking_hours():
    start = local_to_utc(date(2026, 3, 29), time(1, 0))
    end = local_to_utc(date(2026, 3, 29), time(4, 0))
    assert start == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 29, 2, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=2)


def test_fall_back_booking_hours():
    start = local_to_utc(date(2026, 10, 25), time(1, 0))
    end = local_to_utc(date(2026, 10, 25), time(4, 0))
    assert start == datetime(2026, 10, 24, 23, 0, tzinfo=UTC)
    assert end == datetime(2026, 10, 25, 3, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=4)


def test_time_in_spring_gap_does_not_exist():
    with pytest.raises(LocalTimeError):
        local_to_utc(date(2026, 3, 29), time(2, 30))


def test_local_days_are_23_and_25_hours_long_at_dst_changes():
    start, end = local_day_bounds(date(2026, 3, 29))
    assert end - start == timedelta(hours=23)
    start, end = local_day_bounds(date(2026, 10, 25))
    assert end - start == timedelta(hours=25)


@pytest.mark.parametrize("text", ["2026-03-16T09:00", "2026-03-16", "tomorrow", "", None, 5, "2026-13-01T00:00Z"])
def test_api_times_need_an_offset(text):
    with pytest.raises(ValueError):
        parse_aware_iso(text)


def test_api_times_with_offset_become_utc():
    assert parse_aware_iso("2026-03-16T09:00+01:00") == datetime(2026, 3, 16, 8, 0, tzinfo=UTC)
    assert parse_aware_iso("2026-03-16T08:00Z") == datetime(2026, 3, 16, 8, 0, tzinfo=UTC)


@BOTH
def test_timestamps_round_trip_as_aware_utc(app):
    booking = make_booking(start=datetime(2026, 7, 1, 10, 0, tzinfo=timezone(timedelta(hours=2))))
    db.session.expire_all()
    stored = db.session.get(Booking, booking.id)
    assert stored.start == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    assert stored.start.tzinfo is not None


def test_naive_datetimes_are_refused(app):
    space, user = make_space(), make_user()
    booking = Booking(space_id=space.id, organiser_id=user.id, organisation_id=user.organisation_id, title="x",
                      start=datetime(2026, 7, 1, 10), end=datetime(2026, 7, 1, 11),
                      blocked_until=datetime(2026, 7, 1, 11))
    db.session.add(booking)
    with pytest.raises(Exception) as info:
        db.session.flush()
    assert "naive" in str(info.value)
    db.session.rollback()


@POSTGRES
def test_postgres_refuses_overlapping_active_bookings_of_one_space(app):
    space = make_space()
    first = make_booking(space=space, minutes=60)
    with pytest.raises(DBAPIError) as info:
        make_booking(space=space, start=first.start + timedelta(minutes=30), minutes=60)
    assert is_exclusion_violation(info.value, "ex_bookings_no_overlap")
    db.session.rollback()
    # Back-to-back is fine (half-open ranges); a cancelled booking frees the slot.
    make_booking(space=space, start=first.end, minutes=30)
    first.status = BookingStatus.CANCELLED
    db.session.commit()
    make_booking(space=space, start=first.start, minutes=30)
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 3


@POSTGRES
def test_postgres_refuses_overlapping_allocations_of_one_unit(app):
    from booking.models import EquipmentAllocation, EquipmentReservation
    from tests.factories import make_equipment_type

    etype = make_equipment_type(units=1)
    unit = etype.units[0]
    user = make_user()
    start = datetime(2027, 1, 4, 8, tzinfo=UTC)
    for offset in (0, 1):
        reservation = EquipmentReservation(equipment_type_id=etype.id, quantity=1, organisation_id=user.organisation_id,
                                           user_id=user.id, start=start + timedelta(days=offset),
                                           end=start + timedelta(days=offset + 2))
        db.session.add(reservation)
        db.session.flush()
        db.session.add(EquipmentAllocation(reservation_id=reservation.id, unit_id=unit.id, start=reservation.start,
                                           blocked_until=reservation.end))
        if offset == 0:
            db.session.commit()
    with pytest.raises(DBAPIError) as info:
        db.session.flush()
    assert is_exclusion_violation(info.value, "ex_equipment_allocations_no_overlap")
    db.session.rollback()
