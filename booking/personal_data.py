"""What the booking area holds about a person, for the export of their data and for anonymising
them (registered with :func:`accounts.services.register_personal_data` by :func:`booking.init_app`)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from booking.models import Booking, EquipmentReservation, Feed
from booking.participants import BookingParticipant
from samskap.extensions import db


def _iso(value):
    return value.isoformat() if value else None


def export(user) -> dict:
    """The user's bookings, equipment reservations and calendar feeds."""
    bookings = db.session.scalars(sa.select(Booking).where(Booking.organiser_id == user.id)
                                  .order_by(Booking.start)).all()
    reservations = db.session.scalars(sa.select(EquipmentReservation).where(EquipmentReservation.user_id == user.id)
                                      .order_by(EquipmentReservation.start)).all()
    feeds = db.session.scalars(sa.select(Feed).where(Feed.owner_id == user.id)).all()
    return {
        **export_participations(user),
        "bookings": [{
            "id": b.id, "space": b.space.name, "title": b.title, "description": b.description,
            "purpose": b.purpose.value, "start": _iso(b.start), "end": _iso(b.end), "attendees": b.attendees,
            "visibility": b.visibility.value, "status": b.status.value, "created_at": _iso(b.created_at),
        } for b in bookings],
        "equipment_reservations": [{
            "id": r.id, "equipment": r.equipment_type.name, "quantity": r.quantity, "start": _iso(r.start),
            "end": _iso(r.end), "status": r.status.value, "purpose": r.purpose,
        } for r in reservations],
        "calendar_feeds": [{"id": f.id, "scope": f.scope.value, "name": f.name, "created_at": _iso(f.created_at),
                            "last_used_at": _iso(f.last_used_at), "revoked_at": _iso(f.revoked_at)} for f in feeds],
    }


def _participations(user):
    """The places a person is named in a booking: as a user, or as a guest by their address."""
    return sa.select(BookingParticipant).where(sa.or_(
        BookingParticipant.user_id == user.id, BookingParticipant.email == (user.email or "").lower()))


def guest_entries_of(email: str):
    """The places a person without an account is named in a booking, by their address."""
    return sa.select(BookingParticipant).where(BookingParticipant.email == email.lower())


def participation_records(where) -> list[dict]:
    """The participations ``where`` selects, with their booking, as plain JSON-able data."""
    rows = db.session.execute(
        sa.select(BookingParticipant, Booking).join(Booking, Booking.id == BookingParticipant.booking_id)
        .where(where).order_by(Booking.start, BookingParticipant.id)).all()
    return [{
        "booking_id": booking.id, "title": booking.title, "space": booking.space.name, "start": _iso(booking.start),
        "end": _iso(booking.end), "as": "user" if p.user_id is not None else "guest", "email": p.email,
        "name": p.name,
    } for p, booking in rows]


def export_participations(user) -> dict:
    return {"booking_participations": participation_records(_participations(user).whereclause)}


def anonymise_guest_entries(rows, name: str, email_for) -> list[BookingParticipant]:
    """Give the guest entries (named by address) among ``rows`` the name ``name`` and the address
    ``email_for(row)``; entries naming a user are theirs and stay. Returns the entries changed."""
    changed = []
    for participant in rows:
        if participant.email is not None:
            participant.email, participant.name = email_for(participant), name
            changed.append(participant)
    return changed


def erase(user, now: datetime) -> None:
    """Revoke the user's calendar feeds (their bookings stay, under the anonymised name), and give
    the places where they were named as a guest by address the anonymised name and address (runs
    before accounts overwrites the user's own)."""
    from accounts.services import anonymous_identity

    for feed in db.session.scalars(sa.select(Feed).where(Feed.owner_id == user.id, Feed.revoked_at.is_(None))):
        feed.revoked_at = now
    name, email = anonymous_identity(user)
    anonymise_guest_entries(db.session.scalars(_participations(user)), name, lambda _participant: email)
