"""Who sees what of a project (issue 18), proved as the route matrix and the IDOR probes prove
the rest: another organisation's project answers 404 and changes nothing; equipment loans made
for a project show who and why to the members of its partner organisations, and only "reserved"
to everyone else, on every page, in the API and in feeds; seeing a partner's loan is not
cancelling it.

(The route-by-role rows of the project routes are in tests/test_route_matrix.py's ROUTES, which
must list every route; the cases here add the behaviour behind them.)
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from booking.models import EquipmentReservation, ReservationStatus
from samskap.extensions import db
from tests.conftest import BOTH
from tests.factories import make_equipment_type, make_pilot_project, make_space
from tests.feeds_ics import parse_calendar
from tests.test_idor import ACTORS, Probe, probe_app  # noqa: F401 (probe_app is a fixture)

# --- IDOR probes: a non-partner's ids in URLs and bodies ------------------------------------------

PROBES = [
    Probe("GET", "/projects/{f_project}", 404, note="project page"),
    Probe("GET", "/api/v1/projects/{f_project}", 404),
    Probe("PATCH", "/api/v1/projects/{f_project}", 404, json={"name": "Taken"}),
    Probe("POST", "/api/v1/projects/{f_project}/approve", 404, json={"status": "active"}),
    Probe("POST", "/api/v1/projects/{f_project}/reject", 404, json={"reason": "no"}),
    Probe("POST", "/projects/{f_project}/approve", 403, form={"status": "active"}),
    Probe("GET", "/projects/{f_project}/edit", 403),
    Probe("GET", "/bookings/{f_project_booking}", 404, note="the project's private booking"),
    Probe("GET", "/api/v1/bookings/{f_project_booking}", 404),
    Probe("POST", "/api/v1/feeds", 422, json=lambda n: {"scope": "project", "project_id": n["f_project"]},
          note="a feed of another's project"),
    Probe("POST", "/feeds", 400, form=lambda n: {"scope": "project", "project_id": str(n["f_project"])},
          note="the feeds page: no project to choose"),
    Probe("PATCH", "/api/v1/bookings/{own_booking_patch}", 422, json=lambda n: {"project_id": n["f_project"]},
          note="own booking into another's project"),
]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("probe", PROBES, ids=[p.id() for p in PROBES])
def test_a_non_partner_opens_nothing_of_a_project_and_changes_nothing(probe_app, actor, probe):  # noqa: F811
    from tests.access_world import names_for, request_as, snapshot_database

    app, world = probe_app
    names = names_for(world, actor)
    kwargs = {}
    for key, value in (("data", probe.form), ("json", probe.json)):
        if value is not None:
            kwargs[key] = value(names) if callable(value) else value
    before = snapshot_database(app)
    response = request_as(app, world, actor, probe.method, probe.path.format_map(names), **kwargs)
    body = response.get_data(as_text=True)
    assert response.status_code == probe.status, f"{actor}: {probe.id()} answered {response.status_code}: {body[:300]}"
    assert "Outsider pilot" not in body, "the answer names the project it hides"
    after = snapshot_database(app)
    assert [t for t in before if before[t] != after[t]] == [], f"{actor}: {probe.id()} changed the database"


# --- equipment loans made for a project: details for partners, "reserved" for others --------------

DAY = date.today() + timedelta(days=5)


@pytest.fixture
def loans(client):
    pilot = make_pilot_project(client)
    hospital, company, municipality = pilot["hospital"], pilot["company"], pilot["municipality"]
    people, headers, project = pilot["people"], pilot["headers"], pilot["project"]
    kit = make_equipment_type(units=4, name="Fall sensor kit")
    period = {"start": f"{DAY.isoformat()}T09:00:00+01:00", "end": f"{(DAY + timedelta(days=3)).isoformat()}T09:00:00+01:00"}

    def reserve(who, **body):
        response = client.post("/api/v1/equipment-reservations", headers=headers[who],
                               json={"equipment_id": kit.id, "quantity": 1, **period, **body})
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.json["id"]

    space = make_space(name="Living lab")
    booking = client.post("/api/v1/bookings", headers=headers["nurse"], json={
        "space_id": space.id, "title": "Sensor fitting workshop", "project_id": project,
        "start": f"{DAY.isoformat()}T10:00:00+01:00", "end": f"{DAY.isoformat()}T12:00:00+01:00"}).json["id"]
    return dict(people=people, headers=headers, kit=kit, project=project, booking=booking,
                for_project=reserve("engineer", project_id=project, purpose="Homes in Gjøvik"),
                with_booking=reserve("nurse", booking_id=booking, purpose="Workshop demo kits"),
                own=reserve("nurse", purpose="Ward trial"))


SEES = {"staff": True, "nurse": True, "engineer": True, "clerk": False}


@BOTH
@pytest.mark.parametrize("viewer", sorted(SEES))
def test_a_project_loan_shows_its_details_to_partners_and_busy_to_others(client, auth, loans, viewer):
    sees = SEES[viewer]
    headers = loans["headers"][viewer]
    for key, purpose in (("for_project", "Homes in Gjøvik"), ("with_booking", "Workshop demo kits")):
        reservation_id = loans[key]
        response = client.get(f"/api/v1/equipment-reservations/{reservation_id}", headers=headers)
        assert response.status_code == (200 if sees else 404), key
        if sees:
            assert response.json["purpose"] == purpose
    listed = client.get("/api/v1/equipment-reservations", headers=headers,
                        query_string={"start": f"{DAY.isoformat()}T00:00:00+01:00",
                                      "end": f"{(DAY + timedelta(days=10)).isoformat()}T00:00:00+01:00"}).json
    ids = {r["id"] for r in listed["equipment_reservations"]}
    assert (loans["for_project"] in ids) == sees and (loans["with_booking"] in ids) == sees
    # The hospital's loan that is not for the project: the company's member does not see it.
    assert (loans["own"] in ids) == (viewer in ("staff", "nurse"))

    auth.as_user(loans["people"][viewer])
    page = client.get(f"/equipment-reservations/{loans['for_project']}")
    assert page.status_code == (200 if sees else 404)
    if sees:
        assert "Homes in Gjøvik" in page.get_data(as_text=True)
    timeline = client.get(f"/equipment/{loans['kit'].id}/timeline", query_string={"from": DAY.isoformat()})
    text = timeline.get_data(as_text=True)
    assert timeline.status_code == 200
    assert (f"/equipment-reservations/{loans['for_project']}" in text) == sees
    # Units of loans the viewer may not open show only as taken (the company's member: the
    # hospital's loan outside the project; the municipality's: every loan).
    assert ("Reserved" in text) == (viewer in ("engineer", "clerk"))
    auth.logout()

    feed = client.post("/api/v1/feeds", headers=headers,
                       json={"scope": "equipment", "equipment_id": loans["kit"].id}).json["feed"]
    calendar = parse_calendar(client.get(feed["url"].split("samskap.test", 1)[1]).data)
    summaries = {str(e["UID"]).split("@")[0]: str(e["SUMMARY"]) for e in calendar.walk("VEVENT")}
    project_loan = summaries[f"reservation-{loans['for_project']}"]
    if sees:
        assert project_loan == "1 × Fall sensor kit: Homes in Gjøvik"
    else:
        assert project_loan == "Reserved: 1 × Fall sensor kit" and "Homes" not in " ".join(summaries.values())


def test_the_project_bookings_page_lists_its_loans_to_a_partner(client, auth, loans):
    auth.as_user(loans["people"]["engineer"])
    page = client.get(f"/bookings/{loans['booking']}").get_data(as_text=True)
    assert f"/equipment-reservations/{loans['with_booking']}" in page
    auth.as_user(loans["people"]["clerk"])
    assert client.get(f"/bookings/{loans['booking']}").status_code == 404


def test_a_partner_sees_a_project_loan_but_cannot_cancel_it(client, auth, loans):
    reservation_id = loans["with_booking"]
    response = client.post(f"/api/v1/equipment-reservations/{reservation_id}/cancel", json={},
                           headers=loans["headers"]["engineer"])
    assert response.status_code == 403
    auth.as_user(loans["people"]["engineer"])
    page = client.get(f"/equipment-reservations/{reservation_id}").get_data(as_text=True)
    assert f"/equipment-reservations/{reservation_id}/cancel" not in page
    assert db.session.scalar(sa.select(EquipmentReservation.status)
                             .where(EquipmentReservation.id == reservation_id)) == ReservationStatus.CONFIRMED
