"""Booking messages: received, needs your decision, confirmed, rejected, changed, cancelled,
reminder, and the approvers' daily digest."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from accounts.models import User
from booking.models import Booking, BookingStatus
from booking.notifications import (Notice, Outgoing, Recipient, already_sent, approvers, organisation_copy, period,
                                   person, render, send, site, when)
from samskap.extensions import db
from samskap.mail import one_line

STATUS_TEXT = {
    BookingStatus.PENDING: lambda: _("waiting for approval"),
    BookingStatus.CONFIRMED: lambda: _("confirmed"),
    BookingStatus.REJECTED: lambda: _("rejected"),
    BookingStatus.CANCELLED: lambda: _("cancelled"),
    BookingStatus.NO_SHOW: lambda: _("released (not checked in)"),
}


def _facts(booking: Booking, count: int = 1) -> list[tuple[str, str]]:
    space = booking.space
    place = f"{space.name} ({space.location})" if space.location else space.name
    facts = [(_("Booking"), booking.title), (_("Space"), place),
             (_("When"), period(booking.start, booking.end))]
    if count > 1:
        facts.append((_("Occurrences"), str(count)))
    facts += [(_("Organisation"), booking.organisation.name), (_("Status"), STATUS_TEXT[booking.status]())]
    return facts


def _link(booking: Booking) -> str:
    return f"{site().base_url}/bookings/{booking.id}"


def _invitation(bookings: list[Booking], recipient: Recipient, method: str, *, whole_series: bool) -> tuple:
    from booking.feeds.invitations import Party, invitation

    from samskap.mail import sender_address

    sender = sender_address()
    organizer = Party(getattr(sender, "addr_spec", str(sender)),
                      one_line(getattr(sender, "display_name", "") or current_app.config["SAMSKAP_SITE_NAME"], 100))
    data = invitation(bookings, site(), method=method, organizer=organizer,
                      attendee=Party(recipient.email, one_line(recipient.name, 100)), whole_series=whole_series)
    return (("invite.ics", f"text/calendar; method={method}", data.decode("utf-8")),)


def _organiser_messages(bookings: list[Booking], organiser: User, kind: str, method: str, build, *,
                        whole_series: bool) -> list[Outgoing]:
    """The message to the organiser and the copy to their organisation's shared address."""
    booking = bookings[0]
    main = person(organiser)
    recipients = [main]
    copy = organisation_copy(booking.organisation, main.locale, besides=(main.email,))
    if copy is not None:
        recipients.append(copy)
    return [render(r, kind, lambda r=r: build(r), reference=f"booking:{booking.id}",
                   attachments=_invitation(bookings, r, method, whole_series=whole_series))
            for r in recipients]


def _greeting(recipient: Recipient) -> str:
    return _("Hello %(name)s,", name=recipient.name)


# --- on changes (called by booking/services.py inside the change's transaction) -------------------

def booking_made(actor: User, bookings: list[Booking], series) -> None:
    """Received (pending) or confirmed, to the organiser; "needs your decision" to approvers."""
    booking = bookings[0]
    whole = series is not None
    pending = booking.status == BookingStatus.PENDING

    def build(recipient):
        if pending:
            return Notice(
                subject=_("Booking received: %(title)s", title=booking.title),
                heading=_("We have received your booking"),
                paragraphs=[_greeting(recipient), _("Your booking waits for approval by the workshop staff. "
                                                    "You will get an email when it has been decided.")],
                facts=_facts(booking, len(bookings)), link=_link(booking), link_label=_("Open the booking"))
        return Notice(
            subject=_("Booking confirmed: %(title)s", title=booking.title),
            heading=_("Your booking is confirmed"),
            paragraphs=[_greeting(recipient), _("The attached calendar invitation adds it to your calendar.")],
            facts=_facts(booking, len(bookings)), link=_link(booking), link_label=_("Open the booking"))

    outgoing = _organiser_messages(bookings, actor, "booking.received" if pending else "booking.confirmed",
                                   "REQUEST", build, whole_series=whole)
    if pending:
        outgoing += _decision_requests(bookings, actor)
    send(outgoing)


def _decision_requests(bookings: list[Booking], actor: User) -> list[Outgoing]:
    booking = bookings[0]
    messages = []
    for approver in approvers():
        if approver.approval_digest or approver.id == actor.id:
            continue
        recipient = person(approver)

        def build(recipient=recipient):
            return Notice(
                subject=_("Needs your decision: %(title)s", title=booking.title),
                heading=_("A booking needs your decision"),
                paragraphs=[_greeting(recipient),
                            _("%(name)s (%(organisation)s) asks to book %(space)s.", name=actor.name,
                              organisation=booking.organisation.name, space=booking.space.name)],
                facts=_facts(booking, len(bookings)), link=f"{site().base_url}/bookings/approvals",
                link_label=_("Approve or reject"),
                footer=_("You can choose a daily digest instead on your profile page."))
        messages.append(render(recipient, "booking.needs_decision", build, reference=f"booking:{booking.id}"))
    return messages


