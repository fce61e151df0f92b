"""Administrators manage spaces, kinds, closures, equipment and units in the browser; the
forms give the services' messages on the right field and write nothing on bad input;
members and staff get 403 everywhere."""
from datetime import date, time

import pytest
import sqlalchemy as sa

from samskap.audit import AuditEntry
from samskap.extensions import db
from samskap.timeutil import local_to_utc
from spaces.models import Closure, EquipmentType, EquipmentUnit, Space, SpaceKind, UnitStatus
from tests.factories import make_booking, make_equipment_type, make_space, make_space_kind, make_user


@pytest.fixture
def admin(auth):
    make_space_kind()
    return auth.as_user(make_user(role="admin", locale="en"))


def space_form(**changes) -> dict:
    data = {"name": "Verkstedet", "slug": "", "kind": "meeting-room", "capacity": "30", "location": "1st floor",
            "description": "Big room", "hours_mon": "08:00-12:00, 13:00-16:00", "hours_tue": "8-16",
            "hours_sat": "10:00–14:00", "bookable_by": ["municipality", "hospital"], "requires_approval": "y",
            "min_minutes": "60", "max_minutes": "600", "buffer_minutes": "30", "max_days_ahead": "365",
            "active": "y"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def space_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Space.id)))


def test_admin_creates_space_with_weekday_hours_parsed_into_the_json_shape(client, admin):
    response = client.post("/admin/spaces/new", data=space_form())
    assert response.status_code == 302
    space = db.session.scalar(sa.select(Space).where(Space.slug == "verkstedet"))
    assert space.opening_hours == {"mon": [["08:00", "12:00"], ["13:00", "16:00"]], "tue": [["08:00", "16:00"]],
                                   "sat": [["10:00", "14:00"]]}
    assert space.bookable_by == ["municipality", "hospital"]
    assert (space.capacity, space.min_minutes, space.buffer_minutes, space.requires_approval) == (30, 60, 30, True)
    page = client.get(f"/admin/spaces/{space.id}/edit").get_data(as_text=True)
    assert 'value="08:00-12:00, 13:00-16:00"' in page
    assert "space.create" in page  # the history of changes


def test_around_the_clock_stores_no_hours(client, admin):
    assert client.post("/admin/spaces/new", data=space_form(around_the_clock="y")).status_code == 302
    assert db.session.scalar(sa.select(Space.opening_hours).where(Space.slug == "verkstedet")) is None


@pytest.mark.parametrize("changes,field_id,message", [
    ({"capacity": "0"}, "capacity", "The capacity must be at least 1 person."),
    ({"capacity": "ten"}, "capacity", "&#39;ten&#39; is not a whole number."),
    ({"min_minutes": "700"}, "min_minutes", "The minimum booking length (700 minutes) is longer than the maximum"),
    ({"buffer_minutes": "-1"}, "buffer_minutes", "The buffer cannot be negative."),
    ({"hours_mon": "08:00-12:00, 11:00-14:00"}, "hours_mon", "The opening-hour intervals on Monday overlap."),
    ({"hours_tue": "16:00-08:00"}, "hours_tue", "On Tuesday the closing time 08:00 is not after the opening"),
    ({"hours_wed": "all day"}, "hours_wed", "&#39;all day&#39; is not a time interval"),
    ({"hours_thu": "08:00-25:00"}, "hours_thu", "is not a time of day"),
    ({"bookable_by": ["hospital", "spaceagency"]}, "bookable_by", "Unknown organisation kind &#39;spaceagency&#39;"),
    ({"bookable_by": None}, "bookable_by", "Choose at least one kind of organisation"),
    ({"kind": "spaceship"}, "kind", "Unknown kind of space &#39;spaceship&#39;"),
    ({"slug": "Bad Slug"}, "slug", "may hold only lower-case letters"),
])
def test_space_form_shows_the_error_on_its_field_and_writes_nothing(client, admin, changes, field_id, message):
    before = space_count()
    response = client.post("/admin/spaces/new", data=space_form(**changes))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="{field_id}-error"' in page
    assert message in page
    assert f'href="#{field_id}"' in page  # linked from the error summary
    assert space_count() == before


