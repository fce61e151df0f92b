"""Notifications about bookings and equipment: one function per kind of message, called by the
services in the same transaction as the change (the outbox, samskap/mail.py, delivers them).

Each message is written in its recipient's language (nb or en), as plain text and HTML
(templates/notifications/), and every booking message carries an iCalendar invitation with the
same UID as the calendar feeds (booking/feeds/invitations.py).

Everything a message needs is read first and the outbox rows are added last, so that a request
that notifies several people still sends one INSERT for them all (the rows go out together at
the flush).

Who receives what:

* the organiser: every change of status of their booking (these cannot be turned off), and a
  reminder before it starts (``users.notify_reminders``, ``users.reminder_hours``);
* the organisation's shared contact address (``organisations.contact_email``): a copy of those;
* staff who approve: "needs your decision" for each pending booking, or a daily digest
  (``users.approval_digest``);
* borrowers of equipment: confirmed/rejected, ready for pick-up, due tomorrow, overdue (staff
  too), returned with the condition note.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, has_request_context, render_template, request
from flask_babel import force_locale, gettext as _

from accounts.models import Role, User
from samskap.i18n import local_datetime_text
from samskap.mail import enqueue_mail, one_line
from samskap.timeutil import local_tz

LOCALES = ("nb", "en")


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    locale: str
    user_id: int | None = None


def person(user: User) -> Recipient:
    return Recipient(user.email, user.name, user.locale if user.locale in LOCALES else "nb", user.id)


def organisation_copy(organisation, locale: str, *, besides: tuple[str, ...] = ()) -> Recipient | None:
    """The organisation's shared contact address, unless it already receives the message."""
    address = (getattr(organisation, "contact_email", None) or "").strip()
    if not address or address.lower() in {b.lower() for b in besides}:
        return None
    return Recipient(address, organisation.name, locale, None)


@dataclass
class Notice:
    """The content of one message, in the recipient's language (built inside force_locale)."""

    subject: str
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    link: str | None = None
    link_label: str | None = None
    items: list[dict] = field(default_factory=list)  # a digest's list: {"text", "link"}
    footer: str | None = None


def privacy_footer(base_url: str) -> str:
    """For people who may have no account (registrants, guests): where they see and erase their data."""
    return _("See, download or erase what Samskap holds about your address: %(url)s", url=f"{base_url}/my-data")


@dataclass
class Outgoing:
    recipient: Recipient
    kind: str
    subject: str
    text: str
    html: str
    attachments: tuple = ()
    reference: str | None = None
    dedupe_key: str | None = None


def site():
    """Host, base URL and address of the site, as the feeds use them (the same UIDs): from
    SAMSKAP_BASE_URL, else the request's; the worker has no request, so set SAMSKAP_BASE_URL."""
    from booking.feeds.calendar import FeedOrigin

    base = current_app.config.get("SAMSKAP_BASE_URL")
    if not base and has_request_context():
        base = request.url_root
    base = (base or "http://localhost").rstrip("/")
    return FeedOrigin(host=urlsplit(base).hostname or "localhost", base_url=base,
                address=current_app.config.get("SAMSKAP_ADDRESS") or "", tzid=local_tz().key)


def render(recipient: Recipient, kind: str, build, *, attachments=(), reference=None, dedupe_key=None) -> Outgoing:
    """``build()`` makes the Notice; it runs in the recipient's language, as do the templates."""
    with force_locale(recipient.locale):
        notice = build()
        context = {"notice": notice, "recipient": recipient, "site_name": current_app.config["SAMSKAP_SITE_NAME"]}
        text = render_template("notifications/message.txt", **context)
        html = render_template("notifications/message.html", **context)
    return Outgoing(recipient, kind, one_line(notice.subject), text, html, tuple(attachments), reference, dedupe_key)


def send(messages: list[Outgoing]) -> None:
    """Add the messages to the outbox together (one multi-row INSERT at the next flush)."""
    for message in messages:
        enqueue_mail(to=message.recipient.email, subject=message.subject, text=message.text, html=message.html,
                     attachments=message.attachments, kind=message.kind, locale=message.recipient.locale,
                     reference=message.reference, dedupe_key=message.dedupe_key)


def when(value: datetime) -> str:
    return local_datetime_text(value)


def period(start: datetime, end: datetime) -> str:
    start_local, end_local = start.astimezone(local_tz()), end.astimezone(local_tz())
    if start_local.date() == end_local.date():
        return f"{local_datetime_text(start)}–{end_local:%H:%M}"
    return f"{local_datetime_text(start)} – {local_datetime_text(end)}"


def approvers() -> list[User]:
    """Staff who decide pending bookings (administrators only when there are no staff)."""
    staff = list(db_scalars(sa.select(User).where(User.role == Role.STAFF, User.active.is_(True))
                            .order_by(User.id)))
    if staff:
        return staff
    return list(db_scalars(sa.select(User).where(User.role == Role.ADMIN, User.active.is_(True)).order_by(User.id)))


def db_scalars(query):
    from samskap.extensions import db

    return db.session.scalars(query)


def already_sent(keys) -> set[str]:
    """Which of these once-only keys (a reminder, a digest) the outbox already holds."""
    from samskap.mail import OutboxMessage

    return set(db_scalars(sa.select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(sorted(keys)))))
