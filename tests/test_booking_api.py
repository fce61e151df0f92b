"""The bookings JSON API: every rule through HTTP, bad input of every kind, permissions."""
from datetime import datetime

import pytest
import sqlalchemy as sa

from accounts import services as account_services
from accounts.models import Role
from booking.models import Booking, BookingStatus
from samskap.extensions import db
from spaces.models import Closure
from tests.booking_helpers import UTC, clock, oslo  # noqa: F401 (clock is a fixture)
from tests.conftest import BOTH
from tests.factories import make_booking, make_org, make_space, make_user

WEEKDAYS_8_TO_16 = {d: [["08:00", "16:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def token(user) -> dict:
    _, secret = account_services.create_api_token(None, user)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def en_user(**fields):
    return make_user(locale="en", **fields)


def body(space, start="2026-03-10T09:00:00+01:00", end="2026-03-10T10:00:00+01:00", **fields):
    return {"space_id": space.id, "title": "Planning meeting", "start": start, "end": end, **fields}


def assert_error(response, status, code=None):
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.json["error"]
    assert set(error) == {"code", "message", "details"} and error["message"]
    if code:
        assert error["code"] == code
    return error


def active_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Booking.id)).where(
        Booking.status.in_([BookingStatus.PENDING, BookingStatus.CONFIRMED])))


# --- creating ----------------------------------------------------------------------------------

@BOTH
def test_post_books_a_space_and_answers_201_with_the_booking(client, clock):
    user, space = en_user(), make_space(buffer_minutes=10)
    response = client.post("/api/v1/bookings", json=body(space, attendees=3, purpose="co-creation workshop",
                                                          visibility="partners"), headers=token(user))
    assert response.status_code == 201
    data = response.json
    assert data["status"] == "confirmed"
    assert (data["start"], data["end"], data["blocked_until"]) == (
        "2026-03-10T08:00:00Z", "2026-03-10T09:00:00Z", "2026-03-10T09:10:00Z")
    assert data["organisation"] == {"id": user.organisation_id, "name": user.organisation.name}
    assert (data["space_id"], data["purpose"], data["visibility"], data["sequence"], data["series_id"]) == (
        space.id, "co-creation workshop", "partners", 0, None)
    assert response.headers["Location"].endswith(f"/api/v1/bookings/{data['id']}")
    # The reply is the booking as stored: the same as reading it back.
    assert client.get(response.headers["Location"], headers=token(user)).json == data


def test_post_to_space_requiring_approval_gives_pending(client, clock):
    response = client.post("/api/v1/bookings", json=body(make_space(requires_approval=True)), headers=token(en_user()))
    assert response.status_code == 201 and response.json["status"] == "pending"


@pytest.mark.parametrize("date_, utc_start, utc_end", [
    ("2026-03-29", "2026-03-29T00:00:00Z", "2026-03-29T02:00:00Z"),
    ("2026-10-25", "2026-10-24T23:00:00Z", "2026-10-25T03:00:00Z"),
])
def test_post_across_dst_change_stores_the_right_instants(client, clock, date_, utc_start, utc_end):
    clock.now = datetime(2026, 3, 1, tzinfo=UTC)
    # 01:00 and 04:00 local: the offsets differ because the clocks change in between.
    offsets = {"2026-03-29": ("+01:00", "+02:00"), "2026-10-25": ("+02:00", "+01:00")}[date_]
    response = client.post("/api/v1/bookings", headers=token(en_user()), json=body(
        make_space(), start=f"{date_}T01:00:00{offsets[0]}", end=f"{date_}T04:00:00{offsets[1]}"))
    assert response.status_code == 201
    assert (response.json["start"], response.json["end"]) == (utc_start, utc_end)


@pytest.mark.parametrize("space_fields, changes, status, field", [
    ({"active": False}, {}, 422, "space_id"),
    ({"opening_hours": WEEKDAYS_8_TO_16}, {"end": "2026-03-10T17:00:00+01:00"}, 422, "start"),
    ({"min_minutes": 90}, {}, 422, "end"),
    ({"max_minutes": 30}, {}, 422, "end"),
    ({}, {"start": "2026-03-01T09:00:00+01:00", "end": "2026-03-01T10:00:00+01:00"}, 422, "start"),
    ({"max_days_ahead": 5}, {}, 422, "start"),
    ({"capacity": 4}, {"attendees": 5}, 422, "attendees"),
    ({}, {"attendees": 0}, 422, "attendees"),
    ({}, {"end": "2026-03-10T09:00:00+01:00"}, 422, "end"),
])
def test_each_rule_refuses_through_the_api(client, clock, space_fields, changes, status, field):
    space = make_space(**space_fields)
    response = client.post("/api/v1/bookings", json=body(space, **changes), headers=token(en_user()))
    error = assert_error(response, status, "invalid")
    assert field in error["details"]["fields"]
    assert active_count() == 0


