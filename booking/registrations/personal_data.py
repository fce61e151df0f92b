"""What event registrations hold about a person: in their data export, anonymised with them, and
their needs (diet, accessibility: special category data) erased a while after the event.

Registered with :func:`accounts.services.register_personal_data` by :func:`booking.init_app`; the
retention job with the worker in :mod:`booking.registrations.jobs`.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from accounts.services import anonymous_identity
from booking.models import Booking
from booking.registrations.models import Registration
from samskap.extensions import db

DEFAULT_NEEDS_DAYS = 30


def _iso(value):
    return value.isoformat() if value else None


def _of(user):
    """A person's registrations: those made signed in, and those made with their address."""
    return sa.select(Registration).where(sa.or_(Registration.user_id == user.id,
                                                Registration.email == (user.email or "").lower()))


def of_address(email: str):
    """The registrations made with an address and tied to no account (one tied to an account is
    that account's, in its own export)."""
    return sa.select(Registration).where(Registration.email == email.lower(), Registration.user_id.is_(None))


def record(r: Registration) -> dict:
    """One registration as plain JSON-able data (the export's record)."""
    return {
        "id": r.id, "event": r.booking.title, "booking_id": r.booking_id, "start": _iso(r.booking.start),
        "end": _iso(r.booking.end), "name": r.name, "email": r.email, "organisation": r.organisation,
        "needs": r.needs, "status": r.status.value, "attended": r.attended, "created_at": _iso(r.created_at),
        "cancelled_at": _iso(r.cancelled_at),
    }


def export(user) -> dict:
    rows = db.session.scalars(_of(user).order_by(Registration.created_at, Registration.id)).all()
    return {"event_registrations": [record(r) for r in rows]}


def erase(user, now: datetime) -> None:
    """The registrations stay (places and attendance count in the reports) under the name and
    address the anonymised user goes by; organisation and needs go, and so does the link."""
    name, email = anonymous_identity(user)
    anonymise(db.session.scalars(_of(user).order_by(Registration.id)), name, lambda _registration: email,
              user_id=user.id)


def anonymise(rows, name: str, email_for, *, user_id: int | None = None) -> int:
    """Keep the registrations ``rows`` (places and attendance count in the reports) under ``name``
    and the address ``email_for(registration)``; organisation and needs go, and so does the link.
    ``user_id``: the anonymised user they now belong to (one made with their address is theirs).
    Returns how many were anonymised."""
    live_in: set[int] = set()
    count = 0
    for registration in rows:
        count += 1
        email = email_for(registration)
        if user_id is not None:
            registration.user_id = user_id
        registration.name, registration.email = name, email
        if registration.is_live:
            if registration.booking_id in live_in:
                # Two live registrations for one event (one signed in with another address): one
                # address per live registration and event is the database's rule.
                registration.email = email.replace("@", f"+{registration.id}@", 1)
            live_in.add(registration.booking_id)
        registration.organisation, registration.needs = "", ""
        registration.token_hash = secrets.token_hex(32)  # not the hash of any link
    db.session.flush()
    return count


def needs_days() -> int:
    return int(current_app.config.get("SAMSKAP_REGISTRATION_NEEDS_DAYS", DEFAULT_NEEDS_DAYS))


def erase_old_needs(now: datetime) -> int:
    """Blank the needs of every registration whose event ended more than
    ``SAMSKAP_REGISTRATION_NEEDS_DAYS`` days ago (cancelled events and registrations too): they
    serve the event only. Returns how many were blanked."""
    ended = sa.select(Booking.id).where(Booking.end < now - timedelta(days=needs_days()))
    result = db.session.execute(sa.update(Registration)
                                .where(Registration.booking_id.in_(ended), Registration.needs != "")
                                .values(needs="").execution_options(synchronize_session=False))
    return result.rowcount
