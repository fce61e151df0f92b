"""/api/v1/me, the 401 shape, CSRF on cookie-authenticated writes, malformed input."""
import pytest

from accounts import services
from samskap.extensions import db
from tests.conftest import BOTH
from tests.factories import make_user


def token_for(user):
    _, secret = services.create_api_token(None, user)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def assert_error_shape(response, status, code=None):
    assert response.status_code == status
    assert response.is_json
    error = response.json["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["message"]
    if code:
        assert error["code"] == code


def test_me_with_bearer_token(client):
    user = make_user(email="kari@example.test", kind="hospital")
    response = client.get("/api/v1/me", headers=token_for(user))
    assert response.status_code == 200
    assert response.json["email"] == "kari@example.test"
    assert response.json["role"] == "member"
    assert response.json["organisation"]["kind"] == "hospital"


def test_me_with_browser_session(client, auth):
    user = auth.as_user(make_user())
    assert client.get("/api/v1/me").json["id"] == user.id


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 500])
def test_missing_or_bad_token_gets_401_in_error_shape(client, header):
    headers = {"Authorization": header} if header else {}
    assert_error_shape(client.get("/api/v1/me", headers=headers), 401, "unauthorized")


def test_revoked_token_gets_401(client):
    user = make_user()
    token, secret = services.create_api_token(None, user)
    db.session.commit()
    services.revoke_api_token(user, token)
    db.session.commit()
    assert_error_shape(client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}), 401)


def test_token_of_deactivated_user_gets_401(client):
    user = make_user()
    headers = token_for(user)
    user.active = False
    db.session.commit()
    assert_error_shape(client.get("/api/v1/me", headers=headers), 401)


@BOTH
def test_a_change_to_the_caller_counts_from_the_very_next_request(client):
    """The token's caller is read afresh on every request (no per-process cache): a revocation,
    a deactivation, a new role or a new organisation holds for the next request, on any host."""
    from accounts.models import Role
    from tests.factories import make_org

    user = make_user()
    token, secret = services.create_api_token(None, user)
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=headers).json["role"] == "member"
    user.role = Role.STAFF
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).json["role"] == "staff"
    elsewhere = make_org("hospital")
    user.organisation_id = elsewhere.id
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).json["organisation"]["id"] == elsewhere.id
    user.active = False
    db.session.commit()
    assert_error_shape(client.get("/api/v1/me", headers=headers), 401)
    user.active = True
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    services.revoke_api_token(user, token)
    db.session.commit()
    assert_error_shape(client.get("/api/v1/me", headers=headers), 401)


def test_a_token_records_its_use_at_most_hourly(client):
    from datetime import timedelta

    from accounts.auth import TOKEN_TOUCH_INTERVAL
    from accounts.models import ApiToken
    from samskap.timeutil import utcnow

    user = make_user()
    token, secret = services.create_api_token(None, user)
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert token.last_used_at is None
    assert client.get("/api/v1/me", headers=headers).json["id"] == user.id
    db.session.expire_all()
    first = db.session.get(ApiToken, token.id).last_used_at
    assert first is not None and utcnow() - first < timedelta(minutes=1)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at == first  # not written again within the hour
    stale = first - TOKEN_TOUCH_INTERVAL - timedelta(minutes=1)
    db.session.get(ApiToken, token.id).last_used_at = stale
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).json["email"] == user.email  # the row after the write
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at > first


def test_unknown_api_path_and_wrong_method_answer_json(client):
    user = make_user()
    assert_error_shape(client.get("/api/v1/nothing-here", headers=token_for(user)), 404, "not_found")
    assert_error_shape(client.delete("/api/v1/me", headers=token_for(user)), 405)


def test_bearer_token_does_not_sign_in_browser_pages(client):
    user = make_user()
    response = client.get("/profile", headers=token_for(user))
    assert response.status_code == 302


def test_openapi_spec_is_served(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert "/me" in spec["paths"]


def test_token_revocation_from_profile_page(app, client, auth):
    user = auth.as_user(make_user())
    created = client.post("/profile/tokens", data={"name": "my script"})
    assert created.status_code == 201
    import re
    secret = re.search(r'value="(sk_[^"]+)"', created.get_data(as_text=True)).group(1)
    script = app.test_client()  # a script has the token, not the browser's session
    assert script.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    from accounts.models import ApiToken
    import sqlalchemy as sa
    token = db.session.scalar(sa.select(ApiToken))
    assert client.post(f"/profile/tokens/{token.id}/revoke").status_code == 302
    assert script.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_cannot_revoke_someone_elses_token(client, auth):
    other = make_user()
    token, _ = services.create_api_token(None, other)
    db.session.commit()
    auth.as_user(make_user())
    assert client.post(f"/profile/tokens/{token.id}/revoke").status_code == 404
    db.session.refresh(token)
    assert token.revoked_at is None