def test_duplicate_slug_is_refused_in_the_form(client, admin):
    make_space(slug="verkstedet", name="Old workshop")
    response = client.post("/admin/spaces/new", data=space_form(slug="verkstedet", name="New workshop"))
    assert response.status_code == 400
    assert "Another space already uses the address name &#39;verkstedet&#39;." in response.get_data(as_text=True)
    assert space_count() == 1


def test_form_speaks_norwegian_by_default(client, auth):
    make_space_kind()
    auth.as_user(make_user(role="admin"))
    page = client.post("/admin/spaces/new", data=space_form(capacity="0")).get_data(as_text=True)
    assert "Kapasiteten må være minst 1 person." in page
    assert "<label for=\"hours_mon\">Mandag</label>" in page


def test_admin_edits_and_deactivates_a_space(client, admin):
    space = make_space(name="Mjøsa", slug="mjosa")
    response = client.post(f"/admin/spaces/{space.id}/edit",
                           data=space_form(name="Mjøsa", slug="mjosa", capacity="12"))
    assert response.status_code == 302
    db.session.refresh(space)
    assert space.capacity == 12
    assert client.post(f"/admin/spaces/{space.id}/deactivate").status_code == 302
    db.session.refresh(space)
    assert space.active is False
    assert "Deactivated" in client.get("/admin/spaces").get_data(as_text=True)


def test_admin_adds_a_kind_of_space(client, admin):
    response = client.post("/admin/space-kinds/new", data={"name_nb": "Sensorlab", "name_en": "Sensor lab"})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(SpaceKind.name_nb).where(SpaceKind.code == "sensor-lab")) == "Sensorlab"
    again = client.post("/admin/space-kinds/new", data={"name_nb": "Sensorlab", "name_en": "Sensor lab"})
    assert again.status_code == 400 and "already exists" in again.get_data(as_text=True)


# --- closures ----------------------------------------------------------------------------------

def test_closure_page_lists_the_bookings_inside_it(client, admin):
    space = make_space(name="Mjøsa")
    day = date(2027, 3, 10)
    inside = make_booking(space=space, start=local_to_utc(day, time(10)), title="Pilot kickoff")
    make_booking(space=space, start=local_to_utc(date(2027, 3, 20), time(10)), title="Later meeting")
    response = client.post("/admin/closures/new", data={"space_id": str(space.id), "start_date": "2027-03-09",
                                                         "end_date": "2027-03-12", "reason": "New floor"})
    assert response.status_code == 302
    closure = db.session.scalar(sa.select(Closure))
    assert closure.space_id == space.id and closure.reason == "New floor"
    assert closure.start == local_to_utc(date(2027, 3, 9), time(0))
    assert closure.end == local_to_utc(date(2027, 3, 13), time(0))  # the whole last day
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert inside.title in page and "Later meeting" not in page
    assert "Active bookings inside this closure: 1." in page
    assert "New floor" in client.get("/admin/closures").get_data(as_text=True)


@pytest.mark.parametrize("data,field_id", [
    ({"start_date": "2027-03-12", "end_date": "2027-03-09", "reason": "X"}, "end_date"),
    ({"start_date": "2027-03-12", "start_time": "12:00", "end_date": "2027-03-12", "end_time": "09:00",
      "reason": "X"}, "end_date"),
    ({"start_date": "2027-03-09", "end_date": "2027-03-12", "reason": ""}, "reason"),
    ({"start_date": "09.03.2027", "end_date": "2027-03-12", "reason": "X"}, "start_date"),
    ({"start_date": "2027-03-28", "start_time": "02:30", "end_date": "2027-03-28", "reason": "X"}, "start_time"),
    ({"space_id": "9999", "start_date": "2027-03-09", "end_date": "2027-03-12", "reason": "X"}, "space_id"),
])
def test_invalid_closure_form_is_refused_and_nothing_written(client, admin, data, field_id):
    response = client.post("/admin/closures/new", data={"space_id": "", **data})
    assert response.status_code == 400
    assert f'id="{field_id}-error"' in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Closure.id))) == 0


