"""Lists of bookings in the API carry what one booking's read does: ``participants`` (with the
participating organisations) and ``fields``, by the same privacy rules (guests' addresses only for
those who may change the booking; a masked booking has neither), read for a whole page at once."""
from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from accounts.models import Role
from samskap.extensions import db
from samskap.timeutil import local_tz, utcnow
from spaces.booking_fields import create_definition
from tests.conftest import BOTH
from tests.factories import api_headers, make_org, make_space, make_space_kind, make_user
from tests.sql_count import counted_statements

LAYOUTS = [{"code": "u_shape", "label_nb": "U-form", "label_en": "U-shape"},
           {"code": "islands", "label_nb": "Verkstedøyer", "label_en": "Workshop islands"}]


def _day():
    """Ten days ahead in Oslo, so the bookings are within the horizon whenever the test runs."""
    return utcnow().astimezone(local_tz()).date() + timedelta(days=10)


def _at(hour: int) -> str:
    return datetime.combine(_day(), time(hour), tzinfo=local_tz()).isoformat()


@pytest.fixture
def lab(client):
    admin = make_user(role=Role.ADMIN, locale="en")
    municipality = make_org("municipality", name="Gjøvik kommune")
    hospital = make_org("hospital", name="Sykehuset Innlandet")
    company = make_org("company", name="Tryggtek AS")
    people = {
        "organiser": make_user(municipality, name="Åse Ås", email="ase@kommune.example", locale="en"),
        "colleague": make_user(municipality, name="Kari Kollega", locale="en"),
        "contact": make_user(municipality, name="Kim Kontakt", is_org_contact=True, locale="en"),
        "nurse": make_user(hospital, name="Nina Nurse", locale="en"),              # a participating organisation
        "engineer": make_user(company, name="Erik Engineer", email="erik@tryggtek.example", locale="en"),  # named
        "outsider": make_user(make_org("academia"), name="Olav Outsider", locale="en"),
        "staff": make_user(role=Role.STAFF, locale="en"),
    }
    kind = make_space_kind("workshop-room", "Verkstedrom", "Workshop room")
    create_definition(admin, {"space_kind_id": kind.id, "code": "layout", "field_type": "choice",
                              "label_nb": "Oppsett", "label_en": "Room layout", "choices": LAYOUTS, "position": 1})
    create_definition(admin, {"space_kind_id": kind.id, "code": "catering", "field_type": "boolean",
                              "label_nb": "Servering", "label_en": "Catering", "position": 2})
    db.session.commit()
    room = make_space(name="Verkstedet", kind_id=kind.id)
    headers = {name: api_headers(user) for name, user in people.items()}
    return dict(people=people, headers=headers, room=room, hospital=hospital, company=company)


def _book(client, lab, hour: int, title: str, **extra) -> int:
    body = {"space_id": lab["room"].id, "title": title, "start": _at(hour), "end": _at(hour + 1), **extra}
    response = client.post("/api/v1/bookings", json=body, headers=lab["headers"]["organiser"])
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["id"]


def _page(client, lab, who: str, **query) -> list[dict]:
    window = {"start": _at(0), "end": _at(23), "space_id": lab["room"].id, **query}
    response = client.get("/api/v1/bookings", query_string=window, headers=lab["headers"][who])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["bookings"]


def _without_registration(detail: dict) -> dict:
    return {key: value for key, value in detail.items() if key != "registration"}


@BOTH
def test_each_list_item_is_the_bookings_own_read_for_everyone_who_may_see_it(client, lab):
    full = _book(client, lab, 9, "Falls workshop", fields={"layout": "u_shape", "catering": True},
                 participants={"organisation_ids": [lab["hospital"].id],
                               "people": [{"email": "erik@tryggtek.example"},
                                          {"email": "guest@example.no", "name": "Gina Guest"},
                                          {"user_id": lab["people"]["colleague"].id}]})
    plain = _book(client, lab, 11, "Planning", fields={"layout": "islands"})
    public = _book(client, lab, 13, "Open day", visibility="public",
                   participants={"people": [{"email": "visitor@example.no"}]})
    sees = {"organiser": {full, plain, public}, "colleague": {full, plain, public}, "contact": {full, plain, public},
            "staff": {full, plain, public}, "nurse": {full, public}, "engineer": {full, public},
            "outsider": {public}}
    for who, visible in sees.items():
        items = {item["id"]: item for item in _page(client, lab, who) if not item["masked"]}
        assert set(items) == visible, who
        for booking_id in visible:
            detail = client.get(f"/api/v1/bookings/{booking_id}", headers=lab["headers"][who])
            assert detail.status_code == 200, who
            assert items[booking_id] == _without_registration(detail.json), (who, booking_id)
    # What the comparison rests on: the full booking as its organiser and as a participant see it.
    organisers = {i["id"]: i for i in _page(client, lab, "organiser")}[full]
    assert organisers["fields"] == {"layout": "u_shape", "catering": True}
    assert organisers["participants"]["organisations"] == [{"id": lab["hospital"].id, "name": "Sykehuset Innlandet"}]
    assert {p["email"] for p in organisers["participants"]["people"]} == {"erik@tryggtek.example",
                                                                          "guest@example.no", None}
    nurses = {i["id"]: i for i in _page(client, lab, "nurse")}[full]
    assert [p["email"] for p in nurses["participants"]["people"]] == [None, None, None]
    assert {p["name"] for p in nurses["participants"]["people"]} == {"", "Gina Guest", "Kari Kollega"}
    assert {i["id"]: i for i in _page(client, lab, "outsider")}[public]["participants"]["people"] == [
        {"user_id": None, "name": "", "email": None}]


