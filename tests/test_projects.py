"""Projects (issue 18): pilots across organisations, and privacy that follows the partnership.

The issue's first done-when: a project with a hospital and a company as partners; the company's
member sees the hospital's project booking title in the day view and the API while a
municipality member sees "busy".
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from accounts.models import Role
from booking.models import Booking
from booking.permissions import can_view_details, details_visible_clause
from booking.projects.models import Project
from samskap.audit import AuditEntry
from samskap.extensions import db
from tests.booking_helpers import oslo_on, oslo_today
from tests.conftest import BOTH
from tests.factories import api_headers, make_equipment_type, make_org, make_reservation, make_space, make_user

# 10:00-12:00 in Oslo 3 days ahead, whatever the season ("+01:00" is 11:00 in summer time,
# and the pages show local times) and the hour the suite runs at.
DAY = oslo_today() + timedelta(days=3)
START = oslo_on(DAY, 10).isoformat()
END = oslo_on(DAY, 12).isoformat()


@pytest.fixture
def pilot(client):
    """A hospital leads a fall-detection pilot with a company; a municipality stands outside it."""
    hospital = make_org("hospital", name="Sykehuset Innlandet")
    company = make_org("company", name="Sensorfabrikken AS")
    municipality = make_org("municipality", name="Gjøvik kommune")
    staff = make_user(role=Role.STAFF, locale="en")
    nurse = make_user(hospital, locale="en")
    engineer = make_user(company, locale="en")
    clerk = make_user(municipality, locale="en")
    space = make_space(name="Living lab")
    headers = {name: api_headers(user) for name, user in
               (("staff", staff), ("nurse", nurse), ("engineer", engineer), ("clerk", clerk))}
    response = client.post("/api/v1/projects", headers=headers["staff"], json={
        "name": "Fall detection at home", "description": "Sensors in twelve homes", "goals": "Fewer falls",
        "lead_organisation_id": hospital.id, "organisation_ids": [company.id],
        "starts_on": DAY.isoformat(), "ends_on": (DAY + timedelta(days=60)).isoformat(), "status": "active"})
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(hospital=hospital, company=company, municipality=municipality, staff=staff, nurse=nurse,
                engineer=engineer, clerk=clerk, space=space, headers=headers, project_id=response.json["id"])


def _book(client, pilot, who="nurse", **fields):
    body = {"space_id": pilot["space"].id, "title": "Sensor fitting workshop", "start": START, "end": END,
            "description": "Bring the kits", **fields}
    return client.post("/api/v1/bookings", json=body, headers=pilot["headers"][who])


# --- the project itself ---------------------------------------------------------------------------

@BOTH
def test_staff_create_a_project_whose_lead_is_always_a_partner(client, pilot):
    body = client.get(f"/api/v1/projects/{pilot['project_id']}", headers=pilot["headers"]["staff"]).json
    assert body["name"] == "Fall detection at home" and body["status"] == "active"
    assert body["goals"] == "Fewer falls" and body["lead_organisation_id"] == pilot["hospital"].id
    assert sorted(body["organisation_ids"]) == sorted([pilot["hospital"].id, pilot["company"].id])
    assert {o["kind"] for o in body["organisations"]} == {"hospital", "company"}
    assert body["starts_on"] == DAY.isoformat() and body["bookings"] == [] and body["equipment_reservations"] == []
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "project.create"))
    assert entry is not None and entry.actor_id == pilot["staff"].id


def test_members_cannot_create_projects(client, pilot):
    response = client.post("/api/v1/projects", json={"name": "Ours", "lead_organisation_id": pilot["hospital"].id},
                           headers=pilot["headers"]["nurse"])
    assert response.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(Project.id))) == 1


def test_members_list_only_the_projects_their_organisation_is_a_partner_of(client, pilot):
    other = client.post("/api/v1/projects", json={"name": "Municipal pilot",
                                                  "lead_organisation_id": pilot["municipality"].id},
                        headers=pilot["headers"]["staff"])
    assert other.status_code == 201
    names = lambda who: {p["name"] for p in client.get("/api/v1/projects", headers=pilot["headers"][who]).json["projects"]}  # noqa: E731
    assert names("staff") == {"Fall detection at home", "Municipal pilot"}
    assert names("engineer") == {"Fall detection at home"}
    assert names("clerk") == {"Municipal pilot"}


def test_a_non_partner_hears_404_for_a_project_and_cannot_change_it(client, pilot):
    path = f"/api/v1/projects/{pilot['project_id']}"
    assert client.get(path, headers=pilot["headers"]["clerk"]).status_code == 404
    assert client.patch(path, json={"name": "Taken"}, headers=pilot["headers"]["clerk"]).status_code == 404
    assert client.patch(path, json={"name": "Taken"}, headers=pilot["headers"]["engineer"]).status_code == 403
    assert client.get(path, headers=pilot["headers"]["engineer"]).json["name"] == "Fall detection at home"
    assert client.get("/api/v1/projects/999999", headers=pilot["headers"]["staff"]).status_code == 404
    assert client.get("/api/v1/projects").status_code == 401


@pytest.mark.parametrize("body, field", [
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": 7}, "name"),
    ({"starts_on": "2027-02-30"}, "starts_on"),
    ({"ends_on": "tomorrow"}, "ends_on"),
    ({"status": "finished"}, "status"),
    ({"lead_organisation_id": 99999}, "lead_organisation_id"),
    ({"lead_organisation_id": "1"}, "lead_organisation_id"),
    ({"organisation_ids": [99999]}, "organisation_ids"),
    ({"organisation_ids": "1,2"}, "organisation_ids"),
    ({"organisation_ids": [True]}, "organisation_ids"),
    ({"colour": "red"}, "colour"),
])
def test_bad_project_fields_answer_422_naming_the_field(client, pilot, body, field):
    full = {"name": "Pilot", "lead_organisation_id": pilot["hospital"].id, **body}
    response = client.post("/api/v1/projects", json=full, headers=pilot["headers"]["staff"])
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.json["error"]["details"]["fields"]


def test_a_project_cannot_end_before_it_starts(client, pilot):
    response = client.patch(f"/api/v1/projects/{pilot['project_id']}", json={"ends_on": "2000-01-01"},
                            headers=pilot["headers"]["staff"])
    assert response.status_code == 422 and "ends_on" in response.json["error"]["details"]["fields"]


# --- bookings for a project -----------------------------------------------------------------------

@BOTH
def test_a_partner_books_for_the_project_and_the_project_lists_it_with_its_equipment(client, pilot):
    response = _book(client, pilot, project_id=pilot["project_id"])
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["project_id"] == pilot["project_id"]
    booking_id = response.json["id"]
    kit = make_equipment_type(units=1, name="Fall sensor kit")
    reservation = make_reservation(kit, user=pilot["nurse"], booking_id=booking_id)
    body = client.get(f"/api/v1/projects/{pilot['project_id']}", headers=pilot["headers"]["engineer"]).json
    assert [b["id"] for b in body["bookings"]] == [booking_id]
    assert body["bookings"][0]["title"] == "Sensor fitting workshop"
    assert [r["id"] for r in body["equipment_reservations"]] == [reservation.id]


@pytest.mark.parametrize("who, project", [("clerk", "pilot"), ("nurse", 999999), ("nurse", "1"), ("nurse", True)])
def test_a_booking_may_name_only_a_project_its_organisation_is_a_partner_of(client, pilot, who, project):
    project_id = pilot["project_id"] if project == "pilot" else project
    response = _book(client, pilot, who=who, project_id=project_id)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "project_id" in response.json["error"]["details"]["fields"]
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_staff_booking_for_an_organisation_is_checked_against_that_organisation(client, pilot):
    response = _book(client, pilot, who="staff", organisation_id=pilot["municipality"].id,
                     project_id=pilot["project_id"])
    assert response.status_code == 422
    response = _book(client, pilot, who="staff", organisation_id=pilot["company"].id, project_id=pilot["project_id"])
    assert response.status_code == 201 and response.json["organisation"]["id"] == pilot["company"].id


# --- privacy follows the partnership (the done-when) ----------------------------------------------

@BOTH
def test_partners_see_the_project_booking_in_full_and_outsiders_see_busy(client, auth, pilot):
    booking_id = _book(client, pilot, project_id=pilot["project_id"]).json["id"]
    window = {"start": oslo_on(DAY, 0).isoformat(), "end": oslo_on(DAY + timedelta(days=1), 0).isoformat()}

    def api_list(who):
        return client.get("/api/v1/bookings", query_string=window, headers=pilot["headers"][who]).json["bookings"]

    def availability(who):
        return client.get(f"/api/v1/spaces/{pilot['space'].id}/availability", query_string=window,
                          headers=pilot["headers"][who]).json["busy"]

    def day_view(user):
        auth.as_user(user)
        page = client.get(f"/day?date={DAY.isoformat()}").get_data(as_text=True)
        auth.logout()
        return page

    # The company's member: title and organiser, in the list, the detail, availability and the day view.
    [seen] = api_list("engineer")
    assert seen["masked"] is False and seen["title"] == "Sensor fitting workshop"
    assert seen["organiser"]["name"] == pilot["nurse"].name and seen["description"] == "Bring the kits"
    detail = client.get(f"/api/v1/bookings/{booking_id}", headers=pilot["headers"]["engineer"])
    assert detail.status_code == 200 and detail.json["title"] == "Sensor fitting workshop"
    assert [p["title"] for p in availability("engineer") if p["kind"] == "booking"] == ["Sensor fitting workshop"]
    assert "Sensor fitting workshop" in day_view(pilot["engineer"])

    # The municipality's member: only busy.
    [masked] = api_list("clerk")
    assert masked["masked"] is True and masked["title"] == "Busy" and masked["id"] is None
    assert client.get(f"/api/v1/bookings/{booking_id}", headers=pilot["headers"]["clerk"]).status_code == 404
    [busy] = [p for p in availability("clerk") if p["kind"] == "booking"]
    assert busy["title"] == "Busy" and busy["booking_id"] is None
    page = day_view(pilot["clerk"])
    assert "Sensor fitting workshop" not in page and "Bring the kits" not in page
    # The slot is there, saying only "Busy" with its time.
    assert re.search(r'<td class="slot slot--booked"[^>]*> Busy <span class="slot__time">10:00–12:00</span>',
                     " ".join(page.split()))
    assert f"/bookings/{booking_id}" not in page

    # The same booking without the project: the company's member sees only busy too.
    plain = _book(client, pilot, title="Internal planning", start=f"{DAY.isoformat()}T13:00:00+01:00",
                  end=f"{DAY.isoformat()}T14:00:00+01:00").json
    titles = {b["title"] for b in api_list("engineer")}
    assert "Internal planning" not in titles and "Busy" in titles
    assert client.get(f"/api/v1/bookings/{plain['id']}", headers=pilot["headers"]["engineer"]).status_code == 404


@BOTH
def test_the_list_rule_and_the_single_rule_agree_for_every_viewer(client, pilot):
    _book(client, pilot, project_id=pilot["project_id"])
    booking = db.session.scalar(sa.select(Booking))
    for who in ("staff", "nurse", "engineer", "clerk"):
        user = pilot[who]
        listed = db.session.scalar(sa.select(details_visible_clause(user)).select_from(Booking)
                                   .where(Booking.id == booking.id))
        assert bool(listed) == can_view_details(user, booking) == (who != "clerk"), who


def test_removing_a_partner_ends_what_its_members_see(client, pilot):
    booking_id = _book(client, pilot, project_id=pilot["project_id"]).json["id"]
    path = f"/api/v1/bookings/{booking_id}"
    assert client.get(path, headers=pilot["headers"]["engineer"]).status_code == 200
    response = client.patch(f"/api/v1/projects/{pilot['project_id']}", json={"organisation_ids": []},
                            headers=pilot["headers"]["staff"])
    assert response.status_code == 200 and response.json["organisation_ids"] == [pilot["hospital"].id]
    assert client.get(path, headers=pilot["headers"]["engineer"]).status_code == 404
    assert client.get(f"/api/v1/projects/{pilot['project_id']}", headers=pilot["headers"]["engineer"]).status_code == 404
    # Adding the municipality lets its member in, in the same process (no stale answer).
    client.patch(f"/api/v1/projects/{pilot['project_id']}", json={"organisation_ids": [pilot["municipality"].id]},
                 headers=pilot["headers"]["staff"])
    assert client.get(path, headers=pilot["headers"]["clerk"]).json["title"] == "Sensor fitting workshop"


# --- reports: the partners take part in the project's sessions -------------------------------------

@BOTH
def test_a_project_booking_counts_for_every_partner_sector_in_the_sector_matrix(client, pilot):
    _book(client, pilot, project_id=pilot["project_id"])
    query = {"from": (DAY - timedelta(days=1)).isoformat(), "to": (DAY + timedelta(days=1)).isoformat(),
             "by": "sector_pair"}
    body = client.get("/api/v1/reports/utilisation", query_string=query, headers=pilot["headers"]["staff"]).json
    rows = {row["key"]: row for row in body["rows"]}
    pair = rows.get("hospital+company") or rows.get("company+hospital")
    assert pair["sessions"] == 1 and pair["hours"] == 2
    assert body["multi_sector_sessions"][0]["sessions"] == 1
    assert all(row["sessions"] == 0 for key, row in rows.items() if "municipality" in key)


# --- the migration keeps the feed triggers of bookings ---------------------------------------------

def test_the_migration_keeps_the_bookings_feed_generation_triggers_on_sqlite(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    names = set(db.session.scalars(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
    for table in ("bookings", "equipment_reservations", "projects", "project_organisations"):
        for event in ("insert", "update", "delete"):
            assert f"tr_{table}_feed_generation_{event}" in names
    for table in ("bookings", "equipment_reservations"):
        columns = {row[1] for row in db.session.execute(sa.text(f"PRAGMA table_info({table})"))}
        assert "project_id" in columns


def test_the_openapi_description_has_the_project_paths(client):
    spec = client.get("/api/v1/openapi.json").json
    assert {"get", "post"} <= set(spec["paths"]["/projects"])
    assert {"get", "patch"} <= set(spec["paths"]["/projects/{project_id}"])
    booking_body = spec["paths"]["/bookings"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "project_id" in booking_body["properties"]


def test_refusals_are_in_bokmal_for_a_norwegian_user(client, pilot):
    norwegian = make_user(pilot["company"], locale="nb")
    response = client.post("/api/v1/projects", json={"name": "Vårt"}, headers=api_headers(norwegian))
    assert response.json["error"]["message"] == ("Bare verkstedets ansatte og organisasjonenes kontaktpersoner kan "
                                                 "opprette eller foreslå prosjekter.")
    response = client.post("/api/v1/bookings", headers=api_headers(norwegian), json={
        "space_id": pilot["space"].id, "title": "x", "start": START, "end": END, "project_id": "7"})
    assert "prosjekt" in response.json["error"]["details"]["fields"]["project_id"]


@BOTH
def test_space_feeds_show_a_project_booking_to_partners_and_busy_to_others(client, pilot):
    from booking.feeds import services as feed_services

    _book(client, pilot, project_id=pilot["project_id"])
    tokens = {}
    for who in ("engineer", "clerk"):
        _feed, tokens[who] = feed_services.create_feed(pilot[who], "space", space_id=pilot["space"].id)
    db.session.commit()

    def feed(who):
        response = client.get(f"/feeds/{tokens[who]}.ics")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    assert "SUMMARY:Sensor fitting workshop" in feed("engineer")
    assert "Sensor fitting workshop" not in feed("clerk") and "Bring the kits" not in feed("clerk")
    # The partners change: the cached feeds follow at once.
    client.patch(f"/api/v1/projects/{pilot['project_id']}", json={"organisation_ids": [pilot["municipality"].id]},
                 headers=pilot["headers"]["staff"])
    assert "Sensor fitting workshop" not in feed("engineer")
    assert "SUMMARY:Sensor fitting workshop" in feed("clerk")


def test_the_audit_log_names_the_project_and_what_was_done(client, auth, pilot):
    admin = make_user(role=Role.ADMIN, locale="en")
    client.patch(f"/api/v1/projects/{pilot['project_id']}", json={"status": "completed"},
                 headers=pilot["headers"]["staff"])
    auth.as_user(admin)
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "created the project" in page and "changed the project" in page
    assert "Fall detection at home" in page


# --- equipment reservations for a project ----------------------------------------------------------

@BOTH
def test_equipment_reservations_name_a_project_of_their_organisation_or_take_their_bookings(client, pilot):
    kit = make_equipment_type(units=3, name="Fall sensor kit")
    loan = {"equipment_id": kit.id, "quantity": 1, "start": f"{(DAY + timedelta(days=1)).isoformat()}T09:00:00+01:00",
            "end": f"{(DAY + timedelta(days=8)).isoformat()}T09:00:00+01:00", "purpose": "Homes"}
    own = client.post("/api/v1/equipment-reservations", json={**loan, "project_id": pilot["project_id"]},
                      headers=pilot["headers"]["engineer"])
    assert own.status_code == 201, own.get_data(as_text=True)
    assert own.json["project_id"] == pilot["project_id"]
    refused = client.post("/api/v1/equipment-reservations", json={**loan, "project_id": pilot["project_id"]},
                          headers=pilot["headers"]["clerk"])
    assert refused.status_code == 422 and "project_id" in refused.json["error"]["details"]["fields"]
    booking_id = _book(client, pilot, project_id=pilot["project_id"]).json["id"]
    with_booking = client.post("/api/v1/equipment-reservations", json={**loan, "booking_id": booking_id},
                               headers=pilot["headers"]["nurse"])
    assert with_booking.status_code == 201 and with_booking.json["project_id"] == pilot["project_id"]
    body = client.get(f"/api/v1/projects/{pilot['project_id']}", headers=pilot["headers"]["nurse"]).json
    assert sorted(r["id"] for r in body["equipment_reservations"]) == sorted([own.json["id"], with_booking.json["id"]])


def test_every_occurrence_of_a_series_belongs_to_the_project(client, pilot):
    response = _book(client, pilot, project_id=pilot["project_id"], recurrence={"freq": "weekly", "count": 3})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert [o["project_id"] for o in response.json["occurrences"]] == [pilot["project_id"]] * 3
    body = client.get(f"/api/v1/projects/{pilot['project_id']}", headers=pilot["headers"]["engineer"]).json
    assert len(body["bookings"]) == 3
