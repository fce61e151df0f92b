"""Audit completeness (issue 7): every create, change, approval, rejection, cancellation,
check-out, check-in, role change, API token and feed token creation and revocation, done
through the real pages and API, leaves an audit entry naming the actor, the object, the
time and, where a value changed, the old and the new value."""
from __future__ import annotations

from datetime import date, timedelta

import re
import sqlalchemy as sa

from accounts.models import ApiToken
from booking.models import Feed
from samskap.audit import AuditEntry
from samskap.extensions import db
from samskap.timeutil import utcnow
from tests.conftest import BOTH
from tests.factories import api_headers, make_booking, make_equipment_type, make_org, make_space, make_user


def _iso(days: int, hour: int) -> str:
    return f"{(date.today() + timedelta(days=days)).isoformat()}T{hour:02d}:00:00+01:00"


def entries(action: str, object_type: str, object_id: int) -> list[AuditEntry]:
    return db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == action, AuditEntry.object_type == object_type, AuditEntry.object_id == object_id)
        .order_by(AuditEntry.id)).all()


def the_entry(action: str, object_type: str, object_id: int, actor) -> AuditEntry:
    found = entries(action, object_type, object_id)
    assert len(found) == 1, f"expected one {action} entry for {object_type} {object_id}, found {len(found)}"
    entry = found[0]
    assert entry.actor_id == actor.id, f"{action}: actor {entry.actor_id}, expected {actor.id}"
    assert entry.at is not None and abs((utcnow() - entry.at).total_seconds()) < 300
    return entry


def _api(client, user, method, path, **kwargs):
    return client.open(path, method=method, headers=api_headers(user), **kwargs)


# --- bookings ------------------------------------------------------------------------------------

@BOTH
def test_booking_create_change_cancel_are_audited_with_old_and_new_values(client, backend):
    member = make_user(locale="en")
    space = make_space()
    created = _api(client, member, "POST", "/api/v1/bookings", json={
        "space_id": space.id, "title": "Pilot planning", "start": _iso(5, 9), "end": _iso(5, 10)})
    assert created.status_code == 201
    booking_id = created.json["id"]
    entry = the_entry("booking.create", "bookings", booking_id, member)
    assert entry.changes == {
        "title": [None, "Pilot planning"], "description": [None, ""], "purpose": [None, "meeting"],
        "visibility": [None, "private"], "attendees": [None, 1], "space_id": [None, space.id],
        "start": [None, created.json["start"].replace("Z", "+00:00")],
        "end": [None, created.json["end"].replace("Z", "+00:00")], "status": [None, "confirmed"]}
    assert entry.summary == "Pilot planning (confirmed)"

    assert _api(client, member, "PATCH", f"/api/v1/bookings/{booking_id}",
                json={"title": "Pilot kickoff", "attendees": 4}).status_code == 200
    entry = the_entry("booking.update", "bookings", booking_id, member)
    assert entry.changes["title"] == ["Pilot planning", "Pilot kickoff"]
    assert entry.changes["attendees"] == [1, 4]

    assert _api(client, member, "POST", f"/api/v1/bookings/{booking_id}/cancel",
                json={"reason": "Postponed"}).status_code == 200
    entry = the_entry("booking.cancel", "bookings", booking_id, member)
    assert entry.changes["status"] == ["confirmed", "cancelled"]
    assert entry.summary == "Postponed"


def test_booking_approval_and_rejection_are_audited_with_the_status_change(client):
    member = make_user(locale="en")
    staff = make_user(role="staff", locale="en")
    space = make_space(requires_approval=True)
    approved = make_booking(space, member, status="pending")
    rejected = make_booking(space, member, status="pending", start=approved.start + timedelta(hours=3))
    assert _api(client, staff, "POST", f"/api/v1/bookings/{approved.id}/approve").status_code == 200
    assert the_entry("booking.approve", "bookings", approved.id, staff).changes == {
        "status": ["pending", "confirmed"]}
    assert _api(client, staff, "POST", f"/api/v1/bookings/{rejected.id}/reject",
                json={"reason": "Lab is being cleaned"}).status_code == 200
    entry = the_entry("booking.reject", "bookings", rejected.id, staff)
    assert entry.changes == {"status": ["pending", "rejected"]}
    assert entry.summary == "Lab is being cleaned"


