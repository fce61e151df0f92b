"""What clashes with a period: the SQL for active bookings and closures overlapping it
(:func:`find_clashes`, :func:`find_conflicts`, :func:`blocked_overlaps`), the message of a
refusal, and the occurrences of a planned series that would overlap each other.

Overlap is the half-open rule of :mod:`samskap.periods`, asked of a booking's blocked period
(its start to its end plus the space's buffer)."""
from __future__ import annotations

import functools
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import lazyload

from accounts.models import Organisation
from booking.models import ACTIVE_BOOKING_STATUSES, Booking
from booking.permissions import can_view_details
from booking.services.text import _period_for_people, _period_text, iso
from samskap.errors import Conflict
from samskap.extensions import db
from samskap.periods import overlaps, overlaps_clause, ranges_overlap
from samskap.timeutil import to_local
from spaces.models import Closure, Space


def blocked_overlaps(start: datetime, end: datetime):
    """SQL condition: active bookings whose blocked period ``[start, blocked_until)`` overlaps
    ``[start, end)``, the question of the availability and grid queries.

    On PostgreSQL it is written as a range overlap with the active statuses as literals, the form
    the GiST index ``ix_bookings_blocked_period`` (migration 0002) serves from the window alone;
    two comparisons would walk every earlier booking. Elsewhere, and for an empty window, the
    plain comparisons (the same answer: half-open ranges overlap exactly when each starts before
    the other ends).
    """
    if start < end and db.session.get_bind().dialect.name == "postgresql":
        return sa.and_(_active_as_literals(), ranges_overlap(Booking.start, Booking.blocked_until, start, end))
    return sa.and_(Booking.status.in_(ACTIVE_BOOKING_STATUSES),
                   overlaps_clause(Booking.start, Booking.blocked_until, start, end))


def _active_as_literals():
    """``status IN ('pending', 'confirmed')`` with the statuses written out, the predicate of the
    partial GiST indexes on the bookings' periods (a bound parameter would not match it)."""
    return Booking.status.in_([sa.literal_column(f"'{status.value}'") for status in ACTIVE_BOOKING_STATUSES])


def find_conflicts(space_id: int, start: datetime, blocked_until: datetime, exclude_ids=()) -> list:
    """Active bookings of the space whose blocked period overlaps ``[start, blocked_until)``.

    Loaded without joining their space and organisation: the callers have the space already,
    and a booking's organisation is looked at only when it is the viewer's own (loaded with
    the viewer)."""
    query = sa.select(Booking).options(lazyload(Booking.space), lazyload(Booking.organisation)).where(
        Booking.space_id == space_id,
        Booking.status.in_(ACTIVE_BOOKING_STATUSES),
        overlaps_clause(Booking.start, Booking.blocked_until, start, blocked_until),
    )
    exclude_ids = [i for i in exclude_ids if i is not None]
    if exclude_ids:
        query = query.where(Booking.id.not_in(exclude_ids))
    return list(db.session.scalars(query.order_by(Booking.start)))


def _closures(space_id: int, start: datetime, end: datetime) -> list:
    return list(db.session.scalars(
        sa.select(Closure)
        .where(sa.or_(Closure.space_id.is_(None), Closure.space_id == space_id),
               overlaps_clause(Closure.start, Closure.end, start, end))
        .order_by(Closure.start)))


class _ClashingBooking:
    """What :func:`booking.permissions.can_view_details` reads of a clashing booking, from one
    row of :func:`find_clashes`; its organisation is read only if the rule asks for it (which it
    does only for the viewer's own, already loaded with the viewer)."""

    __slots__ = ("visibility", "status", "organiser_id", "organisation_id", "project_id")

    def __init__(self, row):
        self.visibility, self.status = row.visibility, row.status
        self.organiser_id, self.organisation_id = row.organiser_id, row.organisation_id
        self.project_id = row.project_id

    @property
    def organisation(self) -> Organisation:
        return db.session.get(Organisation, self.organisation_id)


@functools.cache
def _clash_query(as_ranges: bool):
    """Built once (building it costs more than running it): closures overlapping
    ``[:start, :end)`` of the space or the whole workshop, then the active bookings of the space
    overlapping ``[:start, :blocked_until)``, not counting ``:exclude_ids``, each in time order.

    ``as_ranges`` (PostgreSQL, non-empty window): the bookings' overlap as the range overlap of
    the exclusion constraint ``ex_bookings_no_overlap``, with the active statuses as literals
    (its partial index's predicate), so that its GiST index on (space, period) answers it. The two
    comparisons otherwise walk the space's index entries of every earlier booking, which is
    what made the check slow in a space with many bookings (the full-size bench).
    """
    if as_ranges:
        overlapping = sa.and_(_active_as_literals(), ranges_overlap(
            Booking.start, Booking.blocked_until, sa.bindparam("start", type_=Booking.start.type),
            sa.bindparam("blocked_until", type_=Booking.start.type)))
    else:
        overlapping = sa.and_(Booking.status.in_(ACTIVE_BOOKING_STATUSES), overlaps_clause(
            Booking.start, Booking.blocked_until, sa.bindparam("start"), sa.bindparam("blocked_until")))
    bookings = (sa.select(sa.literal_column("1", sa.Integer).label("kind"), Booking.start, Booking.end,
                          Booking.blocked_until, Booking.id, Booking.title, Booking.visibility, Booking.status,
                          Booking.organiser_id, Booking.organisation_id, Booking.project_id)
                .where(Booking.space_id == sa.bindparam("space_id"), overlapping,
                       Booking.id.not_in(sa.bindparam("exclude_ids", expanding=True))))
    closures = (sa.select(sa.literal_column("0", sa.Integer), Closure.start, Closure.end, Closure.end,
                          sa.null(), Closure.reason, sa.null(), sa.null(), sa.null(), sa.null(), sa.null())
                .where(sa.or_(Closure.space_id.is_(None), Closure.space_id == sa.bindparam("space_id")),
                       overlaps_clause(Closure.start, Closure.end, sa.bindparam("start"), sa.bindparam("end"))))
    both = sa.union_all(bookings, closures).subquery()
    return sa.select(both).order_by(both.c.kind, both.c.start, both.c.id)


