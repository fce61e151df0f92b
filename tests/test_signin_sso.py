"""Single sign-on against a real OpenID Connect provider running on localhost (tests/oidc_provider.py):
the full redirect flow through the Flask test client and real HTTP, and every refusal."""
from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa

from accounts.models import Organisation, User
from accounts.signin.models import UserIdentity
from samskap.audit import AuditEntry
from samskap.extensions import db
from tests.conftest import BOTH
from tests.factories import make_org, make_user
from tests.oidc_provider import OidcTestProvider

HOSPITAL = "Sykehuset Innlandet"
HOST = "Helseinn Gjøvik"
RULES = [
    {"claim": "groups", "equals": "innovasjon", "organisation": HOSPITAL, "role": "member"},
    {"claim": "email", "endswith": "@helseinn.test", "organisation": HOST, "role": "staff"},
    {"claim": "groups", "equals": "ansatte", "organisation": "Gjøvik kommune", "role": "staff"},
]


@pytest.fixture(scope="module")
def provider():
    server = OidcTestProvider().start()
    yield server
    server.stop()


@pytest.fixture
def client(app):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"  # the nb test chooses nb itself
    return client


@pytest.fixture(autouse=True)
def fresh_provider(provider):
    provider.identity, provider.userinfo_extra, provider.tamper = {}, {}, {}
    provider.sign_with_impostor = False
    yield


@pytest.fixture
def app_config(provider, tmp_path):
    path = tmp_path / "oidc-providers.json"
    path.write_text(json.dumps([provider.config(name="test", rules=RULES)]), encoding="utf-8")
    return {"SAMSKAP_OIDC_PROVIDERS": str(path)}


@pytest.fixture
def orgs(app):
    return {"hospital": make_org("hospital", name=HOSPITAL), "host": make_org("host", name=HOST),
            "municipality": make_org("municipality", name="Gjøvik kommune")}


def person(sub="person-1", **claims):
    return {"sub": sub, "email": f"{sub}@example.test", "email_verified": True, "name": "Kari Nordmann", **claims}


def sign_in_via(client, provider, identity, *, name="test", start_query=""):
    """The browser's journey: Samskap -> provider (real HTTP) -> Samskap's callback."""
    provider.identity = identity
    start = client.get(f"/login/oidc/{name}{start_query}")
    assert start.status_code == 302, start.get_data(as_text=True)
    authorize_url = start.headers["Location"]
    assert authorize_url.startswith(provider.issuer + "/authorize?")
    at_provider = requests.get(authorize_url, allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302, at_provider.text
    callback = urlsplit(at_provider.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def refusals():
    return db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "sso.refused")
                              .order_by(AuditEntry.id)).all()


def test_login_page_shows_a_button_per_provider(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/login/oidc/test"' in page and "Test ID" in page


def test_start_redirects_with_pkce_state_and_nonce(client, provider, orgs):
    response = client.get("/login/oidc/test")
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["response_type"] == ["code"] and query["client_id"] == ["samskap-test-client"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0]
    assert "openid" in query["scope"][0].split()
    assert query["redirect_uri"] == ["http://samskap.test/login/oidc/test/callback"]


@BOTH
def test_new_person_with_the_group_signs_in_as_hospital_member(client, provider, orgs):
    response = sign_in_via(client, provider, person(groups=["alle", "innovasjon"]))
    assert response.status_code == 302 and response.headers["Location"] == "/"
    me = client.get("/api/v1/me").get_json()
    assert me["email"] == "person-1@example.test" and me["name"] == "Kari Nordmann"
    assert me["role"] == "member" and me["organisation"]["name"] == HOSPITAL
    identity = db.session.scalar(sa.select(UserIdentity))
    assert (identity.provider, identity.issuer, identity.subject) == ("test", provider.issuer, "person-1")
    assert identity.user.password_hash is None
    assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.action == "user.sso_create"))


def test_second_sign_in_reuses_the_user_and_keeps_next(client, provider, orgs):
    sign_in_via(client, provider, person(groups=["innovasjon"]))
    client.post("/logout")
    response = sign_in_via(client, provider, person(groups=["innovasjon"]), start_query="?next=/bookings/mine")
    assert response.headers["Location"] == "/bookings/mine"
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1


