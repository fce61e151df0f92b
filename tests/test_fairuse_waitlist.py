"""The waitlist: joining for a taken time, being told first when it frees (cancellation,
rejection), the hold that keeps others out, its expiry passing the turn on, automatic booking."""
from __future__ import annotations

from datetime import time, timedelta

import sqlalchemy as sa

from booking.fairuse.models import Quota, QuotaPeriod, WaitlistEntry, WaitlistStatus
from booking.fairuse.waitlist import expire_holds
from booking.models import Booking, BookingStatus
from booking.services import cancel_booking, reject_booking
from samskap.extensions import db
from samskap.mail import OutboxMessage
from samskap.timeutil import local_to_utc, to_local, utcnow
from tests.conftest import BOTH
from tests.factories import api_headers, make_booking, make_org, make_space, make_user


def _slot(days=2, hour=9, minutes=60):
    start = (utcnow() + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return start, start + timedelta(minutes=minutes)


def join(client, user, space, start, end, **extra):
    return client.post("/api/v1/waitlist", headers=api_headers(user), json={
        "space_id": space.id, "start": start.isoformat(), "end": end.isoformat(), **extra})


def book(client, user, space, start, end):
    return client.post("/api/v1/bookings", headers=api_headers(user), json={
        "space_id": space.id, "title": "Meeting", "start": start.isoformat(), "end": end.isoformat()})


def mails(kind):
    return db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind)
                              .order_by(OutboxMessage.id)).all()


@BOTH
def test_first_in_line_is_told_and_holds_the_freed_time_then_the_next(client):
    space = make_space(name="Simlab")
    start, end = _slot()
    owner = make_user()
    booking = make_booking(space, owner, start=start)
    first, second, outsider = make_user(locale="en"), make_user(locale="en"), make_user()

    assert join(client, first, space, start, end).json["position"] == 1
    response = join(client, second, space, start + timedelta(minutes=30), end)
    assert response.status_code == 201 and response.json["position"] == 2

    cancel_booking(owner, booking, "moved")
    db.session.commit()
    entries = db.session.scalars(sa.select(WaitlistEntry).order_by(WaitlistEntry.id)).all()
    assert [e.status for e in entries] == [WaitlistStatus.OFFERED, WaitlistStatus.WAITING]
    assert entries[0].hold_until - entries[0].offered_at == timedelta(minutes=30)
    [offer] = mails("fairuse.waitlist_offer")
    assert offer.to_address == first.email and "Simlab" in offer.subject and "held for you" in offer.text

    refused = book(client, outsider, space, start, end)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "held_for_waitlist"

    # The hold runs out: the next in line is told.
    expire_holds(utcnow() + timedelta(minutes=31))
    db.session.commit()
    db.session.expire_all()
    assert [e.status for e in entries] == [WaitlistStatus.EXPIRED, WaitlistStatus.OFFERED]
    assert [m.to_address for m in mails("fairuse.waitlist_offer")] == [first.email, second.email]
    held = book(client, second, space, start + timedelta(minutes=30), end)
    assert held.status_code == 201, held.json
    db.session.expire_all()
    assert entries[1].status == WaitlistStatus.BOOKED and entries[1].booking_id == held.json["id"]


@BOTH
def test_automatic_booking_when_every_rule_holds_otherwise_a_hold(client):
    space = make_space()
    start, end = _slot()
    staff = make_user(role="staff")
    eager = make_user(make_org("company"), locale="en")
    pending = make_booking(space, make_user(), start=start, status=BookingStatus.PENDING)
    assert join(client, eager, space, start, end, auto_book=True, title="Demo").status_code == 201
    reject_booking(staff, pending, "Not this week")
    db.session.commit()
    entry = db.session.scalar(sa.select(WaitlistEntry))
    assert entry.status == WaitlistStatus.BOOKED
    booked = db.session.get(Booking, entry.booking_id)
    assert (booked.title, booked.organiser_id, booked.status) == ("Demo", eager.id, BookingStatus.CONFIRMED)
    assert mails("fairuse.waitlist_booked")[0].to_address == eager.email

    # With a quota that the automatic booking would pass: held instead, and told.
    other_start, other_end = _slot(days=3)
    taken = make_booking(space, make_user(), start=other_start)
    db.session.add(Quota(organisation_id=eager.organisation_id, period=QuotaPeriod.MONTH, max_active=1))
    db.session.commit()
    assert join(client, eager, space, other_start, other_end, auto_book=True).status_code == 201
    cancel_booking(staff, taken)
    db.session.commit()
    second = db.session.scalars(sa.select(WaitlistEntry).order_by(WaitlistEntry.id.desc())).first()
    assert second.status == WaitlistStatus.OFFERED and second.booking_id is None