def find_clashes(viewer, space: Space, start: datetime, end: datetime, exclude_ids=()) -> list[dict]:
    """What stops booking ``space`` for ``[start, end)``, as the conflicts a reply lists: the
    closures (of the space or the whole workshop) overlapping the period itself, then the active
    bookings of the space overlapping it plus the space's buffer, each in time order; a booking
    whose details ``viewer`` may not see (:func:`can_view_details`) is named "Busy", without its id.

    One statement for both, of only the columns the reply needs: this is the check every booking
    request makes before writing (the database's exclusion constraint has the last word).
    """
    blocked_until = end + timedelta(minutes=space.buffer_minutes or 0)
    as_ranges = start < blocked_until and db.session.get_bind().dialect.name == "postgresql"
    rows = db.session.execute(_clash_query(as_ranges), {
        "space_id": space.id, "start": start, "end": end, "blocked_until": blocked_until,
        "exclude_ids": [i for i in exclude_ids if i is not None]})
    found = []
    for row in rows:
        if row.kind == 0:
            found.append({"start": iso(row.start), "end": iso(row.end), "booking_id": None, "title": row.title,
                          "reason": "closure"})
            continue
        visible = can_view_details(viewer, _ClashingBooking(row))
        found.append({"start": iso(row.start), "end": iso(row.end), "blocked_until": iso(row.blocked_until),
                      "booking_id": row.id if visible else None, "title": row.title if visible else _("Busy"),
                      "reason": "booking"})
    return found


def _conflict_message(space: Space, clashes: list[dict], start: datetime | None = None,
                      end: datetime | None = None) -> str:
    """The message of a refusal. When the asked period ``[start, end)`` touches no booking
    itself but only the preparation time kept after one (before or after the asked period),
    the message says so: "already booked" would contradict the free time the user sees."""
    closures = [c for c in clashes if c["reason"] == "closure"]
    if closures:
        return _("%(space)s is closed at that time: %(reason)s.", space=space.name, reason=closures[0]["title"])
    periods = ", ".join(_period_for_people(datetime.fromisoformat(c["start"]), datetime.fromisoformat(c["end"]))
                        for c in clashes)
    if space.buffer_minutes and start is not None and end is not None and not any(
            overlaps(start, end, datetime.fromisoformat(c["start"]), datetime.fromisoformat(c["end"]))
            for c in clashes if c.get("reason") == "booking"):
        return _("%(space)s is booked %(periods)s and needs %(n)d minutes' preparation after each booking, so the "
                 "time you chose is not free. Choose a time that leaves %(n)d minutes after the booking before it, "
                 "and ends %(n)d minutes before the next one.", space=space.name, periods=periods,
                 n=space.buffer_minutes)
    return _("%(space)s is already booked at that time (%(periods)s).", space=space.name, periods=periods)


def _self_overlaps(space: Space, periods) -> list[tuple]:
    """Pairs ``(earlier, later)`` of planned ``(start, end)`` periods of one series where the
    later one starts before the earlier one's blocked period (end plus the space's buffer)
    is over. Sorted by start, each start is compared with the furthest blocked end so far."""
    buffer = timedelta(minutes=space.buffer_minutes or 0)
    pairs, furthest = [], None
    for period in sorted(periods, key=lambda p: p[0]):
        # Sorted by start, the other half of the overlap rule (the earlier one starts before this
        # one ends) always holds: this one comparison decides.
        if furthest is not None and period[0] < furthest[1] + buffer:
            pairs.append((furthest, period))
        if furthest is None or period[1] > furthest[1]:
            furthest = period
    return pairs


def _check_self_overlap(space: Space, periods) -> None:
    """Refuse planned occurrences of a series that would overlap each other (checked before
    anything is written: the database would refuse them too, but could not say why)."""
    pairs = _self_overlaps(space, periods)
    if not pairs:
        return
    buffer = timedelta(minutes=space.buffer_minutes or 0)
    dates = [f"{to_local(later[0]):%Y-%m-%d}" for _earlier, later in pairs]
    shown = ", ".join(_("%(first)s and %(second)s", first=_period_text(*earlier), second=_period_text(*later))
                      for earlier, later in pairs[:5])
    if buffer:
        message = _("The bookings of the series would overlap each other: %(pairs)s. Each booking, plus "
                    "%(n)d minutes of preparation time in %(space)s, must end before the next one starts; make "
                    "the bookings shorter or repeat them less often.", pairs=shown, n=space.buffer_minutes,
                    space=space.name)
    else:
        message = _("The bookings of the series would overlap each other: %(pairs)s. Each booking must end "
                    "before the next one starts; make the bookings shorter or repeat them less often.",
                    pairs=shown)
    conflicts = [{"start": iso(earlier[0]), "end": iso(earlier[1]), "blocked_until": iso(earlier[1] + buffer),
                  "booking_id": None, "title": _("Another booking of this series"),
                  "reason": "series_self_overlap", "occurrence_start": iso(later[0])}
                 for earlier, later in pairs]
    raise Conflict(message, code="series_self_overlap",
                   details={"reason": "series_self_overlap", "conflicts": conflicts, "dates": dates})
