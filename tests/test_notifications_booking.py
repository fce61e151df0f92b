"""Booking notifications: who gets what, in which language, with a calendar invitation whose UID
is the event's UID in the calendar feeds, delivered through a real SMTP server (aiosmtpd)."""
from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from accounts.models import Role
from booking import services as booking_services
from booking.feeds import services as feed_services
from booking.models import BookingStatus
from booking.recurrence import Recurrence
from samskap.extensions import db
from samskap.mail import OutboxMessage, OutboxStatus, render_pending
from samskap.timeutil import UTC, local_to_utc, local_tz, utcnow
from samskap.worker import deliver_batch, new_worker_id
from tests.booking_helpers import miss_clashes_in_the_check
from tests.conftest import BOTH
from tests.factories import make_org, make_space, make_user
from tests.feeds_ics import expand_with_icaljs, parse_calendar
from tests.smtp_server import SmtpServer


def drain(app):
    worker = new_worker_id()
    for _ in range(20):
        handled, reachable = deliver_batch(app, worker)
        if not handled or not reachable:  # as the worker does: an unreachable server is tried later
            return


def outbox(kind=None):
    """The outbox rows, written as the worker writes them at delivery."""
    db.session.expire_all()
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    messages = list(db.session.scalars(query))
    for message in messages:
        render_pending(message)
    return messages


def invitation_of(message) -> Calendar:
    [(name, content_type, data)] = message.attachment_items()
    assert name == "invite.ics"
    return parse_calendar(data.encode("utf-8") if isinstance(data, str) else data)


def oslo_tomorrow_at(hour: int):
    tomorrow = utcnow().astimezone(local_tz()).date() + timedelta(days=1)
    return local_to_utc(tomorrow, time(hour))


