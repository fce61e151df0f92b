"""The data of people without an account (GDPR art. 15 and 17 for them): event registrants and
guests named on bookings by their address. They ask on a public page for a link, which comes by
email; behind it they see what Samskap holds for the address, download it as JSON, and erase it.

The link's token is a Fernet token (``cryptography``, already a dependency): the address it names
is encrypted as well as signed, so it is not readable in the URL (browser history, proxy logs),
and Fernet carries the time it was made, which gives the link its one hour. The key is derived
from ``SECRET_KEY`` for this purpose alone, and the payload names the purpose too, so no other
token of the app (or of another purpose) is accepted. Nothing is stored for a link.

No enumeration: the request page answers the same, after the same minimum time, whether or not
the address is known; the mail goes only to an address Samskap holds something for (a
registration, a guest entry, or an account, whose owner is told behind the link to use their
profile instead), so the form cannot be used to send mail to arbitrary addresses.
"""
from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app, render_template
from flask_babel import force_locale, gettext as _

from accounts.models import User
from accounts.services import normalise_email
from booking.models import Booking
from booking.participants import BookingParticipant
from booking.personal_data import anonymise_guest_entries, guest_entries_of, participation_records
from booking.registrations import personal_data, services
from booking.registrations.models import Registration
from samskap import audit
from samskap.errors import Conflict, DomainError
from samskap.extensions import db
from samskap.mail import enqueue_mail
from samskap.timeutil import utcnow

LIFETIME = timedelta(hours=1)
PURPOSE = "guest-data"
TOKEN_MAX = 1000  # a link for the longest address is some 600 characters
CLOCK_SKEW_SECONDS = 60
MAIL_KIND = "privacy.guest_data_link"


class LinkTampered(DomainError):
    """Not a link this app made for this purpose (or altered): 400."""

    status = 400
    code = "invalid_link"


class LinkExpired(DomainError):
    """A genuine link older than :data:`LIFETIME`: 410."""

    status = 410
    code = "expired_link"


def _fernet() -> Fernet:
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    key = hashlib.sha256(b"samskap:guest-data-link\x00" + secret).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def make_token(email: str, *, now: float | None = None) -> str:
    """The link's token for ``email`` (made ``now``, seconds since the epoch; default: now),
    without base64 padding so that it is one URL path segment of ``[A-Za-z0-9_-]``."""
    body = json.dumps({"p": PURPOSE, "e": email}, separators=(",", ":")).encode("utf-8")
    raw = _fernet().encrypt_at_time(body, int(time.time() if now is None else now))
    return raw.decode("ascii").rstrip("=")


def address_of(token: str, *, now: float | None = None) -> str:
    """The address a link names; LinkTampered or LinkExpired otherwise."""
    invalid = LinkTampered(_("This link is not valid. Copy the whole link from the email, or ask for a new one."))
    if not isinstance(token, str) or not 40 <= len(token) <= TOKEN_MAX or not token.isascii():
        raise invalid
    raw = (token + "=" * (-len(token) % 4)).encode("ascii")
    fernet = _fernet()
    try:
        made = fernet.extract_timestamp(raw)  # checks the signature first
        body = json.loads(fernet.decrypt(raw, ttl=None))
    except (InvalidToken, ValueError, TypeError):
        raise invalid from None
    if not isinstance(body, dict) or body.get("p") != PURPOSE or not isinstance(body.get("e"), str):
        raise invalid
    now = time.time() if now is None else now
    if made > now + CLOCK_SKEW_SECONDS:
        raise invalid
    if now - made > LIFETIME.total_seconds():
        raise LinkExpired(_("This link has expired: it works for one hour. Ask for a new one."))
    return body["e"]


# --- what is held -------------------------------------------------------------------------------

def has_account(email: str) -> bool:
    return db.session.scalar(sa.select(User.id).where(User.email == email).limit(1)) is not None


def _registrations(email: str) -> list[Registration]:
    return list(db.session.scalars(personal_data.of_address(email).order_by(Registration.created_at,
                                                                            Registration.id)))


def _guest_entries(email: str) -> list[BookingParticipant]:
    return list(db.session.scalars(guest_entries_of(email).order_by(BookingParticipant.id)))


def holds_anything(email: str) -> bool:
    """An account, a registration or a guest entry with this address (three indexed look-ups)."""
    return (has_account(email)
            or db.session.scalar(personal_data.of_address(email).with_only_columns(Registration.id).limit(1))
            is not None
            or db.session.scalar(guest_entries_of(email).with_only_columns(BookingParticipant.id).limit(1))
            is not None)