@BOTH
def test_another_organisation_sees_neither_participants_nor_fields(client, lab):
    _book(client, lab, 9, "Falls workshop", fields={"layout": "u_shape"},
          participants={"organisation_ids": [lab["hospital"].id], "people": [{"email": "guest@example.no"}]})
    [item] = _page(client, lab, "outsider")
    assert item["masked"] is True and item["title"] == "Busy"
    assert "participants" not in item and "fields" not in item
    assert "guest@example.no" not in str(item) and "u_shape" not in str(item)


def test_the_list_reads_participants_and_fields_in_the_same_statements_whatever_its_length(client, lab):
    _book(client, lab, 8, "First", fields={"layout": "u_shape"},
          participants={"organisation_ids": [lab["hospital"].id], "people": [{"email": "a@example.no"}]})
    _page(client, lab, "staff")  # the first request warms what every request reads once
    with counted_statements() as one:
        assert len(_page(client, lab, "staff")) == 1
    for hour in (10, 12, 14, 16):
        _book(client, lab, hour, f"Session {hour}", fields={"layout": "islands", "catering": hour > 12},
              participants={"organisation_ids": [lab["hospital"].id, lab["company"].id],
                            "people": [{"email": f"p{hour}@example.no"}, {"user_id": lab["people"]["colleague"].id}]})
    with counted_statements() as five:
        page = _page(client, lab, "staff")
    assert len(page) == 5 and all(item["participants"]["people"] and item["fields"] for item in page)
    assert five[0] == one[0]


@BOTH
def test_a_projects_bookings_carry_participants_and_fields_as_their_own_read(client, lab):
    staff = lab["headers"]["staff"]
    municipality_id = lab["people"]["organiser"].organisation_id
    project = client.post("/api/v1/projects", headers=staff, json={
        "name": "Falls at home", "lead_organisation_id": municipality_id,
        "organisation_ids": [lab["company"].id], "status": "active"})
    assert project.status_code == 201, project.get_data(as_text=True)
    project_id = project.json["id"]
    booking_id = _book(client, lab, 9, "Sensor fitting", project_id=project_id, fields={"layout": "islands"},
                       participants={"people": [{"email": "guest@example.no"}]})
    for who in ("staff", "organiser", "engineer"):  # the engineer's company is a partner
        [item] = client.get(f"/api/v1/projects/{project_id}", headers=lab["headers"][who]).json["bookings"]
        detail = client.get(f"/api/v1/bookings/{booking_id}", headers=lab["headers"][who]).json
        assert item == _without_registration(detail), who
        assert item["fields"] == {"layout": "islands"}
    assert client.get(f"/api/v1/projects/{project_id}", headers=lab["headers"]["nurse"]).status_code == 404


def test_a_series_answers_each_occurrence_with_its_participants_and_fields(client, lab):
    response = client.post("/api/v1/bookings", headers=lab["headers"]["organiser"], json={
        "space_id": lab["room"].id, "title": "Weekly lab", "start": _at(9), "end": _at(10),
        "recurrence": {"freq": "weekly", "count": 3}, "fields": {"layout": "u_shape"},
        "participants": {"people": [{"email": "guest@example.no"}]}})
    assert response.status_code == 201, response.get_data(as_text=True)
    occurrences = response.json["occurrences"]
    assert len(occurrences) == 3
    for occurrence in occurrences:
        detail = client.get(f"/api/v1/bookings/{occurrence['id']}", headers=lab["headers"]["organiser"]).json
        assert occurrence == _without_registration(detail)
        assert occurrence["participants"]["people"] == [{"user_id": None, "name": "", "email": "guest@example.no"}]
