"""Notifications in a real browser (issue 16's "done when"): staff approve a booking, and within
seconds the organiser's mailbox (an aiosmtpd server of this test, fed by a real
``flask --app app worker`` process on the live server's database) holds a message in their
language whose .ics, read by ical.js, is the same event (UID, time) as in their organisation's
feed; the mail server then goes down, the organiser cancels, the server comes back, and the
METHOD:CANCEL with that UID arrives. The administrator's outbox page shows the messages."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from tests.browser.booking_steps import (BOOKING_FORM, booking_id_from_url, journey_day, open_booking_form,
                                         space_id, submit, unique)
from tests.browser.support import DEMO_ACCOUNTS, ROOT, check_page, flash_texts, sign_in, sign_out
from tests.feeds_ics import expand_with_icaljs, parse_calendar
from tests.smtp_server import SmtpServer

SIMLAB = "Simuleringslaben"


@pytest.fixture
def mailbox(live_server):
    """An SMTP server of this test, and a worker delivering the live server's outbox to it."""
    smtp = SmtpServer().start()
    env = {**live_server.env, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port),
           "MAIL_DEFAULT_SENDER": "Helseinn <booking@helseinn.test>", "SAMSKAP_MAIL_BACKOFF_SECONDS": "1"}
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker", "--poll", "0.2"], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield smtp
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        smtp.stop()


def _mail_to(smtp, address: str, subject_start: str, title: str, timeout: float = 30.0):
    """The first mail to ``address`` about the booking titled ``title`` (other journeys in the same
    run book as the same demo accounts, and their mail arrives in the same mailbox)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for item in list(smtp.received):
            subject = str(item.message["Subject"])
            if item.rcpt_tos == [address] and subject.startswith(subject_start) and title in subject:
                return item.message
        time.sleep(0.2)
    raise AssertionError(f"no mail to {address} starting {subject_start!r}; got "
                         f"{[(r.rcpt_tos, str(r.message['Subject'])) for r in smtp.received]}")


def _calendar_part(message) -> bytes:
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar" and not p.get_filename()]
    return part.get_content().encode("utf-8")


def test_approval_mails_an_invitation_matching_the_feed_and_a_cancel_survives_a_mail_outage(
        page, live_server, mailbox, tmp_path):
    organiser, organiser_name = DEMO_ACCOUNTS["hospital"]
    day = journey_day(17, "nb", weekday=2)
    sign_in(page, organiser, lang="nb")
    page.locator("header nav").get_by_role("link", name="Kalenderfeeder").click()
    page.locator("#scope").select_option("organisation")
    submit(page, "main form[action$='/feeds']")
    feed_url = page.locator("#new-feed-https").input_value()

    page.goto("/bookings/new")
    open_booking_form(page, space_id(page, SIMLAB), day, "12:00", "14:00")
    title = unique("Varslingstest")
    page.locator("#title").fill(title)
    submit(page, BOOKING_FORM)
    booking_id = booking_id_from_url(page.url)
    received = _mail_to(mailbox, organiser, "Booking mottatt", title)
    assert title in str(received["Subject"])
    sign_out(page)

    sign_in(page, DEMO_ACCOUNTS["staff"][0], lang="en")
    page.locator("header nav").get_by_role("link", name="Approvals").click()
    with page.expect_navigation():
        page.locator(f"#booking-{booking_id} form[action$='/approve'] button").click()
    approved_at = time.monotonic()
    sign_out(page)

    confirmed = _mail_to(mailbox, organiser, "Booking bekreftet", title)  # the organiser reads Norwegian
    assert time.monotonic() - approved_at < 15
    assert "Bookingen din er godkjent av Sindre Stab." in confirmed.get_body(("plain",)).get_content()
    invitation = _calendar_part(confirmed)
    [event] = parse_calendar(invitation).walk("VEVENT")
    feed = page.request.get(feed_url)
    feed_events = {str(e["UID"]): e for e in parse_calendar(feed.body()).walk("VEVENT")}
    uid = str(event["UID"])
    assert uid in feed_events and uid == f"booking-{booking_id}@127.0.0.1"
    assert event.decoded("DTSTART") == feed_events[uid].decoded("DTSTART")
    start = event.decoded("DTSTART")
    [occurrence] = expand_with_icaljs(invitation, start - timedelta(hours=1), start + timedelta(hours=1), tmp_path)
    assert occurrence.uid == uid and occurrence.start == start and occurrence.status == "CONFIRMED"

    # The mail server goes down; the organiser cancels; nothing is lost when it comes back.
    mailbox.stop()
    sign_in(page, organiser, lang="nb")
    page.goto(f"/bookings/{booking_id}")
    with page.expect_navigation():
        page.locator("main .actions a.button--danger").click()
    page.locator("#reason").fill("Øvelsen er flyttet")
    submit(page, "main form.form")
    assert flash_texts(page) == ["Bookingen er avbestilt."]
    sign_out(page)
    time.sleep(2)  # the worker tries, and fails, at least once
    mailbox.start()
    cancelled = _mail_to(mailbox, organiser, "Booking avbestilt", title, timeout=60)
    assert "Øvelsen er flyttet" in cancelled.get_body(("plain",)).get_content()
    cancel = parse_calendar(_calendar_part(cancelled))
    assert str(cancel["METHOD"]) == "CANCEL"
    [cancelled_event] = cancel.walk("VEVENT")
    assert str(cancelled_event["UID"]) == uid and str(cancelled_event["STATUS"]) == "CANCELLED"
    assert int(cancelled_event["SEQUENCE"]) > int(event["SEQUENCE"])

    # The administrator sees them on the outbox page.
    sign_in(page, DEMO_ACCOUNTS["admin"][0], lang="en")
    page.goto("/admin/")
    with page.expect_navigation():
        page.get_by_role("link", name="Outbox (email)").click()
    rows = page.locator("table tbody tr", has_text=title)
    assert rows.count() >= 3  # received, confirmed, cancelled (and copies)
    assert rows.filter(has_text=organiser).filter(has_text="Sent").count() >= 3
    check_page(page, "admin-outbox")
    with page.expect_navigation():
        rows.filter(has_text="avbestilt").first.get_by_role("link").click()
    assert "Øvelsen er flyttet" in page.locator("pre.mail-text").inner_text()
    check_page(page, "admin-outbox-message")

