"""Hostile and malformed input from the whole product answers with a 4xx and a message, never a
500 (the list began as an independent reviewer's probes). Runs on both databases: PostgreSQL
refuses things SQLite accepts (NUL characters, integers beyond 32 bits)."""
import pytest

from tests.conftest import BOTH
from tests.factories import api_headers, make_booking, make_equipment_type, make_space, make_user

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
    ("GET", "/admin/audit?page=2"), ("GET", "/admin/audit?page=1&action=x"), ("GET", "/admin/audit?page=%C2%B2"),
    ("GET", "/organisation/members?organisation=%C2%B2"),
    ("GET", "/organisation/members?organisation=2147483648"), ("GET", "/admin/users?organisation=%C2%B2"),
    ("GET", "/bookings/organisation?organisation=2147483648"),
]

STRONG = "lilla tog over fjellet"
# Admin form posts: digits that are not ASCII ("²".isdigit() is true) and ids past the 32-bit columns.
FORMS = [
    ("/admin/organisations/new", {"name": "Org A", "kind": "company", "number": "¹²³⁴⁵⁶⁷⁸⁹"}),
    ("/admin/organisations/new", {"name": "Org B", "kind": "company", "number": "٩٨٣٦٥٠٠١٥"}),
    ("/admin/users/new", {"email": "a@example.test", "name": "A", "organisation_id": "2147483648",
                          "role": "member", "locale": "nb", "password": STRONG}),
    ("/admin/users/new", {"email": "b@example.test", "name": "B", "organisation_id": "²", "role": "member",
                          "locale": "nb", "password": STRONG}),
    ("/admin/users/new", {"email": "c@example.test", "name": "C", "organisation_id": "٣", "role": "member",
                          "locale": "nb", "password": STRONG}),
    ("/admin/equipment/1/units/new", {"asset_tag": "T-1", "home_space_id": "²", "status": "available"}),
    ("/admin/equipment/1/units/new", {"asset_tag": "T-2", "home_space_id": "2147483648", "status": "available"}),
    ("/admin/spaces/new", {"name": "S", "kind": "²", "capacity": "²"}),
    ("/admin/spaces/new", {"name": "S2", "kind": "2147483648", "capacity": "2147483648"}),
    ("/admin/closures/new", {"space_id": "²", "start_date": "2031-01-01", "end_date": "2031-01-02"}),
    ("/admin/closures/new", {"space_id": "2147483648", "start_date": "2031-01-01", "end_date": "2031-01-02"}),
    ("/bookings/new", {"space": "²", "title": "x", "date": "2031-01-06", "start_time": "10:00",
                       "end_time": "11:00"}),
    ("/equipment-reservations/new", {"equipment_type": "²", "quantity": "²", "start_date": "2031-01-06",
                                     "end_date": "2031-01-07"}),
    ("/equipment-reservations/new", {"equipment_type": "2147483648", "quantity": "2147483648",
                                     "start_date": "2031-01-06", "end_date": "2031-01-07"}),
    ("/feeds", {"scope": "space", "space_id": "²", "name": "x"}),
    ("/my-data", {"email": "²@example.no"}), ("/my-data", {"email": "a" * 5000 + "@example.no"}),
    ("/my-data", {"email": ["a@example.no", "b@example.no"]}),
    ("POST", f"/bookings/{HUGE}/check-in"), ("GET", f"/spaces/{HUGE}/check-in"), ("GET", f"/spaces/{HUGE}/check-in-code"),
    ("POST", f"/waitlist/{HUGE}/leave"), ("POST", "/waitlist"),
    ("GET", f"/admin/outbox/{HUGE}"), ("POST", f"/admin/outbox/{HUGE}/retry"), ("GET", f"/admin/outbox?page={HUGE}"),
    ("GET", "/admin/outbox?status=%00&page=%C2%B2"),
    ("GET", "/login/oidc/%C2%B2"), ("GET", "/login/oidc/x/callback?state=%C2%B2&code=%00"),
    ("POST", f"/organisation/members/{HUGE}/deactivate"), ("GET", "/invitation/%C2%B2"),
    ("GET", "/password/reset/" + "x" * 3000), ("POST", "/invitation/%C2%B2"), ("POST", "/organisation/members/invite"),
    ("GET", "/reports?first=9999-12-31&last=9999-12-31&group=day"), ("GET", "/reports?first=%00&last=%C2%B2"),
    ("GET", "/reports?first=0001-01-01&last=2026-01-01&group=year"),
    ("GET", f"/reports?first=2026-01-01&last=2026-01-31&group=month&organisation_id={HUGE}"),
    ("GET", "/today?date=9999-12-31"), ("GET", "/today?date=2100-12-31"), ("GET", "/equipment-reservations/desk?q=%25_%5C"),
    ("GET", "/equipment-reservations/desk?q=" + "x" * 5000), ("GET", "/bookings/new?date=2026-01-01&start_time=25:99"),
    ("GET", "/bookings/new?date=2100-12-31&start_time=23:30&length=480"), ("GET", "/bookings/new?date=x&start_time=09:00"),
    ("GET", "/booking/spaces/1/week?date=2100-12-31"), ("GET", "/booking/spaces/1/week?date=0001-01-01"),
    ("GET", "/admin/audit?format=json&from=nonsense"), ("GET", "/admin/audit?format=json&action=%C2%B2"),
    ("GET", "/feeds/public.ics?lang=xx"), ("GET", f"/bookings/{HUGE}/cancel?next=//evil.example&reason=x"),
    ("GET", "/my-data/%00"), ("GET", "/my-data/" + "x" * 5000), ("GET", "/my-data/%C2%B2/download"),
    ("POST", "/my-data/" + "g" * 200 + "/erase"), ("GET", "/my-data/gAAAAA" + "A" * 150),
    ("GET", "/my-data/" + "%F0%9F%98%80" * 20), ("POST", "/my-data"),
]

