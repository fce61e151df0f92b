"""Messages to a booking's named participants (users and guests): the invitation with the
booking's calendar event (``METHOD:REQUEST``, the feeds' UID), updates when the booking changes,
and a cancellation (``METHOD:CANCEL``) when it is cancelled or rejected or when they are taken off
the list. Recorded in the outbox as a snapshot, written by the worker at delivery, as the
organiser's messages are (:mod:`booking.notifications.bookings`).
"""
from __future__ import annotations

from flask_babel import gettext as _

from booking.models import Booking
from booking.notifications import LOCALES, Notice, Recipient, privacy_footer
from booking.notifications.bookings import BookingView, _facts, _greeting, _site_dict, render_from_snapshot, snapshot
from samskap.mail import Rendered, enqueue_notifications, register_renderer

RENDERER = "booking.participant"
ANONYMISED_DOMAIN = "@invalid.invalid"  # the addresses anonymised people and guests go by


def _recipient(row, organiser) -> Recipient:
    """A user in their own language; a guest in the organiser's."""
    if row.user is not None:
        locale = row.user.locale if row.user.locale in LOCALES else "nb"
        return Recipient(row.user.email, row.user.name, locale, row.user.id)
    locale = organiser.locale if organiser is not None and organiser.locale in LOCALES else "nb"
    return Recipient(row.email, row.name or row.email, locale, None)


def _item(recipient: Recipient, bookings: list[Booking], event: str, method: str, *, whole_series: bool,
          actor, reason: str = "") -> dict:
    booking = bookings[0]
    payload = {"event": event, "booking": snapshot(booking), "count": len(bookings),
               "booking_ids": [b.id for b in bookings], "method": method, "whole_series": whole_series,
               "attendee": {"email": recipient.email, "name": recipient.name}, "site": _site_dict(),
               "actor": actor.name if actor is not None else "", "organiser": booking.organiser.name,
               "reason": reason, "recipient_name": recipient.name, "guest": recipient.user_id is None}
    return {"to": recipient.email, "kind": f"booking.participant.{event}", "renderer": RENDERER,
            "locale": recipient.locale, "payload": payload, "reference": f"booking:{booking.id}"}


def _grouped(pairs) -> dict[tuple, tuple]:
    """(booking, participant) pairs -> {person: (recipient row, [bookings])}: one message per person,
    listing every occurrence of a series they were added to or removed from."""
    groups: dict[tuple, tuple] = {}
    for booking, row in pairs:
        if (row.address or "").endswith(ANONYMISED_DOMAIN):
            continue  # an anonymised person (a guest who erased their data, a departed user): no mail to send
        key = (row.user_id, row.email, booking.series_id or ("single", booking.id))
        groups.setdefault(key, (row, []))[1].append(booking)
    return groups


def participants_added(actor, pairs, *, new_booking: bool) -> int:
    """The invitation to each person added (to a new booking, or to an existing one)."""
    items = []
    for row, bookings in _grouped(pairs).values():
        bookings.sort(key=lambda b: b.start)
        if not any(b.is_active for b in bookings):
            continue
        items.append(_item(_recipient(row, bookings[0].organiser), bookings, "invited", "REQUEST",
                           whole_series=bookings[0].series_id is not None and (new_booking or len(bookings) > 1),
                           actor=actor))
    return enqueue_notifications(items)


def participants_removed(actor, pairs) -> int:
    """A cancellation to each person taken off the list."""
    items = []
    for row, bookings in _grouped(pairs).values():
        bookings.sort(key=lambda b: b.start)
        items.append(_item(_recipient(row, bookings[0].organiser), bookings, "removed", "CANCEL",
                           whole_series=bookings[0].series_id is not None and len(bookings) > 1, actor=actor))
    return enqueue_notifications(items)


def tell_participants(actor, bookings: list[Booking], event: str, *, whole_series: bool, reason: str = "") -> int:
    """Called with the organiser's messages (booking/notifications/bookings.py): ``changed`` and
    ``approved`` send the updated invitation, ``cancelled`` and ``rejected`` the cancellation."""
    from booking.participants import people_of

    rows = people_of([b.id for b in bookings])
    if not rows:
        return 0
    by_id = {b.id: b for b in bookings}
    method = "REQUEST" if event in ("changed", "approved") else "CANCEL"
    pairs = [(by_id[row.booking_id], row) for row in rows]
    items = []
    for row, group in _grouped(pairs).values():
        group.sort(key=lambda b: b.start)
        items.append(_item(_recipient(row, group[0].organiser), group, event, method, whole_series=whole_series,
                           actor=actor, reason=reason))
    return enqueue_notifications(items)


def _notice(event: str, booking: BookingView, payload: dict, base_url: str) -> Notice:
    name, organiser = payload["recipient_name"], payload.get("organiser") or ""
    facts = _facts(booking, payload.get("count", 1))
    link, label = f"{base_url}/bookings/{booking.id}", _("Open the booking")
    reason = payload.get("reason") or ""
    if event == "invited":
        return Notice(subject=_("Invitation: %(title)s", title=booking.title),
                      heading=_("You are invited"),
                      paragraphs=[_greeting(name), _("%(name)s has invited you to %(title)s.", name=organiser,
                                                     title=booking.title),
                                  _("The attached calendar invitation adds it to your calendar.")],
                      facts=facts, link=link, link_label=label)
    if event == "changed":
        return Notice(subject=_("Changed: %(title)s", title=booking.title), heading=_("The booking has changed"),
                      paragraphs=[_greeting(name), _("The attached invitation has the new details.")],
                      facts=facts, link=link, link_label=label)
    if event == "approved":
        return Notice(subject=_("Confirmed: %(title)s", title=booking.title), heading=_("The booking is confirmed"),
                      paragraphs=[_greeting(name), _("The attached calendar invitation adds it to your calendar.")],
                      facts=facts, link=link, link_label=label)
    if event in ("cancelled", "rejected"):
        paragraphs = [_greeting(name), _("%(title)s is cancelled.", title=booking.title)]
        if reason:
            paragraphs.append(_("Reason: %(reason)s", reason=reason))
        return Notice(subject=_("Cancelled: %(title)s", title=booking.title), heading=_("The booking is cancelled"),
                      paragraphs=paragraphs, facts=facts)
    if event == "removed":
        return Notice(subject=_("You are no longer invited: %(title)s", title=booking.title),
                      heading=_("You are no longer on the list"),
                      paragraphs=[_greeting(name), _("%(name)s has taken you off the list of participants of "
                                                     "%(title)s.", name=organiser, title=booking.title)],
                      facts=facts)
    raise ValueError(f"unknown participant message {event!r}")


@register_renderer(RENDERER)
def render_participant_message(payload: dict, locale: str) -> Rendered:
    """Write a participant's message from its snapshot, in their language (the outbox worker). A
    guest (no account) is told where to see and erase what Samskap holds about their address."""
    def notice(event, booking, payload, base_url):
        text = _notice(event, booking, payload, base_url)
        if payload.get("guest"):
            text.footer = privacy_footer(base_url)
        return text

    return render_from_snapshot(payload, locale, notice)
