"""Registration messages: confirm by the link, your place (with the event's invitation), the
waitlist, moved up from the waitlist, cancelled.

As for booking messages (:mod:`booking.notifications.bookings`), the request records one outbox
row with a snapshot of the event and the worker writes the text, the HTML and the calendar
invitation at delivery, in the registrant's language. The invitation is the booking's own
(the same UID and SEQUENCE as the calendar feeds), built by the same code, with the registrant
as ATTENDEE.

A link in a message carries the registrant's secret token (only its hash is stored): the
messages sent when someone moves up from the waitlist make a new one, which replaces the old.
"""
from __future__ import annotations

import secrets

from flask_babel import gettext as _

from booking.notifications import Notice, privacy_footer
from booking.notifications.bookings import BookingView, _facts, _greeting, _site_dict, render_from_snapshot, snapshot
from samskap.mail import Rendered, enqueue_notifications, register_renderer

RENDERER = "registration"


def _item(registration, event: str, *, token: str | None = None, method: str | None = None,
          booking_data: dict | None = None, **extra) -> dict:
    """The outbox row of one message (``booking_data``: the event's snapshot, when the caller
    already made it for several registrants)."""
    from booking.registrations.services import hash_token

    if token is None and event in ("promoted", "already_registered"):
        token = secrets.token_urlsafe(32)
        registration.token_hash = hash_token(token)
    booking = registration.booking
    payload = {"event": event, "booking": booking_data or snapshot(booking), "booking_ids": [booking.id],
               "count": 1, "method": method, "whole_series": False, "site": _site_dict(),
               "recipient_name": registration.name,
               "attendee": {"email": registration.email, "name": registration.name},
               "token": token, **extra}
    return {"to": registration.email, "kind": f"registration.{event}", "renderer": RENDERER,
            "locale": registration.locale, "payload": payload, "reference": f"booking:{booking.id}"}


def _send(registration, event: str, *, token: str | None = None, method: str | None = None) -> None:
    enqueue_notifications([_item(registration, event, token=token, method=method)])


def confirm_link(registration, token: str) -> None:
    _send(registration, "confirm", token=token)


def placed(registration, token: str) -> None:
    from booking.registrations.models import RegistrationStatus

    if registration.status == RegistrationStatus.CONFIRMED:
        _send(registration, "confirmed", token=token, method="REQUEST")
    else:
        _send(registration, "waitlisted", token=token)


def promoted(registration) -> None:
    _send(registration, "promoted", method="REQUEST")


def cancelled(registration, *, had_place: bool, by_registrant: bool) -> None:
    _send(registration, "cancelled_by_you" if by_registrant else "cancelled", method="CANCEL" if had_place else None)


def already_registered(registration) -> None:
    """Someone not signed in registered this address again: the address's owner is told, with a
    fresh link to see or cancel the registration (the request's answer does not say so)."""
    _send(registration, "already_registered")


def event_cancelled(registrations, *, reason: str) -> None:
    """The event is cancelled: each registrant is told; those who held a place get METHOD:CANCEL
    with the UID and (raised) SEQUENCE of their invitation. ``registrations``: ``(registration,
    had_place)`` pairs, all of one or more cancelled bookings."""
    snapshots: dict[int, dict] = {}
    enqueue_notifications([
        _item(registration, "event_cancelled", method="CANCEL" if had_place else None, reason=reason,
              booking_data=snapshots.setdefault(registration.booking_id, snapshot(registration.booking)))
        for registration, had_place in registrations])


def event_moved(registrations) -> None:
    """The event has a new time or place: each live registrant is told; those with a place get the
    updated invitation (METHOD:REQUEST, same UID, the booking's raised SEQUENCE)."""
    from booking.registrations.models import RegistrationStatus

    snapshots: dict[int, dict] = {}
    enqueue_notifications([
        _item(registration, "event_moved",
              method="REQUEST" if registration.status == RegistrationStatus.CONFIRMED else None,
              booking_data=snapshots.setdefault(registration.booking_id, snapshot(registration.booking)))
        for registration in registrations])


