"""Equipment types and units: administrators create them (browser and POST /api/v1/equipment,
all or nothing), set and clear maintenance, retire units; everyone browses types with
unit counts and each unit's state; units in maintenance or retired are never loanable."""
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from samskap.audit import AuditEntry
from samskap.errors import ValidationFailed
from samskap.extensions import db
from samskap.timeutil import utcnow
from spaces import services
from spaces.models import EquipmentType, EquipmentUnit, UnitStatus
from tests.conftest import BOTH, POSTGRES
from tests.factories import api_headers, make_equipment_type, make_space, make_user


def new_type(**changes) -> dict:
    body = {"name": "Fall sensor kit", "category": "sensor_kit", "max_loan_days": 28, "turnaround_hours": 24,
            "bookable_by": ["municipality", "hospital"], "requires_approval": False,
            "units": [{"asset_tag": "FALL-001", "serial": "SN-1"}, {"asset_tag": "FALL-002", "serial": "SN-2"}]}
    body.update(changes)
    return body


def written() -> tuple:
    return (db.session.scalar(sa.select(sa.func.count(EquipmentType.id))),
            db.session.scalar(sa.select(sa.func.count(EquipmentUnit.id))),
            db.session.scalar(sa.select(sa.func.count(AuditEntry.id))))


@pytest.fixture
def admin(app):
    return make_user(role="admin", locale="en")


# --- API -------------------------------------------------------------------------------------

@BOTH
def test_admin_creates_equipment_with_units_through_the_api(client, admin):
    response = client.post("/api/v1/equipment", json=new_type(), headers=api_headers(admin))
    assert response.status_code == 201
    body = response.json
    assert (body["name"], body["category"], body["max_loan_days"], body["turnaround_hours"]) == \
        ("Fall sensor kit", "sensor_kit", 28, 24)
    assert body["bookable_by"] == ["municipality", "hospital"]
    assert [u["asset_tag"] for u in body["units"]] == ["FALL-001", "FALL-002"]
    assert all(u["status"] == "available" and u["loanable"] for u in body["units"])
    assert (body["units_total"], body["units_available"]) == (2, 2)
    listing = client.get("/api/v1/equipment", headers=api_headers(make_user())).json
    assert list(listing) == ["equipment"]
    assert [(e["name"], e["units_total"], e["units_available"]) for e in listing["equipment"]] == \
        [("Fall sensor kit", 2, 2)]


@BOTH
def test_duplicate_asset_tag_gets_422_naming_it_and_nothing_is_written(client, admin):
    make_equipment_type(units=0)
    existing = make_equipment_type(units=1).units[0].asset_tag
    before = written()
    units = [{"asset_tag": "NEW-1", "serial": ""}, {"asset_tag": existing, "serial": "x"}]
    response = client.post("/api/v1/equipment", json=new_type(units=units), headers=api_headers(admin))
    assert response.status_code == 422
    fields = response.json["error"]["details"]["fields"]
    assert fields == {"units[1].asset_tag": f"Asset tag {existing} is already in use."}
    assert existing in response.json["error"]["message"]
    assert written()[:2] == before[:2]
    assert db.session.scalar(sa.select(EquipmentUnit).where(EquipmentUnit.asset_tag == "NEW-1")) is None


def test_asset_tag_given_twice_in_one_request_gets_422(client, admin):
    units = [{"asset_tag": "VR-1"}, {"asset_tag": "vr-1"}]
    response = client.post("/api/v1/equipment", json=new_type(units=units), headers=api_headers(admin))
    assert response.status_code == 422
    assert response.json["error"]["details"]["fields"] == {"units[1].asset_tag": "Asset tag vr-1 is given twice."}
    assert written()[:2] == (0, 0)