def test_each_rule_accepts_through_the_api(client, clock):
    space = make_space(opening_hours=WEEKDAYS_8_TO_16, min_minutes=60, max_minutes=60, max_days_ahead=8,
                       capacity=4)
    response = client.post("/api/v1/bookings", json=body(space, attendees=4), headers=token(en_user()))
    assert response.status_code == 201


def test_space_not_open_to_the_organisation_kind_is_403(client, clock):
    space = make_space(bookable_by=["hospital"])
    assert_error(client.post("/api/v1/bookings", json=body(space), headers=token(en_user(kind="company"))), 403)
    assert client.post("/api/v1/bookings", json=body(space), headers=token(en_user(kind="hospital"))).status_code == 201


def test_staff_book_on_behalf_of_an_organisation(client, clock):
    org = make_org("academia")
    response = client.post("/api/v1/bookings", json=body(make_space(), organisation_id=org.id),
                           headers=token(en_user(role=Role.STAFF)))
    assert response.status_code == 201 and response.json["organisation"]["id"] == org.id
    assert_error(client.post("/api/v1/bookings", json=body(make_space(), organisation_id=org.id),
                             headers=token(en_user())), 403)


@BOTH
def test_clash_is_409_with_the_conflicting_periods(client, clock):
    space = make_space(buffer_minutes=15)
    client.post("/api/v1/bookings", json=body(space), headers=token(en_user()))
    error = assert_error(client.post("/api/v1/bookings", headers=token(en_user()), json=body(
        space, start="2026-03-10T10:10:00+01:00", end="2026-03-10T11:00:00+01:00")), 409, "conflict")
    assert error["details"]["conflicts"] == [{
        "start": "2026-03-10T08:00:00Z", "end": "2026-03-10T09:00:00Z", "blocked_until": "2026-03-10T09:15:00Z",
        "booking_id": None, "title": "Busy", "reason": "booking"}]
    assert active_count() == 1


def test_closure_is_409(client, clock):
    space = make_space()
    db.session.add(Closure(space_id=space.id, start=oslo(2026, 3, 10, 0), end=oslo(2026, 3, 11, 0), reason="Works"))
    error = assert_error(client.post("/api/v1/bookings", json=body(space), headers=token(en_user())), 409)
    assert error["details"]["conflicts"][0]["reason"] == "closure"


@pytest.mark.parametrize("changes, field", [
    ({"start": "2026-03-10T09:00:00"}, "start"),
    ({"end": "tomorrow"}, "end"),
    ({"start": 1700000000}, "start"),
    ({"space_id": "1"}, "space_id"),
    ({"space_id": 99999}, "space_id"),
    ({"space_id": True}, "space_id"),
    ({"attendees": "3"}, "attendees"),
    ({"attendees": 2.5}, "attendees"),
    ({"title": 5}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"purpose": "party"}, "purpose"),
    ({"visibility": ["private"]}, "visibility"),
    ({"description": {"a": 1}}, "description"),
    ({"organisation_id": "me"}, "organisation_id"),
    ({"skip_conflicts": "yes"}, "skip_conflicts"),
    ({"colour": "red"}, "colour"),
    ({"equipment": "two kits"}, "equipment"),
    ({"equipment": [{"equipment_id": 999, "quantity": 2}]}, "equipment[0].equipment_id"),
    ({"recurrence": "weekly"}, "recurrence"),
    ({"recurrence": {"freq": "weekly", "count": "4"}}, "recurrence.count"),
    ({"recurrence": {"freq": "weekly", "until": "next year"}}, "recurrence.until"),
    ({"recurrence": {"freq": "weekly", "byday": "MO"}}, "recurrence.byday"),
    ({"recurrence": {"freq": "yearly", "count": 2}}, "recurrence.freq"),
    ({"recurrence": {"freq": "weekly", "count": 2, "until": "2026-04-01"}}, "recurrence.count"),
    ({"recurrence": {"freq": "daily", "count": 300}}, "recurrence.count"),
])
def test_invalid_fields_are_422_naming_the_field(client, clock, changes, field):
    payload = body(make_space(), **changes)
    error = assert_error(client.post("/api/v1/bookings", json=payload, headers=token(en_user())), 422, "invalid")
    assert field in error["details"]["fields"], error
    assert active_count() == 0


