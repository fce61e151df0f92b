"""Invitations and password reset by email: single-use links stored only as a hash, sent through
the mail outbox (and, in one journey each, delivered over real SMTP by the worker)."""
from __future__ import annotations

import hashlib
import re
import statistics
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from accounts.models import Role, User
from accounts.signin.models import LinkPurpose, SignInLink
from samskap.audit import AuditEntry
from samskap.extensions import db
from samskap.mail import OutboxMessage
from samskap.timeutil import utcnow
from samskap.worker import deliver_batch, new_worker_id
from tests.conftest import BOTH
from tests.factories import PASSWORD, api_headers, make_org, make_user

NEW_PASSWORD = "a brand new long passphrase"
LINK = re.compile(r"http://samskap\.test(/(?:invitation|password/reset)/[A-Za-z0-9_-]+)")


@pytest.fixture
def app_config(request):
    config = {}
    if request.node.get_closest_marker("ratelimit"):
        config["RATELIMIT_ENABLED"] = True
    return config


@pytest.fixture
def client(app):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def world(app):
    municipality = make_org("municipality", name="Gjøvik kommune")
    host = make_org("host", name="Helseinn")
    hospital = make_org("hospital", name="Sykehuset")
    return {
        "municipality": municipality, "host": host, "hospital": hospital,
        "contact": make_user(municipality, email="contact@kommune.test", is_org_contact=True, name="Kari Kontakt",
                             locale="en"),
        "member": make_user(municipality, email="member@kommune.test", locale="en"),
        "staff": make_user(host, role="staff", email="staff@helseinn.test", locale="en"),
        "admin": make_user(host, role="admin", email="admin@helseinn.test", locale="en"),
    }


def outbox(kind=None):
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return db.session.scalars(query).all()


def link_path(message) -> str:
    return LINK.search(message.text).group(1)


def invite_via_api(client, actor, **body):
    return client.post("/api/v1/invitations", json=body, headers=api_headers(actor))


# --- invitations ---------------------------------------------------------------------------------