def test_admin_removes_a_whole_workshop_closure(client, admin):
    assert client.post("/admin/closures/new", data={"space_id": "", "start_date": "2027-12-24",
                                                     "end_date": "2027-12-26", "reason": "Christmas"}).status_code == 302
    closure = db.session.scalar(sa.select(Closure))
    assert closure.space_id is None
    assert client.post(f"/admin/closures/{closure.id}/delete").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Closure.id))) == 0


# --- equipment ---------------------------------------------------------------------------------

def type_form(**changes) -> dict:
    data = {"name": "Fall sensor kit", "category": "sensor_kit", "description": "", "max_loan_days": "28",
            "turnaround_hours": "24", "bookable_by": ["municipality"], "active": "y"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_admin_creates_equipment_type_and_units_and_handles_maintenance(client, admin):
    assert client.post("/admin/equipment/new", data=type_form()).status_code == 302
    etype = db.session.scalar(sa.select(EquipmentType))
    assert (etype.max_loan_days, etype.turnaround_hours, etype.bookable_by) == (28, 24, ["municipality"])
    home = make_space(name="Leiligheten")
    assert client.post(f"/admin/equipment/{etype.id}/units/new",
                       data={"asset_tag": "FALL-001", "serial": "SN1", "home_space_id": str(home.id),
                             "status": "available"}).status_code == 302
    unit = db.session.scalar(sa.select(EquipmentUnit))
    assert unit.home_space_id == home.id and unit.is_loanable

    missing_note = client.post(f"/admin/units/{unit.id}/maintenance", data={"note": ""})
    assert missing_note.status_code == 400 and "Say what maintenance the unit needs." in missing_note.get_data(True)
    assert client.post(f"/admin/units/{unit.id}/maintenance", data={"note": "Battery swap"}).status_code == 302
    db.session.refresh(unit)
    assert unit.status == UnitStatus.MAINTENANCE and unit.status_note == "Battery swap" and not unit.is_loanable
    assert "Battery swap" in client.get(f"/admin/equipment/{etype.id}").get_data(as_text=True)
    assert client.post(f"/admin/units/{unit.id}/maintenance-done", data={"note": ""}).status_code == 302
    db.session.refresh(unit)
    assert unit.status == UnitStatus.AVAILABLE
    assert client.post(f"/admin/units/{unit.id}/retire", data={"note": "Broken"}).status_code == 302
    db.session.refresh(unit)
    assert unit.status == UnitStatus.RETIRED
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_type == "equipment_units")
                                 .order_by(AuditEntry.id)).all()
    assert actions == ["equipment_unit.create", "equipment_unit.maintenance", "equipment_unit.maintenance_done",
                       "equipment_unit.retire"]


@pytest.mark.parametrize("changes,field_id,message", [
    ({"max_loan_days": "0"}, "max_loan_days", "at least 1 day"),
    ({"max_loan_days": "ten"}, "max_loan_days", "&#39;ten&#39; is not a whole number."),
    ({"turnaround_hours": "-2"}, "turnaround_hours", "cannot be negative"),
    ({"category": "teleporter"}, "category", "Unknown category"),
    ({"bookable_by": ["martians"]}, "bookable_by", "Unknown organisation kind"),
])
def test_equipment_type_form_refuses_bad_input(client, admin, changes, field_id, message):
    response = client.post("/admin/equipment/new", data=type_form(**changes))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="{field_id}-error"' in page and message in page
    assert db.session.scalar(sa.select(sa.func.count(EquipmentType.id))) == 0


def test_duplicate_asset_tag_is_refused_in_the_unit_form(client, admin):
    etype = make_equipment_type(units=1)
    tag = etype.units[0].asset_tag
    response = client.post(f"/admin/equipment/{etype.id}/units/new", data={"asset_tag": tag.lower(),
                                                                          "status": "available"})
    assert response.status_code == 400
    assert f"Asset tag {tag.lower()} is already in use." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(EquipmentUnit.id))) == 1


def test_unit_edit_changes_serial_and_keeps_its_own_tag(client, admin):
    etype = make_equipment_type(units=1)
    unit = etype.units[0]
    response = client.post(f"/admin/units/{unit.id}/edit", data={"asset_tag": unit.asset_tag, "serial": "NEW-1",
                                                                "home_space_id": ""})
    assert response.status_code == 302
    db.session.refresh(unit)
    assert unit.serial == "NEW-1"