def test_an_empty_equipment_list_books_the_room_alone(client, clock):
    response = client.post("/api/v1/bookings", json=body(make_space(), equipment=[]), headers=token(en_user()))
    assert response.status_code == 201


@pytest.mark.parametrize("data, content_type", [
    ("{not json", "application/json"), ("[1, 2]", "application/json"), ("", "application/json"),
    ("space_id=1", "application/x-www-form-urlencoded"),
])
def test_malformed_body_is_400(client, clock, data, content_type):
    response = client.post("/api/v1/bookings", data=data, content_type=content_type, headers=token(en_user()))
    assert_error(response, 400)


# --- series ------------------------------------------------------------------------------------

def test_post_with_recurrence_answers_series_and_occurrences(client, clock):
    response = client.post("/api/v1/bookings", headers=token(en_user()), json=body(
        make_space(), start="2026-03-16T09:00:00+01:00", end="2026-03-16T10:00:00+01:00",
        recurrence={"freq": "weekly", "byday": ["MO", "WE"], "count": 4}))
    assert response.status_code == 201
    data = response.json
    assert data["series_id"] and data["rrule"] == "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE;COUNT=4"
    assert [o["start"] for o in data["occurrences"]] == [
        "2026-03-16T08:00:00Z", "2026-03-18T08:00:00Z", "2026-03-23T08:00:00Z", "2026-03-25T08:00:00Z"]
    assert {o["series_id"] for o in data["occurrences"]} == {data["series_id"]}
    assert data["skipped"] == []


@BOTH
def test_series_clash_is_409_naming_every_date_unless_skipped(client, clock):
    space, user = make_space(), en_user()
    for day in ("2026-03-23", "2026-04-06"):
        client.post("/api/v1/bookings", json=body(space, start=f"{day}T09:00:00+01:00" if day < "2026-03-29"
                                                  else f"{day}T09:00:00+02:00",
                                                  end=f"{day}T10:00:00+01:00" if day < "2026-03-29"
                                                  else f"{day}T10:00:00+02:00"), headers=token(user))
    series = body(space, start="2026-03-16T09:00:00+01:00", end="2026-03-16T10:00:00+01:00",
                  recurrence={"freq": "weekly", "count": 5})
    error = assert_error(client.post("/api/v1/bookings", json=series, headers=token(user)), 409)
    assert error["details"]["dates"] == ["2026-03-23", "2026-04-06"]
    assert "2026-03-23" in error["message"] and "2026-04-06" in error["message"]
    assert active_count() == 2
    response = client.post("/api/v1/bookings", json={**series, "skip_conflicts": True}, headers=token(user))
    assert response.status_code == 201
    assert len(response.json["occurrences"]) == 3
    assert [s["start"] for s in response.json["skipped"]] == ["2026-03-23T08:00:00Z", "2026-04-06T07:00:00Z"]


# --- reading -----------------------------------------------------------------------------------

def test_list_shows_visible_bookings_and_masks_others_private_ones(client, clock):
    space, org = make_space(), make_org()
    me, colleague = en_user(org=org), en_user(org=org)
    ours = make_booking(space=space, user=colleague, start=oslo(2026, 3, 10, 9), title="Ours")
    secret = make_booking(space=space, user=en_user(), start=oslo(2026, 3, 10, 11), title="Secret")
    shared = make_booking(space=space, user=en_user(), start=oslo(2026, 3, 10, 13), title="Shared",
                          visibility="partners")
    make_booking(space=space, user=en_user(), start=oslo(2026, 3, 10, 15), status=BookingStatus.CANCELLED)
    make_booking(space=make_space(), user=en_user(), start=oslo(2026, 3, 10, 9))
    response = client.get("/api/v1/bookings", query_string={
        "start": "2026-03-10T00:00:00+01:00", "end": "2026-03-11T00:00:00+01:00", "space_id": space.id},
        headers=token(me))
    assert response.status_code == 200
    listed = response.json["bookings"]
    assert [b["title"] for b in listed] == ["Ours", "Busy", "Shared"]
    assert [b["id"] for b in listed] == [ours.id, None, shared.id]
    assert listed[1] == {"id": None, "space_id": space.id, "title": "Busy", "status": "confirmed",
                         "start": "2026-03-10T10:00:00Z", "end": "2026-03-10T11:00:00Z",
                         "blocked_until": "2026-03-10T11:00:00Z", "masked": True}
    assert "Secret" not in response.get_data(as_text=True)
    assert str(secret.id) not in [str(b["id"]) for b in listed]
    # Staff see everything.
    staff_view = client.get("/api/v1/bookings", query_string={
        "start": "2026-03-10T00:00:00Z", "end": "2026-03-11T00:00:00Z", "space_id": space.id},
        headers=token(en_user(role=Role.STAFF)))
    assert [b["title"] for b in staff_view.json["bookings"]] == ["Ours", "Secret", "Shared"]


