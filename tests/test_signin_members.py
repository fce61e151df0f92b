"""Organisation contacts manage their own organisation's members on the members page:
deactivate, reactivate, make another member a contact. Never another organisation's people,
never staff or administrators, never themselves."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from accounts.models import User
from samskap.audit import AuditEntry
from samskap.extensions import db
from tests.conftest import BOTH
from tests.factories import PASSWORD, make_org, make_user


@pytest.fixture
def world(app):
    municipality = make_org("municipality", name="Gjøvik kommune")
    host = make_org("host", name="Helseinn")
    other = make_org("hospital", name="Sykehuset")
    return {
        "contact": make_user(municipality, email="contact@kommune.test", is_org_contact=True, locale="en"),
        "member": make_user(municipality, email="member@kommune.test", name="Mari Medlem", locale="en"),
        "colleague": make_user(municipality, email="colleague@kommune.test", locale="en"),
        "outsider": make_user(other, email="outsider@sykehus.test", locale="en"),
        "host_contact": make_user(host, email="contact@helseinn.test", is_org_contact=True, locale="en"),
        "staff": make_user(host, role="staff", email="staff@helseinn.test", locale="en"),
        "admin": make_user(host, role="admin", email="admin@helseinn.test", locale="en"),
    }


def post(client, user_id, action):
    return client.post(f"/organisation/members/{user_id}/{action}")


def reload(user):
    db.session.expire_all()
    return db.session.get(User, user.id)


@BOTH
def test_contact_deactivates_a_member_who_is_signed_out_everywhere(client, auth, world):
    member_client = client.application.test_client()
    assert member_client.post("/login", data={"email": "member@kommune.test", "password": PASSWORD}).status_code == 302
    assert member_client.get("/api/v1/me").status_code == 200
    auth.as_user(world["contact"])
    response = post(client, world["member"].id, "deactivate")
    assert response.status_code == 302 and response.headers["Location"] == "/organisation/members"
    assert reload(world["member"]).active is False
    assert member_client.get("/api/v1/me").status_code == 401  # the member's session ended
    assert member_client.post("/login", data={"email": "member@kommune.test", "password": PASSWORD}).status_code == 400
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.deactivate"))
    assert entry.actor_id == world["contact"].id and entry.changes["active"] == [True, False]
    assert post(client, world["member"].id, "reactivate").status_code == 302
    assert reload(world["member"]).active is True


def test_contact_makes_another_member_a_contact_who_then_sees_the_members(client, auth, world):
    auth.as_user(world["contact"])
    assert post(client, world["colleague"].id, "make-contact").status_code == 302
    assert reload(world["colleague"]).is_org_contact is True
    auth.as_user(reload(world["colleague"]))
    assert client.get("/organisation/members").status_code == 200
    assert post(client, world["contact"].id, "remove-contact").status_code == 302
    assert reload(world["contact"]).is_org_contact is False


def test_members_page_offers_the_actions_to_a_contact(client, auth, world):
    auth.as_user(world["contact"])
    page = client.get("/organisation/members").get_data(as_text=True)
    assert f'/organisation/members/{world["member"].id}/deactivate' in page
    assert f'/organisation/members/{world["member"].id}/make-contact' in page
    assert f'/organisation/members/{world["contact"].id}/deactivate' not in page  # never yourself


def test_contact_cannot_reach_another_organisations_member(client, auth, world):
    auth.as_user(world["contact"])
    for action in ("deactivate", "make-contact", "reactivate", "remove-contact"):
        assert post(client, world["outsider"].id, action).status_code == 404
    assert reload(world["outsider"]).active is True and reload(world["outsider"]).is_org_contact is False


def test_contact_cannot_touch_staff_or_administrators_even_in_their_own_organisation(client, auth, world):
    auth.as_user(world["host_contact"])
    assert post(client, world["staff"].id, "deactivate").status_code == 403
    assert post(client, world["admin"].id, "deactivate").status_code == 403
    assert post(client, world["staff"].id, "make-contact").status_code == 403
    assert reload(world["staff"]).active and reload(world["admin"]).active


def test_nobody_changes_themself_and_plain_members_nothing(client, auth, world):
    auth.as_user(world["contact"])
    assert post(client, world["contact"].id, "deactivate").status_code == 403
    auth.as_user(world["member"])
    assert post(client, world["colleague"].id, "deactivate").status_code == 403
    assert post(client, world["colleague"].id, "make-contact").status_code == 403
    assert reload(world["colleague"]).active and not reload(world["colleague"]).is_org_contact


def test_staff_manage_any_organisations_members_but_not_staff_admin_can(client, auth, world):
    auth.as_user(world["staff"])
    response = post(client, world["outsider"].id, "deactivate")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/organisation/members?organisation={world['outsider'].organisation_id}"
    assert post(client, world["admin"].id, "deactivate").status_code == 403
    auth.as_user(world["admin"])
    assert post(client, world["staff"].id, "deactivate").status_code == 302


def test_deactivated_member_cannot_be_made_contact(client, auth, world):
    auth.as_user(world["contact"])
    post(client, world["member"].id, "deactivate")
    assert post(client, world["member"].id, "make-contact").status_code == 422
    assert reload(world["member"]).is_org_contact is False


def test_anonymous_and_unknown_ids(client, auth, world):
    assert post(client, world["member"].id, "deactivate").status_code == 302  # to the sign-in page
    assert reload(world["member"]).active
    auth.as_user(world["contact"])
    assert post(client, 999999, "deactivate").status_code == 404
    assert post(client, world["member"].id, "promote").status_code == 404


@pytest.mark.csrf
def test_member_actions_need_the_csrf_token(client, auth, world):
    auth.as_user(world["contact"])
    assert post(client, world["member"].id, "deactivate").status_code == 400
    assert reload(world["member"]).active