def next_hour(days=3):
    return (utcnow() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def world(app):
    host = make_org("host", name="Helseinn")
    municipality = make_org("municipality", name="Gjøvik kommune", contact_email="post@kommune.example")
    organiser = make_user(municipality, name="Åse Ås", email="ase@kommune.example", locale="nb")
    staff = make_user(host, Role.STAFF, name="Sam Staff", email="staff@helseinn.example", locale="en")
    digest_staff = make_user(host, Role.STAFF, name="Dina Digest", email="digest@helseinn.example",
                             approval_digest=True)
    space = make_space(name="Simuleringslab", requires_approval=True)
    return {"organiser": organiser, "staff": staff, "digest_staff": digest_staff, "space": space,
            "municipality": municipality}


def book(world, start=None, **fields):
    start = start or next_hour()
    request = booking_services.BookingRequest(space_id=world["space"].id, title=fields.pop("title", "Brukertest"),
                                              start=start, end=start + timedelta(hours=2), **fields)
    result = booking_services.book_space(world["organiser"], request)
    db.session.commit()
    return result


@BOTH
def test_a_pending_booking_tells_the_organiser_the_copy_address_and_immediate_approvers(world):
    booking = book(world).bookings[0]
    assert booking.status == BookingStatus.PENDING
    received = outbox("booking.received")
    assert sorted(m.to_address for m in received) == ["ase@kommune.example", "post@kommune.example"]
    assert all(m.locale == "nb" for m in received)
    assert received[0].subject == "Booking mottatt: Brukertest"
    assert "venter på godkjenning" in received[0].text
    [decision] = outbox("booking.needs_decision")
    assert decision.to_address == "staff@helseinn.example"  # the digest staff member waits for the digest
    assert decision.locale == "en" and decision.subject == "Needs your decision: Brukertest"
    assert "Åse Ås (Gjøvik kommune) asks to book Simuleringslab." in decision.text
    assert "<table" in decision.html


@BOTH
def test_a_rolled_back_booking_records_no_mail(world):
    start = next_hour()
    booking_services.book_space(world["organiser"], booking_services.BookingRequest(
        space_id=world["space"].id, title="Oops", start=start, end=start + timedelta(hours=1)))
    db.session.rollback()
    assert outbox() == []


@BOTH
def test_recording_the_notifications_of_a_booking_adds_one_insert(world):
    from tests.sql_count import counted_statements

    start = next_hour()
    request = booking_services.BookingRequest(space_id=world["space"].id, title="Counted", start=start,
                                              end=start + timedelta(hours=1))
    statements = []
    from sqlalchemy import event

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        booking_services.book_space(world["organiser"], request)
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    # One statement writes the outbox rows: on PostgreSQL the one that writes the booking (a CTE), on
    # SQLite one multi-row INSERT of their own.
    inserts = [s for s in statements if "INSERT INTO OUTBOX_MESSAGES" in s.upper()]
    assert len(inserts) == 1
    if db.engine.dialect.name == "postgresql":
        assert "ON CONFLICT ON CONSTRAINT ex_bookings_no_overlap" in inserts[0]
    else:
        assert inserts[0].lstrip().upper().startswith("INSERT INTO OUTBOX_MESSAGES")
    assert len(outbox()) == 3  # organiser, copy address, approver: one multi-row INSERT
    del counted_statements


# --- PostgreSQL: a single booking's messages are written by the statement that writes it ------------

OUTBOX_COLUMNS = [c.key for c in OutboxMessage.__table__.c if c.key != "id"]


def stored_rows(reference):
    """The outbox rows of a booking as stored (before the worker writes them), in a stable order."""
    db.session.expire_all()
    rows = db.session.execute(sa.select(OutboxMessage.__table__).where(OutboxMessage.reference == reference)
                              .order_by(OutboxMessage.kind, OutboxMessage.to_address)).mappings().all()
    return [{key: row[key] for key in OUTBOX_COLUMNS} for row in rows]


def comparable(row):
    """A row without what differs between any two recordings (a fresh message id, the clock)."""
    assert re.fullmatch(r"<[0-9a-f]{32}@samskap\.test>", row["message_id"])
    assert row["created_at"] == row["next_attempt_at"]
    assert abs(row["created_at"] - utcnow()) < timedelta(minutes=5)
    return {k: v for k, v in row.items() if k not in ("message_id", "created_at", "next_attempt_at")}


def old_path_rows(actor, booking):
    """The rows the old path (enqueue_notifications at the end of book_space) writes for ``booking``."""
    from booking.notifications import bookings as notifications
    from samskap.mail import notification_rows

    rows = notification_rows(notifications._made(actor, [booking], None).items())
    return sorted(rows, key=lambda r: (r["kind"], r["to_address"]))


@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.parametrize("requires_approval", [False, True])
def test_postgresql_writes_the_same_outbox_rows_in_the_booking_statement(world, app, monkeypatch,
                                                                          requires_approval):
    from booking.models import Booking
    from booking.notifications import bookings as notifications

    app.config["MAIL_DEFAULT_SENDER"] = "Samskap <samskap@samskap.test>"
    space = make_space(name="Verksted", requires_approval=requires_approval, location="Bygg 2")
    organiser = world["organiser"]

    def request(start, title):
        return booking_services.BookingRequest(space_id=space.id, title=title, start=start,
                                               end=start + timedelta(hours=1), description="Prøve")

    # The new path: one statement writes the booking, its audit entry and its messages.
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        new = booking_services.book_space(organiser, request(next_hour(), "Ny vei")).bookings[0]
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    db.session.commit()
    assert not [s for s in statements if s.lstrip().upper().startswith("INSERT INTO OUTBOX_MESSAGES")]
    new_rows = stored_rows(f"booking:{new.id}")
    assert len(new_rows) == (3 if requires_approval else 2)  # organiser, copy address (, approver)

    # The old path for another booking: written without messages, then booking_made (enqueue_notifications).
    monkeypatch.setattr(notifications, "booking_made_rows", lambda actor, booking: [])
    old = booking_services.book_space(organiser, request(next_hour(days=4), "Gammel vei")).bookings[0]
    assert stored_rows(f"booking:{old.id}") == []
    monkeypatch.undo()
    notifications.booking_made(organiser, [old], None)
    db.session.commit()
    old_rows = stored_rows(f"booking:{old.id}")

    # What the old path writes for the NEW booking, as stored: every column the same (bar clock and id).
    fresh = db.session.get(Booking, new.id)
    expected = old_path_rows(organiser, fresh)
    assert [comparable(r) for r in new_rows] == [comparable(r) for r in expected]
    assert new_rows[0]["payload"]["booking"]["id"] == new.id and new_rows[0]["payload"]["booking_ids"] == [new.id]
    assert new_rows[0]["payload"]["booking"]["created_at"] == fresh.created_at.isoformat()
    # And booking by booking, the two paths differ only in what differs between the bookings.
    def without_booking(row):
        row = comparable(row)
        payload = dict(row.pop("payload"))
        assert payload.pop("booking").keys() == SNAPSHOT_KEYS
        payload.pop("booking_ids")
        row.pop("reference")
        return row, payload

    assert [without_booking(r) for r in new_rows] == [without_booking(r) for r in old_rows]
    assert [r["payload"]["booking"]["title"] for r in old_rows] == ["Gammel vei"] * len(old_rows)


SNAPSHOT_KEYS = {"id", "series_id", "original_start", "start", "end", "status", "purpose", "title", "description",
                 "sequence", "created_at", "updated_at", "space_name", "space_location", "organisation_name",
                 "decision_reason"}


@pytest.mark.parametrize("backend", ["postgresql"])
def test_postgresql_a_booking_the_constraint_refuses_writes_no_message(world, monkeypatch):
    """Two requests pass the clash check at the same moment: the database refuses the second, and the
    statement that would have written its messages writes none (nor its audit entry)."""
    from samskap.audit import AuditEntry
    from samskap.errors import Conflict

    space = make_space(name="Verksted")
    start = next_hour()
    booking_services.book_space(world["organiser"], booking_services.BookingRequest(
        space_id=space.id, title="Først", start=start, end=start + timedelta(hours=2)))
    db.session.commit()
    messages = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
    entries = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    assert messages == 2
    miss_clashes_in_the_check(monkeypatch)  # the race's first step
    with pytest.raises(Conflict):
        booking_services.book_space(world["organiser"], booking_services.BookingRequest(
            space_id=space.id, title="Samtidig", start=start + timedelta(hours=1), end=start + timedelta(hours=3)))
    # Still inside the request's transaction: nothing was written.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == messages
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == entries
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == messages


@pytest.mark.parametrize("backend", ["postgresql"])
def test_postgresql_a_single_booking_sends_as_many_statements_as_without_notifications(world, monkeypatch):
    """Recording the messages adds no statement: the same count as when booking_made did nothing (the
    create path before notifications existed, 164ff1e^1)."""
    from booking.notifications import bookings as notifications
    from tests.sql_count import counted_statements

    space = make_space(name="Verksted")

    def create(days):
        start = next_hour(days=days)
        with counted_statements() as count:
            booking_services.book_space(world["organiser"], booking_services.BookingRequest(
                space_id=space.id, title="Telt", start=start, end=start + timedelta(hours=1)))
            db.session.commit()
        return count[0]

    create(2)  # warm: the same caches both ways
    with_messages = create(3)
    monkeypatch.setattr(notifications, "booking_made_rows", lambda actor, booking: [])
    monkeypatch.setattr(notifications, "booking_made", lambda *args: None)
    without_messages = create(4)
    assert len(outbox()) == 4  # organiser and copy address, for the first two bookings only
    assert with_messages == without_messages


@BOTH
def test_approval_sends_a_request_invitation_with_the_feed_uid_and_times(world, client, tmp_path):
    booking = book(world).bookings[0]
    _feed, token = feed_services.create_feed(world["organiser"], "organisation")
    db.session.commit()
    booking_services.approve_booking(world["staff"], booking)
    db.session.commit()
    confirmed = [m for m in outbox("booking.confirmed") if m.to_address == "ase@kommune.example"]
    assert len(confirmed) == 1
    cal = invitation_of(confirmed[0])
    assert str(cal["METHOD"]) == "REQUEST"
    [event] = cal.walk("VEVENT")
    feed = parse_calendar(client.get(f"/feeds/{token}.ics").data)
    [feed_event] = feed.walk("VEVENT")
    assert str(event["UID"]) == str(feed_event["UID"]) == f"booking-{booking.id}@samskap.test"
    assert event.decoded("DTSTART") == feed_event.decoded("DTSTART") == booking.start
    assert int(event["SEQUENCE"]) == int(feed_event["SEQUENCE"]) == booking.sequence
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["ORGANIZER"]).startswith("mailto:") and "ase@kommune.example" not in str(event["ORGANIZER"])
    assert str(event["ATTENDEE"]) == "mailto:ase@kommune.example"
    # ical.js (Thunderbird) reads the same event.
    [occurrence] = expand_with_icaljs(confirmed[0].attachment_items()[0][2].encode(), booking.start - timedelta(days=1),
                                      booking.start + timedelta(days=1), tmp_path)
    assert occurrence.uid == str(feed_event["UID"]) and occurrence.start == booking.start


