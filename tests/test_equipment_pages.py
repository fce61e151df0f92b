"""Equipment reservation pages: the reserve form (rules accepted and refused, shortage with when
enough are free), my reservations, the timeline, and the staff desk pages with their permissions."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.equipment import services
from booking.models import EquipmentReservation, ReservationStatus
from samskap.extensions import db
from samskap.timeutil import to_local, utcnow
from spaces.models import UnitStatus
from tests.factories import make_equipment_type, make_org, make_user

NEW = "/equipment-reservations/new"


def local_day(days: int):
    return (to_local(utcnow()) + timedelta(days=days)).date()


def form(etype, quantity=1, start_days=2, end_days=3, start_time="09:00", end_time="09:00", **extra) -> dict:
    return {"equipment_type": etype.id, "quantity": quantity, "start_date": local_day(start_days).isoformat(),
            "start_time": start_time, "end_date": local_day(end_days).isoformat(), "end_time": end_time, **extra}


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def member(app):
    return make_user(make_org("municipality"), locale="en")


@pytest.fixture
def staff(app):
    return make_user(role="staff", locale="en")


def test_reserve_form_shows_allocated_asset_tags(client, auth, member):
    etype = make_equipment_type(units=2)
    auth.as_user(member)
    page = client.get(f"{NEW}?type={etype.id}")
    assert page.status_code == 200
    assert f'<option selected value="{etype.id}">' in text(page)
    response = client.post(NEW, data=form(etype, 2, purpose="Living lab pilot"), follow_redirects=True)
    assert response.status_code == 200
    for unit in etype.units:
        assert unit.asset_tag in text(response)
    assert "Reserved. Your units:" in text(response)
    reservation = db.session.scalar(sa.select(EquipmentReservation))
    assert reservation.purpose == "Living lab pilot"
    assert to_local(reservation.start).hour == 9


@pytest.mark.parametrize("change, message", [
    ({"quantity": "0"}, "Reserve at least one unit."),
    ({"quantity": "many"}, "Not a valid integer value."),
    ({"end_days": 2}, "The end must be after the start."),
    ({"start_days": -1}, "The start cannot be in the past."),
    ({"end_days": 40}, "can last at most 28 days"),
    ({"start_time": "25:00"}, "Not a valid time value."),
    ({"equipment_type": "999999"}, "Choose an existing equipment type."),
])
def test_reserve_form_refuses_each_rule_with_a_message(client, auth, member, change, message):
    etype = make_equipment_type(units=1)
    auth.as_user(member)
    data = form(etype, **{k: v for k, v in change.items() if k in ("start_days", "end_days")})
    data.update({k: v for k, v in change.items() if k not in ("start_days", "end_days")})
    response = client.post(NEW, data=data)
    assert response.status_code == 400
    assert message in text(response)
    assert db.session.scalar(sa.select(sa.func.count(EquipmentReservation.id))) == 0


def test_reserve_form_refuses_organisation_kind_not_allowed(client, auth):
    etype = make_equipment_type(units=1, bookable_by=["hospital"])
    auth.as_user(make_user(make_org("company"), locale="en"))
    response = client.post(NEW, data=form(etype))
    assert response.status_code == 400
    assert "cannot borrow" in text(response)


def test_reserve_form_on_shortage_says_how_many_are_free_and_when(client, auth, member):
    etype = make_equipment_type(units=2)
    services.reserve_equipment(member, etype.id, 1, *_period(2, 4))
    db.session.commit()
    auth.as_user(member)
    response = client.post(NEW, data=form(etype, 2, 3, 4))
    assert response.status_code == 409
    page = text(response)
    assert "Free for the period you chose: 1 of 2." in page
    when = services.format_local(_period(2, 4)[1])
    assert f"2 units are free for a loan of the same length from {when}" in page
    assert "Try the same loan from the first time enough units are free" in page


def test_reserve_form_in_norwegian_by_default(client, auth):
    etype = make_equipment_type(units=1)
    auth.as_user(make_user(make_org("hospital")))
    response = client.post(NEW, data=form(etype, 1, 3, 2))
    assert "Slutten må være etter starten." in text(response)


def _period(start_days, end_days):
    from datetime import time
    from samskap.timeutil import local_to_utc
    return local_to_utc(local_day(start_days), time(9)), local_to_utc(local_day(end_days), time(9))


def test_my_reservations_show_own_organisations_only(client, auth, member):
    etype = make_equipment_type(units=2)
    own = services.reserve_equipment(make_user(member.organisation), etype.id, 1, *_period(2, 3))
    other = services.reserve_equipment(make_user(make_org("hospital")), etype.id, 1, *_period(2, 3))
    db.session.commit()
    auth.as_user(member)
    page = text(client.get("/equipment-reservations/mine"))
    assert f"/equipment-reservations/{own.id}\"" in page and f"/equipment-reservations/{other.id}\"" not in page
    assert client.get(f"/equipment-reservations/{own.id}").status_code == 200
    assert client.get(f"/equipment-reservations/{other.id}").status_code == 404
    assert client.post(f"/equipment-reservations/{other.id}/cancel").status_code == 404


def test_member_cancels_from_the_reservation_page(client, auth, member):
    etype = make_equipment_type(units=1)
    reservation = services.reserve_equipment(member, etype.id, 1, *_period(2, 3))
    db.session.commit()
    auth.as_user(member)
    response = client.post(f"/equipment-reservations/{reservation.id}/cancel", follow_redirects=True)
    assert "The reservation is cancelled" in text(response)
    db.session.refresh(reservation)
    assert reservation.status == ReservationStatus.CANCELLED


def test_timeline_shows_units_by_day(client, auth, member):
    etype = make_equipment_type(units=2, turnaround_hours=24)
    etype.units[1].status = UnitStatus.MAINTENANCE
    reservation = services.reserve_equipment(member, etype.id, 1, *_period(1, 3))
    db.session.commit()
    auth.as_user(make_user(make_org("hospital"), locale="en"))
    page = text(client.get(f"/equipment/{etype.id}/timeline"))
    assert '<th scope="row">' + etype.units[0].asset_tag in page
    assert "Not in service" in page and "(in maintenance)" in page
    assert "Reserved" in page and "Cleaning" in page
    assert f"#{reservation.id}" not in page  # another organisation's reservation is not linked
    assert page.count('<th scope="col">') == 29
    auth.as_user(member)
    assert f"#{reservation.id}" in text(client.get(f"/equipment/{etype.id}/timeline"))


def test_timeline_bad_input(client, auth, member):
    etype = make_equipment_type(units=1)
    auth.as_user(member)
    assert client.get(f"/equipment/{etype.id}/timeline?from=yesterday").status_code == 422
    assert client.get("/equipment/999999/timeline").status_code == 404
    assert client.get(f"/equipment/{etype.id}/timeline?from=2027-03-01").status_code == 200


@pytest.mark.parametrize("path,post_status", [
    ("/equipment-reservations/desk", 405), ("/equipment-reservations/overdue", 405),  # pages without a form
    ("/equipment-reservations/approvals", 405),
    ("/equipment-reservations/{id}/check-out", 403), ("/equipment-reservations/{id}/check-in", 403),
])
def test_staff_pages_are_forbidden_to_members(client, auth, member, path, post_status):
    etype = make_equipment_type(units=1)
    reservation = services.reserve_equipment(member, etype.id, 1, *_period(2, 3))
    db.session.commit()
    auth.as_user(member)
    assert client.get(path.format(id=reservation.id)).status_code == 403
    assert client.post(path.format(id=reservation.id), data={"note": "x"}).status_code == post_status
    db.session.refresh(reservation)
    assert reservation.status == ReservationStatus.CONFIRMED


def test_members_cannot_approve_or_reject(client, auth, member):
    etype = make_equipment_type(units=1, requires_approval=True)
    reservation = services.reserve_equipment(member, etype.id, 1, *_period(2, 3))
    db.session.commit()
    auth.as_user(member)
    assert client.post(f"/equipment-reservations/{reservation.id}/approve").status_code == 403
    assert client.post(f"/equipment-reservations/{reservation.id}/reject", data={"reason": "x"}).status_code == 403


def test_staff_check_out_and_in_with_maintenance(client, auth, member, staff):
    etype = make_equipment_type(units=2, turnaround_hours=24)
    reservation = services.reserve_equipment(member, etype.id, 2, utcnow(), _period(2, 3)[1])
    db.session.commit()
    auth.as_user(staff)
    desk = text(client.get("/equipment-reservations/desk"))
    assert f"/equipment-reservations/{reservation.id}\"" in desk
    page = client.get(f"/equipment-reservations/{reservation.id}/check-out")
    assert all(unit.asset_tag in text(page) for unit in etype.units)
    done = client.post(f"/equipment-reservations/{reservation.id}/check-out", data={"note": "Complete"},
                       follow_redirects=True)
    assert "Handed out: 2 × " in text(done)
    broken = etype.units[0]
    response = client.post(f"/equipment-reservations/{reservation.id}/check-in",
                           data={"note": "Cracked", "maintenance": [str(broken.id)]}, follow_redirects=True)
    assert "Taken back: 2 × " in text(response) and "Each unit is blocked for cleaning until" in text(response)
    db.session.refresh(reservation)
    db.session.refresh(broken)
    assert reservation.status == ReservationStatus.RETURNED
    assert broken.status == UnitStatus.MAINTENANCE and broken.status_note == "Cracked"
    again = client.post(f"/equipment-reservations/{reservation.id}/check-out", data={})
    assert again.status_code == 409 and "returned" in text(again)


def test_staff_see_overdue_list(client, auth, member, staff):
    etype = make_equipment_type(units=2)
    late = services.reserve_equipment(member, etype.id, 1, utcnow(), utcnow() + timedelta(hours=1))
    fine = services.reserve_equipment(member, etype.id, 1, utcnow(), utcnow() + timedelta(days=2))
    for reservation in (late, fine):
        services.check_out(staff, reservation)
    late.end = utcnow() - timedelta(minutes=5)  # the hour has passed
    late.start = late.end - timedelta(hours=1)
    db.session.commit()
    auth.as_user(staff)
    page = text(client.get("/equipment-reservations/overdue"))
    assert f"/equipment-reservations/{late.id}\"" in page and f"/equipment-reservations/{fine.id}\"" not in page


def test_staff_approve_and_reject_from_the_queue(client, auth, member, staff):
    etype = make_equipment_type(units=2, requires_approval=True)
    first = services.reserve_equipment(member, etype.id, 1, *_period(2, 3))
    second = services.reserve_equipment(member, etype.id, 1, *_period(2, 3))
    db.session.commit()
    auth.as_user(staff)
    queue = text(client.get("/equipment-reservations/approvals"))
    assert f"/equipment-reservations/{first.id}\"" in queue and f"/equipment-reservations/{second.id}\"" in queue
    assert client.post(f"/equipment-reservations/{first.id}/approve", data={"reason": ""}).status_code == 302
    refused = client.post(f"/equipment-reservations/{second.id}/reject", data={"reason": ""})
    assert refused.status_code == 422 and "Say why the reservation is rejected." in text(refused)
    assert client.post(f"/equipment-reservations/{second.id}/reject", data={"reason": "Busy"}).status_code == 302
    db.session.refresh(first)
    db.session.refresh(second)
    assert (first.status, second.status) == (ReservationStatus.CONFIRMED, ReservationStatus.REJECTED)


def test_nav_shows_my_reservations_and_desk_by_role(client, auth, member, staff):
    auth.as_user(member)
    page = text(client.get("/"))
    assert 'href="/equipment-reservations/mine"' in page and "Lending desk" not in page
    auth.as_user(staff)
    assert "Lending desk" in text(client.get("/"))


def test_reserve_form_out_of_range_date_is_a_field_error(client, auth, member):
    etype = make_equipment_type(units=1)
    auth.as_user(member)
    response = client.post(NEW, data={**form(etype), "start_date": "0001-01-01", "start_time": "00:00"})
    assert response.status_code == 400
    assert "That date is out of range." in text(response)


def test_reserve_form_in_the_spring_forward_gap_is_a_field_error(client, auth, member):
    etype = make_equipment_type(units=1)
    auth.as_user(member)
    response = client.post(NEW, data={**form(etype), "start_date": "2030-03-31", "start_time": "02:30",
                                      "end_date": "2030-04-01"})
    assert response.status_code == 400
    assert "the clocks go forward an hour that night" in text(response)


@pytest.mark.csrf
def test_reserve_form_works_with_csrf_protection(client, auth, member):
    import re
    etype = make_equipment_type(units=1)
    auth.as_user(member)
    assert client.post(NEW, data=form(etype)).status_code == 400
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text(client.get(NEW))).group(1)
    assert client.post(NEW, data={**form(etype), "csrf_token": token}).status_code == 302
