"""Hostile and malformed input from the whole product answers with a 4xx and a message, never a
500 (the list began as an independent reviewer's probes). Runs on both databases: PostgreSQL
refuses things SQLite accepts (NUL characters, integers beyond 32 bits)."""
import pytest

from tests.conftest import BOTH
from tests.factories import api_headers, make_space, make_user

HUGE = 99999999999999999999

PAGES = [
    ("GET", "/bookings/organisation?organisation=%C2%B2"), ("GET", "/bookings/new?space=%C2%B2"),
    ("GET", "/bookings/new?attendees=%C2%B2"), ("GET", "/bookings/new?start=9999-12-31T23:30:00%2B00:00"),
    ("GET", "/bookings/new?start=2026-03-29T02:30"), ("GET", f"/bookings/{HUGE}.ics"),
    ("POST", f"/feeds/{HUGE}/revoke"), ("GET", f"/equipment-reservations/{HUGE}"), ("GET", f"/equipment/{HUGE}"),
    ("GET", f"/equipment/{HUGE}/timeline"), ("GET", f"/admin/closures/{HUGE}"), ("GET", f"/admin/equipment/{HUGE}"),
    ("GET", f"/admin/organisations/{HUGE}/edit"), ("GET", f"/admin/users/{HUGE}/edit"),
    ("GET", f"/admin/units/{HUGE}/edit"), ("GET", f"/admin/spaces/{HUGE}/edit"),
    ("POST", f"/profile/tokens/{HUGE}/revoke"), ("GET", "/spaces/%00"), ("GET", "/day?date=2026-02-30"),
    ("GET", "/day?date=%00"), ("GET", "/equipment/1/timeline?from=9999-12-31"),
    ("GET", "/equipment/1/timeline?from=0001-01-01"), ("GET", f"/admin/audit?page={HUGE}"),
    ("GET", "/admin/audit?from=9999-12-31"), ("GET", f"/admin/users?organisation={HUGE}"),
    ("GET", f"/equipment-reservations/new?type={HUGE}"), ("GET", "/equipment-reservations/new?type=%C2%B2"),
    ("GET", "/spaces?min_capacity=%C2%B2"), ("GET", f"/spaces?min_capacity={HUGE}"),
    ("GET", "/day?date=9999-12-31"), ("GET", "/day?date=0001-01-01"), ("GET", "/events?page=%C2%B2"),
    ("GET", "/today?date=9999-12-31"), ("GET", "/today?date=2100-12-31"), ("GET", "/equipment-reservations/desk?q=%25_%5C"),
    ("GET", "/equipment-reservations/desk?q=" + "x" * 5000), ("GET", "/bookings/new?date=2026-01-01&start_time=25:99"),
    ("GET", "/bookings/new?date=2100-12-31&start_time=23:30&length=480"), ("GET", "/bookings/new?date=x&start_time=09:00"),
    ("GET", "/booking/spaces/1/week?date=2100-12-31"), ("GET", "/booking/spaces/1/week?date=0001-01-01"),
    ("GET", "/admin/audit?format=json&from=nonsense"), ("GET", "/admin/audit?format=json&action=%C2%B2"),
    ("GET", "/feeds/public.ics?lang=xx"), ("GET", f"/bookings/{HUGE}/cancel?next=//evil.example&reason=x"),
]