API = [
    ("POST", "/api/v1/bookings", {"space_id": 1, "title": "x", "start": "2031-02-07T10:00:00Z",
                                  "end": "2031-02-07T11:00:00Z", "project_id": HUGE}),
    ("POST", "/api/v1/bookings", {"space_id": 1, "title": "x", "start": "2031-02-07T10:00:00Z",
                                  "end": "2031-02-07T11:00:00Z", "project_id": "²"}),
    ("POST", "/api/v1/bookings", {"space_id": 1, "title": "x", "start": "2031-02-07T10:00:00Z",
                                  "end": "2031-02-07T11:00:00Z", "project_id": -1}),
    ("POST", "/api/v1/projects", {"name": "P\x00", "lead_organisation_id": HUGE}),
    ("POST", "/api/v1/equipment-reservations", {"equipment_id": 1, "quantity": 1, "start": "2031-02-07T10:00:00Z",
                                                "end": "2031-02-08T10:00:00Z", "project_id": HUGE}),
    ("POST", "/api/v1/equipment-reservations", {"equipment_id": 1, "quantity": 1, "start": "2031-02-07T10:00:00Z",
                                                "end": "2031-02-08T10:00:00Z", "project_id": ["x"]}),
    ("GET", f"/api/v1/projects/{HUGE}", None), ("PATCH", f"/api/v1/projects/{HUGE}", {"name": [1]}),
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
    ("POST", f"/api/v1/bookings/{HUGE}/check-in", None),
    ("POST", "/api/v1/waitlist", {"space_id": HUGE, "start": "2031-01-01T10:00:00Z", "end": "2031-01-01T11:00:00Z"}),
    ("POST", "/api/v1/waitlist", {"space_id": 1, "start": "9999-12-31T22:00:00Z", "end": "9999-12-31T23:00:00Z"}),
    ("POST", "/api/v1/waitlist", {"space_id": 1, "start": "2031-01-01T10:00:00Z", "end": "2031-01-01T11:00:00Z",
                                  "title": "a\x00b"}),
    ("POST", "/api/v1/waitlist", {"space_id": [1], "start": 5, "end": None}),
    ("DELETE", f"/api/v1/waitlist/{HUGE}", None),
    ("POST", "/api/v1/bookings", {"space_id": 1, "title": "x", "start": "2031-01-14T10:00:00Z",
                                  "end": "2031-01-14T11:00:00Z", "override_quota": "yes"}),
]