def booking_decided(actor: User, booking: Booking) -> None:
    """Confirmed (METHOD:REQUEST) or rejected with the reason (METHOD:CANCEL)."""
    approved = booking.status == BookingStatus.CONFIRMED
    organiser = booking.organiser

    def build(recipient):
        if approved:
            paragraphs = [_greeting(recipient), _("Your booking has been approved by %(name)s.", name=actor.name)]
            if booking.decision_reason:
                paragraphs.append(_("Note: %(note)s", note=booking.decision_reason))
            return Notice(subject=_("Booking confirmed: %(title)s", title=booking.title),
                          heading=_("Your booking is confirmed"), paragraphs=paragraphs, facts=_facts(booking),
                          link=_link(booking), link_label=_("Open the booking"))
        return Notice(subject=_("Booking rejected: %(title)s", title=booking.title),
                      heading=_("Your booking was not approved"),
                      paragraphs=[_greeting(recipient), _("%(name)s rejected your booking.", name=actor.name),
                                  _("Reason: %(reason)s", reason=booking.decision_reason)],
                      facts=_facts(booking), link=_link(booking), link_label=_("Open the booking"))

    send(_organiser_messages([booking], organiser, "booking.confirmed" if approved else "booking.rejected",
                             "REQUEST" if approved else "CANCEL", build, whole_series=False))


def booking_changed(actor: User, bookings: list[Booking], scope: str) -> None:
    """A change of time, space, text or scope of a series: an updated invitation (SEQUENCE rises)."""
    booking = bookings[0]
    whole = booking.series_id is not None and scope != "this"

    def build(recipient):
        paragraphs = [_greeting(recipient), _("%(name)s changed your booking.", name=actor.name)]
        if booking.status == BookingStatus.PENDING:
            paragraphs.append(_("The change must be approved by the workshop staff again."))
        if len(bookings) > 1:
            paragraphs.append(_("The change applies to %(num)d dates.", num=len(bookings)))
        return Notice(subject=_("Booking changed: %(title)s", title=booking.title),
                      heading=_("Your booking has changed"), paragraphs=paragraphs,
                      facts=_facts(booking, len(bookings)), link=_link(booking), link_label=_("Open the booking"))

    outgoing = _organiser_messages(bookings, booking.organiser, "booking.changed", "REQUEST", build,
                                   whole_series=whole)
    if booking.status == BookingStatus.PENDING and actor.id == booking.organiser_id:
        outgoing += _decision_requests(bookings, actor)
    send(outgoing)


def booking_cancelled(actor: User, bookings: list[Booking], reason: str, scope: str) -> None:
    """Cancelled, by whom and why (METHOD:CANCEL with the same UID)."""
    booking = bookings[0]
    whole = booking.series_id is not None and scope == "series"

    def build(recipient):
        paragraphs = [_greeting(recipient), _("%(name)s cancelled the booking.", name=actor.name)]
        if reason:
            paragraphs.append(_("Reason: %(reason)s", reason=reason))
        if len(bookings) > 1:
            paragraphs.append(_("%(num)d dates are cancelled.", num=len(bookings)))
        return Notice(subject=_("Booking cancelled: %(title)s", title=booking.title),
                      heading=_("The booking is cancelled"), paragraphs=paragraphs,
                      facts=_facts(booking, len(bookings)), link=_link(booking), link_label=_("Open the booking"))

    send(_organiser_messages(bookings, booking.organiser, "booking.cancelled", "CANCEL", build, whole_series=whole))


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
    keys = {f"reminder:booking:{b.id}:{b.start.isoformat()}" for b, _u in due}
    done = already_sent(keys)
    outgoing = []
    for booking, user in due:
        key = f"reminder:booking:{booking.id}:{booking.start.isoformat()}"
        if key in done:
            continue
        recipient = person(user)

        def build(recipient=recipient, booking=booking):
            return Notice(subject=_("Reminder: %(title)s, %(when)s", title=booking.title, when=when(booking.start)),
                          heading=_("Your booking starts soon"), paragraphs=[_greeting(recipient)],
                          facts=_facts(booking), link=_link(booking), link_label=_("Open the booking"),
                          footer=_("You can turn reminders off or choose when they come on your profile page."))
        outgoing.append(render(recipient, "booking.reminder", build, reference=f"booking:{booking.id}",
                               dedupe_key=key, attachments=_invitation([booking], recipient, "REQUEST",
                                                                       whole_series=booking.series_id is not None)))
    send(outgoing)
    return len(outgoing)


def send_digests(now: datetime) -> int:
    """The daily list of bookings waiting for a decision, to approvers who chose the digest."""
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
    keys = {f"digest:{u.id}:{day}" for u in wanting}
    done = already_sent(keys)
    outgoing = []
    for user in wanting:
        key = f"digest:{user.id}:{day}"
        if key in done:
            continue
        recipient = person(user)

        def build(recipient=recipient):
            return Notice(
                subject=_("Bookings waiting for your decision: %(num)d", num=len(pending)),
                heading=_("Bookings waiting for a decision"), paragraphs=[_greeting(recipient)],
                items=[{"text": f"{b.title} – {b.space.name}, {period(b.start, b.end)} ({b.organisation.name})",
                        "link": _link(b)} for b in pending],
                link=f"{site().base_url}/bookings/approvals", link_label=_("Approve or reject"),
                footer=_("You chose a daily digest on your profile page."))
        outgoing.append(render(recipient, "booking.digest", build, dedupe_key=key))
    send(outgoing)
    return len(outgoing)