@BOTH
def test_rejection_says_why_and_cancels_the_tentative_event(world):
    booking = book(world).bookings[0]
    booking_services.reject_booking(world["staff"], booking, "Stengt for vedlikehold")
    db.session.commit()
    [rejected] = [m for m in outbox("booking.rejected") if m.to_address == "ase@kommune.example"]
    assert "Stengt for vedlikehold" in rejected.text and "Sam Staff" in rejected.text
    cal = invitation_of(rejected)
    assert str(cal["METHOD"]) == "CANCEL"
    [event] = cal.walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED" and str(event["UID"]) == f"booking-{booking.id}@samskap.test"


def test_change_and_cancellation_keep_the_uid_and_raise_the_sequence(world):
    space = make_space(name="Møterom")
    start = next_hour()
    booking = booking_services.book_space(world["organiser"], booking_services.BookingRequest(
        space_id=space.id, title="Møte", start=start, end=start + timedelta(hours=1))).bookings[0]
    db.session.commit()
    [first] = [m for m in outbox("booking.confirmed") if m.to_address == "ase@kommune.example"]
    booking_services.update_booking(world["organiser"], booking, {"start": start + timedelta(hours=1)})
    db.session.commit()
    [changed] = [m for m in outbox("booking.changed") if m.to_address == "ase@kommune.example"]
    booking_services.cancel_booking(world["staff"], booking, "Rommet trengs")
    db.session.commit()
    [cancelled] = [m for m in outbox("booking.cancelled") if m.to_address == "ase@kommune.example"]
    assert "Sam Staff" in cancelled.text and "Rommet trengs" in cancelled.text
    events = [invitation_of(m).walk("VEVENT")[0] for m in (first, changed, cancelled)]
    assert len({str(e["UID"]) for e in events}) == 1
    sequences = [int(e["SEQUENCE"]) for e in events]
    assert sequences == sorted(sequences) and sequences[0] < sequences[1] < sequences[2]
    assert events[1].decoded("DTSTART") == start + timedelta(hours=1)
    assert str(invitation_of(cancelled)["METHOD"]) == "CANCEL" and str(events[2]["STATUS"]) == "CANCELLED"