@pytest.mark.parametrize("params, field", [
    ({"start": "2026-03-10T00:00:00", "end": "2026-03-11T00:00:00Z"}, "start"),
    ({"start": "2026-03-10T00:00:00Z", "end": "soon"}, "end"),
    ({"start": "2026-03-10T00:00:00Z", "end": "2026-03-10T00:00:00Z"}, "end"),
    ({"start": "2026-03-10T00:00:00Z", "end": "2027-03-12T00:00:00Z"}, "end"),
    ({"space_id": "abc"}, "space_id"),
    ({"space_id": "424242"}, "space_id"),
])
def test_list_query_parameters_are_validated(client, clock, params, field):
    error = assert_error(client.get("/api/v1/bookings", query_string=params, headers=token(en_user())), 422)
    assert field in error["details"]["fields"]


def test_list_needs_authentication(client):
    assert_error(client.get("/api/v1/bookings"), 401)


def test_detail_of_another_organisations_private_booking_is_404(client, clock):
    owner, stranger = en_user(), en_user()
    private = make_booking(user=owner, start=oslo(2026, 3, 10, 9))
    shared = make_booking(user=owner, start=oslo(2026, 3, 10, 9), visibility="partners")
    assert client.get(f"/api/v1/bookings/{private.id}", headers=token(owner)).status_code == 200
    assert_error(client.get(f"/api/v1/bookings/{private.id}", headers=token(stranger)), 404, "not_found")
    assert client.get(f"/api/v1/bookings/{shared.id}", headers=token(stranger)).json["title"] == shared.title
    assert_error(client.get("/api/v1/bookings/999999", headers=token(owner)), 404)
    assert_error(client.get("/api/v1/bookings/abc", headers=token(owner)), 404)


def test_availability_lists_busy_periods_masked(client, clock):
    space, user = make_space(), en_user()
    make_booking(space=space, user=en_user(), start=oslo(2026, 3, 10, 9), title="Secret")
    mine = make_booking(space=space, user=user, start=oslo(2026, 3, 10, 11), title="Mine")
    db.session.add(Closure(space_id=None, start=oslo(2026, 3, 10, 15), end=oslo(2026, 3, 10, 18), reason="Fire drill"))
    response = client.get(f"/api/v1/spaces/{space.id}/availability", headers=token(user), query_string={
        "start": "2026-03-10T00:00:00+01:00", "end": "2026-03-11T00:00:00+01:00"})
    assert response.status_code == 200
    assert [(p["title"], p["booking_id"], p["kind"]) for p in response.json["busy"]] == [
        ("Busy", None, "booking"), ("Mine", mine.id, "booking"), ("Fire drill", None, "closure")]
    assert response.json["busy"][0]["start"] == "2026-03-10T08:00:00Z"
    assert_error(client.get("/api/v1/spaces/99999/availability", headers=token(user)), 404)
    assert_error(client.get(f"/api/v1/spaces/{space.id}/availability", headers=token(user),
                            query_string={"start": "2026-03-10"}), 422)


# --- changing, cancelling, deciding ------------------------------------------------------------

def _create(client, user, space, **fields):
    response = client.post("/api/v1/bookings", json=body(space, **fields), headers=token(user))
    assert response.status_code == 201, response.json
    return response.json


