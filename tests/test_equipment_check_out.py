"""Handing equipment out before its reservation starts: allowed, but never by taking the unit from
an earlier reservation, and from the hand-out on the units are held (nobody is given them in between)."""
from datetime import date, datetime, time, timedelta

import pytest

from booking.equipment import services
from booking.models import ReservationStatus
from samskap.errors import Conflict
from samskap.extensions import db
from samskap.timeutil import local_to_utc, utcnow
from tests.conftest import BOTH
from tests.factories import api_headers, make_equipment_type, make_org, make_user


def day(offset: int) -> date:
    return (utcnow() + timedelta(days=offset)).date()


def at(offset: int, hour: int = 9) -> datetime:
    """Local wall-clock ``hour`` on the day ``offset`` days from today, as UTC."""
    return local_to_utc(day(offset), time(hour))


@pytest.fixture
def member(app):
    return make_user(make_org("municipality"), locale="en")


@pytest.fixture
def staff(app):
    return make_user(role="staff", locale="en")


@BOTH
def test_later_reservation_cannot_be_handed_out_while_an_earlier_one_holds_the_unit(app, member, staff):
    etype = make_equipment_type(units=1)
    first = services.reserve_equipment(member, etype.id, 1, at(1), at(3))
    second = services.reserve_equipment(member, etype.id, 1, at(5), at(7))
    db.session.commit()
    tag = services.allocated_units(first)[0].asset_tag

    with pytest.raises(Conflict) as info:
        services.check_out(staff, second, now=at(0))
    db.session.rollback()
    assert f"Unit {tag} is held by reservation {first.id} until" in info.value.message
    assert info.value.details["conflicts"][0]["reservation_id"] == first.id
    assert second.status == ReservationStatus.CONFIRMED

    # The earlier reservation is handed out as planned, and the later one once the unit is back.
    services.check_out(staff, first, now=at(1))
    services.check_in(staff, first, now=at(3))
    services.check_out(staff, second, now=at(4))
    db.session.commit()
    assert (first.status, second.status) == (ReservationStatus.RETURNED, ReservationStatus.CHECKED_OUT)


@BOTH
def test_units_handed_out_early_are_held_from_the_hand_out(app, member, staff):
    etype = make_equipment_type(units=1)
    later = services.reserve_equipment(member, etype.id, 1, at(5), at(7))
    services.check_out(staff, later, now=at(2))
    db.session.commit()
    assert later.allocations[0].start == at(2)
    # The unit is with the borrower already: a loan in between cannot be given it.
    with pytest.raises(Conflict):
        services.reserve_equipment(member, etype.id, 1, at(3), at(4))
    db.session.rollback()
    assert services.free_units(etype.id, at(3), at(4)) == []


def test_hand_out_on_time_keeps_the_reserved_start(app, member, staff):
    etype = make_equipment_type(units=1)
    reservation = services.reserve_equipment(member, etype.id, 1, at(2), at(3))
    services.check_out(staff, reservation, now=at(2, 10))
    assert reservation.allocations[0].start == at(2)


def test_api_answers_409_with_the_reason_for_an_early_hand_out(client, member, staff):
    etype = make_equipment_type(units=1)
    first = services.reserve_equipment(member, etype.id, 1, at(1), at(3))
    second = services.reserve_equipment(member, etype.id, 1, at(5), at(7))
    db.session.commit()
    response = client.post(f"/api/v1/equipment-reservations/{second.id}/checkout", json={},
                           headers=api_headers(staff))
    assert response.status_code == 409
    assert f"reservation {first.id}" in response.get_json()["error"]["message"]
    assert client.get(f"/api/v1/equipment-reservations/{second.id}",
                      headers=api_headers(staff)).get_json()["status"] == "confirmed"
