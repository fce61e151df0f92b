"""IDOR probes (issue 7): a member and an organisation contact put another organisation's ids
into URLs and JSON bodies (bookings, series occurrences, equipment reservations, feeds, API
tokens, users, inactive spaces and equipment types). Each probe must answer 404 (or 403/422
for a body that names something the caller may not use, or a masked list), and must change
nothing at all in the database.

The world (tests/access_world.py) is seeded once; every probe compares a dump of every table
before and after its request.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable

import pytest

from samskap import create_app
from samskap.extensions import db
from tests.access_world import copy_world, names_for, request_as, seed_world_file, snapshot_database
from tests.conftest import BASE_CONFIG, IsolatedClient

ACTORS = ("municipality", "contact")


def _iso(days: int, hour: int) -> str:
    return f"{(date.today() + timedelta(days=days)).isoformat()}T{hour:02d}:00:00+01:00"


def _day(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


@dataclass
class Probe:
    method: str
    path: str
    status: int
    form: dict | Callable | None = None
    json: dict | Callable | None = None
    note: str = ""
    changes: bool = False                         # the request may write (checked by ``check`` instead)
    check: Callable | None = None                 # (response, names, app) -> None

    def id(self) -> str:
        return f"{self.method} {self.path}" + (f" [{self.note}]" if self.note else "")


def _titles(response) -> str:
    return response.get_data(as_text=True)


def _masked_in_list(response, names, app):
    by_start = response.json["bookings"]
    foreign = [b for b in by_start if b["id"] == names["f_private"]]
    assert not foreign, "another organisation's private booking is listed with its id"
    assert not any(b.get("title") == "Outsider f_private" for b in by_start)
    assert any(b["masked"] and b["title"] == "Busy" for b in by_start), "the busy slot is not shown masked"


def _project_not_listed(response, names, app):
    assert names["f_project"] not in {p["id"] for p in response.json["projects"]}


def _project_booking_masked(response, names, app):
    bookings = response.json["bookings"]
    assert not any(b["id"] == names["f_project_booking"] for b in bookings)
    assert not any(b.get("title") == "Outsider f_project_booking" for b in bookings)


def _masked_in_availability(response, names, app):
    busy = response.json["busy"]
    assert all(p["booking_id"] != names["f_private"] for p in busy)
    assert not any(p["title"] == "Outsider f_private" for p in busy)


def _no_foreign_reservations(response, names, app):
    listed = {r["id"] for r in response.json["equipment_reservations"]}
    assert names["f_reservation"] not in listed and names["own_reservation"] in listed


def _no_foreign_feeds(response, names, app):
    listed = {f["id"] for f in response.json["feeds"]}
    assert names["f_feed"] not in listed and names["own_feed"] in listed


def _own_organisation_only(response, names, app):
    page = _titles(response)
    assert "Outsider" not in page, "another organisation's bookings are listed"


def _booked_for_own_organisation(response, names, app):
    """The booking form has no organisation field for members: a smuggled one is ignored."""
    from booking.models import Booking

    assert response.status_code == 303
    booking_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.organisation_id == names["org_municipality"]
        db.session.remove()


PROBES: list[Probe] = [
    # bookings, in pages and the API
    Probe("GET", "/bookings/{f_private}", 404),
    Probe("GET", "/bookings/{f_private}.ics", 404),
    Probe("GET", "/bookings/{f_private}/edit", 404),
    Probe("POST", "/bookings/{f_private}/edit", 404, form=lambda n: {
        "space": n["space"], "title": "Taken over", "purpose": "meeting", "date": _day(30), "start_time": "10:00",
        "end_time": "11:00", "attendees": "1", "visibility": "public"}),
    Probe("GET", "/bookings/{f_private}/cancel", 404),
    Probe("POST", "/bookings/{f_private}/cancel", 404, form={"reason": "Mine now"}),
    Probe("GET", "/api/v1/bookings/{f_private}", 404),
    Probe("PATCH", "/api/v1/bookings/{f_private}", 404, json={"title": "Taken over", "visibility": "public"}),
    Probe("POST", "/api/v1/bookings/{f_private}/cancel", 404, json={"reason": "Mine now"}),
    Probe("POST", "/api/v1/bookings/{f_pending_approve_api}/approve", 404),
    Probe("POST", "/api/v1/bookings/{f_pending_reject_api}/reject", 404, json={"reason": "No"}),
    Probe("POST", "/api/v1/bookings/{f_partners}/cancel", 403, note="shared with partners: visible, not theirs"),
    Probe("PATCH", "/api/v1/bookings/{f_partners}", 403, json={"title": "Taken over"},
          note="shared with partners: visible, not theirs"),
    Probe("GET", "/api/v1/bookings", 200, note="masked as busy", check=_masked_in_list,
          json=None),
    # series occurrences: the whole series is out of reach too
    Probe("GET", "/api/v1/bookings/{f_occurrence}", 404),
    Probe("PATCH", "/api/v1/bookings/{f_occurrence}", 404, json={"title": "Taken over", "scope": "series"}),
    Probe("POST", "/api/v1/bookings/{f_occurrence}/cancel", 404, json={"scope": "series"}),
    Probe("POST", "/bookings/{f_occurrence}/cancel", 404, form={"reason": "Mine now", "scope": "series"}),
    Probe("POST", "/bookings/{f_occurrence}/edit", 404, form={"title": "Taken over", "scope": "following"}),
    # a project the caller's organisation is not a partner of (issue 18): it and its bookings are out of reach
    Probe("GET", "/api/v1/projects/{f_project}", 404),
    Probe("PATCH", "/api/v1/projects/{f_project}", 404, json={"organisation_ids": [1, 2, 3, 4, 5, 6]}),
    Probe("POST", "/api/v1/projects", 403, json=lambda n: {"name": "Ours", "lead_organisation_id": n["org_outsider"]}),
    Probe("GET", "/api/v1/projects", 200, note="not listed", check=_project_not_listed),
    Probe("GET", "/api/v1/bookings/{f_project_booking}", 404),
    Probe("GET", "/bookings/{f_project_booking}", 404),
    Probe("GET", "/bookings/{f_project_booking}.ics", 404),
    Probe("PATCH", "/api/v1/bookings/{f_project_booking}", 404, json={"title": "Taken over"}),
    Probe("POST", "/api/v1/bookings/{f_project_booking}/cancel", 404, json={"reason": "Mine now"}),
    Probe("GET", "/api/v1/bookings", 200, note="a project's booking masked as busy", check=_project_booking_masked),
    Probe("POST", "/api/v1/bookings", 422, json=lambda n: {
        "space_id": n["space"], "title": "Inside their pilot", "start": _iso(41, 9), "end": _iso(41, 10),
        "project_id": n["f_project"]}, note="project_id of a project the organisation is not a partner of"),
    # a booking's body naming another organisation, or a space the caller may not use
    Probe("POST", "/api/v1/bookings", 403, json=lambda n: {
        "space_id": n["space"], "title": "On their account", "start": _iso(40, 9), "end": _iso(40, 10),
        "organisation_id": n["org_outsider"]}, note="organisation_id of another organisation"),
    Probe("POST", "/api/v1/bookings", 422, json=lambda n: {
        "space_id": n["inactive_space"], "title": "Closed", "start": _iso(41, 9), "end": _iso(41, 10)},
        note="inactive space"),
    Probe("PATCH", "/api/v1/bookings/{own_booking}", 422, json=lambda n: {"space_id": n["inactive_space"]},
          note="move own booking into an inactive space"),
    Probe("POST", "/bookings/new", 422, form=lambda n: {
        "space": n["inactive_space"], "title": "Closed", "purpose": "meeting", "date": _day(42),
        "start_time": "10:00", "end_time": "11:00", "attendees": "1", "visibility": "private", "repeat": "none"},
        note="inactive space"),
    Probe("POST", "/bookings/new", 303, changes=True, check=_booked_for_own_organisation, form=lambda n: {
        "space": n["space"], "title": "Smuggled", "purpose": "meeting", "date": _day(43 + ACTORS.index(n["actor"])),
        "start_time": "10:00",
        "end_time": "11:00", "attendees": "1", "visibility": "private", "repeat": "none",
        "organisation": n["org_outsider"]}, note="organisation field smuggled into the form"),
    Probe("GET", "/bookings/organisation?organisation={org_outsider}", 200, check=_own_organisation_only,
          note="another organisation's list"),
    Probe("GET", "/api/v1/spaces/{space}/availability", 200, check=_masked_in_availability, note="masked"),
    # equipment reservations
    Probe("GET", "/equipment-reservations/{f_reservation}", 404),
    Probe("POST", "/equipment-reservations/{f_reservation}/cancel", 404),
    Probe("GET", "/api/v1/equipment-reservations/{f_reservation}", 404),
    Probe("POST", "/api/v1/equipment-reservations/{f_reservation}/cancel", 404, json={"reason": "Mine now"}),
    Probe("POST", "/api/v1/equipment-reservations/{f_reservation_checkout_api}/checkout", 404),
    Probe("POST", "/api/v1/equipment-reservations/{f_reservation_checkin_api}/checkin", 404),
    Probe("POST", "/api/v1/equipment-reservations/{f_reservation_pending_approve_api}/approve", 404),
    Probe("POST", "/api/v1/equipment-reservations/{f_reservation_pending_reject_api}/reject", 404,
          json={"reason": "No"}),
    Probe("GET", "/api/v1/equipment-reservations", 200, check=_no_foreign_reservations, note="not listed"),
    Probe("POST", "/api/v1/equipment-reservations", 422, json=lambda n: {
        "equipment_id": n["etype"], "quantity": 1, "start": _iso(700, 9), "end": _iso(701, 9),
        "booking_id": n["f_private"]}, note="booking_id of another organisation's private booking"),
    Probe("POST", "/api/v1/equipment-reservations", 403, json=lambda n: {
        "equipment_id": n["etype"], "quantity": 1, "start": _iso(702, 9), "end": _iso(703, 9),
        "booking_id": n["f_partners"]}, note="booking_id of another organisation's shared booking"),
    Probe("POST", "/api/v1/equipment-reservations", 403, json=lambda n: {
        "equipment_id": n["etype"], "quantity": 1, "start": _iso(704, 9), "end": _iso(705, 9),
        "organisation_id": n["org_outsider"]}, note="organisation_id of another organisation"),
    Probe("POST", "/api/v1/equipment-reservations", 422, json=lambda n: {
        "equipment_id": n["inactive_etype"], "quantity": 1, "start": _iso(706, 9), "end": _iso(707, 9)},
        note="inactive equipment type"),
    Probe("POST", "/equipment-reservations/new", 400, form=lambda n: {
        "equipment_type": n["inactive_etype"], "quantity": "1", "start_date": _day(708), "start_time": "09:00",
        "end_date": _day(709), "end_time": "09:00"}, note="inactive equipment type"),
    # feeds and tokens
    Probe("POST", "/feeds/{f_feed_revoke}/revoke", 404),
    Probe("DELETE", "/api/v1/feeds/{f_feed_revoke}", 404),
    Probe("GET", "/api/v1/feeds", 200, check=_no_foreign_feeds, note="not listed"),
    Probe("POST", "/api/v1/feeds", 422, json=lambda n: {"scope": "space", "space_id": n["inactive_space"]},
          note="space_id of an inactive space"),
    Probe("POST", "/api/v1/feeds", 422, json=lambda n: {"scope": "equipment", "equipment_id": n["inactive_etype"]},
          note="equipment_id of an inactive type"),
    Probe("POST", "/feeds", 422, form=lambda n: {"scope": "space", "space_id": str(n["inactive_space"])},
          note="inactive space in the form"),
    Probe("POST", "/api/v1/feeds", 403, json={"scope": "all"}, note="every booking"),
    Probe("POST", "/profile/tokens/{f_token}/revoke", 404),
    # users and organisations
    Probe("GET", "/admin/users/{user_outsider}/edit", 403),
    Probe("POST", "/admin/users/{user_outsider}/edit", 403, form=lambda n: {
        "email": "x@example.test", "name": "Taken over", "organisation_id": n["org_municipality"], "role": "admin",
        "locale": "en", "active": "y"}),
    Probe("POST", "/admin/users/{user_outsider}/anonymise", 403),
    Probe("POST", "/admin/organisations/{org_outsider}/edit", 403, form={"name": "Taken over", "kind": "company"}),
    Probe("GET", "/organisation/members?organisation={org_outsider}", 404),
    # inactive spaces and equipment types
    Probe("GET", "/spaces/closed-room", 404),
    Probe("GET", "/api/v1/spaces/{inactive_space}", 404),
    Probe("GET", "/api/v1/spaces/{inactive_space}/availability", 404),
    Probe("GET", "/booking/spaces/{inactive_space}/week", 404),
    Probe("GET", "/equipment/{inactive_etype}", 404),
    Probe("GET", "/api/v1/equipment/{inactive_etype}", 404),
    Probe("GET", "/equipment/{inactive_etype}/timeline", 404),
]


@pytest.fixture(scope="module")
def probe_app(sqlite_template, tmp_path_factory):
    folder = tmp_path_factory.mktemp("idor")
    world = seed_world_file(sqlite_template, folder / "world.sqlite3", BASE_CONFIG)
    path = copy_world(folder / "world.sqlite3", folder / "db.sqlite3")
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    app.test_client_class = IsolatedClient
    for role in (*ACTORS, "staff"):  # the hourly last-used touch of each API token happens here, not in a probe
        assert request_as(app, world, role, "GET", "/api/v1/me").status_code == 200
    yield app, world
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("probe", PROBES, ids=[p.id() for p in PROBES])
def test_another_organisations_ids_open_nothing_and_change_nothing(probe_app, actor, probe):
    app, world = probe_app
    names = names_for(world, actor)
    kwargs = {}
    if probe.form is not None:
        kwargs["data"] = probe.form(names) if callable(probe.form) else probe.form
    if probe.json is not None:
        kwargs["json"] = probe.json(names) if callable(probe.json) else probe.json
    before = snapshot_database(app)
    response = request_as(app, world, actor, probe.method, probe.path.format_map(names), **kwargs)
    assert response.status_code == probe.status, (
        f"{actor}: {probe.id()} answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
    if probe.check is not None:
        probe.check(response, names, app)
    if not probe.changes:
        after = snapshot_database(app)
        changed = [table for table in before if before[table] != after[table]]
        assert not changed, f"{actor}: {probe.id()} changed {changed}"
    if response.status_code == 404 and probe.path.startswith("/api/"):
        body = json.dumps(response.json)
        assert "Outsider" not in body, "a 404 names what it hides"


def test_a_staff_check_in_cannot_send_another_reservations_unit_to_maintenance(probe_app):
    app, world = probe_app
    names = names_for(world, "staff")
    with app.app_context():
        from booking.models import EquipmentReservation

        other_unit = db.session.get(EquipmentReservation, names["f_reservation"]).allocations[0].unit_id
        db.session.remove()
    before = snapshot_database(app)
    response = request_as(app, world, "staff", "POST",
                          f"/api/v1/equipment-reservations/{names['f_reservation_checkin_api']}/checkin",
                          json={"maintenance_unit_ids": [other_unit]})
    assert response.status_code == 422
    assert "maintenance_unit_ids" in response.json["error"]["details"]["fields"]
    after = snapshot_database(app)
    assert [t for t in before if before[t] != after[t]] == []


def test_unknown_and_another_organisations_ids_look_the_same(probe_app):
    """404 bodies for another organisation's booking and for one that does not exist are
    identical: nothing tells them apart."""
    app, world = probe_app
    names = names_for(world, "municipality")
    for path in ("/api/v1/bookings/{}", "/api/v1/equipment-reservations/{}"):
        key = "f_private" if "bookings" in path else "f_reservation"
        theirs = request_as(app, world, "municipality", "GET", path.format(names[key]))
        absent = request_as(app, world, "municipality", "GET", path.format(999999))
        assert (theirs.status_code, theirs.json) == (absent.status_code, absent.json) == (404, absent.json)