def test_booking_pages_record_the_same_entries(client, auth):
    member = auth.as_user(make_user(locale="en"))
    booking = make_booking(make_space(), member, title="Before")
    response = client.post(f"/bookings/{booking.id}/cancel", data={"reason": "Ill"})
    assert response.status_code == 303
    assert the_entry("booking.cancel", "bookings", booking.id, member).changes["status"] == [
        "confirmed", "cancelled"]


# --- equipment -----------------------------------------------------------------------------------

def test_reservation_create_approve_check_out_check_in_are_audited(client):
    member = make_user(locale="en")
    staff = make_user(role="staff", locale="en")
    etype = make_equipment_type(units=2, requires_approval=True)
    created = _api(client, member, "POST", "/api/v1/equipment-reservations", json={
        "equipment_id": etype.id, "quantity": 1, "start": _iso(1, 9), "end": _iso(3, 9)})
    assert created.status_code == 201
    rid = created.json["id"]
    entry = the_entry("equipment_reservation.create", "equipment_reservations", rid, member)
    assert entry.changes["status"] == [None, "pending"] and entry.changes["quantity"] == [None, 1]

    assert _api(client, staff, "POST", f"/api/v1/equipment-reservations/{rid}/approve").status_code == 200
    assert the_entry("equipment_reservation.approve", "equipment_reservations", rid, staff).changes[
        "status"] == ["pending", "confirmed"]

    assert _api(client, staff, "POST", f"/api/v1/equipment-reservations/{rid}/checkout",
                json={"note": "All parts present"}).status_code == 200
    entry = the_entry("equipment_reservation.check_out", "equipment_reservations", rid, staff)
    assert entry.changes["status"] == ["confirmed", "checked_out"]
    assert entry.changes["checked_out_at"][0] is None and entry.changes["checked_out_at"][1]
    assert "All parts present" in entry.summary

    assert _api(client, staff, "POST", f"/api/v1/equipment-reservations/{rid}/checkin",
                json={"note": "Scratched"}).status_code == 200
    entry = the_entry("equipment_reservation.check_in", "equipment_reservations", rid, staff)
    assert entry.changes["status"] == ["checked_out", "returned"]
    assert entry.changes["returned_at"][0] is None and entry.changes["returned_at"][1]


def test_reservation_rejection_and_cancellation_are_audited(client):
    member = make_user(locale="en")
    staff = make_user(role="staff", locale="en")
    etype = make_equipment_type(units=2, requires_approval=True)
    ids = [_api(client, member, "POST", "/api/v1/equipment-reservations", json={
        "equipment_id": etype.id, "quantity": 1, "start": _iso(1, 9), "end": _iso(2, 9)}).json["id"]
        for _ in range(2)]
    assert _api(client, staff, "POST", f"/api/v1/equipment-reservations/{ids[0]}/reject",
                json={"reason": "Needed for a repair"}).status_code == 200
    entry = the_entry("equipment_reservation.reject", "equipment_reservations", ids[0], staff)
    assert entry.changes["status"] == ["pending", "rejected"]
    assert entry.changes["decision_reason"] == ["", "Needed for a repair"]
    assert _api(client, member, "POST", f"/api/v1/equipment-reservations/{ids[1]}/cancel",
                json={"reason": "Plans changed"}).status_code == 200
    entry = the_entry("equipment_reservation.cancel", "equipment_reservations", ids[1], member)
    assert entry.changes["status"] == ["pending", "cancelled"]


# --- people, roles, tokens -----------------------------------------------------------------------

def _user_form(user, **changes):
    data = {"email": user.email, "name": user.name, "organisation_id": user.organisation_id, "role": user.role.value,
            "locale": user.locale, "active": "y"}
    if user.is_org_contact:
        data["is_org_contact"] = "y"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_role_changes_are_audited_with_old_and_new_role(client, auth):
    admin = auth.as_user(make_user(role="admin", locale="en"))
    user = make_user(locale="en")
    assert client.post(f"/admin/users/{user.id}/edit", data=_user_form(user, role="staff")).status_code == 302
    assert the_entry("user.role_change", "users", user.id, admin).changes == {"role": ["member", "staff"]}
    assert client.post(f"/admin/users/{user.id}/edit",
                       data=_user_form(user, role="staff", is_org_contact="y")).status_code == 302
    found = entries("user.role_change", "users", user.id)
    assert found[-1].changes == {"is_org_contact": [False, True]}