def test_person_without_a_matching_group_is_refused_with_a_page(client, provider, orgs):
    response = sign_in_via(client, provider, person(groups=["økonomi"]))
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "does not give access" in page or "gir ikke tilgang" in page
    assert "contact" in page or "kontakt" in page
    assert client.get("/api/v1/me").status_code == 401
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0
    [entry] = refusals()
    assert entry.changes["reason"] == "no_rule" and entry.changes["sub"] == "person-1"


def test_refusal_page_speaks_norwegian(client, provider, orgs):
    client.post("/language", data={"locale": "nb"})
    page = sign_in_via(client, provider, person(groups=["økonomi"])).get_data(as_text=True)
    assert "Du ble ikke logget inn" in page


def test_rules_first_match_wins_and_email_domain_gives_host_staff(client, provider, orgs):
    sign_in_via(client, provider, person("anne", email="anne@Helseinn.test", groups=["innovasjon"]))
    assert client.get("/api/v1/me").get_json()["organisation"]["name"] == HOSPITAL  # rule 1 before rule 2
    client.post("/logout")
    sign_in_via(client, provider, person("ola", email="ola@helseinn.test"))
    me = client.get("/api/v1/me").get_json()
    assert me["role"] == "staff" and me["organisation"]["name"] == HOST


def test_staff_rule_into_an_organisation_that_is_not_the_host_is_refused(client, provider, orgs):
    response = sign_in_via(client, provider, person(groups=["ansatte"]))
    assert response.status_code == 403
    assert refusals()[-1].changes["reason"] == "rule_invalid"


def test_groups_from_userinfo_are_matched(client, provider, orgs):
    provider.userinfo_extra = {"groups": ["innovasjon"]}
    sign_in_via(client, provider, person())
    assert client.get("/api/v1/me").get_json()["organisation"]["name"] == HOSPITAL


