"""A response that shows a new secret (an API token, a feed URL with its token) must not be
kept by any cache: Cache-Control: no-store, on the pages and in the API."""
from tests.factories import api_headers, make_user


def test_the_profile_page_showing_a_new_api_token_is_not_stored(client, auth):
    auth.as_user(make_user())
    response = client.post("/profile/tokens", data={"name": "script"})
    assert response.status_code == 201 and "sk_" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_the_feeds_page_showing_a_new_feed_url_is_not_stored(client, auth):
    auth.as_user(make_user())
    response = client.post("/feeds", data={"scope": "mine", "name": "Mine"})
    assert response.status_code == 200 and "/feeds/" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_the_api_reply_with_a_new_feed_url_is_not_stored(client):
    response = client.post("/api/v1/feeds", json={"scope": "mine"}, headers=api_headers(make_user()))
    assert response.status_code == 201 and response.json["feed"]["url"]
    assert response.headers["Cache-Control"] == "no-store"
