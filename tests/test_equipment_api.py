"""The equipment reservation API: reserve, list, read, cancel, and the staff actions; every
rule accepted and refused; permissions; the error shape for bad input of every kind."""
from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa

from accounts import services as account_services
from booking.equipment import services
from booking.models import EquipmentReservation, ReservationStatus
from samskap.extensions import db
from samskap.timeutil import local_to_utc, utcnow
from spaces.models import UnitStatus
from tests.conftest import BOTH
from tests.factories import make_booking, make_equipment_type, make_org, make_user

URL = "/api/v1/equipment-reservations"


def token_for(user) -> dict:
    _, secret = account_services.create_api_token(None, user)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def at(days: int, hour: int = 9) -> datetime:
    return local_to_utc((utcnow() + timedelta(days=days)).date(), time(hour))


def body(etype, quantity=1, start_days=2, end_days=3, **extra) -> dict:
    return {"equipment_id": etype.id, "quantity": quantity, "start": at(start_days).isoformat(),
            "end": at(end_days).isoformat(), **extra}


def assert_error(response, status, code=None):
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.json["error"]
    assert set(error) == {"code", "message", "details"} and error["message"]
    if code:
        assert error["code"] == code
    return error


@pytest.fixture
def member(app):
    return make_user(make_org("municipality"), locale="en")


@pytest.fixture
def staff(app):
    return make_user(role="staff", locale="en")


@BOTH
def test_reserve_returns_201_with_allocated_units_and_status(client, member):
    etype = make_equipment_type(units=3)
    response = client.post(URL, json=body(etype, 2, purpose="Pilot"), headers=token_for(member))
    assert response.status_code == 201
    data = response.json
    assert data["status"] == "confirmed" and data["quantity"] == 2 and data["purpose"] == "Pilot"
    assert len(data["units"]) == 2
    assert {u["asset_tag"] for u in data["units"]} <= {u.asset_tag for u in etype.units}
    assert set(data["units"][0]) == {"id", "asset_tag", "serial"}
    assert client.get(f"{URL}/{data['id']}", headers=token_for(member)).json["units"] == data["units"]


def test_approval_type_answers_pending(client, member):
    etype = make_equipment_type(units=1, requires_approval=True)
    assert client.post(URL, json=body(etype), headers=token_for(member)).json["status"] == "pending"


def test_too_few_free_answers_409_with_free_count_and_when(client, member):
    etype = make_equipment_type(units=2, turnaround_hours=24)
    headers = token_for(member)
    assert client.post(URL, json=body(etype, 1, 2, 4), headers=headers).status_code == 201
    error = assert_error(client.post(URL, json=body(etype, 2, 3, 4), headers=headers), 409, "conflict")
    assert error["details"]["free_now"] == 1
    assert error["details"]["needed"] == 2
    assert datetime.fromisoformat(error["details"]["available_from"]) == at(5)
    assert error["details"]["conflicts"]
    assert "2 units are free" in error["message"]


@pytest.mark.parametrize("change, field", [
    ({"quantity": 0}, "quantity"),
    ({"quantity": "2"}, "quantity"),
    ({"quantity": True}, "quantity"),
    ({"equipment_id": 999999}, "equipment_id"),
    ({"equipment_id": "abc"}, "equipment_id"),
    ({"start": "2027-03-16T09:00"}, "start"),
    ({"start": "tomorrow"}, "start"),
    ({"end": None}, "end"),
    ({"end": 5}, "end"),
    ({"purpose": ["x"]}, "purpose"),
    ({"purpose": "x" * 301}, "purpose"),
    ({"booking_id": 999999}, "booking_id"),
    ({"organisation_id": "x"}, "organisation_id"),
])
def test_invalid_fields_answer_422_naming_the_field(client, member, change, field):
    etype = make_equipment_type(units=1)
    error = assert_error(client.post(URL, json={**body(etype), **change}, headers=token_for(member)), 422, "invalid")
    assert field in error["details"]["fields"]
    assert db.session.scalar(sa.select(sa.func.count(EquipmentReservation.id))) == 0