def _notice(event: str, booking: BookingView, payload: dict, base_url: str) -> Notice:
    name = payload["recipient_name"]
    facts = [fact for fact in _facts(booking) if fact[0] != _("Status")]
    link = f"{base_url}/events/registrations/{payload['token']}" if payload.get("token") else None
    manage = _("See or cancel your registration")
    if event == "confirm":
        return Notice(subject=_("Confirm your registration: %(title)s", title=booking.title),
                      heading=_("Confirm your registration"),
                      paragraphs=[_greeting(name), _("Someone (we hope you) registered this address for the event "
                                                     "below. Open the link and confirm to take your place."),
                                  _("If it was not you, do nothing: without confirmation the registration "
                                    "holds no place.")],
                      facts=facts, link=link, link_label=_("Confirm my registration"))
    if event in ("confirmed", "promoted"):
        paragraphs = [_greeting(name)]
        if event == "promoted":
            paragraphs.append(_("A place became free and it is yours: you have moved up from the waitlist."))
        paragraphs.append(_("You have a place. The attached calendar invitation adds the event to your calendar."))
        if event == "promoted":
            paragraphs.append(_("The link below replaces the one in earlier emails."))
        return Notice(subject=_("You have a place: %(title)s", title=booking.title),
                      heading=_("Your place is confirmed"), paragraphs=paragraphs, facts=facts, link=link,
                      link_label=manage)
    if event == "waitlisted":
        return Notice(subject=_("On the waitlist: %(title)s", title=booking.title),
                      heading=_("You are on the waitlist"),
                      paragraphs=[_greeting(name), _("The event is full. You are on the waitlist and will get an "
                                                     "email at once if a place becomes free.")],
                      facts=facts, link=link, link_label=manage)
    if event in ("cancelled", "cancelled_by_you"):
        text = (_("Your registration is cancelled, as you asked.") if event == "cancelled_by_you"
                else _("The organiser has cancelled your registration."))
        return Notice(subject=_("Registration cancelled: %(title)s", title=booking.title),
                      heading=_("Your registration is cancelled"), paragraphs=[_greeting(name), text], facts=facts)
    if event == "already_registered":
        return Notice(subject=_("You are already registered: %(title)s", title=booking.title),
                      heading=_("You are already registered"),
                      paragraphs=[_greeting(name), _("Someone (we hope you) tried to register this address for the "
                                                     "event below again. The address is already registered: "
                                                     "nothing has changed."),
                                  _("The link below replaces the one in earlier emails.")],
                      facts=facts, link=link, link_label=manage)
    if event == "event_cancelled":
        paragraphs = [_greeting(name), _("The event below is cancelled, and so is your registration.")]
        if payload.get("reason"):
            paragraphs.append(_("Reason: %(reason)s", reason=payload["reason"]))
        return Notice(subject=_("Event cancelled: %(title)s", title=booking.title),
                      heading=_("The event is cancelled"), paragraphs=paragraphs, facts=facts)
    if event == "event_moved":
        paragraphs = [_greeting(name), _("The event below has a new time or place. Your registration stands.")]
        if payload.get("method"):
            paragraphs.append(_("The attached calendar invitation updates the event in your calendar."))
        return Notice(subject=_("Event changed: %(title)s", title=booking.title),
                      heading=_("The event has changed"), paragraphs=paragraphs, facts=facts)
    raise ValueError(f"unknown registration message {event!r}")


@register_renderer(RENDERER)
def render_registration_message(payload: dict, locale: str) -> Rendered:
    """Write a registration message from its snapshot, in the registrant's language (the worker),
    with where to see and erase what Samskap holds about the address (registrants may have no account)."""
    def notice(event, booking, payload, base_url):
        text = _notice(event, booking, payload, base_url)
        text.footer = privacy_footer(base_url)
        return text

    return render_from_snapshot(payload, locale, notice)
