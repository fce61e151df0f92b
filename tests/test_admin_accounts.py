"""Administrators manage organisations and users; bad input is refused with a message."""
import pytest
import sqlalchemy as sa

from accounts.models import Organisation, Role, User
from accounts.services import orgnr_is_valid
from samskap.extensions import db
from tests.factories import make_org, make_user


@pytest.fixture
def admin(auth):
    return auth.as_user(make_user(role="admin"))


@pytest.mark.parametrize("number,valid", [
    ("974760673", True), ("944210008", True), ("983650015", True),
    ("974760674", False), ("97476067", False), ("97476067a", False), ("", False),
])
def test_organisation_number_check_digit(number, valid):
    assert orgnr_is_valid(number) is valid


def test_admin_creates_organisation(client, admin):
    response = client.post("/admin/organisations/new", data={"name": "Vestre Toten kommune", "kind": "municipality",
                                                             "number": "974 760 673", "active": "y"})
    assert response.status_code == 302
    org = db.session.scalar(sa.select(Organisation).where(Organisation.name == "Vestre Toten kommune"))
    assert org.number == "974760673"
    assert "Vestre Toten kommune" in client.get("/admin/organisations").get_data(as_text=True)


@pytest.mark.parametrize("data,field_text", [
    ({"name": "Org", "kind": "municipality", "number": "974760674"}, "ikke et gyldig organisasjonsnummer"),
    ({"name": "Org", "kind": "spaceagency"}, "Not a valid choice"),
    ({"name": "x" * 201, "kind": "company"}, "201"),
    ({"name": "", "kind": "company"}, "Skriv inn et navn"),
])
def test_organisation_form_rejects_bad_input(client, admin, data, field_text):
    before = db.session.scalar(sa.select(sa.func.count(Organisation.id)))
    response = client.post("/admin/organisations/new", data=data)
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(Organisation.id))) == before


def test_admin_creates_user_and_duplicate_email_in_any_case_is_refused(client, admin):
    org = make_org(kind="hospital")
    data = {"email": "Henrik@Sykehus.test", "name": "Henrik", "organisation_id": org.id, "role": "member",
            "locale": "nb", "active": "y", "password": "long enough pw"}
    assert client.post("/admin/users/new", data=data).status_code == 302
    again = client.post("/admin/users/new", data={**data, "email": "HENRIK@sykehus.TEST"})
    assert again.status_code == 400
    assert "finnes allerede" in again.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(User.id)).where(User.email == "henrik@sykehus.test")) == 1


@pytest.mark.parametrize("change", [
    {"email": "not-an-email"}, {"password": ""}, {"name": "y" * 201}, {"organisation_id": 99999},
    {"role": "emperor"},
])
def test_user_form_rejects_bad_input(client, admin, change):
    org = make_org()
    data = {"email": "new@example.test", "name": "New", "organisation_id": org.id, "role": "member",
            "locale": "nb", "active": "y", "password": "long enough pw", **change}
    response = client.post("/admin/users/new", data=data)
    assert response.status_code == 400
    assert db.session.scalar(sa.select(User).where(User.email == "new@example.test")) is None


def test_admin_changes_role_and_deactivates_user(client, admin):
    user = make_user(email="m@example.test")
    data = {"email": "m@example.test", "name": user.name, "organisation_id": user.organisation_id,
            "role": "staff", "locale": "nb"}  # active unchecked
    assert client.post(f"/admin/users/{user.id}/edit", data=data).status_code == 302
    db.session.refresh(user)
    assert user.role == Role.STAFF and not user.active
    from samskap.audit import AuditEntry
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.role_change"))
    assert entry.changes["role"] == ["member", "staff"] and entry.actor_id == admin.id


def test_admin_cannot_demote_themself(client, admin):
    data = {"email": admin.email, "name": admin.name, "organisation_id": admin.organisation_id,
            "role": "member", "locale": "nb", "active": "y"}
    assert client.post(f"/admin/users/{admin.id}/edit", data=data).status_code == 400
    db.session.refresh(admin)
    assert admin.role == Role.ADMIN


@pytest.mark.parametrize("role", ["member", "staff"])
@pytest.mark.parametrize("path,post_status", [
    ("/admin/", 405), ("/admin/organisations", 405), ("/admin/users", 405),  # lists: no POST for anyone
    ("/admin/organisations/new", 403), ("/admin/users/new", 403),  # forms: refused to non-admins
])
def test_non_admins_get_403_on_admin_pages(client, auth, role, path, post_status):
    auth.as_user(make_user(role=role))
    assert client.get(path).status_code == 403
    assert client.post(path).status_code == post_status


def test_anonymous_is_sent_to_sign_in_from_admin_pages(client):
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


def test_unknown_objects_give_404(client, admin):
    assert client.get("/admin/users/999/edit").status_code == 404
    assert client.get("/admin/organisations/999/edit").status_code == 404
