"""The waitlist: people waiting for a taken period of a space, first come, first told.

When a period frees (a cancellation, a rejection, a released no-show: :func:`slot_freed`, called
in the same transaction), the space's waiting entries that overlap it are served in the order
they joined. An entry whose whole wanted period is now free is served: with automatic booking it
is booked for its person at once, if every rule still holds (opening hours, quotas...); otherwise
(or when a rule fails) the period is **held** for that person until ``hold_until`` (default 30
minutes, ``SAMSKAP_WAITLIST_HOLD_MINUTES``) and they are told by mail. Nobody else may book over a
hold (:mod:`booking.fairuse.rules`); when it runs out (:func:`expire_holds`, the worker) the next in
line is served the same way.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from booking.fairuse.models import OPEN_WAITLIST_STATUSES, WaitlistEntry, WaitlistStatus
from samskap import audit
from samskap.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from samskap.extensions import db
from samskap.ids import MAX_ID
from samskap.periods import overlaps, overlaps_clause
from samskap.timeutil import UTC, utcnow
from spaces.models import Space

MAX_OPEN_ENTRIES = 20  # per person: a waitlist is for the times one needs, not a claim on every slot
TITLE_MAX = 200


def hold_minutes() -> int:
    return int(current_app.config.get("SAMSKAP_WAITLIST_HOLD_MINUTES", 30))


def _aware(value, name: str, errors: dict):
    if not isinstance(value, datetime):
        errors[name] = _("Give a date and time.")
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        errors[name] = _("Give the time with a time zone offset, such as +01:00 or Z.")
        return None
    return value.astimezone(UTC).replace(microsecond=0)


def join_waitlist(actor, space_id, start, end, *, auto_book: bool = False, title: str = "",
                  now: datetime | None = None) -> WaitlistEntry:
    """Put ``actor`` in line for ``[start, end)`` of a space that is taken then.

    Refused: a period the space's rules do not allow (422), a free period (409 ``slot_free``: book
    it), a closed one (409 ``closed``), a second open entry of the same person for an overlapping
    period (409 ``already_waiting``), more than :data:`MAX_OPEN_ENTRIES` open entries (409).
    """
    from booking.services.conflicts import find_clashes
    from booking.services.rules import _check_bookable_by, _period_problems

    now = now or utcnow()
    errors: dict[str, str] = {}
    space = db.session.get(Space, space_id) if isinstance(space_id, int) and not isinstance(space_id, bool) \
        and 1 <= space_id <= MAX_ID else None
    if space is None or not space.active:
        errors["space_id"] = _("There is no space with id %(id)s.", id=space_id)
    start = _aware(start, "start", errors)
    end = _aware(end, "end", errors)
    if not isinstance(auto_book, bool):
        errors["auto_book"] = _("'%(field)s' must be true or false.", field="auto_book")
    title = title.strip() if isinstance(title, str) else None
    if title is None or len(title) > TITLE_MAX or "\x00" in title:
        errors["title"] = _("The title must be text of at most %(n)d characters.", n=TITLE_MAX)
    if errors:
        raise ValidationFailed(errors)
    _check_bookable_by(actor, space, actor.organisation)
    problems = _period_problems(space, start, end, now=now)
    if problems:
        raise ValidationFailed(problems)
    clashes = find_clashes(actor, space, start, end)
    if any(c["reason"] == "closure" for c in clashes):
        raise Conflict(_("%(space)s is closed then; there is nothing to wait for.", space=space.name),
                       code="closed", details={"conflicts": clashes})
    if not clashes and not _held_by_others(space.id, start, end, actor.id, now):
        raise Conflict(_("That time is free: book it instead."), code="slot_free", details={"conflicts": []})
    mine = list(db.session.scalars(sa.select(WaitlistEntry).where(
        WaitlistEntry.user_id == actor.id, WaitlistEntry.status.in_(OPEN_WAITLIST_STATUSES),
        WaitlistEntry.end > now)))
    if any(e.space_id == space.id and overlaps(e.start, e.end, start, end) for e in mine):
        raise Conflict(_("You are already on the waitlist for that time."), code="already_waiting")
    if len(mine) >= MAX_OPEN_ENTRIES:
        raise Conflict(_("You can wait for at most %(n)d times at once.", n=MAX_OPEN_ENTRIES), code="too_many")
    entry = WaitlistEntry(space_id=space.id, space=space, user_id=actor.id, user=actor,
                          organisation_id=actor.organisation_id, start=start, end=end, title=title,
                          auto_book=auto_book, status=WaitlistStatus.WAITING)
    db.session.add(entry)
    db.session.flush()
    audit.record(actor, "waitlist.join", entry, changes={"space_id": [None, space.id], "start": [None, start],
                                                         "end": [None, end], "auto_book": [None, auto_book]})
    return entry


def position(entry: WaitlistEntry) -> int:
    """1 for the first in line among the open entries overlapping this one."""
    ahead = db.session.scalar(sa.select(sa.func.count(WaitlistEntry.id)).where(
        WaitlistEntry.space_id == entry.space_id, WaitlistEntry.status.in_(OPEN_WAITLIST_STATUSES),
        overlaps_clause(WaitlistEntry.start, WaitlistEntry.end, entry.start, entry.end),
        sa.or_(WaitlistEntry.created_at < entry.created_at,
               sa.and_(WaitlistEntry.created_at == entry.created_at, WaitlistEntry.id < entry.id))))
    return (ahead or 0) + 1


def entries_of(user, now: datetime) -> list[WaitlistEntry]:
    """The user's open entries, and those closed in the last week, newest first."""
    return list(db.session.scalars(sa.select(WaitlistEntry).where(
        WaitlistEntry.user_id == user.id,
        sa.or_(WaitlistEntry.status.in_(OPEN_WAITLIST_STATUSES), WaitlistEntry.updated_at > now - timedelta(days=7)))
        .order_by(WaitlistEntry.start).limit(200)))


