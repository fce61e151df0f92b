"""The "Calendar feeds" page and /api/v1/feeds: create, list, revoke, with audit entries."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from accounts import services as account_services
from accounts.models import Role
from booking.models import Feed, FeedScope
from samskap.audit import AuditEntry
from samskap.extensions import db
from tests.factories import make_equipment_type, make_space, make_user


def api_headers(user):
    _token, secret = account_services.create_api_token(None, user)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def actions():
    return [e.action for e in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))
            if e.action.startswith("feed.")]


# --- the page ----------------------------------------------------------------------------------

def test_feeds_page_needs_sign_in(client):
    assert client.get("/feeds").status_code == 302


def test_feeds_page_lists_instructions_and_is_in_the_navigation(client, auth):
    auth.as_user(make_user(locale="nb"))
    page = client.get("/feeds").get_data(as_text=True)
    assert 'href="/feeds"' in page and "Kalenderfeeder" in page
    assert "Abonner fra nettet" in page  # Outlook
    assert "12. til 24. time" in page  # Google's slow refresh, said plainly
    assert "Thunderbird" in page and "Apple" in page
    assert "http://samskap.test/feeds/public.ics" in page and "webcal://samskap.test/feeds/public.ics" in page


def test_creating_a_feed_shows_its_address_once(client, auth):
    user = auth.as_user(make_user(locale="en"))
    response = client.post("/feeds", data={"scope": "mine", "name": "Work"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    url = re.search(r'value="(http://samskap\.test/feeds/[A-Za-z0-9_-]{43}\.ics)"', page).group(1)
    assert f'value="webcal://{url.split("://")[1]}"' in page
    assert client.get(url.replace("http://samskap.test", "")).status_code == 200
    again = client.get("/feeds").get_data(as_text=True)
    assert "Work" in again and url not in again
    assert db.session.scalar(sa.select(Feed).where(Feed.owner_id == user.id)).scope == FeedScope.MINE
    assert actions() == ["feed.create"]


def test_member_cannot_create_an_everything_feed(client, auth):
    auth.as_user(make_user(locale="en"))
    assert 'value="all"' not in client.get("/feeds").get_data(as_text=True)
    response = client.post("/feeds", data={"scope": "all"})  # not offered: refused as a choice
    assert response.status_code == 400
    assert 'id="scope-error"' in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Feed.id))) == 0


def test_staff_can_create_an_everything_feed(client, auth):
    auth.as_user(make_user(role=Role.STAFF))
    assert 'value="all"' in client.get("/feeds").get_data(as_text=True)
    assert client.post("/feeds", data={"scope": "all"}).status_code == 200
    assert db.session.scalar(sa.select(Feed)).scope == FeedScope.ALL


# The form's own checks (a scope that is no choice) answer 400; the feed rules of the service
# (a missing or unknown space or equipment type) answer 422, as on the booking pages.
@pytest.mark.parametrize("data, field, status", [
    ({"scope": "space"}, "space_id", 422),
    ({"scope": "space", "space_id": "99999"}, "space_id", 422),
    ({"scope": "equipment", "equipment_id": "x"}, "equipment_id", 422),
    ({"scope": "nonsense"}, "scope", 400),
])
def test_feed_form_explains_bad_input(client, auth, data, field, status):
    auth.as_user(make_user(locale="en"))
    response = client.post("/feeds", data=data)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and f'id="{field}-error"' in page
    assert db.session.scalar(sa.select(sa.func.count(Feed.id))) == 0


def test_space_and_equipment_feeds_from_the_page(client, auth):
    auth.as_user(make_user())
    space, kit = make_space(name="Simulation lab"), make_equipment_type(name="VR headsets")
    page = client.get("/feeds").get_data(as_text=True)
    assert "Simulation lab" in page and "VR headsets" in page
    assert client.post("/feeds", data={"scope": "space", "space_id": str(space.id)}).status_code == 200
    assert client.post("/feeds", data={"scope": "equipment", "equipment_id": str(kit.id)}).status_code == 200
    feeds = db.session.scalars(sa.select(Feed).order_by(Feed.id)).all()
    assert [(f.scope, f.space_id, f.equipment_type_id) for f in feeds] == [
        (FeedScope.SPACE, space.id, None), (FeedScope.EQUIPMENT, None, kit.id)]


def test_revoking_from_the_page_ends_the_feed(client, auth):
    auth.as_user(make_user(locale="en"))
    page = client.post("/feeds", data={"scope": "mine"}).get_data(as_text=True)
    path = re.search(r'value="http://samskap\.test(/feeds/[A-Za-z0-9_-]{43}\.ics)"', page).group(1)
    feed = db.session.scalar(sa.select(Feed))
    response = client.post(f"/feeds/{feed.id}/revoke")
    assert response.status_code == 302
    assert client.get(path).status_code == 404
    assert "You have no feeds yet." in client.get("/feeds").get_data(as_text=True)
    assert actions() == ["feed.create", "feed.revoke"]


def test_nobody_revokes_someone_elses_feed(client, auth):
    from booking.feeds import services

    owner = make_user()
    feed, _token = services.create_feed(owner, "mine")
    db.session.commit()
    auth.as_user(make_user())
    assert client.post(f"/feeds/{feed.id}/revoke").status_code == 404
    assert db.session.get(Feed, feed.id).revoked_at is None


# --- the API -----------------------------------------------------------------------------------

def test_api_creates_lists_and_revokes_feeds(client):
    user = make_user()
    headers = api_headers(user)
    space = make_space()
    created = client.post("/api/v1/feeds", json={"scope": "space", "space_id": space.id, "name": "Lab"},
                          headers=headers)
    assert created.status_code == 201
    feed = created.json["feed"]
    assert feed["scope"] == "space" and feed["space_id"] == space.id and feed["name"] == "Lab"
    assert re.fullmatch(r"http://samskap\.test/feeds/[A-Za-z0-9_-]{43}\.ics", feed["url"])
    assert feed["webcal_url"] == "webcal://" + feed["url"].split("://")[1]
    assert client.get(feed["url"].replace("http://samskap.test", "")).status_code == 200

    listed = client.get("/api/v1/feeds", headers=headers).json["feeds"]
    assert [f["id"] for f in listed] == [feed["id"]]
    assert "url" not in listed[0] and listed[0]["last_used_at"] is not None

    assert client.delete(f"/api/v1/feeds/{feed['id']}", headers=headers).status_code == 204
    assert client.get(feed["url"].replace("http://samskap.test", "")).status_code == 404
    assert client.get("/api/v1/feeds", headers=headers).json["feeds"] == []
    assert actions() == ["feed.create", "feed.revoke"]


def test_api_revoke_answers_404_for_other_peoples_revoked_and_unknown_feeds(client):
    from booking.feeds import services

    owner, other = make_user(), make_user()
    feed, _token = services.create_feed(owner, "mine")
    db.session.commit()
    headers = api_headers(other)
    for path in (f"/api/v1/feeds/{feed.id}", "/api/v1/feeds/999999"):
        response = client.delete(path, headers=headers)
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    owner_headers = api_headers(owner)
    assert client.delete(f"/api/v1/feeds/{feed.id}", headers=owner_headers).status_code == 204
    assert client.delete(f"/api/v1/feeds/{feed.id}", headers=owner_headers).status_code == 404


@pytest.mark.parametrize("body, status, field", [
    ({}, 422, "scope"),
    ({"scope": "everything"}, 422, "scope"),
    ({"scope": "space"}, 422, "space_id"),
    ({"scope": "space", "space_id": "abc"}, 422, "space_id"),
    ({"scope": "space", "space_id": True}, 422, "space_id"),
    ({"scope": "equipment", "equipment_id": 424242}, 422, "equipment_id"),
    ({"scope": "mine", "name": 5}, 422, "name"),
    ({"scope": "mine", "name": "x" * 101}, 422, "name"),
    ({"scope": "all"}, 403, None),
])
def test_api_rejects_bad_feed_requests(client, body, status, field):
    response = client.post("/api/v1/feeds", json=body, headers=api_headers(make_user()))
    assert response.status_code == status
    assert set(response.json["error"]) == {"code", "message", "details"}
    if field:
        assert field in response.json["error"]["details"]["fields"]
    assert db.session.scalar(sa.select(sa.func.count(Feed.id))) == 0


def test_api_needs_a_caller_and_a_json_body(client):
    assert client.get("/api/v1/feeds").status_code == 401
    headers = api_headers(make_user())
    response = client.post("/api/v1/feeds", data="scope=mine", headers=headers,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert client.post("/api/v1/feeds", data="[1", headers=headers, content_type="application/json").status_code == 400


def test_api_limits_the_number_of_active_feeds(client):
    from booking.feeds import services

    user = make_user()
    headers = api_headers(user)
    for _ in range(services.MAX_ACTIVE_FEEDS):
        services.create_feed(user, "mine")
    db.session.commit()
    response = client.post("/api/v1/feeds", json={"scope": "mine"}, headers=headers)
    assert response.status_code == 422


def test_feeds_api_is_in_the_openapi_spec(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"post", "get"} <= set(paths["/feeds"]) and "delete" in paths["/feeds/{id}"]
