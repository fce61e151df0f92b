"""When a space is free: its busy periods (bookings and closures, with details masked
for the viewer), free times to suggest near an asked one, and the spaces free for a whole
period among those the actor may book."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from booking.models import Booking
from booking.permissions import can_view_details, details_visible_clause
from booking.services.conflicts import _closures, blocked_overlaps, find_conflicts
from booking.services.rules import _period_problems
from samskap.extensions import db
from samskap.periods import overlaps, overlaps_clause
from samskap.timeutil import utcnow
from spaces.models import Closure, Space
from spaces.permissions import bookable_spaces_clause

SUGGESTION_STEP = timedelta(minutes=15)
SUGGESTION_HORIZON = timedelta(days=14)
FEW_SPACES = 20


def blocking_rows(space: Space, start: datetime, end: datetime) -> tuple[list[Booking], list[Closure]]:
    """What makes the space unavailable in ``[start, end)``: its active bookings whose
    blocked period (the booking plus the space's preparation buffer) overlaps, in time order,
    and the closures of the space or of the whole workshop. The one query behind
    :func:`busy_periods` and the catalogue's week at a glance; callers mask details with
    :func:`booking.permissions.can_view_details`."""
    return find_conflicts(space.id, start, end), _closures(space.id, start, end)


def busy_periods(space: Space, start: datetime, end: datetime, viewer) -> list[dict]:
    """What makes the space unavailable between ``start`` and ``end``, in time order.

    Active bookings: ``{"start", "end", "blocked_until", "status", "booking_id", "title",
    "kind": "booking"}``, title "Busy" and booking_id None unless ``viewer`` may see the
    details. Closures: the same keys with ``status`` "closed", ``kind`` "closure" and the
    closure's reason as title.
    """
    bookings, closures = blocking_rows(space, start, end)
    periods = []
    for booking in bookings:
        visible = can_view_details(viewer, booking)
        periods.append({"start": booking.start, "end": booking.end, "blocked_until": booking.blocked_until,
                        "status": booking.status.value, "booking_id": booking.id if visible else None,
                        "title": booking.title if visible else _("Busy"), "kind": "booking"})
    for closure in closures:
        periods.append({"start": closure.start, "end": closure.end, "blocked_until": closure.end,
                        "status": "closed", "booking_id": None, "title": closure.reason, "kind": "closure"})
    return sorted(periods, key=lambda p: p["start"])


def busy_periods_by_space(space_ids, start: datetime, end: datetime, viewer) -> dict[int, list[dict]]:
    """:func:`busy_periods` for many spaces at once: ``{space_id: [period, ...]}`` with an entry
    (maybe empty) for every id asked for. One query for the bookings and one for the closures,
    however many spaces; the bookings' details are masked with
    :func:`booking.permissions.details_visible_clause` (the list form of ``can_view_details``)."""
    space_ids = list(dict.fromkeys(space_ids))
    periods: dict[int, list[dict]] = {space_id: [] for space_id in space_ids}
    if not space_ids:
        return periods
    query = (sa.select(Booking.id, Booking.space_id, Booking.start, Booking.end, Booking.blocked_until,
                       Booking.status, Booking.title, details_visible_clause(viewer).label("visible"))
             .where(blocked_overlaps(start, end))
             .order_by(Booking.start, Booking.id))
    if len(space_ids) <= FEW_SPACES:
        query = query.where(Booking.space_id.in_(space_ids))
    # For many spaces the window's bookings are read whatever their space and the others dropped
    # here: the period index answers a window at once, where a list of ids would be looked up in
    # the exclusion constraint's (space, period) index once per space.
    rows = db.session.execute(query)
    busy = _("Busy")
    for row in rows:
        if row.space_id not in periods:
            continue
        periods[row.space_id].append({
            "start": row.start, "end": row.end, "blocked_until": row.blocked_until, "status": row.status.value,
            "booking_id": row.id if row.visible else None, "title": row.title if row.visible else busy,
            "kind": "booking"})
    closures = sa.select(Closure).where(overlaps_clause(Closure.start, Closure.end, start, end)).order_by(Closure.start)
    if len(space_ids) <= FEW_SPACES:
        closures = closures.where(sa.or_(Closure.space_id.is_(None), Closure.space_id.in_(space_ids)))
    for closure in db.session.scalars(closures):
        if closure.space_id is not None and closure.space_id not in periods:
            continue
        period = {"start": closure.start, "end": closure.end, "blocked_until": closure.end, "status": "closed",
                  "booking_id": None, "title": closure.reason, "kind": "closure"}
        for space_id in ([closure.space_id] if closure.space_id is not None else space_ids):
            periods[space_id].append(dict(period))
    for found in periods.values():
        found.sort(key=lambda p: p["start"])  # stable: bookings before closures at the same instant
    return periods


def _is_free(space: Space, start: datetime, end: datetime, bookings, closures, now: datetime) -> bool:
    if _period_problems(space, start, end, now=now):
        return False
    blocked_until = end + timedelta(minutes=space.buffer_minutes or 0)
    if any(overlaps(c.start, c.end, start, end) for c in closures):
        return False
    return not any(overlaps(b.start, b.blocked_until, start, blocked_until) for b in bookings)


def suggest_free_slots(space: Space, start: datetime, end: datetime, limit: int = 3) -> list[tuple]:
    """Up to ``limit`` free periods of the same length nearest to ``start`` (before or after
    it, in steps of 15 minutes, up to two weeks away, not overlapping each other) that obey
    the space's rules (opening hours, closures, buffer, length, days ahead), in time order."""
    length = end - start
    if length <= timedelta(0) or limit < 1:
        return []
    now = utcnow()
    low, high = start - SUGGESTION_HORIZON, start + SUGGESTION_HORIZON + length
    bookings = find_conflicts(space.id, low, high + timedelta(minutes=space.buffer_minutes or 0))
    closures = _closures(space.id, low, high)
    found = []
    steps = int(SUGGESTION_HORIZON / SUGGESTION_STEP)
    for k in range(steps + 1):
        for candidate in ((start,) if k == 0 else (start + k * SUGGESTION_STEP, start - k * SUGGESTION_STEP)):
            if candidate < now:
                continue
            # Suggestions do not overlap each other, so they are real alternatives.
            if any(overlaps(candidate, candidate + length, s, e) for s, e in found):
                continue
            if _is_free(space, candidate, candidate + length, bookings, closures, now):
                found.append((candidate, candidate + length))
                if len(found) >= limit:
                    return sorted(found)
    return sorted(found)


def bookable_spaces(actor) -> list[Space]:
    """Spaces the actor may book (:func:`spaces.permissions.can_book`), by name."""
    return list(db.session.scalars(sa.select(Space).where(bookable_spaces_clause(actor)).order_by(Space.name)))


def free_spaces(actor, start: datetime, end: datetime, attendees: int = 1) -> list:
    """Active spaces the actor may book that are open and free for the whole period."""
    if end <= start:
        return []
    spaces = [s for s in bookable_spaces(actor) if s.capacity >= attendees]
    if not spaces:
        return []
    longest_buffer = timedelta(minutes=max(s.buffer_minutes or 0 for s in spaces))
    bookings = list(db.session.scalars(
        sa.select(Booking).where(Booking.space_id.in_([s.id for s in spaces]),
                                 blocked_overlaps(start, end + longest_buffer))))
    closures = list(db.session.scalars(
        sa.select(Closure).where(overlaps_clause(Closure.start, Closure.end, start, end))))
    now = utcnow()
    return [space for space in spaces
            if _is_free(space, start, end, [b for b in bookings if b.space_id == space.id],
                        [c for c in closures if c.space_id in (None, space.id)], now)]