SURROGATE = "\ud800"
API += [
    ("POST", "/api/v1/equipment-reservations", {"equipment_id": 1, "quantity": 1, "start": "2031-01-01T22:00:00Z",
                                                "end": "2031-01-02T23:00:00Z", "booking_id": "²"}),
    ("POST", "/api/v1/equipment-reservations", {"equipment_id": "²", "quantity": 1,
                                                "start": "2031-01-01T22:00:00Z", "end": "2031-01-02T23:00:00Z"}),
    ("POST", "/api/v1/equipment-reservations", {"equipment_id": 1, "quantity": "²",
                                                "start": "2031-01-01T22:00:00Z", "end": "2031-01-02T23:00:00Z"}),
    ("POST", "/api/v1/equipment-reservations", {"equipment_id": 2147483648, "quantity": 2147483648,
                                                "start": "2031-01-01T22:00:00Z", "end": "2031-01-02T23:00:00Z"}),
    ("POST", "/api/v1/bookings", {"space_id": 1, "title": "x", "start": "2031-01-14T10:00:00Z",
                                  "end": "2031-01-14T11:00:00Z", "equipment": [{"equipment_id": "²", "quantity": "²"}]}),
    ("POST", "/api/v1/bookings", {"space_id": "²", "title": "x", "start": "2031-01-14T10:00:00Z",
                                  "end": "2031-01-14T11:00:00Z"}),
    ("POST", "/api/v1/bookings", {"space_id": 1, "title": SURROGATE, "start": "2031-01-15T10:00:00Z",
                                  "end": "2031-01-15T11:00:00Z"}),
    ("POST", "/api/v1/bookings", {"space_id": 1, "title": "x", "description": "a" + SURROGATE,
                                  "start": "2031-01-16T10:00:00Z", "end": "2031-01-16T11:00:00Z"}),
    ("POST", "/api/v1/bookings", {"space_id": 1, "title": "x", "purpose": SURROGATE,
                                  "start": "2031-01-17T10:00:00Z", "end": "2031-01-17T11:00:00Z"}),
    ("POST", "/api/v1/feeds", {"scope": "mine", "name": SURROGATE}),
    ("POST", "/api/v1/equipment-reservations", {"equipment_id": 1, "quantity": 1, "start": "2031-01-01T22:00:00Z",
                                                "end": "2031-01-02T23:00:00Z", "purpose": SURROGATE}),
    ("PATCH", "/api/v1/bookings/1", {"title": SURROGATE}),
    ("GET", "/api/v1/bookings?space_id=%C2%B2", None),
    ("GET", "/api/v1/spaces/1/availability?start=2031-01-01T00:00:00Z&end=%ED%A0%80", None),
]