def test_joining_is_refused_for_a_free_time_twice_or_with_bad_input(client):
    space = make_space()
    user = make_user()
    start, end = _slot()
    free = join(client, user, space, start, end)
    assert free.status_code == 409 and free.json["error"]["code"] == "slot_free"
    make_booking(space, make_user(), start=start)
    assert join(client, user, space, start, end).status_code == 201
    again = join(client, user, space, start, end)
    assert again.status_code == 409 and again.json["error"]["code"] == "already_waiting"
    past = join(client, user, space, start - timedelta(days=5), end - timedelta(days=5))
    assert past.status_code == 422
    for body, field in (({"space_id": space.id, "start": "tomorrow", "end": end.isoformat()}, "start"),
                        ({"space_id": "x", "start": start.isoformat(), "end": end.isoformat()}, "space_id"),
                        ({"space_id": space.id, "start": start.isoformat(), "end": end.isoformat(),
                          "auto_book": "yes"}, "auto_book"),
                        ({"space_id": space.id, "start": start.isoformat(), "end": end.isoformat(), "x": 1}, "x")):
        response = client.post("/api/v1/waitlist", headers=api_headers(user), json=body)
        assert response.status_code == 422 and field in response.json["error"]["details"]["fields"], response.json


def test_leaving_while_holding_passes_the_turn(client):
    space = make_space()
    start, end = _slot()
    owner, first, second = make_user(), make_user(), make_user()
    booking = make_booking(space, owner, start=start)
    entry_id = join(client, first, space, start, end).json["id"]
    join(client, second, space, start, end)
    cancel_booking(owner, booking)
    db.session.commit()
    assert client.get("/api/v1/waitlist", headers=api_headers(first)).json["waitlist"][0]["status"] == "offered"
    assert client.delete(f"/api/v1/waitlist/{entry_id}", headers=api_headers(second)).status_code == 404
    assert client.delete(f"/api/v1/waitlist/{entry_id}", headers=api_headers(first)).status_code == 204
    statuses = db.session.scalars(sa.select(WaitlistEntry.status).order_by(WaitlistEntry.id)).all()
    assert statuses == [WaitlistStatus.CANCELLED, WaitlistStatus.OFFERED]


def test_booking_form_offers_the_waitlist_for_a_taken_time(client, auth):
    space = make_space(name="Living lab")
    start, end = _slot()
    make_booking(space, make_user(), start=start)
    user = make_user(locale="en")
    auth.as_user(user)
    local = start.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Oslo"))
    local_end = end.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Oslo"))
    response = client.post("/bookings/new", data={
        "space": space.id, "title": "Workshop", "date": local.date().isoformat(),
        "start_time": local.strftime("%H:%M"), "end_time": local_end.strftime("%H:%M"), "attendees": 2,
        "purpose": "meeting", "visibility": "private", "repeat": "none"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Join the waitlist" in html and 'action="/waitlist"' in html
    joined = client.post("/waitlist", data={"space_id": space.id, "start": start.isoformat(),
                                            "end": end.isoformat(), "title": "Workshop", "auto_book": "y"})
    assert joined.status_code == 303
    page = client.get("/waitlist").get_data(as_text=True)
    assert "Living lab" in page and "number 1 in line" in page and "books at once" in page
    entry = db.session.scalar(sa.select(WaitlistEntry))
    assert entry.auto_book and entry.title == "Workshop"


def test_quota_use_is_shown_on_the_form_and_my_bookings(client, auth, monkeypatch):
    org = make_org("company")
    user = make_user(org, locale="en")
    space = make_space(name="Simlab")
    db.session.add(Quota(organisation_kind="company", space_id=space.id, period=QuotaPeriod.WEEK, max_hours=2,
                         max_active=3))
    db.session.commit()
    # The pages count "this week" in Oslo: seen from Wednesday 10:00 next week, not from the hour the
    # suite runs at (from a Sunday evening, "now + 5 minutes" ran into the next week).
    today = to_local(utcnow()).date()
    now = local_to_utc(today + timedelta(days=7 - today.weekday() + 2), time(10))
    monkeypatch.setattr("booking.fairuse.views.utcnow", lambda: now)
    make_booking(space, user, start=now + timedelta(minutes=5), minutes=90)
    auth.as_user(user)
    for path in ("/bookings/new", "/bookings/mine"):
        html = client.get(path).get_data(as_text=True)
        assert "Your organisation&#39;s quotas" in html or "Your organisation's quotas" in html
        section = html[html.index("quota-usage"):]
        section = " ".join(section[:section.index("</section>")].split())
        assert "Simlab: 1.5 of 2 hours used per week (0.5 left" in section, section
        assert "; 1 of 3 bookings not yet over" in section


def test_a_hold_also_stops_a_move_and_a_series_date(client):
    space = make_space()
    start, end = _slot(days=10)
    owner, holder, other = make_user(), make_user(), make_user(locale="en")
    booking = make_booking(space, owner, start=start)
    join(client, holder, space, start, end)
    cancel_booking(owner, booking)
    db.session.commit()
    elsewhere = make_booking(space, other, start=start + timedelta(hours=3))
    moved = client.patch(f"/api/v1/bookings/{elsewhere.id}", headers=api_headers(other),
                         json={"start": start.isoformat(), "end": end.isoformat()})
    assert moved.status_code == 409 and moved.json["error"]["code"] == "held_for_waitlist"
    series = client.post("/api/v1/bookings", headers=api_headers(other), json={
        "space_id": space.id, "title": "Weekly", "start": (start - timedelta(days=7)).isoformat(),
        "end": (end - timedelta(days=7)).isoformat(), "recurrence": {"freq": "weekly", "count": 2}})
    assert series.status_code == 409 and series.json["error"]["code"] == "held_for_waitlist"
    assert "held until" in series.json["error"]["message"]