def test_rules_refused_through_the_api(client, member):
    etype = make_equipment_type(units=1, max_loan_days=2)
    headers = token_for(member)
    past = {**body(etype), "start": (utcnow() - timedelta(hours=2)).isoformat()}
    assert "start" in assert_error(client.post(URL, json=past, headers=headers), 422)["details"]["fields"]
    too_long = body(etype, 1, 2, 5)
    assert "end" in assert_error(client.post(URL, json=too_long, headers=headers), 422)["details"]["fields"]
    backwards = body(etype, 1, 3, 2)
    assert "end" in assert_error(client.post(URL, json=backwards, headers=headers), 422)["details"]["fields"]
    etype.bookable_by = ["hospital"]
    db.session.commit()
    assert_error(client.post(URL, json=body(etype), headers=headers), 403, "forbidden")


@pytest.mark.parametrize("raw, content_type", [(b"", "application/json"), (b"{nope", "application/json"),
                                               (b"[1]", "application/json"), (b"a=b", "text/plain")])
def test_malformed_bodies_answer_400(client, member, raw, content_type):
    assert_error(client.post(URL, data=raw, content_type=content_type, headers=token_for(member)), 400)


def test_reserve_linked_to_own_booking(client, member):
    booking = make_booking(user=member, start=at(2))
    etype = make_equipment_type(units=1)
    response = client.post(URL, json=body(etype, booking_id=booking.id), headers=token_for(member))
    assert response.status_code == 201 and response.json["booking_id"] == booking.id
    other = make_booking(start=at(2))  # another organisation's private booking: not even named
    error = assert_error(client.post(URL, json=body(etype, 1, 4, 5, booking_id=other.id), headers=token_for(member)),
                         422)
    assert "booking_id" in error["details"]["fields"]


def test_members_see_their_organisations_reservations_only(client, member):
    etype = make_equipment_type(units=3)
    colleague = make_user(member.organisation)
    outsider = make_user(make_org("hospital"))
    own = services.reserve_equipment(colleague, etype.id, 1, at(2), at(3))
    theirs = services.reserve_equipment(outsider, etype.id, 1, at(2), at(3))
    db.session.commit()
    headers = token_for(member)
    listed = client.get(URL, headers=headers).json["equipment_reservations"]
    assert [r["id"] for r in listed] == [own.id]
    assert client.get(f"{URL}/{own.id}", headers=headers).status_code == 200
    assert_error(client.get(f"{URL}/{theirs.id}", headers=headers), 404, "not_found")
    assert_error(client.post(f"{URL}/{theirs.id}/cancel", headers=headers), 404)
    assert_error(client.get(f"{URL}/999999", headers=headers), 404)


def test_staff_see_all_and_list_filters_by_period(client, member, staff):
    etype = make_equipment_type(units=3)
    early = services.reserve_equipment(member, etype.id, 1, at(2), at(3))
    late = services.reserve_equipment(make_user(make_org("hospital")), etype.id, 1, at(10), at(11))
    db.session.commit()
    headers = token_for(staff)
    assert {r["id"] for r in client.get(URL, headers=headers).json["equipment_reservations"]} == {early.id, late.id}
    query = {"start": at(9).isoformat(), "end": at(12).isoformat()}
    assert [r["id"] for r in client.get(URL, query_string=query, headers=headers).json["equipment_reservations"]] \
        == [late.id]
    error = assert_error(client.get(URL, query_string={"start": "soon"}, headers=headers), 422)
    assert "start" in error["details"]["fields"]


def test_cancel_frees_units(client, member):
    etype = make_equipment_type(units=1)
    headers = token_for(member)
    created = client.post(URL, json=body(etype), headers=headers).json
    assert client.post(URL, json=body(etype), headers=headers).status_code == 409
    cancelled = client.post(f"{URL}/{created['id']}/cancel", json={"reason": "Not needed"}, headers=headers)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert client.post(URL, json=body(etype), headers=headers).status_code == 201
    assert_error(client.post(f"{URL}/{created['id']}/cancel", headers=headers), 409)


@pytest.mark.parametrize("action", ["checkout", "checkin", "approve", "reject"])
def test_only_staff_run_desk_actions(client, member, action):
    etype = make_equipment_type(units=1, requires_approval=action in ("approve", "reject"))
    reservation = services.reserve_equipment(member, etype.id, 1, at(2), at(3))
    db.session.commit()
    assert_error(client.post(f"{URL}/{reservation.id}/{action}", json={"reason": "x"}, headers=token_for(member)),
                 403, "forbidden")
    db.session.refresh(reservation)
    assert reservation.status in (ReservationStatus.CONFIRMED, ReservationStatus.PENDING)