ADMIN_API = [
    ("POST", "/api/v1/space-kinds", {"name_nb": SURROGATE, "name_en": "X"}),
    ("POST", "/api/v1/space-kinds", {"name_nb": "X", "name_en": "Y", "code": "²"}),
    ("POST", "/api/v1/space-kinds", {"name_nb": "X", "name_en": "Y", "code": ["a"]}),
    ("PATCH", f"/api/v1/space-kinds/{HUGE}", {"name_nb": "X"}),
    ("PATCH", "/api/v1/space-kinds/1", {"code": ""}),
    ("POST", "/api/v1/spaces", {"name": "K", "kind": ["meeting room"], "capacity": 5}),
    ("POST", "/api/v1/equipment", {"name": "C", "category": ["sensor kit"], "max_loan_days": 5,
                                   "bookable_by": ["host"]}),
    ("POST", "/api/v1/spaces", {"name": "S" + SURROGATE, "kind": "meeting-room", "capacity": 5}),
    ("POST", "/api/v1/spaces", {"name": "S", "kind": SURROGATE, "capacity": 5}),
    ("POST", "/api/v1/spaces", {"name": "S", "kind": "meeting-room", "capacity": "²"}),
    ("POST", "/api/v1/spaces", {"name": "S", "kind": "meeting-room", "capacity": 5, "description": SURROGATE}),
    ("PATCH", "/api/v1/spaces/1", {"name": SURROGATE}),
    ("POST", "/api/v1/equipment", {"name": "E" + SURROGATE, "category": "other", "max_loan_days": 5,
                                   "bookable_by": ["host"]}),
    ("POST", "/api/v1/equipment", {"name": "E", "category": "other", "max_loan_days": 5, "bookable_by": ["host"],
                                   "units": [{"asset_tag": SURROGATE, "serial": "1"}]}),
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
    ("POST", "/api/v1/invitations", {"email": "a@b.test", "organisation_id": HUGE}),
    ("POST", "/api/v1/invitations", {"email": ["x"], "organisation_id": "²"}),
    ("POST", "/api/v1/invitations", {"email": "a@b.test", "organisation_id": 1, "role": ["admin"]}),
    ("POST", "/api/v1/invitations", {"email": "a" * 300 + "@b.test", "organisation_id": True}),
    ("POST", "/api/v1/quotas", {"organisation_kind": "company", "max_hours": HUGE}),
    ("POST", "/api/v1/quotas", {"organisation_kind": "company", "max_active": HUGE}),
    ("POST", "/api/v1/quotas", {"organisation_id": HUGE, "max_hours": 1}),
    ("POST", "/api/v1/quotas", {"organisation_kind": "company\x00", "max_hours": 1}),
    ("POST", "/api/v1/quotas", {"organisation_kind": ["company"], "space_kind": 5, "max_hours": "1e999"}),
    ("POST", "/api/v1/quotas", {"organisation_kind": "company", "max_hours": "Infinity"}),
    ("PATCH", f"/api/v1/quotas/{HUGE}", {"max_hours": 3}),
    ("DELETE", f"/api/v1/quotas/{HUGE}", None),
    ("PATCH", "/api/v1/spaces/1", {"check_in_minutes": HUGE}),
    ("GET", "/api/v1/reports/utilisation?from=9999-12-31&to=9999-12-31&by=day", None),
    ("GET", "/api/v1/reports/utilisation?from=2199-12-31&to=2199-12-31&by=space&group=week", None),
    ("GET", "/api/v1/reports/utilisation?from=1970-01-01&to=1970-01-01&by=sector_pair", None),
    ("GET", "/api/v1/reports/utilisation?from=%00&to=%C2%B2&by=%00&group=%00&format=%00", None),
    ("GET", f"/api/v1/reports/utilisation?from=2026-01-01&to=2026-01-31&by=space&organisation_id={HUGE}", None),
    ("GET", "/api/v1/reports/utilisation?from=2026-01-01&to=2026-01-31&by=space&organisation_id=-1", None),
    ("GET", "/api/v1/reports/utilisation?from=2026-01-01&to=2026-01-31&by=day&group=month", None),
    ("GET", "/api/v1/reports/behaviour?from=2026-13-01&to=2026-01-31", None),
    ("GET", "/api/v1/reports/attendance?from=2026-13-01&to=%00&format=%00", None),
    # projects (issue 18)
    ("POST", "/api/v1/projects", {"name": "P\x00", "lead_organisation_id": 1}),
    ("POST", "/api/v1/projects", {"name": "P", "description": "d\x00", "goals": "\x00", "lead_organisation_id": 1}),
    ("POST", "/api/v1/projects", {"name": "P", "lead_organisation_id": HUGE, "organisation_ids": [HUGE, -1, 0]}),
    ("POST", "/api/v1/projects", {"name": "P", "lead_organisation_id": 1, "organisation_ids": list(range(1, 500))}),
    ("POST", "/api/v1/projects", {"name": ["P"], "lead_organisation_id": 1.5, "organisation_ids": {"a": 1}}),
    ("POST", "/api/v1/projects", {"name": "P", "lead_organisation_id": 1, "starts_on": "9999-12-31",
                                  "ends_on": "0001-01-01"}),
    ("POST", "/api/v1/projects", {"name": "P", "lead_organisation_id": 1, "starts_on": "2031-02-30",
                                  "ends_on": 20310101, "status": ["active"]}),
    ("POST", "/api/v1/projects", {"name": "P" * 100_000, "lead_organisation_id": 1}),
    ("PATCH", f"/api/v1/projects/{HUGE}", {"name": "P"}),
    ("PATCH", "/api/v1/projects/-1", {"name": "P"}),
    ("GET", f"/api/v1/projects/{HUGE}", None),
]


@pytest.fixture
def world(app):
    space = make_space()  # id 1
    make_equipment_type(units=1)  # id 1
    admin, member = make_user(role="admin"), make_user()
    make_booking(space=space, user=member)  # id 1
    return admin, member


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


IDEMPOTENCY_KEYS = ["", " ", "\x7f", "ключ", "k" * 10_000, "a,b;c=d", "x" * 255]
KEYED_BODIES = [
    {"space_id": 1, "title": "x\x00y", "start": "2031-02-06T10:00:00Z", "end": "2031-02-06T11:00:00Z"},
    {"space_id": HUGE, "title": "x", "start": "2031-02-06T10:00:00Z", "end": "2031-02-06T11:00:00Z"},
    ["not", "an", "object"],
    "plain text",
]


