"""An organisation contact sees who belongs to their organisation (issue 7); staff and
administrators see any organisation's members; plain members do not."""
from accounts import services
from samskap.extensions import db
from tests.factories import make_org, make_user


def _people(org):
    contact = make_user(org, name="Kari Kontakt", email="kari@kommune.test", is_org_contact=True, locale="en")
    member = make_user(org, name="Ola Medlem", email="ola@kommune.test", locale="en")
    return contact, member


def test_contact_sees_their_organisations_members_with_email_and_role(client, auth):
    org = make_org("municipality", name="Kommune A")
    contact, member = _people(org)
    make_user(make_org("hospital", name="Sykehus B"), name="Per Utenfor", email="per@sykehus.test")
    auth.as_user(contact)
    response = client.get("/organisation/members")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Members of Kommune A" in page
    assert "Ola Medlem" in page and "ola@kommune.test" in page
    assert "Kari Kontakt" in page and "organisation contact" in page
    assert "Per Utenfor" not in page
    assert 'href="/organisation/members"' in page  # in the main menu for contacts


def test_plain_member_may_not_see_the_member_list_nor_its_menu_entry(client, auth):
    _contact, member = _people(make_org("municipality"))
    auth.as_user(member)
    assert client.get("/organisation/members").status_code == 403
    assert 'href="/organisation/members"' not in client.get("/").get_data(as_text=True)


def test_contact_asking_for_another_organisation_gets_not_found(client, auth):
    contact, _member = _people(make_org("municipality"))
    other = make_org("hospital")
    auth.as_user(contact)
    assert client.get(f"/organisation/members?organisation={other.id}").status_code == 404
    assert client.get(f"/organisation/members?organisation={contact.organisation_id}").status_code == 200
    assert client.get("/organisation/members?organisation=abc").status_code == 400


def test_staff_choose_any_organisation_and_anonymised_users_are_left_out(client, auth):
    org = make_org("municipality", name="Kommune C")
    _contact, member = _people(org)
    admin = make_user(role="admin")
    leaver = make_user(org, name="Gone Person")
    services.anonymise_user(admin, leaver)
    db.session.commit()
    auth.as_user(make_user(role="staff", locale="en"))
    page = client.get(f"/organisation/members?organisation={org.id}").get_data(as_text=True)
    assert "Ola Medlem" in page and "Members of Kommune C" in page
    assert "Anonymised user" not in page and "Gone Person" not in page
    assert f'<option value="{org.id}" selected>' in page


def test_the_service_refuses_a_plain_member(app):
    import pytest

    from samskap.errors import PermissionDenied

    _contact, member = _people(make_org("company"))
    with pytest.raises(PermissionDenied):
        services.organisation_members(member, member.organisation)
    assert [u.name for u in services.organisation_members(_contact, member.organisation)] == [
        "Kari Kontakt", "Ola Medlem"]
