"""Projects in the browser and the rest of issue 18's project work: the project pages, proposals
by organisation contacts and their approval, project_id when changing a booking, and the form
fields that name a project."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from accounts.models import Role
from booking.models import Booking
from booking.projects.models import Project, ProjectStatus
from samskap.audit import AuditEntry
from samskap.extensions import db
from samskap.mail import OutboxMessage
from samskap.timeutil import to_local
from tests.conftest import BOTH
from tests.factories import api_headers, make_equipment_type, make_org, make_reservation, make_space, make_user

DAY = date.today() + timedelta(days=3)
START = f"{DAY.isoformat()}T10:00:00+01:00"
END = f"{DAY.isoformat()}T12:00:00+01:00"


@pytest.fixture
def world(client):
    hospital = make_org("hospital", name="Sykehuset Innlandet")
    company = make_org("company", name="Sensorfabrikken AS")
    municipality = make_org("municipality", name="Gjøvik kommune")
    users = {
        "staff": make_user(role=Role.STAFF, locale="en"),
        "nurse": make_user(hospital, locale="en", name="Nina Nurse"),
        "contact": make_user(hospital, locale="en", is_org_contact=True, name="Hanne Contact"),
        "engineer": make_user(company, locale="en"),
        "clerk": make_user(municipality, locale="en"),
        "clerk_contact": make_user(municipality, locale="en", is_org_contact=True),
    }
    space = make_space(name="Living lab")
    return dict(hospital=hospital, company=company, municipality=municipality, space=space, **users,
                headers={k: api_headers(u) for k, u in users.items()})


def _project(client, world, **fields):
    body = {"name": "Fall detection at home", "lead_organisation_id": world["hospital"].id,
            "organisation_ids": [world["company"].id], "status": "active", **fields}
    response = client.post("/api/v1/projects", json=body, headers=world["headers"]["staff"])
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["id"]


def _book(client, world, who="nurse", **fields):
    body = {"space_id": world["space"].id, "title": "Sensor fitting workshop", "start": START, "end": END, **fields}
    return client.post("/api/v1/bookings", json=body, headers=world["headers"][who])


def _outbox(kind):
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind)))


# --- the pages ------------------------------------------------------------------------------------

@BOTH
def test_the_project_page_shows_timeline_partners_sectors_equipment_and_the_feed(client, auth, world):
    project_id = _project(client, world, goals="Fewer falls", description="Sensors in twelve homes",
                          starts_on=DAY.isoformat(), ends_on=(DAY + timedelta(days=60)).isoformat())
    booking_id = _book(client, world, project_id=project_id).json["id"]
    kit = make_equipment_type(units=2, name="Fall sensor kit")
    make_reservation(kit, user=world["engineer"], start=None, project_id=project_id, purpose="Homes in Gjøvik")
    make_reservation(kit, user=world["nurse"], booking_id=booking_id)
    auth.as_user(world["engineer"])
    response = client.get(f"/projects/{project_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<h1>Fall detection at home</h1>" in page and "Fewer falls" in page and "Sensors in twelve homes" in page
    assert "Sensor fitting workshop" in page and f"/bookings/{booking_id}" in page
    assert page.count("Fall sensor kit") >= 3  # two loans and the equipment used
    assert "Homes in Gjøvik" in page  # a partner sees who and why
    assert "Sykehuset Innlandet" in page and "Sensorfabrikken AS" in page and "Gjøvik kommune" not in page
    assert "Sectors taking part: Hospital, Company" in page
    assert '<th scope="col">' in page and 'name="scope" value="project"' in page
    listing = client.get("/projects").get_data(as_text=True)
    assert "Fall detection at home" in listing and f"/projects/{project_id}" in listing


def test_the_project_page_is_404_for_a_non_partner_and_the_nav_links_it(client, auth, world):
    project_id = _project(client, world)
    auth.as_user(world["clerk"])
    assert client.get(f"/projects/{project_id}").status_code == 404
    page = client.get("/projects").get_data(as_text=True)
    assert "Fall detection at home" not in page
    assert 'href="/projects"' in page  # the menu's link
    assert client.get("/projects/new").status_code == 403
    assert client.get(f"/projects/{project_id}/edit").status_code == 403


def test_the_booking_page_says_which_project_it_is_part_of(client, auth, world):
    project_id = _project(client, world)
    booking_id = _book(client, world, project_id=project_id).json["id"]
    auth.as_user(world["engineer"])
    page = client.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Part of project" in page and f'href="/projects/{project_id}"' in page


def test_staff_create_and_change_a_project_in_the_browser(client, auth, world):
    auth.as_user(world["staff"])
    form = client.get("/projects/new").get_data(as_text=True)
    assert '<label for="partners">' in form and "multiple" in form and '<label for="lead_organisation">' in form
    response = client.post("/projects/new", data={
        "name": "Home rehab pilot", "description": "", "goals": "Shorter stays",
        "lead_organisation": world["municipality"].id, "partners": [world["hospital"].id, world["company"].id],
        "starts_on": DAY.isoformat(), "ends_on": (DAY + timedelta(days=30)).isoformat(), "status": "active"})
    assert response.status_code == 303, response.get_data(as_text=True)
    project = db.session.scalar(sa.select(Project).where(Project.name == "Home rehab pilot"))
    assert project.status == ProjectStatus.ACTIVE and project.goals == "Shorter stays"
    assert set(project.organisation_ids) == {world["municipality"].id, world["hospital"].id, world["company"].id}
    response = client.post(f"/projects/{project.id}/edit", data={
        "name": "Home rehab pilot", "lead_organisation": world["municipality"].id,
        "partners": [world["hospital"].id], "starts_on": DAY.isoformat(), "ends_on": "", "status": "completed"})
    assert response.status_code == 303
    db.session.refresh(project)
    assert project.status == ProjectStatus.COMPLETED and project.ends_on is None
    assert set(project.organisation_ids) == {world["municipality"].id, world["hospital"].id}


def test_a_bad_project_form_answers_422_with_the_errors_by_their_fields(client, auth, world):
    auth.as_user(world["staff"])
    response = client.post("/projects/new", data={
        "name": "", "lead_organisation": world["hospital"].id, "starts_on": DAY.isoformat(),
        "ends_on": (DAY - timedelta(days=1)).isoformat(), "status": "planned"})
    assert response.status_code == 422
    response = client.post("/projects/new", data={
        "name": "Backwards", "lead_organisation": world["hospital"].id, "starts_on": DAY.isoformat(),
        "ends_on": (DAY - timedelta(days=1)).isoformat(), "status": "planned"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The project cannot end before it starts." in page and 'id="ends_on-error"' in page
    assert db.session.scalar(sa.select(sa.func.count(Project.id))) == 0


def test_the_project_pages_are_in_bokmal(client, auth, world):
    project_id = _project(client, world)
    auth.as_user(make_user(world["company"], locale="nb"))
    page = client.get(f"/projects/{project_id}").get_data(as_text=True)
    assert "Sektorer som deltar" in page and "Tidslinje" in page and "Sykehus" in page


# --- proposals ------------------------------------------------------------------------------------

@BOTH
def test_a_lead_organisations_contact_proposes_and_staff_approve_by_api(client, world):
    response = client.post("/api/v1/projects", headers=world["headers"]["contact"], json={
        "name": "Smart pill box", "lead_organisation_id": world["hospital"].id,
        "organisation_ids": [world["company"].id]})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["status"] == "proposed" and response.json["proposed_by_id"] == world["contact"].id
    project_id = response.json["id"]
    [to_staff] = _outbox("project.proposed")  # the staff who decide are told
    assert to_staff.to_address == world["staff"].email and "Smart pill box" in to_staff.subject
    assert "Hanne Contact proposed the project" in to_staff.text and f"/projects/{project_id}" in to_staff.text
    # Nothing can be booked for it yet.
    refused = _book(client, world, project_id=project_id)
    assert refused.status_code == 422 and "not approved" in refused.json["error"]["details"]["fields"]["project_id"]
    assert client.post(f"/api/v1/projects/{project_id}/approve", json={},
                       headers=world["headers"]["contact"]).status_code == 403
    approved = client.post(f"/api/v1/projects/{project_id}/approve", json={"status": "active", "reason": "Go"},
                           headers=world["headers"]["staff"])
    assert approved.status_code == 200 and approved.json["status"] == "active"
    assert _book(client, world, project_id=project_id).status_code == 201
    [mail] = _outbox("project.approved")
    assert mail.to_address == world["contact"].email and "Smart pill box" in mail.subject
    assert "Go" in mail.text and f"/projects/{project_id}" in mail.text
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "project.approve"))
    assert entry.actor_id == world["staff"].id
    # Decided once: a second decision is refused.
    again = client.post(f"/api/v1/projects/{project_id}/reject", json={}, headers=world["headers"]["staff"])
    assert again.status_code == 422


def test_staff_reject_a_proposal_in_the_browser_and_the_proposer_is_told(client, auth, world):
    auth.as_user(world["contact"])
    form = client.get("/projects/new").get_data(as_text=True)
    assert 'name="status"' not in form and "Propose a project" in form
    response = client.post("/projects/new", data={"name": "Robot companion", "lead_organisation": world["hospital"].id,
                                                   "partners": [world["company"].id]})
    assert response.status_code == 303, response.get_data(as_text=True)
    project = db.session.scalar(sa.select(Project).where(Project.name == "Robot companion"))
    assert project.status == ProjectStatus.PROPOSED and project.proposed_by_id == world["contact"].id
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "project.propose"))
    assert entry.object_id == project.id and entry.actor_id == world["contact"].id
    auth.as_user(world["staff"])
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "Approve the project" in page and "Reject the project" in page
    assert client.post(f"/projects/{project.id}/reject", data={"reason": ""}).status_code == 422
    response = client.post(f"/projects/{project.id}/reject", data={"reason": "Outside our remit"})
    assert response.status_code == 303
    db.session.refresh(project)
    assert project.status == ProjectStatus.REJECTED
    [mail] = _outbox("project.rejected")
    assert mail.to_address == world["contact"].email and "Outside our remit" in mail.text
    auth.logout()
    assert _book(client, world, project_id=project.id).status_code == 422


@pytest.mark.parametrize("who, body, status", [
    ("nurse", {}, 403),  # a member who is not a contact
    ("clerk_contact", {}, 403),  # a contact of another organisation than the lead
    ("contact", {"status": "active"}, 422),  # staff set the status
])
def test_who_may_propose_what(client, world, who, body, status):
    response = client.post("/api/v1/projects", headers=world["headers"][who], json={
        "name": "Pilot", "lead_organisation_id": world["hospital"].id, **body})
    assert response.status_code == status, response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Project.id))) == 0


def test_a_proposal_is_not_approved_by_patch(client, world):
    project_id = client.post("/api/v1/projects", headers=world["headers"]["contact"], json={
        "name": "Pilot", "lead_organisation_id": world["hospital"].id}).json["id"]
    response = client.patch(f"/api/v1/projects/{project_id}", json={"status": "active"},
                            headers=world["headers"]["staff"])
    assert response.status_code == 422
    for status in ("proposed", "rejected"):  # not set by hand either
        response = client.post("/api/v1/projects", headers=world["headers"]["staff"], json={
            "name": "x", "lead_organisation_id": world["hospital"].id, "status": status})
        assert response.status_code == 422


# --- naming a project when changing a booking -------------------------------------------------------

@BOTH
def test_patch_sets_and_clears_a_bookings_project_only_for_a_partner(client, world):
    project_id = _project(client, world)
    other = _project(client, world, name="Municipal pilot", lead_organisation_id=world["municipality"].id,
                     organisation_ids=[])
    booking_id = _book(client, world).json["id"]
    path = f"/api/v1/bookings/{booking_id}"
    assert client.get(path, headers=world["headers"]["engineer"]).status_code == 404
    refused = client.patch(path, json={"project_id": other}, headers=world["headers"]["nurse"])
    assert refused.status_code == 422 and "project_id" in refused.json["error"]["details"]["fields"]
    assert client.patch(path, json={"project_id": "x"}, headers=world["headers"]["nurse"]).status_code == 422
    response = client.patch(path, json={"project_id": project_id}, headers=world["headers"]["nurse"])
    assert response.status_code == 200 and response.json["project_id"] == project_id
    assert client.get(path, headers=world["headers"]["engineer"]).json["title"] == "Sensor fitting workshop"
    response = client.patch(path, json={"project_id": None}, headers=world["headers"]["nurse"])
    assert response.status_code == 200 and response.json["project_id"] is None
    assert client.get(path, headers=world["headers"]["engineer"]).status_code == 404
    actions = db.session.scalars(sa.select(AuditEntry.changes).where(AuditEntry.action == "booking.update")).all()
    assert any("project_id" in (changes or {}) for changes in actions)


def test_the_booking_forms_offer_the_organisations_projects(client, auth, world):
    project_id = _project(client, world)
    _project(client, world, name="Municipal pilot", lead_organisation_id=world["municipality"].id, organisation_ids=[])
    auth.as_user(world["nurse"])
    form = client.get("/bookings/new").get_data(as_text=True)
    assert '<label for="project">' in form and "Fall detection at home" in form and "Municipal pilot" not in form
    auth.logout()
    booking_id = _book(client, world).json["id"]
    auth.as_user(world["nurse"])
    edit = client.get(f"/bookings/{booking_id}/edit").get_data(as_text=True)
    assert "Fall detection at home" in edit
    booking = db.session.get(Booking, booking_id)
    start, end = to_local(booking.start), to_local(booking.end)
    response = client.post(f"/bookings/{booking_id}/edit", data={
        "space": booking.space_id, "title": booking.title, "purpose": booking.purpose.value,
        "date": start.date().isoformat(), "start_time": start.strftime("%H:%M"), "end_time": end.strftime("%H:%M"),
        "attendees": booking.attendees, "visibility": booking.visibility.value, "description": "",
        "project": project_id})
    assert response.status_code == 303, response.get_data(as_text=True)
    db.session.refresh(booking)
    assert booking.project_id == project_id