API = [
    ("GET", "/api/v1/bookings?start=9999-12-31T23:00:00-05:00", None),
    ("GET", "/api/v1/bookings?start=9999-12-30T00:00:00Z", None),
    ("GET", "/api/v1/bookings?start=0001-01-01T00:00:00%2B05:00", None),
    ("GET", "/api/v1/spaces/1/availability?start=9999-12-30T00:00:00Z", None),
    ("GET", f"/api/v1/spaces/{HUGE}", None), ("GET", f"/api/v1/spaces/{HUGE}/availability", None),
    ("GET", f"/api/v1/equipment/{HUGE}", None), ("GET", f"/api/v1/equipment-reservations/{HUGE}", None),
    ("DELETE", f"/api/v1/feeds/{HUGE}", None),
    ("POST", "/api/v1/feeds", {"scope": "space", "space_id": HUGE}),
    ("POST", "/api/v1/feeds", {"scope": "space", "space_id": "²"}),
    ("POST", "/api/v1/feeds", {"scope": "equipment", "equipment_id": HUGE}),
    ("POST", "/api/v1/feeds", {"scope": ["x"]}),
    ("GET", f"/api/v1/spaces?min_capacity={HUGE}", None),
    ("GET", "/api/v1/equipment-reservations?start=9999-12-31T23:00:00Z", None),
    ("POST", "/api/v1/bookings", {"space_id": 1, "title": "x", "start": "9999-12-31T22:00:00Z",
                                  "end": "9999-12-31T23:00:00Z"}),
    ("POST", "/api/v1/bookings", {"space_id": 1, "title": "x\x00y", "start": "2031-01-06T10:00:00Z",
                                  "end": "2031-01-06T11:00:00Z"}),
    ("POST", "/api/v1/bookings", {"space_id": 1, "title": "x", "description": "a\x00b",
                                  "start": "2031-01-07T10:00:00Z", "end": "2031-01-07T11:00:00Z"}),
    ("POST", "/api/v1/bookings", {"space_id": 1, "title": "x", "start": "2031-01-08T10:00:00Z",
                                  "end": "2031-01-08T11:00:00Z", "attendees": HUGE}),
    ("POST", "/api/v1/bookings", {"space_id": HUGE, "title": "x", "start": "2031-01-08T10:00:00Z",
                                  "end": "2031-01-08T11:00:00Z"}),
    ("POST", "/api/v1/bookings", {"space_id": 1, "title": "x", "start": "2031-01-09T10:00:00Z",
                                  "end": "2031-01-09T11:00:00Z", "recurrence": {"freq": "weekly", "until": "9999-12-31"}}),
    ("POST", "/api/v1/bookings", {"space_id": 1, "title": "x", "start": "2031-01-11T10:00:00Z",
                                  "end": "2031-01-11T11:00:00Z",
                                  "recurrence": {"freq": "daily", "count": 2, "interval": HUGE}}),
    ("POST", "/api/v1/bookings", {"space_id": 1, "title": "x", "start": "2031-01-12T10:00:00Z",
                                  "end": "2031-01-12T11:00:00Z", "equipment": [{"equipment_id": 1, "quantity": HUGE}]}),
    ("POST", "/api/v1/bookings", {"space_id": 1, "title": "x", "start": "2031-01-13T10:00:00Z",
                                  "end": "2031-01-13T11:00:00Z", "organisation_id": HUGE}),
    ("POST", "/api/v1/equipment-reservations", {"equipment_id": 1, "quantity": 1, "start": "9999-12-31T22:00:00Z",
                                                "end": "9999-12-31T23:00:00Z"}),
    ("POST", "/api/v1/equipment-reservations", {"equipment_id": 1, "quantity": 1, "start": "2031-01-01T22:00:00Z",
                                                "end": "2031-01-02T23:00:00Z", "booking_id": HUGE}),
    ("POST", "/api/v1/equipment-reservations", {"equipment_id": HUGE, "quantity": 1,
                                                "start": "2031-01-01T22:00:00Z", "end": "2031-01-02T23:00:00Z"}),
]

ADMIN_API = [
    ("POST", "/api/v1/spaces", {"name": "X", "kind": "meeting-room", "capacity": HUGE}),
    ("POST", "/api/v1/spaces", {"name": "Y", "kind": "meeting-room", "capacity": 5, "buffer_minutes": HUGE}),
    ("POST", "/api/v1/spaces", {"name": "Z", "kind": "meeting-room", "capacity": 5, "max_days_ahead": HUGE}),
    ("POST", "/api/v1/spaces", {"name": "W", "kind": "meeting-room", "capacity": 5,
                                "opening_hours": {"mon": [["08:00", "16:00"]], "tue": None}}),
    ("POST", "/api/v1/spaces", {"name": "V\x00", "kind": "meeting-room", "capacity": 5}),
    ("PATCH", f"/api/v1/spaces/{HUGE}", {"capacity": 3}),
    ("POST", "/api/v1/equipment", {"name": "E", "category": "other", "max_loan_days": HUGE, "turnaround_hours": 1,
                                   "bookable_by": ["host"]}),
    ("POST", "/api/v1/equipment", {"name": "F", "category": "other", "max_loan_days": 5, "turnaround_hours": HUGE,
                                   "bookable_by": ["host"]}),
    ("POST", "/api/v1/equipment", {"name": "G\x00", "category": "other", "max_loan_days": 5, "bookable_by": ["host"]}),
]


@pytest.fixture
def world(app):
    make_space()  # id 1
    return make_user(role="admin"), make_user()


@BOTH
@pytest.mark.parametrize("method,path", PAGES)
def test_pages_never_answer_500(client, auth, world, method, path):
    auth.as_user(world[0])
    assert client.open(path, method=method).status_code < 500


@BOTH
@pytest.mark.parametrize("method,path,body", API)
def test_api_never_answers_500(client, world, method, path, body):
    response = client.open(path, method=method, json=body, headers=api_headers(world[1]))
    assert response.status_code < 500
    if response.status_code >= 400:
        assert response.json["error"]["message"]


@BOTH
@pytest.mark.parametrize("method,path,body", ADMIN_API)
def test_admin_api_never_answers_500(client, world, method, path, body):
    response = client.open(path, method=method, json=body, headers=api_headers(world[0]))
    assert response.status_code < 500 and response.status_code != 201