def test_patch_moves_the_booking_and_bumps_sequence(client, clock):
    user, space = en_user(), make_space()
    created = _create(client, user, space)
    response = client.patch(f"/api/v1/bookings/{created['id']}", headers=token(user), json={
        "start": "2026-03-10T12:00:00+01:00", "end": "2026-03-10T13:30:00+01:00", "title": "Moved"})
    assert response.status_code == 200
    assert (response.json["start"], response.json["end"], response.json["title"], response.json["sequence"]) == (
        "2026-03-10T11:00:00Z", "2026-03-10T12:30:00Z", "Moved", 1)
    assert response.json["updated_at"] >= created["updated_at"]


@pytest.mark.parametrize("payload, field", [
    ({"start": "2026-03-10T12:00:00"}, "start"),
    ({"attendees": -1}, "attendees"),
    ({"purpose": "party"}, "purpose"),
    ({"status": "confirmed"}, "status"),
    ({"space_id": "two"}, "space_id"),
    ({"scope": "all"}, "scope"),
    ({"scope": 3}, "scope"),
    ({"override_opening_hours": "yes"}, "override_opening_hours"),
    ({"end": "2026-03-10T08:00:00+01:00"}, "end"),
])
def test_patch_with_invalid_fields_is_422(client, clock, payload, field):
    user = en_user()
    created = _create(client, user, make_space())
    error = assert_error(client.patch(f"/api/v1/bookings/{created['id']}", json=payload, headers=token(user)), 422)
    assert field in error["details"]["fields"]
    assert client.get(f"/api/v1/bookings/{created['id']}", headers=token(user)).json["sequence"] == 0


def test_patch_onto_another_booking_is_409(client, clock):
    user, space = en_user(), make_space()
    _create(client, user, space)
    second = _create(client, user, space, start="2026-03-10T12:00:00+01:00", end="2026-03-10T13:00:00+01:00")
    error = assert_error(client.patch(f"/api/v1/bookings/{second['id']}", headers=token(user),
                                      json={"start": "2026-03-10T09:30:00+01:00"}), 409)
    assert error["details"]["conflicts"][0]["start"] == "2026-03-10T08:00:00Z"


def test_member_cannot_change_or_cancel_another_organisations_booking(client, clock):
    owner, stranger = en_user(), en_user()
    private = _create(client, owner, make_space())
    shared = _create(client, owner, make_space(), visibility="partners")
    assert_error(client.patch(f"/api/v1/bookings/{private['id']}", json={"title": "x"}, headers=token(stranger)), 404)
    assert_error(client.post(f"/api/v1/bookings/{private['id']}/cancel", headers=token(stranger)), 404)
    assert_error(client.patch(f"/api/v1/bookings/{shared['id']}", json={"title": "x"}, headers=token(stranger)), 403)
    assert_error(client.post(f"/api/v1/bookings/{shared['id']}/cancel", headers=token(stranger)), 403)
    assert client.get(f"/api/v1/bookings/{private['id']}", headers=token(owner)).json["status"] == "confirmed"


@BOTH
def test_cancel_keeps_the_booking_frees_the_slot_and_bumps_sequence(client, clock):
    user, space = en_user(), make_space()
    created = _create(client, user, space)
    response = client.post(f"/api/v1/bookings/{created['id']}/cancel", json={"reason": "Moved online"},
                           headers=token(user))
    assert response.status_code == 200
    assert (response.json["status"], response.json["sequence"], response.json["cancel_reason"]) == (
        "cancelled", 1, "Moved online")
    assert client.get(f"/api/v1/bookings/{created['id']}", headers=token(user)).json["status"] == "cancelled"
    assert _create(client, en_user(), space)["status"] == "confirmed"
    assert_error(client.post(f"/api/v1/bookings/{created['id']}/cancel", headers=token(user)), 409)


def test_cancel_following_occurrences_of_a_series(client, clock):
    user = en_user()
    created = client.post("/api/v1/bookings", headers=token(user), json=body(
        make_space(), recurrence={"freq": "daily", "count": 4})).json
    third = created["occurrences"][2]["id"]
    response = client.post(f"/api/v1/bookings/{third}/cancel?scope=following", headers=token(user))
    assert response.status_code == 200
    assert response.json["affected_ids"] == [o["id"] for o in created["occurrences"][2:]]
    statuses = [client.get(f"/api/v1/bookings/{o['id']}", headers=token(user)).json["status"]
                for o in created["occurrences"]]
    assert statuses == ["confirmed", "confirmed", "cancelled", "cancelled"]