def export(email: str) -> dict:
    """What Samskap holds for an address without an account, as plain JSON-able data (GDPR art. 15/20)."""
    return {"email": email,
            "event_registrations": [personal_data.record(r) for r in _registrations(email)],
            "booking_participations": participation_records(BookingParticipant.email == email)}


def guest_entry_rows(email: str) -> list[tuple[BookingParticipant, Booking]]:
    """For the page: each guest entry with its booking, in time order."""
    rows = db.session.execute(
        sa.select(BookingParticipant, Booking).join(Booking, Booking.id == BookingParticipant.booking_id)
        .where(BookingParticipant.email == email).order_by(Booking.start, BookingParticipant.id)).all()
    return [(participant, booking) for participant, booking in rows]


def registration_rows(email: str) -> list[Registration]:
    return sorted(_registrations(email), key=lambda r: (r.booking.start, r.id))


# --- asking for the link ------------------------------------------------------------------------

def request_link(raw_email, *, locale: str, link_url) -> None:
    """Mail a link to the address if Samskap holds anything for it. Returns nothing and raises
    nothing for a well-formed address, so the caller answers the same for known and unknown ones.
    ``link_url(token)``: the absolute URL of the data page."""
    email = normalise_email(raw_email if isinstance(raw_email, str) else None)  # ValidationFailed: form error
    if not holds_anything(email):
        return
    with force_locale(locale):
        enqueue_mail(to=email, kind=MAIL_KIND, locale=locale, reference="guest-data",
                     subject=_("Your data in Samskap"),
                     text=render_template("guest_data/mail/link.txt", url=link_url(make_token(email)),
                                          minutes=int(LIFETIME.total_seconds() // 60)))


# --- erasing ------------------------------------------------------------------------------------

def erase(email: str, now: datetime | None = None) -> dict:
    """Erase what an address without an account holds: its registrations for events still to come
    are cancelled (a freed place goes to the first on the waitlist, who is emailed, as when a
    registrant cancels), and every registration and guest entry is anonymised with the code that
    anonymises a user's; the address leaves the audit log's texts. Recorded in the audit log
    with the counts only. Returns the counts."""
    if has_account(email):
        raise Conflict(_("This address belongs to a Samskap account: sign in and use your profile page."),
                       code="has_account")
    now = now or utcnow()
    registrations = _registrations(email)
    cancelled = 0
    for registration in registrations:
        if registration.is_live and registration.booking.end > now:
            services.cancel(None, registration, by_registrant=True)
            cancelled += 1
    name = _("Anonymised guest")
    anonymised = personal_data.anonymise(registrations, name,
                                         lambda r: f"anonymised-registration-{r.id}@invalid.invalid")
    entries = anonymise_guest_entries(_guest_entries(email), name,
                                      lambda p: f"anonymised-guest-{p.id}@invalid.invalid")
    db.session.flush()
    _scrub_audit(email, {p.booking_id for p in entries})
    counts = {"registrations_cancelled": cancelled, "registrations_anonymised": anonymised,
              "guest_entries_anonymised": len(entries)}
    audit.record(None, "guest_data.erase", object_type="guest_data", changes=counts,
                 summary="personal data of an address without an account erased by its owner's email link")
    db.session.flush()
    return counts


def _scrub_audit(email: str, booking_ids: set[int]) -> None:
    """The address out of the audit log: the participant lists recorded on those bookings, and
    any summary that names it."""
    replacement = "[anonymised guest]"
    clauses = [audit.AuditEntry.summary.contains(email, autoescape=True)]
    if booking_ids:
        clauses.append(sa.and_(audit.AuditEntry.action == "booking.participants",
                               audit.AuditEntry.object_type == "bookings",
                               audit.AuditEntry.object_id.in_(sorted(booking_ids))))
    for entry in db.session.scalars(sa.select(audit.AuditEntry).where(sa.or_(*clauses))):
        if entry.summary and email in entry.summary:
            entry.summary = entry.summary.replace(email, replacement)
        if entry.changes:
            entry.changes = _replaced(entry.changes, email, replacement)


def _replaced(value, text: str, replacement: str):
    if isinstance(value, str):
        return value.replace(text, replacement)
    if isinstance(value, list):
        return [_replaced(v, text, replacement) for v in value]
    if isinstance(value, dict):
        return {k: _replaced(v, text, replacement) for k, v in value.items()}
    return value