def test_a_series_is_one_vevent_with_rrule_and_one_changed_occurrence_has_a_recurrence_id(world, client,
                                                                                          tmp_path):
    space = make_space(name="Verksted")
    start = next_hour(days=7)
    result = booking_services.book_space(world["organiser"], booking_services.BookingRequest(
        space_id=space.id, title="Ukemøte", start=start, end=start + timedelta(hours=1),
        recurrence=Recurrence(freq="weekly", count=4)))
    db.session.commit()
    starts = [b.start for b in result.bookings]
    _feed, token = feed_services.create_feed(world["organiser"], "mine")
    db.session.commit()
    [made] = [m for m in outbox("booking.confirmed") if m.to_address == "ase@kommune.example"]
    cal = invitation_of(made)
    [master] = cal.walk("VEVENT")
    assert "RRULE" in master and cal.walk("VTIMEZONE")
    feed_uids = {str(e["UID"]) for e in parse_calendar(client.get(f"/feeds/{token}.ics").data).walk("VEVENT")}
    assert feed_uids == {str(master["UID"])} == {f"series-{result.series.id}@samskap.test"}

    second = result.bookings[1]
    booking_services.update_booking(world["organiser"], second, {"title": "Ukemøte (flyttet)",
                                                                 "start": second.start + timedelta(hours=2)})
    db.session.commit()
    [changed] = [m for m in outbox("booking.changed") if m.to_address == "ase@kommune.example"]
    [override] = invitation_of(changed).walk("VEVENT")
    assert str(override["UID"]) == str(master["UID"])
    assert override.decoded("RECURRENCE-ID").astimezone(UTC) == second.original_start
    assert override.decoded("DTSTART") == second.start

    third = result.bookings[2]
    booking_services.cancel_booking(world["organiser"], third, "Ferie")
    db.session.commit()
    [cancelled] = [m for m in outbox("booking.cancelled") if m.to_address == "ase@kommune.example"]
    cal = invitation_of(cancelled)
    assert str(cal["METHOD"]) == "CANCEL"
    [instance] = cal.walk("VEVENT")
    assert str(instance["UID"]) == str(master["UID"]) and str(instance["STATUS"]) == "CANCELLED"
    assert instance.decoded("RECURRENCE-ID").astimezone(UTC) == third.original_start
    # ical.js expands the series of the first invitation to the four dates.
    data = made.attachment_items()[0][2].encode()
    occurrences = expand_with_icaljs(data, start - timedelta(days=1), start + timedelta(days=30), tmp_path)
    assert [o.start for o in occurrences] == starts


