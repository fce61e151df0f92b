"""Check-in and the release of no-shows: the API, the pages, the QR page, the release job (directly
and through the worker as a process of its own, with a real SMTP server), feeds and lists."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.fairuse.checkin import check_in, release_no_shows
from booking.fairuse.models import WaitlistEntry, WaitlistStatus
from booking.models import Booking, BookingStatus, Visibility
from samskap.audit import AuditEntry
from samskap.errors import Conflict, PermissionDenied
from samskap.extensions import db
from samskap.mail import OutboxMessage
from samskap.timeutil import utcnow
from tests.conftest import BOTH
from tests.factories import api_headers, make_booking, make_org, make_series, make_space, make_user

ROOT = Path(__file__).resolve().parent.parent


def _now():
    return utcnow().replace(microsecond=0)


@BOTH
def test_organiser_checks_in_through_the_api_and_others_cannot(client):
    space = make_space(check_in_minutes=10)
    organiser = make_user()
    stranger = make_user()
    booking = make_booking(space, organiser, start=_now() + timedelta(minutes=5))
    response = client.post(f"/api/v1/bookings/{booking.id}/check-in", headers=api_headers(stranger))
    assert response.status_code == 404  # a private booking of another organisation
    response = client.post(f"/api/v1/bookings/{booking.id}/check-in", headers=api_headers(organiser))
    assert response.status_code == 200, response.json
    assert response.json["checked_in_at"] is not None and response.json["status"] == "confirmed"
    again = client.post(f"/api/v1/bookings/{booking.id}/check-in", headers=api_headers(organiser))
    assert again.status_code == 200 and again.json["checked_in_at"] == response.json["checked_in_at"]
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_id == booking.id)).all()
    assert actions.count("booking.check_in") == 1


def test_staff_check_in_anyones_booking_and_a_partner_may_not(app):
    space = make_space(check_in_minutes=10)
    booking = make_booking(space, make_user(), start=_now(), visibility=Visibility.PARTNERS)
    with pytest.raises(PermissionDenied):
        check_in(make_user(), booking)
    check_in(make_user(role="staff"), booking)
    assert booking.checked_in_at is not None


def test_check_in_opens_fifteen_minutes_before_and_closes_at_the_end(app):
    user = make_user()
    booking = make_booking(make_space(), user, start=_now() + timedelta(hours=1))
    with pytest.raises(Conflict) as early:
        check_in(user, booking)
    assert early.value.code == "check_in_not_open"
    check_in(user, booking, now=booking.start - timedelta(minutes=14))
    over = make_booking(make_space(), user, start=_now() - timedelta(hours=2))
    with pytest.raises(Conflict) as late:
        check_in(user, over)
    assert late.value.code == "check_in_closed"


@BOTH
def test_a_booking_not_checked_in_in_time_is_released_and_the_slot_is_free(app, backend):
    space = make_space(check_in_minutes=10)
    organiser = make_user(locale="en")
    now = _now()
    late = make_booking(space, organiser, start=now - timedelta(minutes=11), minutes=60)
    within = make_booking(make_space(check_in_minutes=15), organiser, start=now - timedelta(minutes=11))
    checked = make_booking(make_space(check_in_minutes=10), organiser, start=now - timedelta(minutes=30),
                           checked_in_at=now - timedelta(minutes=29))
    no_rule = make_booking(make_space(), organiser, start=now - timedelta(minutes=30))
    released = release_no_shows(now)
    db.session.commit()
    assert [b.id for b in released] == [late.id]
    db.session.expire_all()
    assert late.status == BookingStatus.NO_SHOW and late.sequence == 1 and late.cancelled_at == now
    assert {within.status, checked.status, no_rule.status} == {BookingStatus.CONFIRMED}
    # The room is free again: the database's overlap rule lets a new booking in.
    db.session.add(Booking(space_id=space.id, organiser_id=organiser.id, organisation_id=organiser.organisation_id,
                           title="Walk-in", start=now, end=now + timedelta(minutes=30),
                           blocked_until=now + timedelta(minutes=30), status=BookingStatus.CONFIRMED))
    db.session.commit()
    mail = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "fairuse.no_show"))
    assert mail.to_address == organiser.email and "Released" in mail.subject
    assert f"/bookings/{late.id}" in mail.text
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "booking.no_show"))
    assert entry.object_id == late.id and entry.actor_id is None
    assert release_no_shows(now + timedelta(minutes=1)) == []  # nothing twice


def test_only_the_missed_occurrence_of_a_series_is_released(app):
    space = make_space(check_in_minutes=5)
    # A daily series from 10:00 in Oslo tomorrow, released ten minutes in: from "now - 10 minutes"
    # the next dates could fall in the spring-forward gap (a run at 02:xx) and be skipped.
    tomorrow = (utcnow() + timedelta(days=1)).astimezone(ZoneInfo("Europe/Oslo")).date()
    series = make_series(space, dtstart_local=f"{tomorrow.isoformat()}T10:00:00", rrule="FREQ=DAILY;COUNT=3")
    now = series.occurrences[0].start + timedelta(minutes=10)
    release_no_shows(now)
    db.session.commit()
    db.session.expire_all()
    assert [o.status.value for o in series.occurrences] == ["no_show", "confirmed", "confirmed"]


def test_no_show_is_cancelled_in_the_feed_and_labelled_on_the_pages(client, auth):
    space = make_space(check_in_minutes=5)
    organiser = make_user(locale="en")
    booking = make_booking(space, organiser, start=_now() - timedelta(minutes=10), title="Sensor pilot")
    release_no_shows(_now())
    db.session.commit()
    auth.as_user(organiser)
    ics = client.get(f"/bookings/{booking.id}.ics")
    assert ics.status_code == 200 and b"STATUS:CANCELLED" in ics.data
    page = client.get("/bookings/mine").get_data(as_text=True)
    assert "Sensor pilot" in page and "Released (not checked in)" in page


def test_booking_page_checks_in_with_a_button(client, auth):
    space = make_space(check_in_minutes=10)
    organiser = make_user(locale="en")
    booking = make_booking(space, organiser, start=_now() + timedelta(minutes=2))
    auth.as_user(organiser)
    page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "Check in by" in page and f'action="/bookings/{booking.id}/check-in"' in page
    response = client.post(f"/bookings/{booking.id}/check-in")
    assert response.status_code == 303
    page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "Checked in" in page and f'action="/bookings/{booking.id}/check-in"' not in page


def test_qr_page_leads_to_check_in_for_the_current_booking(client, auth):
    space = make_space(check_in_minutes=10, name="Living lab")
    organiser = make_user(locale="en")
    current = make_booking(space, organiser, start=_now() - timedelta(minutes=3), title="Morning test")
    make_booking(space, organiser, start=_now() + timedelta(hours=3), title="Afternoon test")
    staff = make_user(role="staff", locale="en")
    auth.as_user(staff)
    code = client.get(f"/spaces/{space.id}/check-in-code")
    assert code.status_code == 200
    html = code.get_data(as_text=True)
    assert "<svg" in html and f"http://samskap.test/spaces/{space.id}/check-in" in html
    import segno  # the code itself encodes the check-in address (decoded by rebuilding it)

    assert segno.make(f"http://samskap.test/spaces/{space.id}/check-in", error="m").svg_inline(
        scale=8, border=2, omitsize=True, title=f"Check in: {space.name}") in html
    auth.as_user(organiser)
    assert client.get(f"/spaces/{space.id}/check-in-code").status_code == 403
    page = client.get(f"/spaces/{space.id}/check-in").get_data(as_text=True)
    assert "Morning test" in page and "Afternoon test" not in page
    response = client.post(f"/bookings/{current.id}/check-in", data={"back": "space"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/spaces/{space.id}/check-in")
    db.session.expire_all()
    assert db.session.get(Booking, current.id).checked_in_at is not None


def test_admin_sets_check_in_minutes_through_the_spaces_api(client):
    admin = make_user(role="admin")
    space = make_space()
    response = client.patch(f"/api/v1/spaces/{space.id}", json={"check_in_minutes": 15}, headers=api_headers(admin))
    assert response.status_code == 200 and response.json["check_in_minutes"] == 15
    bad = client.patch(f"/api/v1/spaces/{space.id}", json={"check_in_minutes": 0}, headers=api_headers(admin))
    assert bad.status_code == 422 and "check_in_minutes" in bad.json["error"]["details"]["fields"]
    cleared = client.patch(f"/api/v1/spaces/{space.id}", json={"check_in_minutes": None}, headers=api_headers(admin))
    assert cleared.json["check_in_minutes"] is None


# --- the "done when", with the worker as a process of its own ---------------------------

@BOTH
def test_worker_releases_a_no_show_and_the_waitlisted_person_gets_an_email(app, backend, database_url, smtp,
                                                                           tmp_path):
    space = make_space(check_in_minutes=1, name="Simulation lab")
    organiser = make_user(make_org("company"), locale="en", email="organiser@example.no")
    waiting = make_user(make_org("hospital"), locale="nb", email="venter@example.no")
    now = _now()
    no_show = make_booking(space, organiser, start=now, minutes=60, title="Pilot")
    other_space = make_space(check_in_minutes=1)
    present = make_booking(other_space, organiser, start=now, minutes=60, title="Present")
    check_in(organiser, present)
    db.session.add(WaitlistEntry(space_id=space.id, user_id=waiting.id, organisation_id=waiting.organisation_id,
                                 start=no_show.start, end=no_show.end, title="Trening", auto_book=False,
                                 status=WaitlistStatus.WAITING, created_at=now - timedelta(hours=1)))
    db.session.commit()
    no_show_id, present_id = no_show.id, present.id
    db.session.close()

    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "worker-test-secret",
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port), "MAIL_DEFAULT_SENDER": "noreply@samskap.test",
           "SAMSKAP_BASE_URL": "http://samskap.test", "SAMSKAP_INSTANCE_PATH": str(tmp_path / "instance"),
           "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker", "--poll", "0.5"], cwd=ROOT,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        received = smtp.wait_for(2, timeout=240)
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output.decode(errors="replace")[-3000:]
    by_recipient = {r.rcpt_tos[0]: r.message for r in received}
    assert set(by_recipient) == {"organiser@example.no", "venter@example.no"}
    offer = by_recipient["venter@example.no"]
    assert "Simulation lab" in offer["Subject"]
    assert "holdes av til deg" in offer.get_content() and "http://samskap.test/waitlist" in offer.get_content()
    assert "Released: Pilot" in by_recipient["organiser@example.no"]["Subject"]
    db.session.expire_all()
    assert db.session.get(Booking, no_show_id).status == BookingStatus.NO_SHOW
    assert db.session.get(Booking, present_id).status == BookingStatus.CONFIRMED
    entry = db.session.scalar(sa.select(WaitlistEntry))
    assert entry.status == WaitlistStatus.OFFERED and entry.hold_until > utcnow() + timedelta(minutes=25)
