"""Booking messages: received, needs your decision, confirmed, rejected, changed, cancelled,
reminder, and the approvers' daily digest.

Recording a booking message in a request costs one outbox row and nothing else: the service's
transaction stores a snapshot of what the message says (the booking's values as the feeds write
them, who acted, why) and the worker writes the text, the HTML and the invitation from it at
delivery (``render_booking_message``, registered as the outbox renderer "booking"). Rendering
templates and calendars inside the request made creating a booking half again as slow.

A single booking's invitation is built from the snapshot, so it says exactly what was true when
the change was made. A series' invitation is built at delivery from the series' rows as they are
then (a master VEVENT carries the whole series, so it must reflect all of it); when two changes to
a series follow each other quickly, both mails describe the later state, with its higher SEQUENCE.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale, gettext as _

from accounts.models import User
from booking.labels import status_phrase
from booking.models import Booking, BookingStatus, Purpose
from booking.notifications import (Notice, Recipient, already_sent, approvers, organisation_copy, period, person,
                                   site, when)
from samskap.extensions import db
from samskap.mail import Rendered, enqueue_notifications, notification_rows, one_line, register_renderer

RENDERER = "booking"



# --- the snapshot recorded with the change ----------------------------------------------------------

def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def snapshot(booking: Booking) -> dict:
    """What a message says about a booking, as plain JSON (the feeds' values plus the decision)."""
    return {
        "id": booking.id, "series_id": booking.series_id, "original_start": _iso(booking.original_start),
        "start": _iso(booking.start), "end": _iso(booking.end), "status": booking.status.value,
        "purpose": booking.purpose.value, "title": booking.title, "description": booking.description or "",
        "sequence": booking.sequence, "created_at": _iso(booking.created_at), "updated_at": _iso(booking.updated_at),
        "space_name": booking.space.name, "space_location": booking.space.location or "",
        "organisation_name": booking.organisation.name, "decision_reason": booking.decision_reason or "",
    }


class BookingView:
    """A snapshot read back in the worker: the attributes the messages and the invitation use."""

    def __init__(self, data: dict):
        self.data = data
        for key in ("id", "series_id", "title", "description", "sequence", "space_name", "space_location",
                    "organisation_name", "decision_reason"):
            setattr(self, key, data[key])
        for key in ("original_start", "start", "end", "created_at", "updated_at"):
            setattr(self, key, datetime.fromisoformat(data[key]) if data[key] else None)
        self.status = BookingStatus(data["status"])
        self.purpose = Purpose(data["purpose"])

    def feed_row(self):
        from booking.feeds.services import FeedBooking

        return FeedBooking(self.id, self.series_id, self.original_start, self.start, self.end, self.status,
                           self.purpose, self.title, self.description, self.sequence, self.created_at,
                           self.updated_at, self.space_name, self.space_location, self.organisation_name)


def _site_dict() -> dict:
    place = site()
    return {"host": place.host, "base_url": place.base_url, "address": place.address, "tzid": place.tzid}


class Pending:
    """Messages of one change, added to the outbox together at the end (after every query the change
    needs), so that they are one multi-row INSERT at the flush."""

    def __init__(self):
        self.rows: list[tuple[Recipient, str, dict, str | None]] = []

    def add(self, recipient: Recipient, kind: str, payload: dict, dedupe_key: str | None = None) -> None:
        self.rows.append((recipient, kind, payload, dedupe_key))

    def items(self) -> list[dict]:
        return [{"to": recipient.email, "kind": kind, "renderer": RENDERER, "locale": recipient.locale,
                 "payload": {**payload, "recipient_name": recipient.name},
                 "reference": f"booking:{payload['booking']['id']}", "dedupe_key": dedupe_key}
                for recipient, kind, payload, dedupe_key in self.rows]

    def send(self) -> int:
        return enqueue_notifications(self.items())


def _to_organiser(pending: Pending, bookings: list[Booking], organiser: User, kind: str, event: str, *,
                  method: str | None, whole_series: bool = False, **extra) -> None:
    """The organiser's message and, for the organisation's shared address, a copy of it (her text and
    her invitation)."""
    booking = bookings[0]
    main = person(organiser)
    payload = {"event": event, "booking": snapshot(booking), "count": len(bookings),
               "booking_ids": [b.id for b in bookings], "method": method, "whole_series": whole_series,
               "attendee": {"email": main.email, "name": main.name}, "site": _site_dict(), **extra}
    pending.add(main, kind, payload)
    copy = organisation_copy(booking.organisation, main.locale, besides=(main.email,))
    if copy is not None:
        pending.add(Recipient(copy.email, main.name, main.locale, None), kind, payload)


def _to_approvers(pending: Pending, bookings: list[Booking], actor: User) -> None:
    booking = bookings[0]
    for approver in approvers():
        if approver.approval_digest or approver.id == actor.id:
            continue
        pending.add(person(approver), "booking.needs_decision", {
            "event": "needs_decision", "booking": snapshot(booking), "count": len(bookings),
            "booking_ids": [booking.id], "method": None, "actor": actor.name, "site": _site_dict()})


# --- on changes (called by booking/services/ inside the change's transaction) ---------------------

def _made(actor: User, bookings: list[Booking], series) -> Pending:
    pending_booking = bookings[0].status == BookingStatus.PENDING
    pending = Pending()
    if pending_booking:
        _to_approvers(pending, bookings, actor)  # the query first: then every row goes in one INSERT
    _to_organiser(pending, bookings, actor, "booking.received" if pending_booking else "booking.confirmed",
                  "received" if pending_booking else "confirmed", method="REQUEST", whole_series=series is not None)
    return pending


def booking_made(actor: User, bookings: list[Booking], series) -> None:
    """Received (pending) or confirmed, to the organiser; "needs your decision" to approvers."""
    _made(actor, bookings, series).send()


def booking_made_rows(actor: User, booking: Booking) -> list[dict]:
    """The outbox rows :func:`booking_made` writes for one new booking, made BEFORE it is written, so
    that the statement writing the booking writes them too (booking/services/writes.py, on PostgreSQL: no
    round trip of its own). The booking has no id yet: that statement puts the new id into
    ``payload["booking"]["id"]``, ``payload["booking_ids"]`` and ``reference``; every other value
    (its times, ``created_at`` and ``updated_at`` included) must already be what will be stored."""
    return notification_rows(_made(actor, [booking], None).items())


def booking_decided(actor: User, booking: Booking) -> None:
    """Confirmed (METHOD:REQUEST) or rejected with the reason (METHOD:CANCEL)."""
    approved = booking.status == BookingStatus.CONFIRMED
    pending = Pending()
    _to_organiser(pending, [booking], booking.organiser, "booking.confirmed" if approved else "booking.rejected",
                  "approved" if approved else "rejected", method="REQUEST" if approved else "CANCEL",
                  actor=actor.name)
    pending.send()
    tell_participants(actor, [booking], "approved" if approved else "rejected", whole_series=False,
                      reason="" if approved else booking.decision_reason or "")


def booking_changed(actor: User, bookings: list[Booking], scope: str) -> None:
    """A change of time, space, text or scope of a series: an updated invitation (SEQUENCE rises)."""
    booking = bookings[0]
    pending = Pending()
    if booking.status == BookingStatus.PENDING and actor.id == booking.organiser_id:
        _to_approvers(pending, bookings, actor)
    _to_organiser(pending, bookings, booking.organiser, "booking.changed", "changed", method="REQUEST",
                  whole_series=booking.series_id is not None and scope != "this", actor=actor.name)
    pending.send()
    tell_participants(actor, bookings, "changed", whole_series=booking.series_id is not None and scope != "this")


def booking_cancelled(actor: User, bookings: list[Booking], reason: str, scope: str) -> None:
    """Cancelled, by whom and why (METHOD:CANCEL with the same UID)."""
    booking = bookings[0]
    pending = Pending()
    _to_organiser(pending, bookings, booking.organiser, "booking.cancelled", "cancelled", method="CANCEL",
                  whole_series=booking.series_id is not None and scope == "series", actor=actor.name,
                  reason=reason)
    pending.send()
    tell_participants(actor, bookings, "cancelled", whole_series=booking.series_id is not None and scope == "series",
                      reason=reason)


# --- writing the messages (in the worker) ------------------------------------------------------------

def _facts(booking: BookingView, count: int = 1) -> list[tuple[str, str]]:
    place = f"{booking.space_name} ({booking.space_location})" if booking.space_location else booking.space_name
    facts = [(_("Booking"), booking.title), (_("Space"), place), (_("When"), period(booking.start, booking.end))]
    if count > 1:
        facts.append((_("Occurrences"), str(count)))
    facts += [(_("Organisation"), booking.organisation_name), (_("Status"), status_phrase(booking.status))]
    return facts


def _greeting(name: str) -> str:
    return _("Hello %(name)s,", name=name)


def _notice(event: str, booking: BookingView, payload: dict, base_url: str) -> Notice:
    name, count = payload["recipient_name"], payload.get("count", 1)
    link, open_label = f"{base_url}/bookings/{booking.id}", _("Open the booking")
    facts = _facts(booking, count)
    actor, reason = payload.get("actor") or "", payload.get("reason") or ""
    if event == "received":
        return Notice(subject=_("Booking received: %(title)s", title=booking.title),
                      heading=_("We have received your booking"),
                      paragraphs=[_greeting(name), _("Your booking waits for approval by the workshop staff. "
                                                     "You will get an email when it has been decided.")],
                      facts=facts, link=link, link_label=open_label)
    if event == "confirmed":
        return Notice(subject=_("Booking confirmed: %(title)s", title=booking.title),
                      heading=_("Your booking is confirmed"),
                      paragraphs=[_greeting(name), _("The attached calendar invitation adds it to your calendar.")],
                      facts=facts, link=link, link_label=open_label)
    if event == "approved":
        paragraphs = [_greeting(name), _("Your booking has been approved by %(name)s.", name=actor)]
        if booking.decision_reason:
            paragraphs.append(_("Note: %(note)s", note=booking.decision_reason))
        return Notice(subject=_("Booking confirmed: %(title)s", title=booking.title),
                      heading=_("Your booking is confirmed"), paragraphs=paragraphs, facts=facts, link=link,
                      link_label=open_label)
    if event == "rejected":
        return Notice(subject=_("Booking rejected: %(title)s", title=booking.title),
                      heading=_("Your booking was not approved"),
                      paragraphs=[_greeting(name), _("%(name)s rejected your booking.", name=actor),
                                  _("Reason: %(reason)s", reason=booking.decision_reason)],
                      facts=facts, link=link, link_label=open_label)
    if event == "changed":
        paragraphs = [_greeting(name), _("%(name)s changed your booking.", name=actor)]
        if booking.status == BookingStatus.PENDING:
            paragraphs.append(_("The change must be approved by the workshop staff again."))
        if count > 1:
            paragraphs.append(_("The change applies to %(num)d dates.", num=count))
        return Notice(subject=_("Booking changed: %(title)s", title=booking.title),
                      heading=_("Your booking has changed"), paragraphs=paragraphs, facts=facts, link=link,
                      link_label=open_label)
    if event == "cancelled":
        paragraphs = [_greeting(name), _("%(name)s cancelled the booking.", name=actor)]
        if reason:
            paragraphs.append(_("Reason: %(reason)s", reason=reason))
        if count > 1:
            paragraphs.append(_("%(num)d dates are cancelled.", num=count))
        return Notice(subject=_("Booking cancelled: %(title)s", title=booking.title),
                      heading=_("The booking is cancelled"), paragraphs=paragraphs, facts=facts, link=link,
                      link_label=open_label)
    if event == "reminder":
        return Notice(subject=_("Reminder: %(title)s, %(when)s", title=booking.title, when=when(booking.start)),
                      heading=_("Your booking starts soon"), paragraphs=[_greeting(name)], facts=facts, link=link,
                      link_label=open_label,
                      footer=_("You can turn reminders off or choose when they come on your profile page."))
    if event == "needs_decision":
        return Notice(subject=_("Needs your decision: %(title)s", title=booking.title),
                      heading=_("A booking needs your decision"),
                      paragraphs=[_greeting(name), _("%(name)s (%(organisation)s) asks to book %(space)s.", name=actor,
                                                     organisation=booking.organisation_name,
                                                     space=booking.space_name)],
                      facts=facts, link=f"{base_url}/bookings/approvals", link_label=_("Approve or reject"),
                      footer=_("You can choose a daily digest instead on your profile page."))
    raise ValueError(f"unknown booking message {event!r}")


def _invitation(booking: BookingView, payload: dict, place) -> tuple:
    from booking.feeds.invitations import Party, invitation, single_invitation
    from samskap.mail import sender_address

    method = payload.get("method")
    if not method:
        return ()
    sender = sender_address()
    organizer = Party(sender.addr_spec, one_line(sender.display_name or current_app.config["SAMSKAP_SITE_NAME"], 100))
    attendee = Party(payload["attendee"]["email"], one_line(payload["attendee"]["name"], 100))
    if booking.series_id is None:
        data = single_invitation(booking.feed_row(), place, method, organizer, attendee)
    else:
        ids = payload.get("booking_ids") or [booking.id]
        rows = list(db.session.scalars(sa.select(Booking).where(Booking.id.in_(ids)).order_by(Booking.start)))
        rows.sort(key=lambda b: (b.id != booking.id, b.start))
        if not rows:
            return ()
        data = invitation(rows, place, method=method, organizer=organizer, attendee=attendee,
                          whole_series=bool(payload.get("whole_series")))
    return (("invite.ics", f"text/calendar; method={method}", data.decode("utf-8")),)


def render_from_snapshot(payload: dict, locale: str, notice) -> Rendered:
    """Write a message about a booking from its snapshot, in the recipient's language, with its
    invitation: ``notice(event, booking, payload, base_url)`` says what it says (the outbox worker)."""
    from booking.feeds.calendar import FeedOrigin

    booking = BookingView(payload["booking"])
    place = FeedOrigin(**payload["site"])
    with force_locale(locale):
        text_of = notice(payload["event"], booking, payload, place.base_url)
        context = {"notice": text_of, "recipient": Recipient("", payload["recipient_name"], locale),
                   "site_name": current_app.config["SAMSKAP_SITE_NAME"]}
        text = render_template("notifications/message.txt", **context)
        html = render_template("notifications/message.html", **context)
    return Rendered(text_of.subject, text, html, _invitation(booking, payload, place))


@register_renderer(RENDERER)
def render_booking_message(payload: dict, locale: str) -> Rendered:
    """Write a booking message from its snapshot, in the recipient's language (the outbox worker)."""
    return render_from_snapshot(payload, locale, _notice)


# --- scheduled (registered with the worker in booking/notifications/jobs.py) ----------------------

MAX_REMINDER_HOURS = 24 * 14


def send_reminders(now: datetime) -> int:
    """A reminder before each confirmed booking starts, to organisers who want one, at their
    chosen number of hours before (else SAMSKAP_REMINDER_HOURS). Sent once per booking and start
    time (a moved booking is reminded of again)."""
    default_hours = current_app.config.get("SAMSKAP_REMINDER_HOURS", 24)
    horizon = now + timedelta(hours=max(default_hours, MAX_REMINDER_HOURS))
    rows = db.session.execute(
        sa.select(Booking, User).join(User, User.id == Booking.organiser_id)
        .where(Booking.status == BookingStatus.CONFIRMED, Booking.start > now, Booking.start <= horizon,
               User.active.is_(True), User.notify_reminders.is_(True))
        .order_by(Booking.start, Booking.id)).all()
    due = [(booking, user) for booking, user in rows
           if booking.start - now <= timedelta(hours=user.reminder_hours or default_hours)]
    if not due:
        return 0
    done = already_sent({f"reminder:booking:{b.id}:{b.start.isoformat()}" for b, _u in due})
    pending = Pending()
    for booking, user in due:
        key = f"reminder:booking:{booking.id}:{booking.start.isoformat()}"
        if key in done:
            continue
        recipient = person(user)
        pending.add(recipient, "booking.reminder", {
            "event": "reminder", "booking": snapshot(booking), "count": 1, "booking_ids": [booking.id],
            "method": "REQUEST", "whole_series": booking.series_id is not None,
            "attendee": {"email": recipient.email, "name": recipient.name}, "site": _site_dict()}, dedupe_key=key)
    return pending.send()


def send_digests(now: datetime) -> int:
    """The daily list of bookings waiting for a decision, to approvers who chose the digest."""
    from booking.notifications import render, send
    from samskap.timeutil import local_tz

    wanting = [u for u in approvers() if u.approval_digest]
    if not wanting:
        return 0
    pending = list(db.session.scalars(sa.select(Booking).where(Booking.status == BookingStatus.PENDING,
                                                               Booking.start > now)
                                      .order_by(Booking.start, Booking.id).limit(200)))
    if not pending:
        return 0
    day = now.astimezone(local_tz()).date().isoformat()
    done = already_sent({f"digest:{u.id}:{day}" for u in wanting})
    base_url = site().base_url
    outgoing = []
    for user in wanting:
        key = f"digest:{user.id}:{day}"
        if key in done:
            continue
        recipient = person(user)

        def build(recipient=recipient):
            return Notice(
                subject=_("Bookings waiting for your decision: %(num)d", num=len(pending)),
                heading=_("Bookings waiting for a decision"), paragraphs=[_greeting(recipient.name)],
                items=[{"text": f"{b.title} – {b.space.name}, {period(b.start, b.end)} ({b.organisation.name})",
                        "link": f"{base_url}/bookings/{b.id}"} for b in pending],
                link=f"{base_url}/bookings/approvals", link_label=_("Approve or reject"),
                footer=_("You chose a daily digest on your profile page."))
        outgoing.append(render(recipient, "booking.digest", build, dedupe_key=key))
    send(outgoing)
    return len(outgoing)


# The participants' messages (invitations, updates, cancellations) go with the organiser's.
from booking.notifications.participants import tell_participants  # noqa: E402
