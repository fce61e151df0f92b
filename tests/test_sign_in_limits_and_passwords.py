"""Sign-in limits keyed on the account as authenticate() spells it, per account and address
pair with a larger per-account ceiling, and the rules for a chosen password (length, guessable,
own email or name) wherever a password is chosen."""
import re

import pytest

from accounts.services import check_password
from samskap.extensions import db
from tests.factories import PASSWORD, make_org, make_user

OWNER_ADDRESS = {"REMOTE_ADDR": "198.51.100.7"}
ATTACKER_ADDRESS = {"REMOTE_ADDR": "203.0.113.66"}


def _login(client, email, password, address=None):
    return client.post("/login", data={"email": email, "password": password},
                       environ_base=address or {"REMOTE_ADDR": "192.0.2.1"})


@pytest.mark.ratelimit
@pytest.mark.parametrize("spelling", ["lock@ｓamskap.test", "LOCK@SAMSKAP.TEST", " Lock@samskap.test "])
def test_another_spelling_of_the_same_address_does_not_dodge_the_limit(app, client, spelling):
    make_user(email="lock@samskap.test")
    for _ in range(5):
        assert _login(client, "lock@samskap.test", "wrong password").status_code == 400
    response = _login(client, spelling, PASSWORD)
    assert response.status_code == 429


@pytest.mark.ratelimit
def test_someone_elses_failures_do_not_lock_the_owner_out(app, client):
    make_user(email="kari@example.test")
    for _ in range(5):
        assert _login(client, "kari@example.test", "wrong password", ATTACKER_ADDRESS).status_code == 400
    blocked = _login(client, "kari@example.test", PASSWORD, ATTACKER_ADDRESS)
    assert blocked.status_code == 429
    page = blocked.get_data(as_text=True)
    assert re.search(r"Prøv igjen klokken \d\d:\d\d \(om (1[0-5]|[1-9]) minutter\)", page), page
    assert _login(client, "kari@example.test", PASSWORD, OWNER_ADDRESS).status_code == 302


@pytest.mark.ratelimit
def test_failures_spread_over_many_addresses_meet_a_per_account_ceiling(app, client):
    app.config["SAMSKAP_LOGIN_LIMIT_ACCOUNT"] = "6 per 15 minutes"
    make_user(email="kari@example.test")
    for n in range(6):
        _login(client, "kari@example.test", "wrong password", {"REMOTE_ADDR": f"203.0.113.{n + 1}"})
    response = _login(client, "kari@example.test", PASSWORD, OWNER_ADDRESS)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.ratelimit
def test_the_limit_message_is_english_for_english_readers(app, client):
    make_user(email="kari@example.test")
    for _ in range(5):
        _login(client, "kari@example.test", "wrong password")
    response = client.post("/login", data={"email": "kari@example.test", "password": PASSWORD},
                           headers={"Accept-Language": "en"}, environ_base={"REMOTE_ADDR": "192.0.2.1"})
    assert re.search(r"Too many failed attempts\. Try again at \d\d:\d\d \(in \d+ minutes\)\.",
                     response.get_data(as_text=True))


# --- the password rules ---------------------------------------------------------------------

WEAK = [
    ("aaaaaaaaaaaa", "For lett å gjette"),
    ("password1234", "for lett å gjette"),
    ("kari.nordmann@example.test", "kan ikke inneholde"),
    ("Nordmann-2026-xyz", "kan ikke inneholde"),
    ("elleve tegn", "minst 12 tegn"),
]


def _change(client, new, current=PASSWORD, **kwargs):
    return client.post("/profile/password", data={"current_password": current, "new_password": new,
                                                  "confirm": new}, **kwargs)


@pytest.mark.parametrize("password,reason", WEAK)
def test_weak_passwords_are_refused_with_the_reason(client, auth, password, reason):
    user = auth.as_user(make_user(email="kari.nordmann@example.test", name="Kari Nordmann"))
    response = _change(client, password)
    assert response.status_code == 400
    assert reason.lower() in response.get_data(as_text=True).lower()
    db.session.refresh(user)
    assert check_password(user, PASSWORD)


def test_weak_password_reason_in_english(client, auth):
    auth.as_user(make_user(locale="en"))
    client.post("/language", data={"locale": "en", "next": "/"})
    page = _change(client, "password1234").get_data(as_text=True)
    assert "This password is too easy to guess" in page


def test_a_strong_password_is_accepted(client, auth):
    user = auth.as_user(make_user())
    assert _change(client, "lilla tog over fjellet").status_code == 302
    db.session.refresh(user)
    assert check_password(user, "lilla tog over fjellet")


def test_the_demo_password_still_passes_the_rules(app):
    from accounts.passwords import password_problem
    from accounts.demo import DEMO_PASSWORD

    assert password_problem(DEMO_PASSWORD, email="admin@samskap.test", name="Ada Administrator") is None


def test_administrators_cannot_give_a_new_user_a_weak_password(client, auth):
    auth.as_user(make_user(role="admin"))
    org = make_org()
    response = client.post("/admin/users/new", data={
        "email": "new@example.test", "name": "Nina Ny", "organisation_id": org.id, "role": "member",
        "locale": "nb", "active": "y", "password": "aaaaaaaaaaaa"})
    assert response.status_code == 400 and "for lett å gjette" in response.get_data(as_text=True).lower()


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "nina@example.test!!", "short pass"])
def test_the_cli_refuses_weak_passwords(runner, password):
    make_org(name="NTNU", kind="academia")
    result = runner.invoke(args=["create-user", "nina@example.test", "--name", "Nina", "--role", "member",
                                 "--organization", "NTNU", "--password", password])
    assert result.exit_code != 0


@pytest.mark.ratelimit
def test_the_change_password_form_is_rate_limited(app, client, auth):
    user = auth.as_user(make_user())
    for _ in range(5):
        assert _change(client, "lilla tog over fjellet", current="not my password").status_code == 400
    response = _change(client, "lilla tog over fjellet")
    assert response.status_code == 429
    assert "Prøv igjen klokken" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert check_password(user, PASSWORD)