# --- who may use the admin pages ------------------------------------------------------------

@pytest.fixture
def catalogue(app):
    space = make_space()
    etype = make_equipment_type(units=1)
    admin = make_user(role="admin")
    from spaces import services
    from datetime import datetime, timezone
    closure = services.add_closure(admin, None, datetime(2027, 1, 1, tzinfo=timezone.utc),
                                   datetime(2027, 1, 2, tzinfo=timezone.utc), "Holiday")
    db.session.commit()
    return {"space": space.id, "type": etype.id, "unit": etype.units[0].id, "closure": closure.id}


GET_ONLY, POST_ONLY, BOTH_METHODS = ("GET",), ("POST",), ("GET", "POST")
# Each page with the methods it has: a non-admin gets 403 on those, 405 on the others (for anyone).
ADMIN_PATHS = {
    "/admin/spaces": GET_ONLY, "/admin/spaces/new": BOTH_METHODS, "/admin/spaces/{space}/edit": BOTH_METHODS,
    "/admin/spaces/{space}/deactivate": POST_ONLY, "/admin/space-kinds/new": POST_ONLY,
    "/admin/closures": GET_ONLY, "/admin/closures/new": BOTH_METHODS, "/admin/closures/{closure}": GET_ONLY,
    "/admin/closures/{closure}/delete": POST_ONLY, "/admin/equipment": GET_ONLY,
    "/admin/equipment/new": BOTH_METHODS, "/admin/equipment/{type}": GET_ONLY,
    "/admin/equipment/{type}/edit": BOTH_METHODS, "/admin/equipment/{type}/units/new": BOTH_METHODS,
    "/admin/units/{unit}/edit": BOTH_METHODS, "/admin/units/{unit}/maintenance": BOTH_METHODS,
    "/admin/units/{unit}/maintenance-done": BOTH_METHODS, "/admin/units/{unit}/retire": BOTH_METHODS,
}


@pytest.mark.parametrize("role", ["member", "staff"])
@pytest.mark.parametrize("path,methods", ADMIN_PATHS.items())
def test_members_and_staff_get_403_on_every_catalogue_admin_page(client, auth, catalogue, role, path, methods):
    auth.as_user(make_user(role=role))
    url = path.format(**catalogue)
    assert client.get(url).status_code == (403 if "GET" in methods else 405)
    posted = client.post(url, data={"name": "x", "note": "x", "capacity": "3"})
    assert posted.status_code == (403 if "POST" in methods else 405)
    assert db.session.get(Space, catalogue["space"]).active
    assert db.session.get(Closure, catalogue["closure"]) is not None
    assert db.session.get(EquipmentUnit, catalogue["unit"]).status == UnitStatus.AVAILABLE


def test_anonymous_is_sent_to_sign_in_from_catalogue_admin(client, catalogue):
    response = client.get("/admin/spaces")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_admin_sees_the_catalogue_links_and_unknown_ids_give_404(client, admin):
    page = client.get("/admin/").get_data(as_text=True)
    for endpoint in ("/admin/spaces", "/admin/closures", "/admin/equipment"):
        assert f'href="{endpoint}"' in page
    for path in ("/admin/spaces/999/edit", "/admin/closures/999", "/admin/equipment/999",
                 "/admin/units/999/edit", "/admin/units/999/retire"):
        assert client.get(path).status_code == 404


@pytest.mark.csrf
def test_catalogue_forms_without_csrf_token_are_refused(client, admin):
    assert client.post("/admin/spaces/new", data=space_form()).status_code == 400
    space = make_space()
    assert client.post(f"/admin/spaces/{space.id}/deactivate").status_code == 400
    assert space_count() == 1 and db.session.get(Space, space.id).active


def test_unreadable_hours_and_other_bad_fields_are_all_shown_at_once(client, admin):
    response = client.post("/admin/spaces/new", data=space_form(hours_mon="9 to 5", capacity="0"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="hours_mon-error"' in page and 'id="capacity-error"' in page
    assert 'aria-describedby="None"' not in page
    assert space_count() == 0