def test_entra_groups_overage_is_refused_with_its_own_explanation(client, provider, orgs):
    overage = {"_claim_names": {"groups": "src1"},
               "_claim_sources": {"src1": {"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}}}
    response = sign_in_via(client, provider, person(**overage))
    assert response.status_code == 403
    assert "so many groups" in response.get_data(as_text=True)
    assert refusals()[-1].changes["reason"] == "groups_overage"


@BOTH
def test_later_sign_in_moves_the_person_when_the_rules_now_say_otherwise(client, provider, orgs):
    sign_in_via(client, provider, person(groups=["innovasjon"]))
    client.post("/logout")
    sign_in_via(client, provider, person(email="person-1@helseinn.test", name="Kari N. Hansen"))
    me = client.get("/api/v1/me").get_json()
    assert (me["organisation"]["name"], me["role"], me["name"]) == (HOST, "staff", "Kari N. Hansen")
    update = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.sso_update"))
    assert update.changes["role"] == ["member", "staff"]
    assert update.changes["organisation_id"] == [orgs["hospital"].id, orgs["host"].id]


def test_existing_user_is_linked_on_a_verified_email(client, provider, orgs):
    user = make_user(orgs["hospital"], email="kari@example.test")
    sign_in_via(client, provider, person("kari-sub", email="Kari@example.test", groups=["innovasjon"]))
    assert client.get("/api/v1/me").get_json()["id"] == user.id
    assert db.session.scalar(sa.select(UserIdentity.user_id)) == user.id


def test_a_verified_email_does_not_link_an_account_of_another_organisation(client, provider, orgs):
    make_user(orgs["host"], role="admin", email="boss@example.test")
    response = sign_in_via(client, provider, person("x", email="boss@example.test", groups=["innovasjon"]))
    assert response.status_code == 403 and client.get("/api/v1/me").status_code == 401
    assert refusals()[-1].changes["reason"] == "email_other_organisation"
    assert db.session.scalar(sa.select(sa.func.count(UserIdentity.id))) == 0


def test_unverified_email_never_links_an_existing_user(client, provider, orgs):
    make_user(orgs["hospital"], email="kari@example.test")
    response = sign_in_via(client, provider, person("kari-sub", email="kari@example.test", email_verified=False,
                                                    groups=["innovasjon"]))
    assert response.status_code == 403
    assert client.get("/api/v1/me").status_code == 401
    assert db.session.scalar(sa.select(sa.func.count(UserIdentity.id))) == 0
    assert refusals()[-1].changes["reason"] == "email_unverified"


def test_deactivated_user_is_refused(client, provider, orgs):
    sign_in_via(client, provider, person(groups=["innovasjon"]))
    client.post("/logout")
    db.session.scalar(sa.select(User)).active = False
    db.session.commit()
    response = sign_in_via(client, provider, person(groups=["innovasjon"]))
    assert response.status_code == 403 and client.get("/api/v1/me").status_code == 401
    assert refusals()[-1].changes["reason"] == "deactivated"


def test_an_administrator_keeps_role_and_organisation(client, provider, orgs):
    admin = make_user(orgs["host"], role="admin", email="boss@helseinn.test")
    sign_in_via(client, provider, person("boss", email="boss@helseinn.test"))  # rule 2: host staff
    me = client.get("/api/v1/me").get_json()
    assert me["id"] == admin.id and me["role"] == "admin" and me["organisation"]["name"] == HOST


@pytest.mark.parametrize("tamper, sign_with_impostor, why", [
    ({"aud": "someone-else"}, False, "'aud'"),
    ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, False, "expired"),
    ({}, True, "signature"),
    ({"nonce": "not-the-nonce-we-sent"}, False, "'nonce'"),
    ({"iss": "http://127.0.0.1:1"}, False, "'iss'"),
], ids=["wrong audience", "expired", "bad signature", "mismatched nonce", "wrong issuer"])
def test_invalid_id_token_is_refused(client, provider, orgs, tamper, sign_with_impostor, why):
    provider.tamper = tamper
    provider.sign_with_impostor = sign_with_impostor
    response = sign_in_via(client, provider, person(groups=["innovasjon"]))
    assert response.status_code == 400
    assert "could not be verified" in response.get_data(as_text=True)
    assert client.get("/api/v1/me").status_code == 401
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0
    assert refusals()[-1].changes["reason"] == "token_invalid"
    assert why in refusals()[-1].changes["detail"]


def test_replayed_state_is_refused(client, provider, orgs):
    provider.identity = person(groups=["innovasjon"])
    start = client.get("/login/oidc/test")
    callback = urlsplit(requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
                        .headers["Location"])
    assert client.get(f"{callback.path}?{callback.query}").status_code == 302
    client.post("/logout")
    replay = client.get(f"{callback.path}?{callback.query}")
    assert replay.status_code == 400
    assert "already used" in replay.get_data(as_text=True)
    assert refusals()[-1].changes["reason"] == "state"


def test_callback_with_a_foreign_state_or_an_error_is_refused(client, provider, orgs):
    client.get("/login/oidc/test")
    assert client.get("/login/oidc/test/callback?code=abc&state=forged").status_code == 400
    response = client.get("/login/oidc/test/callback?error=access_denied&error_description=no")
    assert response.status_code == 403
    assert [e.changes["reason"] for e in refusals()] == ["state", "provider_error"]


def test_unknown_provider_is_404(client):
    assert client.get("/login/oidc/nope").status_code == 404
    assert client.get("/login/oidc/nope/callback?code=x&state=y").status_code == 404


def _invite(client, admin, email, org):
    from tests.factories import api_headers

    assert client.post("/api/v1/invitations", json={"email": email, "organisation_id": org.id},
                       headers=api_headers(admin)).status_code == 201
    from samskap.mail import OutboxMessage

    text = db.session.scalars(sa.select(OutboxMessage.text).order_by(OutboxMessage.id.desc())).first()
    return urlsplit(text.split("http://samskap.test", 1)[1].split()[0]).path


@BOTH
def test_an_opened_invitation_lets_a_person_without_a_matching_rule_in_through_sso(client, provider, orgs):
    admin = make_user(orgs["host"], role="admin", email="admin@helseinn.test")
    path = _invite(client, admin, "gjest@example.test", orgs["municipality"])
    assert client.get(path).status_code == 200  # opened, then "sign in with your organisation"
    sign_in_via(client, provider, person("gjest", email="gjest@example.test"))
    me = client.get("/api/v1/me").get_json()
    assert me["email"] == "gjest@example.test" and me["organisation"]["name"] == "Gjøvik kommune"
    client.post("/logout")
    assert client.get(path).status_code == 404  # the invitation is used
    sign_in_via(client, provider, person("gjest", email="gjest@example.test"))  # still no rule: kept
    assert client.get("/api/v1/me").get_json()["organisation"]["name"] == "Gjøvik kommune"


def test_an_invitation_needs_the_same_verified_email(client, provider, orgs):
    admin = make_user(orgs["host"], role="admin", email="admin@helseinn.test")
    path = _invite(client, admin, "gjest@example.test", orgs["municipality"])
    client.get(path)
    response = sign_in_via(client, provider, person("gjest", email="gjest@example.test", email_verified=False))
    assert response.status_code == 403 and refusals()[-1].changes["reason"] == "no_rule"
    client.get(path)
    response = sign_in_via(client, provider, person("other", email="other@example.test"))
    assert response.status_code == 403
    assert client.get(path).status_code == 200  # still unused


def test_anonymising_a_user_removes_their_sign_on_link(client, provider, orgs):
    from accounts.services import anonymise_user

    sign_in_via(client, provider, person(groups=["innovasjon"]))
    client.post("/logout")
    admin = make_user(orgs["host"], role="admin", email="admin@helseinn.test")
    anonymise_user(admin, db.session.scalar(sa.select(User).where(User.email == "person-1@example.test")))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(UserIdentity.id))) == 0