def own_entry(actor, entry_id: int) -> WaitlistEntry:
    entry = db.session.get(WaitlistEntry, entry_id) if 1 <= entry_id <= MAX_ID else None
    if entry is None or entry.user_id != actor.id:
        raise NotFound(_("No such waitlist entry."))
    return entry


def leave_waitlist(actor, entry: WaitlistEntry, *, now: datetime | None = None) -> WaitlistEntry:
    """The person leaves the line; a hold they had passes to the next in line."""
    if entry.user_id != actor.id:
        raise PermissionDenied(_("This is someone else's waitlist entry."))
    if not entry.is_open:
        return entry
    now = now or utcnow()
    was_holding = entry.status == WaitlistStatus.OFFERED
    entry.status = WaitlistStatus.CANCELLED
    db.session.flush()
    audit.record(actor, "waitlist.leave", entry)
    if was_holding:
        slot_freed(entry.space, entry.start, entry.end, now=now)
    return entry


def _held_by_others(space_id: int, start, end, user_id: int, now) -> bool:
    return db.session.scalar(sa.select(sa.func.count(WaitlistEntry.id)).where(
        WaitlistEntry.space_id == space_id, WaitlistEntry.status == WaitlistStatus.OFFERED,
        WaitlistEntry.hold_until > now, overlaps_clause(WaitlistEntry.start, WaitlistEntry.end, start, end),
        WaitlistEntry.user_id != user_id)) > 0


def _is_free(space: Space, entry: WaitlistEntry, now) -> bool:
    from booking.services.conflicts import _closures, find_conflicts

    blocked_until = entry.end + timedelta(minutes=space.buffer_minutes or 0)
    if find_conflicts(space.id, entry.start, blocked_until) or _closures(space.id, entry.start, entry.end):
        return False
    return not _held_by_others(space.id, entry.start, entry.end, entry.user_id, now)