@BOTH
@pytest.mark.parametrize("key", IDEMPOTENCY_KEYS)
@pytest.mark.parametrize("path", ["/api/v1/bookings", "/api/v1/equipment-reservations"])
def test_hostile_idempotency_keys_never_answer_500(client, world, key, path):
    body = {"space_id": 1, "equipment_id": 1, "quantity": 1, "title": "x", "start": "2031-02-05T10:00:00Z",
            "end": "2031-02-05T11:00:00Z"}
    response = client.post(path, json=body, headers={**api_headers(world[1]), "Idempotency-Key": key})
    assert response.status_code < 500
    if response.status_code >= 400:
        assert response.json["error"]["message"]


@BOTH
@pytest.mark.parametrize("body", KEYED_BODIES)
def test_hostile_bodies_with_an_idempotency_key_never_answer_500(client, world, body):
    headers = {**api_headers(world[1]), "Idempotency-Key": "hostile-body"}
    for _ in range(2):  # the second time the key must still be free: failures are not kept
        response = client.post("/api/v1/bookings", json=body, headers=headers)
        assert 400 <= response.status_code < 500 and response.json["error"]["message"]


# Operations routes (issue 22): probes and the metrics scrape with hostile headers.
OPS_HEADERS = [
    {"X-Request-ID": "\u00e9" * 300}, {"X-Request-ID": "a\tb"}, {"X-Request-ID": ""},
    {"Authorization": "Bearer " + "x" * 5000}, {"Authorization": "Bearer \u00e9\u00e9"}, {"Authorization": "Bearer"},
    {"Authorization": "bearer  "}, {"Authorization": "Basic Zm9vOmJhcg=="},
]


@BOTH
@pytest.mark.parametrize("headers", OPS_HEADERS)
@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/metrics?format=%00"])
def test_operations_routes_never_answer_500(app, client, path, headers):
    app.config["SAMSKAP_METRICS_TOKEN"] = "a-metrics-token"
    response = client.get(path, headers=headers)
    assert response.status_code < 500
    if "X-Request-ID" in headers:  # every one of them is unsafe to echo: a new id is made
        assert response.headers["X-Request-ID"] != headers["X-Request-ID"]
@BOTH
@pytest.mark.parametrize("path,data", FORMS)
def test_form_posts_never_answer_500(client, auth, world, path, data):
    auth.as_user(world[0])
    response = client.post(path, data=data)
    assert response.status_code < 500 and response.status_code != 302, response.status_code


def _json_write_routes(app) -> list[tuple[str, str]]:
    """Every JSON API route that takes a body, with 1 for each id in its path."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = rule.rule
        for argument in rule.arguments:
            path = path.replace(f"<int:{argument}>", "1").replace(f"<{argument}>", "1")
        for method in sorted((rule.methods or set()) & {"POST", "PATCH", "PUT"}):
            found.append((method, path))
    return found


DEEP_BODIES = {"arrays": "[" * 1000 + "]" * 1000, "objects": '{"a":' * 1000 + "1" + "}" * 1000,
               "in a field": '{"title": ' + "[" * 5000 + "]" * 5000 + "}"}


@pytest.mark.parametrize("shape", DEEP_BODIES)  # refused before any query: one database is enough
def test_over_deep_json_is_refused_with_400_on_every_json_endpoint(app, client, world, shape):
    routes = _json_write_routes(app)
    assert len(routes) > 10
    for method, path in routes:
        response = client.open(path, method=method, data=DEEP_BODIES[shape], content_type="application/json",
                               headers=api_headers(world[0]))
        assert response.status_code == 400, (method, path, response.status_code)
        assert response.json["error"]["code"] == "bad_request"


def test_json_nested_within_the_limit_is_still_read(client, world):
    body = {"scope": "mine", "name": "ok", "extra": [[[[["deep but fine"]]]]]}
    response = client.post("/api/v1/feeds", json=body, headers=api_headers(world[1]))
    assert response.status_code == 201


@BOTH
def test_unencodable_text_is_refused_with_the_field_named(client, world):
    response = client.post("/api/v1/bookings", headers=api_headers(world[1]), json={
        "space_id": 1, "title": "Møte \ud800", "start": "2031-01-15T10:00:00Z", "end": "2031-01-15T11:00:00Z"})
    assert response.status_code == 422
    assert "title" in response.json["error"]["details"]["fields"]