def test_a_provider_that_refuses_the_client_gives_a_refusal_page(client, provider, orgs, monkeypatch):
    monkeypatch.setattr("tests.oidc_provider.CLIENT_SECRET", "the provider expects another secret")
    response = sign_in_via(client, provider, person(groups=["innovasjon"]))
    assert response.status_code == 400 and client.get("/api/v1/me").status_code == 401
    assert refusals()[-1].changes["reason"] == "token_invalid"
    assert "invalid_client" in refusals()[-1].changes["detail"]


def test_an_unreachable_provider_gives_a_refusal_page(app, client, orgs):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    from accounts.signin.oidc import ProviderRegistry, load_providers

    entry = {"name": "down", "title": "Down ID", "issuer": f"http://127.0.0.1:{port}", "client_id": "c",
             "client_secret": "s", "rules": RULES}
    app.extensions["samskap_oidc"] = ProviderRegistry(app, load_providers([entry]))
    response = client.get("/login/oidc/down")
    assert response.status_code == 502 and "could not be reached" in response.get_data(as_text=True)
    assert refusals()[-1].changes["reason"] == "unreachable"


def test_discovery_for_another_issuer_is_refused(app, client, provider, orgs):
    from accounts.signin.oidc import ProviderRegistry, load_providers

    entry = provider.config(name="mixup", rules=RULES, issuer=provider.issuer + "/")  # not what discovery says
    app.extensions["samskap_oidc"] = ProviderRegistry(app, load_providers([entry]))
    response = client.get("/login/oidc/mixup")
    assert response.status_code == 502
    assert "discovery names issuer" in refusals()[-1].changes["detail"]


def test_sso_check_reports_rules_that_name_missing_or_wrong_organisations(app, runner, provider):
    make_org("hospital", name=HOSPITAL)
    make_org("municipality", name="Gjøvik kommune")
    result = runner.invoke(args=["sso-check"])
    assert result.exit_code != 0
    assert "rule 2: no organisation named 'Helseinn Gjøvik'" in result.output
    assert "rule 3: staff only into the workshop host, and 'Gjøvik kommune' is a municipality" in result.output
    make_org("host", name=HOST)
    db.session.execute(sa.delete(Organisation).where(Organisation.name == "Gjøvik kommune"))
    db.session.commit()
    result = runner.invoke(args=["sso-check"])
    assert "rule 3: no organisation named 'Gjøvik kommune'" in result.output and "discovery" not in result.output
