"""The mails of fair use, each built in the recipient's language and added to the outbox
(:func:`samskap.mail.enqueue_mail`) in the caller's transaction: the worker delivers them
after commit, and nothing is sent for a change that rolls back."""
from __future__ import annotations

from flask import current_app, has_request_context, request
from flask_babel import force_locale, gettext as _

from samskap.i18n import local_datetime_text
from samskap.mail import enqueue_mail


def link(endpoint: str, **values) -> str:
    """An absolute link for a mail, also outside a request (the worker): ``SAMSKAP_BASE_URL``,
    else the request's host, else localhost."""
    base = current_app.config.get("SAMSKAP_BASE_URL")
    if not base:
        base = request.url_root if has_request_context() else "http://localhost:5000"
    adapter = current_app.url_map.bind("localhost")
    return base.rstrip("/") + adapter.build(endpoint, values)


def _period(start, end) -> str:
    return f"{local_datetime_text(start, 'day')}–{local_datetime_text(end, 'day')}"


def _locale(user) -> str:
    return user.locale if user.locale in current_app.config.get("LANGUAGES", ("nb", "en")) else "nb"


def tell_no_show(booking) -> None:
    """The organiser: their booking was released because nobody checked in."""
    user = booking.organiser
    locale = _locale(user)
    with force_locale(locale):
        subject = _("Released: %(title)s in %(space)s", title=booking.title, space=booking.space.name)
        text = _("Hello %(name)s,\n\nNobody checked in to “%(title)s” in %(space)s (%(period)s) within %(minutes)d "
                 "minutes of the start, so the booking has been released and the room is free for others. The "
                 "booking is kept in your list as not checked in.\n\nIf you are there after all, book the room "
                 "again if it is still free:\n%(link)s\n\nSamskap",
                 name=user.name, title=booking.title, space=booking.space.name,
                 period=_period(booking.start, booking.end), minutes=booking.space.check_in_minutes or 0,
                 link=link("bookings.booking_page", booking_id=booking.id))
    enqueue_mail(to=user.email, subject=subject, text=text, kind="fairuse.no_show", locale=locale,
                 reference=f"booking:{booking.id}")


def tell_offer(entry) -> None:
    """The first in line: the time they wait for is free and held for them until ``hold_until``."""
    user = entry.user
    locale = _locale(user)
    with force_locale(locale):
        subject = _("Free now: %(space)s %(period)s", space=entry.space.name, period=_period(entry.start, entry.end))
        text = _("Hello %(name)s,\n\nThe time you are waiting for in %(space)s (%(period)s) is free. It is held for "
                 "you until %(until)s; after that the next person on the waitlist is told.\n\nBook it here:\n"
                 "%(link)s\n\nSamskap",
                 name=user.name, space=entry.space.name, period=_period(entry.start, entry.end),
                 until=local_datetime_text(entry.hold_until, "day"), link=link("fairuse.waitlist_page"))
    enqueue_mail(to=user.email, subject=subject, text=text, kind="fairuse.waitlist_offer", locale=locale,
                 reference=f"waitlist:{entry.id}")


def tell_booked(entry, booking) -> None:
    """Someone who chose automatic booking: the freed time is booked for them."""
    user = entry.user
    locale = _locale(user)
    with force_locale(locale):
        subject = _("Booked for you: %(space)s %(period)s", space=entry.space.name,
                    period=_period(booking.start, booking.end))
        text = _("Hello %(name)s,\n\nThe time you were waiting for in %(space)s (%(period)s) became free, and as "
                 "you asked, it is now booked for you.\n\n%(link)s\n\nSamskap",
                 name=user.name, space=entry.space.name, period=_period(booking.start, booking.end),
                 link=link("bookings.booking_page", booking_id=booking.id))
    enqueue_mail(to=user.email, subject=subject, text=text, kind="fairuse.waitlist_booked", locale=locale,
                 reference=f"booking:{booking.id}")
