"""Sign-in, sign-out, sessions, password change and rate limiting."""
import re

import pytest

from accounts.models import User
from samskap.extensions import db
from tests.factories import PASSWORD, make_user


def test_sign_in_with_email_in_any_case_and_see_name(client, auth, app):
    user = make_user(email="kari@example.test", name="Kari Nordmann")
    response = auth.login("KARI@Example.TEST", PASSWORD)
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Kari Nordmann" in page


def test_wrong_password_gives_clear_message_and_no_session(client, auth):
    make_user(email="kari@example.test")
    response = auth.login("kari@example.test", "wrong password")
    assert response.status_code == 400
    assert "Feil e-post eller passord" in response.get_data(as_text=True)
    assert client.get("/profile").status_code == 302  # still anonymous


def test_inactive_user_cannot_sign_in(client, auth):
    make_user(email="gone@example.test", active=False)
    response = auth.login("gone@example.test", PASSWORD)
    assert response.status_code == 400
    assert client.get("/profile").status_code == 302


def test_deactivating_a_user_ends_their_session(client, auth):
    user = make_user()
    auth.as_user(user)
    assert client.get("/profile").status_code == 200
    user.active = False
    user.session_version += 1
    db.session.commit()
    assert client.get("/profile").status_code == 302


def test_sign_out_ends_the_session_and_the_remember_cookie(client, auth, app):
    user = make_user(email="kari@example.test")
    auth.login("kari@example.test", PASSWORD, remember=True)
    assert client.get_cookie("remember_token") is not None
    old_remember = client.get_cookie("remember_token").value
    auth.logout()
    assert client.get("/profile").status_code == 302
    # A copied remember-me cookie from before sign-out no longer works.
    client.set_cookie("remember_token", old_remember)
    assert client.get("/profile").status_code == 302


def test_remember_me_restores_the_session_after_the_session_cookie_is_gone(client, auth, app):
    make_user(email="kari@example.test")
    auth.login("kari@example.test", PASSWORD, remember=True)
    client.delete_cookie("session")
    assert client.get("/profile").status_code == 200


def test_password_change_requires_current_password_and_ends_other_sessions(app, client, auth):
    user = make_user(email="kari@example.test")
    other = app.test_client()
    AuthOther = type(auth)(other)
    AuthOther.login("kari@example.test", PASSWORD)
    assert other.get("/profile").status_code == 200
    auth.login("kari@example.test", PASSWORD)

    bad = client.post("/profile/password", data={"current_password": "nope", "new_password": "a-new-password-1",
                                                  "confirm": "a-new-password-1"})
    assert bad.status_code == 400
    assert "Nåværende passord er ikke riktig" in bad.get_data(as_text=True)

    short = client.post("/profile/password", data={"current_password": PASSWORD, "new_password": "short",
                                                    "confirm": "short"})
    assert short.status_code == 400

    ok = client.post("/profile/password", data={"current_password": PASSWORD, "new_password": "a-new-password-1",
                                                 "confirm": "a-new-password-1"})
    assert ok.status_code == 302
    assert client.get("/profile").status_code == 200  # this session goes on
    assert other.get("/profile").status_code == 302  # the other one has ended
    client.post("/logout")
    assert auth.login("kari@example.test", "a-new-password-1").status_code == 302


def test_passwords_are_hashed_with_argon2(app):
    user = make_user()
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_profile_changes_name_and_language(client, auth):
    user = make_user()
    auth.as_user(user)
    response = client.post("/profile", data={"name": "New Name", "locale": "en"})
    assert response.status_code == 302
    page = client.get("/profile").get_data(as_text=True)
    assert "New Name" in page
    assert '<html lang="en">' in page
    assert "Your profile" in page


def test_profile_rejects_too_long_name(client, auth):
    auth.as_user(make_user())
    response = client.post("/profile", data={"name": "x" * 201, "locale": "nb"})
    assert response.status_code == 400


def test_login_next_parameter_refuses_other_sites(client, auth):
    make_user(email="kari@example.test")
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        response = auth.login("kari@example.test", PASSWORD, next=evil)
        assert response.status_code == 302
        assert response.headers["Location"] == "/", evil
        client.post("/logout")
    response = auth.login("kari@example.test", PASSWORD, next="/profile")
    assert response.headers["Location"] == "/profile"


@pytest.mark.ratelimit
def test_failed_sign_ins_are_rate_limited_per_account(app, client, auth):
    app.config["SAMSKAP_LOGIN_LIMIT_ACCOUNT"] = "3 per 15 minutes"
    make_user(email="kari@example.test")
    for _ in range(3):
        assert auth.login("kari@example.test", "wrong password").status_code == 400
    blocked = auth.login("kari@example.test", PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "For mange mislykkede forsøk. Prøv igjen klokken" in blocked.get_data(as_text=True)
    # Another account from the same address is not locked by this one's limit.
    make_user(email="other@example.test")
    assert auth.login("other@example.test", PASSWORD).status_code == 302


@pytest.mark.ratelimit
def test_failed_sign_ins_are_rate_limited_per_address(app, client, auth):
    app.config["SAMSKAP_LOGIN_LIMIT_ADDRESS"] = "4 per 15 minutes"
    for n in range(4):
        auth.login(f"nobody{n}@example.test", "wrong password")
    assert auth.login("nobody-else@example.test", "wrong password").status_code == 429


@pytest.mark.ratelimit
def test_successful_sign_ins_do_not_count_towards_the_limit(app, client, auth):
    app.config["SAMSKAP_LOGIN_LIMIT_ACCOUNT"] = "2 per 15 minutes"
    make_user(email="kari@example.test")
    for _ in range(4):
        assert auth.login("kari@example.test", PASSWORD).status_code == 302
        client.post("/logout")
