"""The feed scope 'project' (issue 18): a project's sessions and loans in one calendar, for the
members of its partner organisations and for staff; details as the partnership decides;
revocable like any feed; cached feeds follow changes of partners at once."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from booking.models import Feed, FeedScope
from samskap.extensions import db
from tests.conftest import BOTH
from tests.factories import make_equipment_type, make_pilot_project, make_reservation, make_space
from tests.feeds_ics import parse_calendar

DAY = date.today() + timedelta(days=3)


@pytest.fixture
def pilot(client):
    pilot = make_pilot_project(client)
    hospital, company, municipality = pilot["hospital"], pilot["company"], pilot["municipality"]
    people, headers, project = pilot["people"], pilot["headers"], pilot["project"]
    space = make_space(name="Living lab")
    booking = client.post("/api/v1/bookings", headers=headers["nurse"], json={
        "space_id": space.id, "title": "Sensor fitting workshop", "description": "Bring the kits",
        "start": f"{DAY.isoformat()}T10:00:00+01:00", "end": f"{DAY.isoformat()}T12:00:00+01:00",
        "project_id": project})
    assert booking.status_code == 201, booking.get_data(as_text=True)
    # Outside the project: the same space, the same day.
    client.post("/api/v1/bookings", headers=headers["nurse"], json={
        "space_id": space.id, "title": "Ward meeting", "start": f"{DAY.isoformat()}T13:00:00+01:00",
        "end": f"{DAY.isoformat()}T14:00:00+01:00"})
    kit = make_equipment_type(units=2, name="Fall sensor kit")
    loan = make_reservation(kit, user=people["engineer"], project_id=project, purpose="Homes in Gjøvik")
    make_reservation(kit, user=people["nurse"], purpose="Not the project's")
    return dict(hospital=hospital, company=company, municipality=municipality, headers=headers, project=project,
                space_id=space.id,
                booking_id=booking.json["id"], loan=loan, **people)


def _create(client, pilot, who, **body):
    return client.post("/api/v1/feeds", headers=pilot["headers"][who],
                       json={"scope": "project", "project_id": pilot["project"], **body})


def _fetch(client, url):
    return client.get(url.split("samskap.test", 1)[1])


@BOTH
def test_a_partners_project_feed_lists_the_projects_sessions_and_loans_in_full(client, pilot):
    response = _create(client, pilot, "engineer")
    assert response.status_code == 201, response.get_data(as_text=True)
    feed = response.json["feed"]
    assert feed["scope"] == "project" and feed["project_id"] == pilot["project"]
    assert feed["description"] == "Project: Fall detection at home"
    fetched = _fetch(client, feed["url"])
    assert fetched.status_code == 200 and fetched.mimetype == "text/calendar"
    calendar = parse_calendar(fetched.data)
    assert str(calendar["X-WR-CALNAME"]).endswith("Fall detection at home")
    events = {str(e["UID"]).split("@")[0]: e for e in calendar.walk("VEVENT")}
    assert set(events) == {f"booking-{pilot['booking_id']}", f"reservation-{pilot['loan'].id}"}
    session = events[f"booking-{pilot['booking_id']}"]
    assert str(session["SUMMARY"]) == "Sensor fitting workshop" and "Bring the kits" in str(session["DESCRIPTION"])
    loan = events[f"reservation-{pilot['loan'].id}"]
    assert str(loan["SUMMARY"]) == "1 × Fall sensor kit: Homes in Gjøvik"
    assert "Sensorfabrikken AS" in str(loan["DESCRIPTION"])
    # A conditional request with the ETag answers 304.
    again = client.get(feed["url"].split("samskap.test", 1)[1], headers={"If-None-Match": fetched.headers["ETag"]})
    assert again.status_code == 304


def test_staff_may_create_a_project_feed_and_outsiders_may_not(client, pilot):
    assert _create(client, pilot, "staff").status_code == 201
    assert _create(client, pilot, "nurse").status_code == 201
    refused = _create(client, pilot, "clerk")
    assert refused.status_code == 422 and "project_id" in refused.json["error"]["details"]["fields"]
    for bad in (None, 999999, "x", True):
        response = client.post("/api/v1/feeds", headers=pilot["headers"]["engineer"],
                               json={"scope": "project", "project_id": bad})
        assert response.status_code == 422, bad
    assert db.session.query(Feed).filter(Feed.scope == FeedScope.PROJECT).count() == 2


def test_a_project_feed_is_revocable_and_ends_when_the_organisation_leaves_the_project(client, pilot):
    first = _create(client, pilot, "engineer").json["feed"]
    second = _create(client, pilot, "engineer").json["feed"]
    assert client.delete(f"/api/v1/feeds/{first['id']}", headers=pilot["headers"]["engineer"]).status_code == 204
    assert _fetch(client, first["url"]).status_code == 404
    assert _fetch(client, second["url"]).status_code == 200
    client.patch(f"/api/v1/projects/{pilot['project']}", json={"organisation_ids": [pilot["municipality"].id]},
                 headers=pilot["headers"]["staff"])
    assert _fetch(client, second["url"]).status_code == 404
    client.patch(f"/api/v1/projects/{pilot['project']}", json={"organisation_ids": [pilot["company"].id]},
                 headers=pilot["headers"]["staff"])
    assert _fetch(client, second["url"]).status_code == 200


def test_a_cached_project_feed_follows_a_new_booking_for_the_project(client, pilot):
    url = _create(client, pilot, "engineer").json["feed"]["url"]
    before = _fetch(client, url)
    assert "Evaluation" not in before.get_data(as_text=True)
    made = client.post("/api/v1/bookings", headers=pilot["headers"]["nurse"], json={
        "space_id": pilot["space_id"], "title": "Evaluation", "start": f"{(DAY + timedelta(days=1)).isoformat()}T10:00:00+01:00",
        "end": f"{(DAY + timedelta(days=1)).isoformat()}T11:00:00+01:00", "project_id": pilot["project"]})
    assert made.status_code == 201
    after = _fetch(client, url)
    assert after.headers["ETag"] != before.headers["ETag"]
    assert "SUMMARY:Evaluation" in after.get_data(as_text=True)


def test_the_feeds_page_offers_the_project_scope_to_partners_only(client, auth, pilot):
    auth.as_user(pilot["engineer"])
    page = client.get("/feeds").get_data(as_text=True)
    assert 'value="project"' in page and "Fall detection at home" in page
    response = client.post("/feeds", data={"scope": "project", "project_id": str(pilot["project"]),
                                           "name": "Pilot"})
    assert response.status_code == 200 and "webcal://" in response.get_data(as_text=True)
    auth.as_user(pilot["clerk"])
    page = client.get("/feeds").get_data(as_text=True)
    assert 'value="project"' not in page
    response = client.post("/feeds", data={"scope": "project", "project_id": str(pilot["project"]), "name": ""})
    assert response.status_code in (400, 422)
    assert db.session.query(Feed).filter(Feed.owner_id == pilot["clerk"].id).count() == 0
