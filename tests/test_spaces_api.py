"""/api/v1/spaces: any user reads spaces with their rules; administrators create and
change them; invalid fields get 422 with details.fields and nothing is written."""
import pytest
import sqlalchemy as sa

from samskap.extensions import db
from spaces.models import Space
from tests.conftest import BOTH
from tests.factories import api_headers, make_org, make_space, make_space_kind, make_user

RULE_FIELDS = {"id", "name", "slug", "kind", "capacity", "description", "location", "opening_hours", "bookable_by",
               "requires_approval", "min_minutes", "max_minutes", "buffer_minutes", "max_days_ahead", "active",
               "check_in_minutes"}


def new_space(**changes) -> dict:
    body = {"name": "Simuleringslaben", "kind": "meeting-room", "capacity": 12,
            "bookable_by": ["hospital", "academia"], "requires_approval": True, "min_minutes": 60,
            "max_minutes": 480, "buffer_minutes": 30, "max_days_ahead": 180,
            "opening_hours": {"mon": [["08:00", "16:00"]], "fri": [["08:00", "12:00"]]}}
    body.update(changes)
    return body


@pytest.fixture
def admin_headers(app):
    make_space_kind()
    return api_headers(make_user(role="admin", locale="en"))


def space_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Space.id)))


def assert_error(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    assert set(response.json["error"]) == {"code", "message", "details"}
    assert response.json["error"]["code"] == code
    return response.json["error"]


@BOTH
def test_admin_creates_a_space_and_anyone_reads_it_with_its_rules(client, admin_headers):
    response = client.post("/api/v1/spaces", json=new_space(), headers=admin_headers)
    assert response.status_code == 201
    created = response.json
    assert set(created) == RULE_FIELDS
    assert created["slug"] == "simuleringslaben" and created["kind"] == "meeting-room"
    assert created["opening_hours"] == {"mon": [["08:00", "16:00"]], "fri": [["08:00", "12:00"]]}
    assert response.headers["Location"].endswith(f"/api/v1/spaces/{created['id']}")

    member = api_headers(make_user())
    one = client.get(f"/api/v1/spaces/{created['id']}", headers=member)
    assert one.status_code == 200 and one.json == created
    listing = client.get("/api/v1/spaces", headers=member).json
    assert list(listing) == ["spaces"] and listing["spaces"] == [created]


def test_opening_hours_absent_means_around_the_clock(client, admin_headers):
    body = new_space()
    del body["opening_hours"]
    assert client.post("/api/v1/spaces", json=body, headers=admin_headers).json["opening_hours"] is None


@BOTH
@pytest.mark.parametrize("changes,field", [
    ({"capacity": 0}, "capacity"),
    ({"capacity": "ten"}, "capacity"),
    ({"capacity": 2.5}, "capacity"),
    ({"min_minutes": 600}, "min_minutes"),
    ({"buffer_minutes": -1}, "buffer_minutes"),
    ({"opening_hours": {"mon": [["08:00", "12:00"], ["10:00", "14:00"]]}}, "opening_hours"),
    ({"opening_hours": {"mon": [["16:00", "08:00"]]}}, "opening_hours"),
    ({"opening_hours": [["08:00", "16:00"]]}, "opening_hours"),
    ({"bookable_by": ["hospital", "pirates"]}, "bookable_by"),
    ({"kind": "spaceship"}, "kind"),
    ({"kind": 3}, "kind"),
    ({"name": None}, "name"),
    ({"requires_approval": "sometimes"}, "requires_approval"),
    ({"slug": "NOT OK"}, "slug"),
])
def test_invalid_field_gets_422_naming_it_and_nothing_is_written(client, admin_headers, changes, field):
    error = assert_error(client.post("/api/v1/spaces", json=new_space(**changes), headers=admin_headers),
                         422, "invalid")
    assert field in error["details"]["fields"]
    assert error["details"]["fields"][field]
    assert space_count() == 0


@BOTH
def test_duplicate_slug_gets_422(client, admin_headers):
    make_space(slug="simlab")
    error = assert_error(client.post("/api/v1/spaces", json=new_space(slug="simlab"), headers=admin_headers),
                         422, "invalid")
    assert error["details"]["fields"]["slug"] == "Another space already uses the address name 'simlab'."
    assert space_count() == 1


def test_several_invalid_fields_are_all_named(client, admin_headers):
    error = assert_error(client.post("/api/v1/spaces", json=new_space(capacity=0, kind="x", bookable_by=["y"]),
                                     headers=admin_headers), 422, "invalid")
    assert set(error["details"]["fields"]) == {"capacity", "kind", "bookable_by"}


@pytest.mark.parametrize("body,content_type", [
    ("{not json", "application/json"),
    ("[1, 2]", "application/json"),
    ("", "application/json"),
    ("name=x", "application/x-www-form-urlencoded"),
])
def test_malformed_body_gets_400(client, admin_headers, body, content_type):
    response = client.post("/api/v1/spaces", data=body, content_type=content_type, headers=admin_headers)
    assert_error(response, 400, "bad_request")
    assert space_count() == 0


@BOTH
def test_admin_patches_only_the_given_fields(client, admin_headers):
    space = make_space(capacity=10, min_minutes=30, max_minutes=120)
    response = client.patch(f"/api/v1/spaces/{space.id}", json={"capacity": 14, "opening_hours": None,
                                                               "active": False}, headers=admin_headers)
    assert response.status_code == 200
    assert (response.json["capacity"], response.json["active"], response.json["min_minutes"]) == (14, False, 30)
    error = assert_error(client.patch(f"/api/v1/spaces/{space.id}", json={"min_minutes": 200},
                                      headers=admin_headers), 422, "invalid")
    assert "(200 minutes) is longer than the maximum (120 minutes)" in error["details"]["fields"]["min_minutes"]
    db.session.refresh(space)
    assert space.min_minutes == 30 and space.capacity == 14


@pytest.mark.parametrize("role", ["member", "staff"])
def test_members_and_staff_get_403_on_space_writes(client, app, role):
    make_space_kind()
    space = make_space(capacity=10)
    headers = api_headers(make_user(role=role))
    assert_error(client.post("/api/v1/spaces", json=new_space(), headers=headers), 403, "forbidden")
    assert_error(client.patch(f"/api/v1/spaces/{space.id}", json={"capacity": 1}, headers=headers), 403, "forbidden")
    assert_error(client.post("/api/v1/spaces", data="{bad", content_type="application/json", headers=headers),
                 403, "forbidden")
    db.session.refresh(space)
    assert space.capacity == 10 and space_count() == 1


def test_unknown_or_inactive_space_gives_404_to_members(client, app):
    inactive = make_space(active=False)
    member = api_headers(make_user())
    assert_error(client.get("/api/v1/spaces/999", headers=member), 404, "not_found")
    assert_error(client.get(f"/api/v1/spaces/{inactive.id}", headers=member), 404, "not_found")
    assert client.get("/api/v1/spaces", headers=member).json == {"spaces": []}
    admin = api_headers(make_user(role="admin"))
    assert client.get(f"/api/v1/spaces/{inactive.id}", headers=admin).json["active"] is False
    assert client.get("/api/v1/spaces?include_inactive=true", headers=admin).json["spaces"][0]["id"] == inactive.id
    assert_error(client.patch("/api/v1/spaces/999", json={"capacity": 2}, headers=admin), 404, "not_found")


def test_list_filters_and_bad_query_values(client, app):
    make_space(name="Small", capacity=4, bookable_by=["company"])
    make_space(name="Big", capacity=40, bookable_by=["hospital"])
    headers = api_headers(make_user(make_org(kind="hospital")))
    assert [s["name"] for s in client.get("/api/v1/spaces?min_capacity=10", headers=headers).json["spaces"]] == ["Big"]
    assert [s["name"] for s in client.get("/api/v1/spaces?bookable_by_me=true", headers=headers).json["spaces"]] == \
        ["Big"]
    assert [s["name"] for s in client.get("/api/v1/spaces?kind=meeting-room", headers=headers).json["spaces"]] == \
        ["Big", "Small"]
    for query in ("min_capacity=many", "min_capacity=0", "bookable_by_me=perhaps", "kind=spaceship"):
        assert_error(client.get(f"/api/v1/spaces?{query}", headers=headers), 422, "invalid")


def test_unauthenticated_calls_get_401(client, app):
    assert_error(client.get("/api/v1/spaces"), 401, "unauthorized")
    assert_error(client.post("/api/v1/spaces", json=new_space()), 401, "unauthorized")


def test_spaces_paths_are_in_the_openapi_spec(client, app):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"get", "post"} <= set(paths["/spaces"]) and {"get", "patch"} <= set(paths["/spaces/{id}"])
    assert {"get", "post"} <= set(paths["/equipment"])