@pytest.mark.parametrize("changes,field", [
    ({"name": ""}, "name"),
    ({"category": "teleporter"}, "category"),
    ({"max_loan_days": 0}, "max_loan_days"),
    ({"max_loan_days": "ten"}, "max_loan_days"),
    ({"turnaround_hours": -1}, "turnaround_hours"),
    ({"bookable_by": ["aliens"]}, "bookable_by"),
    ({"requires_approval": "no"}, "requires_approval"),
    ({"units": "FALL-001"}, "units"),
    ({"units": [{"asset_tag": ""}]}, "units[0].asset_tag"),
    ({"units": [{"asset_tag": "A", "colour": "red"}]}, "units[0]"),
    ({"colour": "red"}, "colour"),
])
def test_invalid_equipment_gets_422_and_nothing_is_written(client, admin, changes, field):
    response = client.post("/api/v1/equipment", json=new_type(**changes), headers=api_headers(admin))
    assert response.status_code == 422
    assert response.json["error"]["details"]["fields"][field]
    assert written()[:2] == (0, 0)


def test_duplicate_type_name_gets_422(client, admin):
    make_equipment_type(name="Fall sensor kit")
    response = client.post("/api/v1/equipment", json=new_type(units=[]), headers=api_headers(admin))
    assert response.json["error"]["details"]["fields"]["name"] == \
        "An equipment type named 'Fall sensor kit' already exists."


@pytest.mark.parametrize("role", ["member", "staff"])
def test_members_and_staff_get_403_on_equipment_writes(client, app, role):
    headers = api_headers(make_user(role=role))
    response = client.post("/api/v1/equipment", json=new_type(), headers=headers)
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
    assert written()[:2] == (0, 0)


def test_malformed_equipment_body_gets_400(client, admin):
    response = client.post("/api/v1/equipment", data="{oops", content_type="application/json",
                           headers=api_headers(admin))
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_request"


@POSTGRES
def test_two_requests_with_the_same_asset_tag_at_once_create_one_unit(app, admin):
    admin_id = admin.id
    db.session.commit()
    barrier = threading.Barrier(2)
    results = []

    def create(n):
        with app.app_context():
            actor = db.session.get(type(admin), admin_id)
            barrier.wait()
            try:
                services.create_equipment_type(actor, new_type(name=f"Kit {n}", units=[{"asset_tag": "SAME-1"}]))
                db.session.commit()
                results.append("created")
            except ValidationFailed as exc:
                db.session.rollback()
                results.append(exc.fields)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("created") == 1
    assert db.session.scalar(sa.select(sa.func.count(EquipmentUnit.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(EquipmentType.id))) == 1  # the loser wrote nothing


# --- unit services ------------------------------------------------------------------------------

def test_units_in_maintenance_or_retired_are_not_loanable_and_not_counted_available(client, admin):
    etype = make_equipment_type(units=4)
    first, second, third, _fourth = etype.units
    services.set_maintenance(admin, first, "Battery swap")
    services.retire_unit(admin, second, "Dropped")
    db.session.commit()
    assert [u.is_loanable for u in (first, second, third)] == [False, False, True]
    counts = services.unit_counts([etype.id])[etype.id]
    assert (counts.units, counts.available) == (3, 2)  # retired units are no longer counted

    body = client.get(f"/api/v1/equipment/{etype.id}", headers=api_headers(make_user())).json
    states = {u["asset_tag"]: (u["status"], u["loanable"]) for u in body["units"]}
    assert states[first.asset_tag] == ("maintenance", False) and states[second.asset_tag] == ("retired", False)
    assert (body["units_total"], body["units_available"]) == (3, 2)


def test_maintenance_needs_a_note_and_retired_units_stay_retired(admin):
    unit = make_equipment_type(units=1).units[0]
    with pytest.raises(ValidationFailed) as info:
        services.set_maintenance(admin, unit, "  ")
    assert info.value.fields == {"note": "Say what maintenance the unit needs."}
    with pytest.raises(ValidationFailed):
        services.clear_maintenance(admin, unit)
    services.retire_unit(admin, unit)
    db.session.commit()
    for call in (lambda: services.set_maintenance(admin, unit, "fix"), lambda: services.retire_unit(admin, unit)):
        with pytest.raises(ValidationFailed):
            call()
    assert db.session.get(EquipmentUnit, unit.id).status == UnitStatus.RETIRED


@pytest.mark.parametrize("data,field", [
    ({"asset_tag": ""}, "asset_tag"),
    ({"asset_tag": "X-1", "status": "retired"}, "status"),
    ({"asset_tag": "X-1", "status": "lost"}, "status"),
    ({"asset_tag": "X-1", "status": "maintenance"}, "status_note"),
    ({"asset_tag": "X-1", "home_space_id": 999}, "home_space_id"),
    ({"asset_tag": "X" * 65}, "asset_tag"),
])
def test_invalid_unit_is_refused_and_nothing_written(admin, data, field):
    etype = make_equipment_type()
    with pytest.raises(ValidationFailed) as info:
        services.add_unit(admin, etype, data)
    db.session.rollback()
    assert field in info.value.fields
    assert db.session.scalar(sa.select(sa.func.count(EquipmentUnit.id))) == 0


def test_unit_may_start_in_maintenance_with_a_home_space(admin):
    etype, home = make_equipment_type(), make_space()
    unit = services.add_unit(admin, etype, {"asset_tag": "VR-9", "serial": "S9", "home_space_id": home.id,
                                            "status": "maintenance", "status_note": "Needs lenses"})
    db.session.commit()
    assert (unit.status, unit.status_note, unit.home_space_id, unit.is_loanable) == \
        (UnitStatus.MAINTENANCE, "Needs lenses", home.id, False)


def test_update_equipment_type_is_audited(admin):
    etype = make_equipment_type(max_loan_days=14)
    services.update_equipment_type(admin, etype, {"max_loan_days": 21, "requires_approval": True})
    db.session.commit()
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "equipment_type.update"))
    assert entry.changes == {"max_loan_days": [14, 21], "requires_approval": [False, True]}