def test_header_injection_through_titles_and_names_is_impossible(mail_app, smtp, world):
    world["organiser"].name = "Åse\r\nBcc: victim@example.no"
    db.session.commit()
    space = make_space(name="Rom\nX-Evil: 1")
    start = next_hour()
    booking_services.book_space(world["organiser"], booking_services.BookingRequest(
        space_id=space.id, title="Møte\r\nBcc: victim@example.no", start=start, end=start + timedelta(hours=1)))
    db.session.commit()
    drain(mail_app)
    received = smtp.wait_for(2)
    for item in received:
        email = item.message
        assert email["Bcc"] is None and email["X-Evil"] is None
        assert "victim@example.no" not in item.rcpt_tos
        assert "\n" not in str(email["Subject"])
        cal = parse_calendar([p for p in email.walk() if p.get_content_type() == "text/calendar"][0]
                             .get_content().encode())
        assert cal.walk("VEVENT")


@BOTH
def test_mail_server_down_while_approving_and_cancelling_every_message_arrives(mail_app, smtp, world):
    booking = book(world).bookings[0]
    smtp.stop()
    booking_services.approve_booking(world["staff"], booking)
    db.session.commit()
    drain(mail_app)
    booking_services.cancel_booking(world["organiser"], booking, "Endret plan")
    db.session.commit()
    drain(mail_app)
    assert all(m.status == OutboxStatus.QUEUED for m in outbox())
    smtp.start()
    drain(mail_app)
    expected = outbox()
    received = smtp.wait_for(len(expected))
    assert {r.message["Message-ID"] for r in received} == {m.message_id for m in expected}
    to_organiser = [r.message for r in received if r.rcpt_tos == ["ase@kommune.example"]]
    methods = sorted(p.get_param("method") for e in to_organiser for p in e.walk()
                     if p.get_content_type() == "text/calendar" and not p.get_filename())
    assert methods == ["CANCEL", "REQUEST", "REQUEST"]  # received (tentative), confirmed, cancelled


def test_reminders_once_per_booking_by_each_users_choice(app, world):
    from booking.notifications.bookings import send_reminders

    other = make_user(world["municipality"], name="Ola", email="ola@kommune.example", reminder_hours=2)
    quiet = make_user(world["municipality"], name="Stille", email="stille@kommune.example", notify_reminders=False)
    space = make_space(name="Rom")
    now = utcnow()
    in_ten_hours = (now + timedelta(hours=10)).replace(second=0, microsecond=0)
    for user, title in ((world["organiser"], "A"), (other, "B"), (quiet, "C")):
        booking_services.book_space(user, booking_services.BookingRequest(
            space_id=space.id, title=title, start=in_ten_hours, end=in_ten_hours + timedelta(minutes=30)))
        in_ten_hours += timedelta(hours=1)
    db.session.commit()
    assert send_reminders(now) == 1  # the default 24 h: Åse; Ola wants 2 h; Stille none
    db.session.commit()
    assert send_reminders(now) == 0  # once
    [reminder] = outbox("booking.reminder")
    assert reminder.to_address == "ase@kommune.example" and reminder.subject.startswith("Påminnelse: A")
    assert send_reminders(now + timedelta(hours=9)) == 1  # Ola's two hours have come
    db.session.commit()
    assert {m.to_address for m in outbox("booking.reminder")} == {"ase@kommune.example", "ola@kommune.example"}


def test_approvers_who_chose_the_digest_get_one_list_a_day(app, world):
    from booking.notifications.bookings import send_digests

    book(world, title="Første")
    book(world, start=next_hour(days=4), title="Andre")
    # 08:00 in Oslo tomorrow (before both bookings): "a day" is the local day, so from "now" the
    # second call crossed midnight when the suite ran in the five minutes before it.
    now = oslo_tomorrow_at(8)
    assert send_digests(now) == 1
    db.session.commit()
    assert send_digests(now + timedelta(minutes=5)) == 0
    [digest] = outbox("booking.digest")
    assert digest.to_address == "digest@helseinn.example"
    assert "Første" in digest.text and "Andre" in digest.text
    assert digest.subject == "Bookinger som venter på din avgjørelse: 2"  # her language, nb