def slot_freed(space: Space, start: datetime, end: datetime, *, now: datetime | None = None) -> list[WaitlistEntry]:
    """Serve the waiting entries of ``space`` overlapping the freed ``[start, end)``, first in line
    first (see the module's note). Called in the transaction that freed the period; returns the
    entries served (booked or offered)."""
    now = now or utcnow()
    waiting = list(db.session.scalars(sa.select(WaitlistEntry).where(
        WaitlistEntry.space_id == space.id, WaitlistEntry.status == WaitlistStatus.WAITING,
        overlaps_clause(WaitlistEntry.start, WaitlistEntry.end, start, end), WaitlistEntry.end > now)
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)))
    served = []
    for entry in waiting:
        # An entry whose time has begun (a no-show released after its start) is still offered:
        # the rest of the time is free. Automatic booking needs a start not yet past (see _book_for).
        db.session.flush()
        if not _is_free(space, entry, now):
            continue
        _serve(entry, now)
        served.append(entry)
    return served


def _serve(entry: WaitlistEntry, now: datetime) -> None:
    from booking.fairuse import notices

    if entry.auto_book:
        booking = _book_for(entry)
        if booking is not None:
            entry.status = WaitlistStatus.BOOKED
            entry.booking_id = booking.id
            db.session.flush()
            audit.record(None, "waitlist.booked", entry, changes={"booking_id": [None, booking.id]})
            notices.tell_booked(entry, booking)
            return
    entry.status = WaitlistStatus.OFFERED
    entry.offered_at = now
    entry.hold_until = now + timedelta(minutes=hold_minutes())
    db.session.flush()
    audit.record(None, "waitlist.offer", entry, changes={"hold_until": [None, entry.hold_until]})
    notices.tell_offer(entry)


def _book_for(entry: WaitlistEntry):
    """Book the entry's period as its person, with every rule; None (nothing written) when a rule fails."""
    from booking.services import BookingRequest, book_space

    user = entry.user
    if not user.active:
        return None
    request = BookingRequest(space_id=entry.space_id, title=entry.title or _("Booked from the waitlist"),
                             start=entry.start, end=entry.end)
    try:
        with db.session.begin_nested():
            return book_space(user, request).bookings[0]
    except DomainError:
        return None


def hold_taken_up(actor, bookings) -> None:
    """The holder booked (part of) their held time: their overlapping offers are done."""
    for booking in bookings:
        for entry in db.session.scalars(sa.select(WaitlistEntry).where(
                WaitlistEntry.user_id == actor.id, WaitlistEntry.space_id == booking.space_id,
                WaitlistEntry.status == WaitlistStatus.OFFERED,
                overlaps_clause(WaitlistEntry.start, WaitlistEntry.end, booking.start, booking.end))):
            entry.status = WaitlistStatus.BOOKED
            entry.booking_id = booking.id
            audit.record(actor, "waitlist.booked", entry, changes={"booking_id": [None, booking.id]})


def expire_holds(now: datetime | None = None) -> list[WaitlistEntry]:
    """Holds that ran out pass to the next in line; entries whose time is over are closed.
    The caller commits (the worker's periodic job)."""
    now = now or utcnow()
    expired = list(db.session.scalars(sa.select(WaitlistEntry).where(
        WaitlistEntry.status == WaitlistStatus.OFFERED, WaitlistEntry.hold_until <= now)
        .order_by(WaitlistEntry.hold_until, WaitlistEntry.id).with_for_update(skip_locked=True, of=WaitlistEntry)))
    for entry in expired:
        entry.status = WaitlistStatus.EXPIRED
        db.session.flush()
        audit.record(None, "waitlist.expire", entry)
        slot_freed(entry.space, entry.start, entry.end, now=now)
    db.session.execute(sa.update(WaitlistEntry).where(
        WaitlistEntry.status == WaitlistStatus.WAITING, WaitlistEntry.end <= now)
        .values(status=WaitlistStatus.EXPIRED, updated_at=now))
    return expired


def entry_json(entry: WaitlistEntry) -> dict:
    from booking.services import iso

    return {"id": entry.id, "space_id": entry.space_id, "space": {"id": entry.space.id, "name": entry.space.name},
            "start": iso(entry.start), "end": iso(entry.end), "title": entry.title, "auto_book": entry.auto_book,
            "status": entry.status.value, "hold_until": iso(entry.hold_until), "booking_id": entry.booking_id,
            "position": position(entry) if entry.is_open else None, "created_at": iso(entry.created_at)}