def test_staff_check_out_and_in_with_maintenance(client, member, staff):
    etype = make_equipment_type(units=2, turnaround_hours=24)
    reservation = services.reserve_equipment(member, etype.id, 2, utcnow(), at(3))
    db.session.commit()
    headers = token_for(staff)
    out = client.post(f"{URL}/{reservation.id}/checkout", json={"note": "Complete"}, headers=headers)
    assert out.status_code == 200 and out.json["status"] == "checked_out" and out.json["checkout_note"] == "Complete"
    broken = out.json["units"][0]
    bad = client.post(f"{URL}/{reservation.id}/checkin", json={"maintenance_unit_ids": "1"}, headers=headers)
    assert "maintenance_unit_ids" in assert_error(bad, 422)["details"]["fields"]
    back = client.post(f"{URL}/{reservation.id}/checkin", json={"note": "Lid cracked",
                                                                "maintenance_unit_ids": [broken["id"]]},
                       headers=headers)
    assert back.status_code == 200 and back.json["status"] == "returned"
    returned_at = datetime.fromisoformat(back.json["returned_at"])
    db.session.expire_all()
    reservation = db.session.get(EquipmentReservation, reservation.id)
    assert {a.blocked_until for a in reservation.allocations} == {returned_at + timedelta(hours=24)}
    assert [u.status for u in services.allocated_units(reservation)] == [UnitStatus.MAINTENANCE, UnitStatus.AVAILABLE]
    assert_error(client.post(f"{URL}/{reservation.id}/checkin", headers=headers), 409)


def test_staff_approve_and_reject(client, member, staff):
    etype = make_equipment_type(units=2, requires_approval=True)
    first = services.reserve_equipment(member, etype.id, 1, at(2), at(3))
    second = services.reserve_equipment(member, etype.id, 1, at(2), at(3))
    db.session.commit()
    headers = token_for(staff)
    assert client.post(f"{URL}/{first.id}/approve", headers=headers).json["status"] == "confirmed"
    assert "reason" in assert_error(client.post(f"{URL}/{second.id}/reject", json={}, headers=headers),
                                    422)["details"]["fields"]
    rejected = client.post(f"{URL}/{second.id}/reject", json={"reason": "Calibration week"}, headers=headers)
    assert rejected.json["status"] == "rejected" and rejected.json["decision_reason"] == "Calibration week"
    assert_error(client.post(f"{URL}/{second.id}/approve", headers=headers), 409)


def test_cookie_authenticated_writes_need_csrf(app, client, auth, member):
    app.config["WTF_CSRF_ENABLED"] = True
    etype = make_equipment_type(units=1)
    auth.as_user(member)
    assert_error(client.post(URL, json=body(etype)), 400, "csrf_failed")


def test_unauthenticated_caller_gets_401(client):
    assert_error(client.get(URL), 401)


def test_paths_are_in_the_openapi_spec(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/equipment-reservations", "/equipment-reservations/{id}", "/equipment-reservations/{id}/cancel",
                 "/equipment-reservations/{id}/checkout", "/equipment-reservations/{id}/checkin",
                 "/equipment-reservations/{id}/approve", "/equipment-reservations/{id}/reject"):
        assert path in paths


@BOTH
@pytest.mark.parametrize("change, field", [
    ({"equipment_id": 2**63}, "equipment_id"),
    ({"booking_id": 2**40}, "booking_id"),
    ({"quantity": 2**40}, "quantity"),
    ({"start": "9999-12-31T22:00+00:00", "end": "9999-12-31T23:00+00:00"}, "end"),
    ({"start": "0001-01-01T00:00+14:00"}, "start"),
])
def test_out_of_range_input_answers_422_not_500(client, member, change, field):
    etype = make_equipment_type(units=1)
    error = assert_error(client.post(URL, json={**body(etype), **change}, headers=token_for(member)), 422)
    assert field in error["details"]["fields"]


def test_nul_characters_are_refused_as_a_malformed_request(client, member):
    etype = make_equipment_type(units=1)
    error = assert_error(client.post(URL, json={**body(etype), "purpose": "nul\x00byte"}, headers=token_for(member)),
                         400)
    assert "NUL" in error["message"]


@BOTH
def test_huge_path_id_answers_404(client, member):
    assert_error(client.get(f"{URL}/{2**40}", headers=token_for(member)), 404)
    assert_error(client.post(f"{URL}/{2**40}/cancel", headers=token_for(member)), 404)