# --- browsing ---------------------------------------------------------------------------------

def test_everyone_browses_equipment_with_counts_and_unit_states(client, auth, admin):
    etype = make_equipment_type(units=3, name="VR headset")
    first, second, third = etype.units
    services.set_maintenance(admin, first, "Cracked strap")
    services.retire_unit(admin, second, "Lost")
    db.session.commit()
    auth.as_user(make_user(locale="en"))
    listing = client.get("/equipment").get_data(as_text=True)
    assert "VR headset" in listing and "<td>2</td>" in listing and "<td>1</td>" in listing
    page = client.get(f"/equipment/{etype.id}").get_data(as_text=True)
    assert "1 of 2 available" in page
    assert first.asset_tag in page and "In maintenance" in page and "Cracked strap" in page
    assert "not offered for reservation" in page and "can be reserved" in page
    assert second.asset_tag not in page  # retired units are history, not offered to borrowers
    auth.as_user(admin)
    assert second.asset_tag in client.get(f"/equipment/{etype.id}").get_data(as_text=True)


def test_unit_held_by_an_allocation_now_shows_until_when(client, auth, admin):
    from booking.models import EquipmentAllocation, EquipmentReservation

    etype = make_equipment_type(units=1)
    user = make_user(locale="en")
    now = utcnow()
    reservation = EquipmentReservation(equipment_type_id=etype.id, quantity=1, organisation_id=user.organisation_id,
                                       user_id=user.id, start=now - timedelta(days=1), end=now + timedelta(days=2))
    db.session.add(reservation)
    db.session.flush()
    db.session.add(EquipmentAllocation(reservation_id=reservation.id, unit_id=etype.units[0].id,
                                       start=reservation.start, blocked_until=reservation.end))
    db.session.commit()
    auth.as_user(user)
    assert "in use until" in client.get(f"/equipment/{etype.id}").get_data(as_text=True)
    auth.as_user(admin)
    page = client.get(f"/admin/units/{etype.units[0].id}/maintenance").get_data(as_text=True)
    assert "Reservations holding this unit" in page and user.name in page


def test_inactive_equipment_type_is_hidden_from_members(client, auth, admin):
    etype = make_equipment_type(active=False)
    auth.as_user(make_user())
    assert client.get(f"/equipment/{etype.id}").status_code == 404
    assert client.get("/equipment/999").status_code == 404
    assert client.get("/api/v1/equipment", headers=api_headers(make_user())).json == {"equipment": []}
