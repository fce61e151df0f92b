"""The mail outbox and the worker that delivers it, against a real SMTP server (aiosmtpd)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from samskap.audit import AuditEntry
from samskap.extensions import db
from samskap.mail import OutboxMessage, OutboxStatus, enqueue_mail
from samskap.timeutil import utcnow
from samskap.worker import (PERIODIC_JOBS, claim_batch, deliver_batch, new_worker_id, periodic, run_due_jobs,
                            run_worker)
from tests.conftest import BOTH
from tests.smtp_server import SmtpServer


def _queue(n=1, **fields):
    messages = []
    for i in range(n):
        values = {"to": f"person{i}@example.no", "subject": f"Hello {i}", "text": f"Body {i} æøå",
                  "kind": "test.hello", **fields}
        messages.append(enqueue_mail(**values))
    db.session.commit()
    return messages


def _drain(app, rounds=10):
    worker = new_worker_id()
    for _ in range(rounds):
        handled, reachable = deliver_batch(app, worker)
        if not handled or not reachable:  # as the worker does: an unreachable server is tried later
            break


def _status(message_id):
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id)


def test_a_rolled_back_change_sends_nothing_and_a_committed_one_is_kept(app):
    enqueue_mail(to="a@example.no", subject="s", text="t", kind="test.x")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    enqueue_mail(to="a@example.no", subject="s", text="t", kind="test.x")
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 1


@BOTH
def test_messages_added_together_are_one_insert(app):
    from tests.sql_count import counted_statements

    db.session.execute(sa.text("SELECT 1"))  # the transaction has begun, as in a request
    with counted_statements() as count:
        for i in range(3):
            enqueue_mail(to=f"p{i}@example.no", subject="s", text="t", html="<p>t</p>" if i else None,
                         kind="test.x", attachments=[("a.ics", "text/calendar; method=REQUEST", "BEGIN:VCALENDAR")])
        db.session.flush()
    assert count[0] == 1


@BOTH
def test_worker_delivers_with_a_stable_message_id_text_and_html(mail_app, smtp):
    [message] = _queue(html="<p>Body <b>html</b></p>", locale="nb")
    _drain(mail_app)
    [received] = smtp.wait_for(1)
    email = received.message
    assert received.rcpt_tos == ["person0@example.no"]
    assert email["Message-ID"] == message.message_id
    assert email["Subject"] == "Hello 0"
    assert email["From"].addresses[0].addr_spec == "noreply@samskap.test"
    assert email.get_body(("plain",)).get_content().strip() == "Body 0 æøå"
    assert "<b>html</b>" in email.get_body(("html",)).get_content()
    stored = _status(message.id)
    assert stored.status == OutboxStatus.SENT and stored.attempts == 1 and stored.sent_at is not None


def test_calendar_attachment_is_a_text_calendar_part_with_its_method(mail_app, smtp):
    ics = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    _queue(attachments=[("invite.ics", "text/calendar; method=REQUEST", ics)])
    _drain(mail_app)
    email = smtp.wait_for(1)[0].message
    parts = [p for p in email.walk() if p.get_content_type() == "text/calendar"]
    assert parts, "no text/calendar part"
    for part in parts:
        assert part.get_param("method") == "REQUEST"
        assert part.get_content_charset() == "utf-8"
        assert part.get_content() .replace("\r\n", "\n") == ics.replace("\r\n", "\n")
    assert any(p.get_filename() == "invite.ics" for p in parts)


def test_header_injection_through_subject_or_name_is_impossible(mail_app, smtp):
    evil = _queue(1, subject="Booking\r\nBcc: victim@example.no\r\nX-Evil: 1", to="Eve\r\nBcc: x@example.no <eve@example.no>")
    good = _queue(1, subject="Normal\nBcc: victim@example.no")
    _drain(mail_app)
    [received] = smtp.wait_for(1)
    email = received.message
    assert received.rcpt_tos == ["person0@example.no"]
    assert email["Bcc"] is None and email["X-Evil"] is None
    assert email["Subject"] == "Normal Bcc: victim@example.no"
    failed = _status(evil[0].id)
    assert failed.status == OutboxStatus.FAILED and "not a valid address" in failed.last_error
    assert _status(good[0].id).status == OutboxStatus.SENT
    # The subject itself was folded to one line when it was recorded.
    assert "\n" not in failed.subject and "\r" not in failed.subject


def test_malformed_and_bouncing_addresses_fail_that_message_only(mail_app, smtp):
    smtp.handler.refuse_for_good.add("gone@example.no")
    bad = [enqueue_mail(to=to, subject="s", text="t", kind="test.x")
           for to in ("not-an-address", "a@b@example.no", "gone@example.no", "", "two@example.no, three@example.no")]
    good = enqueue_mail(to="ok@example.no", subject="s", text="t", kind="test.x")
    db.session.commit()
    _drain(mail_app)
    assert [r.rcpt_tos for r in smtp.wait_for(1)] == [["ok@example.no"]]
    assert _status(good.id).status == OutboxStatus.SENT
    for message in bad:
        stored = _status(message.id)
        assert stored.status == OutboxStatus.FAILED, stored.to_address
        assert stored.attempts == 1
    assert "550" in _status(bad[2].id).last_error


def test_a_temporary_refusal_is_retried_with_backoff_then_failed_after_the_limit(mail_app, smtp):
    mail_app.config.update(SAMSKAP_MAIL_BACKOFF_SECONDS=60, SAMSKAP_MAIL_MAX_ATTEMPTS=3)
    smtp.handler.refuse_for_now.add("later@example.no")
    [message] = _queue(to="later@example.no")
    _drain(mail_app)
    stored = _status(message.id)
    assert stored.status == OutboxStatus.QUEUED and stored.attempts == 1 and "451" in stored.last_error
    first_wait = stored.next_attempt_at - utcnow()
    assert timedelta(seconds=50) < first_wait <= timedelta(seconds=60)
    # Not due yet: the worker leaves it alone.
    assert claim_batch(new_worker_id(), 10, 60) == []
    stored.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    _drain(mail_app)
    stored = _status(message.id)
    assert stored.attempts == 2
    assert timedelta(seconds=110) < stored.next_attempt_at - utcnow() <= timedelta(seconds=120)  # doubled
    stored.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    _drain(mail_app)
    stored = _status(message.id)
    assert stored.status == OutboxStatus.FAILED and stored.attempts == 3
    assert smtp.received == []


def test_a_connection_dropped_mid_message_is_retried_and_delivered(mail_app, smtp):
    smtp.handler.drop_data_times = 1
    messages = _queue(3)
    _drain(mail_app)  # the first message loses its connection; the batch stops and waits
    _drain(mail_app)  # backoff 0 in this test: all due again
    received = smtp.wait_for(3)
    assert sorted(r.rcpt_tos[0] for r in received) == ["person0@example.no", "person1@example.no",
                                                       "person2@example.no"]
    assert all(_status(m.id).status == OutboxStatus.SENT for m in messages)
    assert sorted(_status(m.id).attempts for m in messages) == [1, 1, 2]  # the one that lost its connection


def test_server_down_then_up_every_message_arrives(mail_app, smtp):
    smtp.stop()
    messages = _queue(5)
    _drain(mail_app)
    assert all(_status(m.id).status == OutboxStatus.QUEUED for m in messages)
    assert "Connection" in (_status(messages[0].id).last_error or "") or _status(messages[0].id).last_error
    smtp.start()
    _drain(mail_app)
    assert len(smtp.wait_for(5)) == 5
    assert len({r.message["Message-ID"] for r in smtp.received}) == 5


def test_a_claimed_message_whose_worker_died_is_due_again_after_its_lease(mail_app, smtp):
    [message] = _queue(1)
    dead_worker = "dead:1:x"
    assert claim_batch(dead_worker, 10, lease_seconds=300) == [message.id]
    assert claim_batch(new_worker_id(), 10, lease_seconds=300) == []  # someone holds it
    stored = _status(message.id)
    stored.claimed_until = utcnow() - timedelta(seconds=1)  # the lease ran out
    db.session.commit()
    _drain(mail_app)
    assert len(smtp.wait_for(1)) == 1
    assert _status(message.id).status == OutboxStatus.SENT


def test_security_relevant_sends_are_audited(mail_app, smtp):
    [security] = _queue(1, kind="security.sign-in-link")
    _queue(1, kind="booking.confirmed")
    _drain(mail_app)
    smtp.wait_for(2)
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "mail.sent")).all()
    assert [(e.object_type, e.object_id) for e in entries] == [("outbox_messages", security.id)]


def test_without_a_mail_server_messages_are_written_readable_to_instance_mail(app, tmp_path):
    app.config.update(MAIL_SERVER=None, SAMSKAP_MAIL_DIRECTORY=str(tmp_path / "mail"))
    [message] = _queue(1, subject="Bekreftet: Møterom", text="Hei Åse,\nbookingen er bekreftet.")
    message_id = message.id
    run_worker(app, once=True)
    files = list((tmp_path / "mail").glob(f"*-{message_id:06d}-*.eml"))
    assert len(files) == 1
    content = files[0].read_text("utf-8")
    assert "Hei Åse," in content and "bookingen er bekreftet." in content
    assert _status(message_id).status == OutboxStatus.SENT


@BOTH
def test_a_periodic_job_runs_once_per_interval_across_workers(app):
    calls = []

    @periodic("test.tick", every_seconds=3600)
    def tick(now):
        calls.append(now)

    try:
        now = utcnow()
        assert "test.tick" in run_due_jobs("worker-a", now)
        assert "test.tick" not in run_due_jobs("worker-b", now + timedelta(seconds=5))
        assert "test.tick" not in run_due_jobs("worker-a", now + timedelta(seconds=3599))
        assert "test.tick" in run_due_jobs("worker-b", now + timedelta(seconds=3601))
        assert len(calls) == 2
    finally:
        PERIODIC_JOBS.pop("test.tick", None)
