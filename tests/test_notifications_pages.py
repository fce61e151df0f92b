"""Email preferences on the profile page, the organisation's shared contact address, and the
administrators' outbox page with its retry button."""
from __future__ import annotations

import sqlalchemy as sa

from accounts.models import Organisation, Role
from samskap.audit import AuditEntry
from samskap.extensions import db
from samskap.mail import OutboxMessage, OutboxStatus, enqueue_mail
from tests.factories import make_org, make_user


def test_a_member_chooses_reminders_but_cannot_choose_the_staff_digest(client, auth):
    user = auth.as_user(make_user())
    page = client.get("/profile")
    assert b'name="notify_reminders"' in page.data and b'name="approval_digest"' not in page.data
    response = client.post("/profile/notifications", data={"reminder_hours": "6", "approval_digest": "y"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.notify_reminders, user.reminder_hours, user.approval_digest) == (False, 6, False)
    assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.object_id == user.id,
                                                                AuditEntry.action == "user.notifications"))


def test_bad_reminder_hours_are_refused_with_a_message(client, auth):
    user = auth.as_user(make_user(locale="en"))
    for value in ("0", "-3", "abc", "9999", "²"):
        response = client.post("/profile/notifications", data={"notify_reminders": "y", "reminder_hours": value})
        assert response.status_code == 400, value
        assert b"whole number of hours" in response.data
    db.session.refresh(user)
    assert user.reminder_hours is None


def test_staff_choose_the_daily_digest(client, auth):
    staff = auth.as_user(make_user(role=Role.STAFF))
    assert b'name="approval_digest"' in client.get("/profile").data
    client.post("/profile/notifications", data={"notify_reminders": "y", "approval_digest": "y"})
    db.session.refresh(staff)
    assert staff.approval_digest and staff.notify_reminders


def test_the_administrator_sets_an_organisations_shared_contact_address(client, auth):
    auth.as_user(make_user(role=Role.ADMIN))
    org = make_org("municipality", name="Østre Toten kommune")
    form = {"name": org.name, "kind": "municipality", "active": "y", "members_share_bookings": "y"}
    bad = client.post(f"/admin/organisations/{org.id}/edit", data={**form, "contact_email": "post@@x"})
    assert bad.status_code == 400
    good = client.post(f"/admin/organisations/{org.id}/edit", data={**form, "contact_email": "Post@Toten.Example"})
    assert good.status_code == 302
    assert db.session.get(Organisation, org.id).contact_email == "post@toten.example"


def test_the_outbox_page_shows_failures_and_retries_them(client, auth):
    admin = auth.as_user(make_user(role=Role.ADMIN, locale="en"))
    failed = enqueue_mail(to="gone@example.no", subject="Bekreftet <b>", text="Hei\nbody", kind="booking.confirmed")
    sent = enqueue_mail(to="ok@example.no", subject="Fine", text="t", kind="booking.confirmed")
    db.session.flush()
    failed.status, failed.attempts, failed.last_error = OutboxStatus.FAILED, 10, "550 5.1.1 no such user"
    sent.status = OutboxStatus.SENT
    db.session.commit()
    assert b"/admin/outbox" in client.get("/admin/").data
    page = client.get("/admin/outbox?status=failed")
    assert page.status_code == 200
    assert b"gone@example.no" in page.data and b"550 5.1.1 no such user" in page.data
    assert b"ok@example.no" not in page.data
    assert b"Bekreftet &lt;b&gt;" in page.data  # escaped
    detail = client.get(f"/admin/outbox/{failed.id}")
    assert b"Hei\nbody" in detail.data
    response = client.post(f"/admin/outbox/{failed.id}/retry")
    assert response.status_code == 302
    db.session.expire_all()
    message = db.session.get(OutboxMessage, failed.id)
    assert (message.status, message.attempts) == (OutboxStatus.QUEUED, 0)
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "mail.retry"))
    assert entry.actor_id == admin.id and entry.object_id == failed.id
    # A sent message cannot be sent again from here.
    client.post(f"/admin/outbox/{sent.id}/retry")
    assert db.session.get(OutboxMessage, sent.id).status == OutboxStatus.SENT
