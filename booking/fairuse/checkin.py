"""Check-in and the release of no-shows.

A space may require check-in (``Space.check_in_minutes``): a confirmed booking that nobody has
checked in within that many minutes of its start is released by :func:`release_no_shows` (run
by the worker): its status becomes ``no_show`` (the row stays), the room is free again (the
exclusion constraint covers only pending and confirmed bookings), the organiser is told and
the waitlist is served. Each occurrence of a series is a row of its own, so only that
occurrence stops.

An event where people hold confirmed places (:mod:`booking.registrations`) is never released
for a missing check-in: those people come for the event whether or not its organiser checks in,
and releasing it would give their room away under them (and cancel their places) while they sit
in it. Check-in stays open for it; the booking page does not threaten a release. A released
booking's other registrations (waiting for their email link, or on the waitlist) end as a
cancelled booking's do, and each registrant is told.

Check-in opens :data:`CHECK_IN_OPENS_BEFORE` before the start and closes at the end; the
organiser, whoever may manage the booking (their organisation's contacts) and staff may check in.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from booking.models import Booking, BookingStatus
from booking.permissions import can_manage, can_view_details
from samskap import audit
from samskap.errors import Conflict, NotFound, PermissionDenied
from samskap.extensions import db
from samskap.timeutil import utcnow
from spaces.models import Space

CHECK_IN_OPENS_BEFORE = timedelta(minutes=15)


def can_check_in(user, booking: Booking) -> bool:
    """The organiser, whoever may manage the booking, and staff (see :func:`booking.permissions.can_manage`)."""
    return can_manage(user, booking)


def check_in(actor, booking: Booking, *, now: datetime | None = None) -> Booking:
    """Record that the booking's people have arrived; a second check-in changes nothing."""
    now = now or utcnow()
    if not can_view_details(actor, booking):
        raise NotFound(_("No such booking."))
    if not can_check_in(actor, booking):
        raise PermissionDenied(_("You cannot check in this booking."))
    if booking.checked_in_at is not None:
        return booking
    if booking.status != BookingStatus.CONFIRMED:
        raise Conflict(_("Only a confirmed booking can be checked in; this one is %(status)s.",
                         status=_status_text(booking)), code="not_confirmed")
    if now < booking.start - CHECK_IN_OPENS_BEFORE:
        raise Conflict(_("Check-in opens %(minutes)d minutes before the start.",
                         minutes=int(CHECK_IN_OPENS_BEFORE.total_seconds() // 60)), code="check_in_not_open")
    if now >= booking.end:
        raise Conflict(_("This booking is over; it can no longer be checked in."), code="check_in_closed")
    booking.checked_in_at = now
    booking.checked_in_by_id = actor.id
    db.session.flush()
    audit.record(actor, "booking.check_in", booking, changes={"checked_in_at": [None, now]})
    return booking


def is_open(booking: Booking, now: datetime) -> bool:
    """Check-in is open: a confirmed booking, from shortly before its start until its end."""
    return (booking.status == BookingStatus.CONFIRMED and booking.start - CHECK_IN_OPENS_BEFORE <= now < booking.end)


def _status_text(booking: Booking) -> str:
    from booking.labels import status_label

    return status_label(booking.status)


def holds_registered_places():
    """SQL condition: people hold confirmed places at the booking (an event with registration)."""
    from booking.registrations.models import Registration, RegistrationStatus

    return sa.exists().where(Registration.booking_id == Booking.id,
                             Registration.status == RegistrationStatus.CONFIRMED)


def check_in_deadline(booking: Booking) -> datetime | None:
    """When the booking is released if nobody has checked in (None: its space needs no check-in,
    or people hold places at it and it is not released)."""
    minutes = booking.space.check_in_minutes
    if not minutes:
        return None
    if booking.id is not None and db.session.scalar(
            sa.select(holds_registered_places()).where(Booking.id == booking.id)):
        return None
    return booking.start + timedelta(minutes=minutes)


def current_bookings(space: Space, now: datetime) -> list[Booking]:
    """The space's confirmed bookings one may check in now (check-in open, not yet over)."""
    return list(db.session.scalars(
        sa.select(Booking).where(Booking.space_id == space.id, Booking.status == BookingStatus.CONFIRMED,
                                 Booking.start <= now + CHECK_IN_OPENS_BEFORE, Booking.end > now)
        .order_by(Booking.start)))


def due_for_release(now: datetime) -> list[Booking]:
    """Confirmed bookings running now in spaces that require check-in, not checked in in time.

    Only bookings not yet over are released: releasing is about freeing the room, and a space
    that starts requiring check-in must not turn yesterday's bookings into no-shows. Events where
    people hold places are not released (see the module's note)."""
    candidates = db.session.scalars(
        sa.select(Booking).join(Space, Space.id == Booking.space_id)
        .where(Booking.status == BookingStatus.CONFIRMED, Booking.checked_in_at.is_(None),
               Space.check_in_minutes.is_not(None), Booking.start <= now, Booking.end > now,
               ~holds_registered_places())
        .order_by(Booking.start, Booking.id))
    return [b for b in candidates if b.start + timedelta(minutes=b.space.check_in_minutes) <= now]


def release_no_shows(now: datetime | None = None) -> list[Booking]:
    """Release every booking not checked in in time (see the module's note); returns them.

    The caller commits. Each release: status ``no_show``, ``sequence`` bumped (calendars show the
    event cancelled), an audit entry without an actor (the system), the organiser told, the
    booking's remaining registrations ended and their people told (as for a cancellation), and
    the freed period offered to the space's waitlist.
    """
    from booking.fairuse import notices
    from booking.fairuse.waitlist import slot_freed
    from booking.registrations.services import bookings_cancelled

    now = now or utcnow()
    released = []
    for booking in due_for_release(now):
        reason = "not checked in within %d minutes of the start" % booking.space.check_in_minutes
        # One conditional UPDATE: a check-in or a confirmed place committed since the query above
        # wins (no row changes).
        changed = db.session.execute(
            sa.update(Booking)
            .where(Booking.id == booking.id, Booking.status == BookingStatus.CONFIRMED,
                   Booking.checked_in_at.is_(None), ~holds_registered_places())
            .values(status=BookingStatus.NO_SHOW, cancelled_at=now, cancelled_by_id=None, cancel_reason=reason,
                    sequence=Booking.sequence + 1)
            .execution_options(synchronize_session=False)).rowcount
        db.session.refresh(booking)
        if changed != 1:
            continue
        audit.record(None, "booking.no_show", booking, changes={"status": ["confirmed", "no_show"]},
                     summary=booking.cancel_reason)
        notices.tell_no_show(booking)
        # Registrations still waiting (for their email link, or on a waitlist): none holds a place
        # here, and the event is not held; they end and each is told, as for a cancelled booking.
        bookings_cancelled(None, [booking], reason="")
        slot_freed(booking.space, now, booking.blocked_until, now=now)
        released.append(booking)
    return released