@BOTH
def test_contact_invites_from_the_members_page_and_the_person_sets_a_password(client, auth, world):
    auth.as_user(world["contact"])
    page = client.get("/organisation/members").get_data(as_text=True)
    assert 'action="/organisation/members/invite"' in page and 'name="role"' in page
    response = client.post("/organisation/members/invite", data={
        "email": "Ny.Person@Kommune.test", "organisation_id": world["municipality"].id, "role": "member"})
    assert response.status_code == 302
    [mail] = outbox("security.invitation")
    assert mail.to_address == "ny.person@kommune.test" and "Kari Kontakt" in mail.subject
    assert "Gjøvik kommune" in mail.text
    secret = link_path(mail).rsplit("/", 1)[1]
    link = db.session.scalar(sa.select(SignInLink))
    assert link.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str([link.token_hash, link.email])  # only the hash is kept
    assert timedelta(days=6, hours=23) < link.expires_at - utcnow() <= timedelta(days=7)

    client.post("/logout")
    invitation_page = client.get(link_path(mail))
    assert invitation_page.status_code == 200
    assert "Choose" in invitation_page.get_data(as_text=True) or "password" in invitation_page.get_data(as_text=True)
    short = client.post(link_path(mail), data={"name": "Ny Person", "password": "short", "confirm": "short"})
    assert short.status_code == 400 and "at least" in short.get_data(as_text=True)
    done = client.post(link_path(mail), data={"name": "Ny Person", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302
    me = client.get("/api/v1/me").get_json()
    assert (me["email"], me["name"], me["role"], me["organisation"]["name"]) == \
        ("ny.person@kommune.test", "Ny Person", "member", "Gjøvik kommune")
    client.post("/logout")
    assert client.get(link_path(mail)).status_code == 404  # single use
    assert auth.login("ny.person@kommune.test", NEW_PASSWORD).status_code == 302


def test_invitation_link_expires_after_seven_days(client, auth, world):
    auth.as_user(world["contact"])
    client.post("/organisation/members/invite", data={"email": "late@kommune.test",
                                                      "organisation_id": world["municipality"].id})
    client.post("/logout")
    link = db.session.scalar(sa.select(SignInLink))
    link.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    path = link_path(outbox()[0])
    assert client.get(path).status_code == 404
    assert client.post(path, data={"name": "Late", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 404
    assert db.session.scalar(sa.select(User).where(User.email == "late@kommune.test")) is None


def test_api_invitation_by_admin_and_contact(client, world):
    response = invite_via_api(client, world["admin"], email="new.staff@helseinn.test",
                              organisation_id=world["host"].id, role="staff")
    assert response.status_code == 201
    body = response.get_json()["invitation"]
    assert body["email"] == "new.staff@helseinn.test" and body["role"] == "staff" and "url" not in body
    response = invite_via_api(client, world["contact"], email="kollega@kommune.test",
                              organisation_id=world["municipality"].id)
    assert response.status_code == 201 and response.get_json()["invitation"]["role"] == "member"
    assert [m.to_address for m in outbox("security.invitation")] == ["new.staff@helseinn.test", "kollega@kommune.test"]
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(
        AuditEntry.action == "invitation.create")) == 2


def test_contact_cannot_learn_that_an_address_has_an_account_elsewhere(client, world):
    """A contact inviting an address that has an account in another organisation is answered as for a
    new address; the person is told by mail that they can sign in as they are; no second account."""
    make_user(world["hospital"], email="lege@sykehus.test", locale="nb")
    known = invite_via_api(client, world["contact"], email="lege@sykehus.test", organisation_id=world["municipality"].id)
    unknown = invite_via_api(client, world["contact"], email="ny@kommune.test", organisation_id=world["municipality"].id)
    assert known.status_code == unknown.status_code == 201
    shape = lambda r: {k: type(v) for k, v in r.get_json()["invitation"].items() if k != "email"}  # noqa: E731
    assert shape(known) == shape(unknown)
    to_existing, to_new = outbox("security.invitation")
    assert to_existing.to_address == "lege@sykehus.test" and "/invitation/" not in to_existing.text
    assert "allerede en konto" in to_existing.text  # in the account holder's own language
    assert "/invitation/" in to_new.text
    link = db.session.scalar(sa.select(SignInLink).where(SignInLink.email == "lege@sykehus.test"))
    assert link is not None and link.purpose == LinkPurpose.INVITATION
    assert db.session.scalar(sa.select(sa.func.count(User.id)).where(User.email == "lege@sykehus.test")) == 1


@pytest.mark.parametrize("actor, body, status", [
    ("contact", {"email": "x@kommune.test", "organisation": "hospital"}, 403),   # another organisation
    ("contact", {"email": "x@kommune.test", "organisation": "municipality", "role": "staff"}, 403),
    ("contact", {"email": "x@kommune.test", "organisation": "municipality", "role": "admin"}, 403),
    ("member", {"email": "x@kommune.test", "organisation": "municipality"}, 403),  # not a contact
    ("staff", {"email": "x@kommune.test", "organisation": "municipality", "role": "staff"}, 403),
    ("admin", {"email": "x@sykehus.test", "organisation": "hospital", "role": "staff"}, 422),  # staff: host only
    ("admin", {"email": "not an address", "organisation": "hospital"}, 422),
    ("admin", {"email": "x@sykehus.test", "organisation_id": 999999}, 422),
    ("admin", {"email": "x@sykehus.test", "organisation": "hospital", "role": "boss"}, 422),
    ("admin", {"email": "member@kommune.test", "organisation": "municipality"}, 409),  # has an account
], ids=["other org", "contact grants staff", "contact grants admin", "plain member", "staff grants staff",
        "staff outside host", "bad email", "no such org", "bad role", "existing account"])
def test_api_invitation_refusals(client, world, actor, body, status):
    body = dict(body)
    if "organisation" in body:
        body["organisation_id"] = world[body.pop("organisation")].id
    response = invite_via_api(client, world[actor], **body)
    assert response.status_code == status, response.get_json()
    assert set(response.get_json()["error"]) == {"code", "message", "details"}
    assert outbox() == [] and db.session.scalar(sa.select(sa.func.count(SignInLink.id))) == 0


def test_api_invitation_needs_a_json_object(client, world):
    response = client.post("/api/v1/invitations", data="[]", headers={**api_headers(world["admin"]),
                                                                        "Content-Type": "application/json"})
    assert response.status_code == 400
    assert client.post("/api/v1/invitations", json={}).status_code == 401


def test_members_page_invitation_errors_stay_on_the_page(client, auth, world):
    auth.as_user(world["contact"])
    response = client.post("/organisation/members/invite", data={
        "email": "member@kommune.test", "organisation_id": world["municipality"].id, "role": "member"})
    assert response.status_code == 409 and "already has an account" in response.get_data(as_text=True)
    response = client.post("/organisation/members/invite", data={
        "email": "x@sykehus.test", "organisation_id": world["hospital"].id, "role": "member"})
    assert response.status_code == 403
    assert client.post("/organisation/members/invite", data={"email": "x@y.test",
                                                             "organisation_id": "999999"}).status_code == 404
    assert outbox() == []


# --- password reset ------------------------------------------------------------------------------

def test_reset_for_an_unknown_address_answers_exactly_as_for_a_known_one(client, world):
    known = client.post("/password/forgot", data={"email": "member@kommune.test"})
    unknown = client.post("/password/forgot", data={"email": "nobody@kommune.test"})
    assert known.status_code == unknown.status_code == 200
    assert known.get_data() == unknown.get_data()
    assert known.headers.get("Set-Cookie") is None or "session" in known.headers.get("Set-Cookie", "")
    [mail] = outbox("security.password_reset")
    assert mail.to_address == "member@kommune.test"


@BOTH
def test_reset_link_sets_a_new_password_once_and_ends_other_sessions(client, auth, world):
    other = client.application.test_client()
    other.post("/login", data={"email": "member@kommune.test", "password": PASSWORD})
    assert other.get("/api/v1/me").status_code == 200
    client.post("/password/forgot", data={"email": "MEMBER@kommune.test"})
    path = link_path(outbox("security.password_reset")[0])
    assert client.get(path).status_code == 200
    mismatch = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 400
    response = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert other.get("/api/v1/me").status_code == 401
    assert auth.login("member@kommune.test", PASSWORD).status_code == 400
    assert auth.login("member@kommune.test", NEW_PASSWORD).status_code == 302
    assert client.post(path, data={"password": "another long password", "confirm": "another long password"}
                       ).status_code == 404  # used
    assert db.session.scalar(sa.select(AuditEntry.id).where(AuditEntry.action == "user.password_reset"))


def test_reset_link_expires_and_deactivated_or_sso_only_accounts_get_no_link(client, world):
    client.post("/password/forgot", data={"email": "member@kommune.test"})
    link = db.session.scalar(sa.select(SignInLink).where(SignInLink.purpose == LinkPurpose.PASSWORD_RESET))
    assert timedelta(hours=1, minutes=59) < link.expires_at - utcnow() <= timedelta(hours=2)
    link.expires_at = utcnow() - timedelta(seconds=1)
    world["staff"].active = False
    sso_only = make_user(world["hospital"], email="sso@sykehus.test", locale="en")
    sso_only.password_hash = None
    db.session.commit()
    assert client.get(link_path(outbox()[0])).status_code == 404
    client.post("/password/forgot", data={"email": "staff@helseinn.test"})
    client.post("/password/forgot", data={"email": "sso@sykehus.test"})
    mails = outbox("security.password_reset")
    assert [m.to_address for m in mails] == ["member@kommune.test", "sso@sykehus.test"]
    assert "/password/reset/" not in mails[1].text and "no password" in mails[1].text


def test_reset_request_with_a_malformed_address_answers_the_same(client, world):
    known = client.post("/password/forgot", data={"email": "member@kommune.test"})
    malformed = client.post("/password/forgot", data={"email": "not an address"})
    assert malformed.status_code == 200 and malformed.get_data() == known.get_data()
    assert client.post("/password/forgot", data={"email": ""}).status_code == 400


def test_reset_timing_does_not_tell_known_from_unknown(app, client, world):
    app.config["SAMSKAP_RESET_MIN_MS"] = 300
    timings = {"member@kommune.test": [], "nobody@kommune.test": []}
    for _ in range(5):
        for address, seen in timings.items():
            started = time.perf_counter()
            client.post("/password/forgot", data={"email": address})
            seen.append(time.perf_counter() - started)
    known, unknown = (statistics.median(v) for v in timings.values())
    assert min(known, unknown) >= 0.3
    assert abs(known - unknown) < 0.05, (known, unknown)


@pytest.mark.ratelimit
def test_reset_requests_are_limited_per_address_and_per_client(app, client, world):
    app.config.update(SAMSKAP_RESET_LIMIT_ADDRESS="2 per hour", SAMSKAP_RESET_LIMIT_CLIENT="3 per hour")
    forgot = lambda c, email, addr="127.0.0.1": c.post(  # noqa: E731
        "/password/forgot", data={"email": email}, environ_base={"REMOTE_ADDR": addr}).status_code
    assert [forgot(client, "member@kommune.test"), forgot(client, "member@kommune.test")] == [200, 200]
    assert forgot(client, "x0@kommune.test") == 200
    assert forgot(client, "x1@kommune.test") == 429                    # this client: 3 per hour
    elsewhere = client.application.test_client()
    elsewhere.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert forgot(elsewhere, "member@kommune.test", "10.9.8.7") == 429  # this address: 2 per hour
    response = elsewhere.post("/password/forgot", data={"email": "MEMBER@kommune.test"},
                              environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert "Too many" in response.get_data(as_text=True)
    assert forgot(elsewhere, "x9@kommune.test", "10.9.8.7") == 200
    assert len(outbox("security.password_reset")) == 2


# --- real delivery --------------------------------------------------------------------------------

def _deliver(app):
    worker = new_worker_id()
    for _ in range(5):
        handled, _reachable = deliver_batch(app, worker)
        if not handled:
            break


def test_invitation_and_reset_arrive_over_smtp_and_their_links_work(app, client, auth, world, smtp):
    app.config.update(smtp.config())
    invite_via_api(client, world["contact"], email="smtp.person@kommune.test", organisation_id=world["municipality"].id)
    client.post("/password/forgot", data={"email": "member@kommune.test"})
    _deliver(app)
    received = {r.rcpt_tos[0]: r.message for r in smtp.wait_for(2)}
    invitation = received["smtp.person@kommune.test"].get_body(("plain",)).get_content()
    reset = received["member@kommune.test"].get_body(("plain",)).get_content()
    path = LINK.search(invitation).group(1)
    assert client.post(path, data={"name": "Smtp Person", "password": NEW_PASSWORD,
                                   "confirm": NEW_PASSWORD}).status_code == 302
    client.post("/logout")
    path = LINK.search(reset).group(1)
    assert client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert auth.login("member@kommune.test", NEW_PASSWORD).status_code == 302


@BOTH
def test_worker_cuts_the_link_out_of_delivered_mail_and_deletes_old_links(app, client, world, smtp):
    from accounts.signin.jobs import tidy_sign_in_links

    app.config.update(smtp.config())
    client.post("/password/forgot", data={"email": "member@kommune.test"})
    invite_via_api(client, world["admin"], email="queued@kommune.test", organisation_id=world["municipality"].id)
    reset_mail, invitation_mail = outbox()
    _deliver(app)
    smtp.wait_for(2)
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == invitation_mail.id)
                       .values(status="queued"))  # as if not delivered yet
    old = SignInLink(purpose=LinkPurpose.INVITATION, token_hash="0" * 64, email="old@kommune.test",
                     organisation_id=world["municipality"].id, role=Role.MEMBER, expires_at=utcnow() - timedelta(days=31))
    db.session.add(old)
    db.session.commit()
    tidy_sign_in_links(utcnow())
    db.session.commit()
    db.session.expire_all()
    assert "/password/reset/" not in db.session.get(OutboxMessage, reset_mail.id).text
    assert "[link removed after delivery]" in db.session.get(OutboxMessage, reset_mail.id).text
    assert "/invitation/" in db.session.get(OutboxMessage, invitation_mail.id).text  # not sent: kept
    assert db.session.scalar(sa.select(sa.func.count(SignInLink.id)).where(SignInLink.email == "old@kommune.test")) == 0
    assert db.session.scalar(sa.select(sa.func.count(SignInLink.id))) == 2


@pytest.mark.ratelimit
def test_invitations_per_person_are_limited_across_page_and_api(app, client, auth, world):
    app.config["SAMSKAP_INVITE_LIMIT"] = "2 per day"
    api = app.test_client()  # without the page's session cookie
    assert invite_via_api(api, world["contact"], email="a1@kommune.test",
                          organisation_id=world["municipality"].id).status_code == 201
    auth.as_user(world["contact"])
    assert client.post("/organisation/members/invite", data={
        "email": "a2@kommune.test", "organisation_id": world["municipality"].id}).status_code == 302
    response = invite_via_api(api, world["contact"], email="a3@kommune.test",
                              organisation_id=world["municipality"].id)
    assert response.status_code == 429 and response.get_json()["error"]["code"] == "rate_limited"
    assert client.post("/organisation/members/invite", data={
        "email": "a4@kommune.test", "organisation_id": world["municipality"].id}).status_code == 429
    assert invite_via_api(api, world["admin"], email="a5@kommune.test",
                          organisation_id=world["municipality"].id).status_code == 201  # someone else
    assert len(outbox("security.invitation")) == 3