def test_user_and_organisation_creation_and_changes_are_audited(client, auth):
    admin = auth.as_user(make_user(role="admin", locale="en"))
    org = make_org("company", name="Old Name AS")
    assert client.post(f"/admin/organisations/{org.id}/edit",
                       data={"name": "New Name AS", "kind": "company", "active": "y"}).status_code == 302
    assert the_entry("organisation.update", "organisations", org.id, admin).changes["name"] == [
        "Old Name AS", "New Name AS"]
    assert client.post("/admin/users/new", data={
        "email": "new@example.test", "name": "New Person", "organisation_id": org.id, "role": "member",
        "locale": "en", "active": "y", "password": "a long enough password"}).status_code == 302
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.create"))
    assert entry.actor_id == admin.id and entry.changes["role"] == [None, "member"]
    assert "password" not in str(entry.changes)


def test_api_token_creation_and_revocation_are_audited(client, auth):
    user = auth.as_user(make_user(locale="en"))
    assert client.post("/profile/tokens", data={"name": "CI export"}).status_code == 201
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    entry = the_entry("api_token.create", "api_tokens", token.id, user)
    assert entry.changes["name"] == [None, "CI export"]
    assert client.post(f"/profile/tokens/{token.id}/revoke").status_code == 302
    entry = the_entry("api_token.revoke", "api_tokens", token.id, user)
    assert entry.changes["revoked_at"][0] is None and entry.changes["revoked_at"][1]


def test_feed_token_creation_and_revocation_are_audited(client):
    user = make_user(locale="en")
    space = make_space()
    created = _api(client, user, "POST", "/api/v1/feeds", json={"scope": "space", "space_id": space.id})
    assert created.status_code == 201
    feed_id = created.json["feed"]["id"]
    entry = the_entry("feed.create", "feeds", feed_id, user)
    assert entry.changes["scope"] == [None, "space"] and entry.changes["space_id"] == [None, space.id]
    assert "token" not in str(entry.changes).lower()  # the secret never reaches the log
    assert _api(client, user, "DELETE", f"/api/v1/feeds/{feed_id}").status_code == 204
    entry = the_entry("feed.revoke", "feeds", feed_id, user)
    assert entry.changes["revoked_at"][0] is None and entry.changes["revoked_at"][1]
    assert db.session.get(Feed, feed_id).revoked_at is not None


def test_anonymising_a_user_removes_their_personal_data_from_the_audit_log(client, auth):
    admin = auth.as_user(make_user(role="admin", locale="en"))
    assert client.post("/admin/users/new", data={
        "email": "per.avgang@example.test", "name": "Per Avgang", "organisation_id": admin.organisation_id,
        "role": "member", "locale": "en", "active": "y", "password": "a long enough password"}).status_code == 302
    from accounts.models import User
    from accounts import services

    leaver = db.session.scalar(sa.select(User).where(User.email == "per.avgang@example.test"))
    services.create_api_token(admin, leaver, "leaver's")
    db.session.commit()
    assert client.post(f"/admin/users/{leaver.id}/anonymise").status_code == 302
    log = " ".join(f"{e.changes} {e.summary}" for e in db.session.scalars(sa.select(AuditEntry)))
    assert "per.avgang" not in log and "Per Avgang" not in log
    assert the_entry("user.anonymise", "users", leaver.id, admin)
    client.get("/")  # shows (and clears) the flashed messages of the requests above
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "per.avgang" not in page and "Per Avgang" not in page


def test_the_audit_log_pages_through_older_entries_keeping_its_filters(client, auth):
    from samskap import audit

    admin = auth.as_user(make_user(role="admin"))
    for n in range(55):
        audit.record(admin, "probe.page", object_type="probe", summary=f"entry {n}")
    db.session.commit()
    first = client.get("/admin/audit?action=probe.page")
    assert first.status_code == 200
    assert "page=2" in first.get_data(as_text=True)
    second = client.get("/admin/audit?action=probe.page&page=2")
    assert second.status_code == 200
    page = second.get_data(as_text=True)
    assert re.search(r">[^<]*entry 4\b[^<]*<", page) and not re.search(r"entry 54\b", page)
    assert "action=probe.page" in page and "page=1" in page