def test_staff_approve_and_reject_members_get_403(client, clock):
    member, staff = en_user(), en_user(role=Role.STAFF)
    space = make_space(requires_approval=True)
    first = _create(client, member, space)
    second = _create(client, member, space, start="2026-03-11T09:00:00+01:00", end="2026-03-11T10:00:00+01:00")
    assert_error(client.post(f"/api/v1/bookings/{first['id']}/approve", headers=token(member)), 403)
    assert_error(client.post(f"/api/v1/bookings/{first['id']}/reject", json={"reason": "x"},
                             headers=token(member)), 403)
    assert_error(client.post(f"/api/v1/bookings/{first['id']}/approve", headers=token(en_user())), 404)
    approved = client.post(f"/api/v1/bookings/{first['id']}/approve", headers=token(staff))
    assert approved.status_code == 200 and approved.json["status"] == "confirmed" and approved.json["sequence"] == 1
    assert_error(client.post(f"/api/v1/bookings/{first['id']}/approve", headers=token(staff)), 409)
    error = assert_error(client.post(f"/api/v1/bookings/{second['id']}/reject", headers=token(staff)), 422)
    assert "reason" in error["details"]["fields"]
    rejected = client.post(f"/api/v1/bookings/{second['id']}/reject", json={"reason": "Closed for cleaning"},
                           headers=token(staff))
    assert rejected.json["status"] == "rejected" and rejected.json["decision_reason"] == "Closed for cleaning"


@pytest.mark.csrf
def test_cookie_authenticated_write_needs_csrf_token(client, auth, clock):
    auth.as_user(en_user())
    assert_error(client.post("/api/v1/bookings", json=body(make_space())), 400, "csrf_failed")
    assert active_count() == 0


def test_openapi_lists_the_booking_paths(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/bookings", "/bookings/{booking_id}", "/bookings/{booking_id}/cancel",
                 "/bookings/{booking_id}/approve", "/bookings/{booking_id}/reject", "/spaces/{space_id}/availability"):
        assert path in paths
    assert {"get", "post"} <= set(paths["/bookings"]) and "patch" in paths["/bookings/{booking_id}"]


def test_absurdly_large_ids_are_not_found_not_errors(client, clock):
    user, huge = en_user(), 10**20
    headers = token(user)
    assert_error(client.get(f"/api/v1/bookings/{huge}", headers=headers), 404)
    assert_error(client.post(f"/api/v1/bookings/{huge}/cancel", headers=headers), 404)
    assert_error(client.get(f"/api/v1/spaces/{huge}/availability", headers=headers), 404)
    assert_error(client.get("/api/v1/bookings", query_string={"space_id": str(huge)}, headers=headers), 422)
    error = assert_error(client.post("/api/v1/bookings", json=body(make_space(), space_id=huge), headers=headers), 422)
    assert "space_id" in error["details"]["fields"]
    staff = token(en_user(role=Role.STAFF))
    error = assert_error(client.post("/api/v1/bookings", json=body(make_space(), organisation_id=huge),
                                     headers=staff), 422)
    assert "organisation_id" in error["details"]["fields"]
    created = _create(client, user, make_space())
    error = assert_error(client.patch(f"/api/v1/bookings/{created['id']}", json={"space_id": huge},
                                      headers=headers), 422)
    assert "space_id" in error["details"]["fields"]


def test_list_is_limited_and_says_when_it_is_truncated(client, clock):
    space, user = make_space(), en_user()
    for hour in (9, 11, 13):
        make_booking(space=space, user=user, start=oslo(2026, 3, 10, hour))
    window = {"start": "2026-03-10T00:00:00Z", "end": "2026-03-11T00:00:00Z"}
    response = client.get("/api/v1/bookings", query_string={**window, "limit": 2}, headers=token(user))
    assert len(response.json["bookings"]) == 2 and response.json["truncated"] is True
    response = client.get("/api/v1/bookings", query_string=window, headers=token(user))
    assert len(response.json["bookings"]) == 3 and response.json["truncated"] is False
    assert_error(client.get("/api/v1/bookings", query_string={**window, "limit": 100000}, headers=token(user)), 422)


def test_messages_follow_the_callers_language(client, clock):
    nb_user = make_user(locale="nb")
    error = assert_error(client.post("/api/v1/bookings", json=body(make_space(), end="2026-03-10T08:00:00+01:00"),
                                     headers=token(nb_user)), 422)
    assert error["details"]["fields"]["end"] == "Slutten må være etter starten."
