"""What booking tells the catalogue's pages (registered with :mod:`spaces.usage` by
:func:`booking.init_app`): a space's week at a glance, the bookings inside a closure, and the
reservations holding equipment units now and to come."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from booking.models import ACTIVE_BOOKING_STATUSES, Booking, EquipmentAllocation
from booking.permissions import can_view_details
from booking.services import blocking_rows
from samskap.extensions import db
from samskap.periods import overlaps, overlaps_clause
from samskap.timeutil import local_day_bounds, to_local, utcnow
from spaces.hours import open_intervals
from spaces.models import Closure, EquipmentUnit, Space


def register() -> None:
    from spaces.usage import register_usage

    register_usage(week_at_a_glance=week_at_a_glance, bookings_in_closure=bookings_in_closure,
                   current_allocations=current_allocations, coming_allocations=coming_allocations)


# --- the week at a glance -----------------------------------------------------------------------

@dataclass
class BusyPeriod:
    start: datetime  # local
    end: datetime  # local; may be next midnight
    booking: Booking | None = None
    closure: Closure | None = None
    visible: bool = False  # may the viewer see the booking's details?
    preparation: bool = False  # the space's preparation time after ``booking``
    continues_before: bool = False
    continues_after: bool = False


@dataclass
class GlanceDay:
    day: date
    opening: list[tuple[datetime, datetime]]  # local
    periods: list[BusyPeriod] = field(default_factory=list)


def week_at_a_glance(viewer, space: Space, monday: date) -> list[GlanceDay]:
    """The busy periods of ``space`` in the local week starting ``monday``, day by day.

    The rows come from the booking rules' own query (:func:`booking.services.blocking_rows`):
    active bookings with their preparation time after them, and closures. Bookings whose
    details the viewer may not see (booking.permissions) carry ``visible=False``: the page
    shows them only as busy.
    """
    week_start = local_day_bounds(monday)[0]
    week_end = local_day_bounds(monday + timedelta(days=6))[1]
    bookings, closures = blocking_rows(space, week_start, week_end)
    spans = [(c.start, c.end, {"closure": c}) for c in closures]
    for booking in bookings:
        visible = can_view_details(viewer, booking)
        spans.append((booking.start, booking.end, {"booking": booking, "visible": visible}))
        if booking.blocked_until > booking.end:
            spans.append((booking.end, booking.blocked_until,
                          {"booking": booking, "visible": visible, "preparation": True}))
    days = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        day_start, day_end = local_day_bounds(day)
        glance = GlanceDay(day, [(to_local(s), to_local(e)) for s, e in open_intervals(space.opening_hours, day)])
        for start, end, what in spans:
            if overlaps(start, end, day_start, day_end):
                glance.periods.append(BusyPeriod(
                    start=to_local(max(start, day_start)), end=to_local(min(end, day_end)),
                    continues_before=start < day_start, continues_after=end > day_end, **what))
        glance.periods.sort(key=lambda p: p.start)
        days.append(glance)
    return days


# --- what a closure and a unit's change of status affect --------------------------------------

def bookings_in_closure(closure: Closure) -> list[Booking]:
    """Active (pending or confirmed) bookings that overlap the closure, for the admin to handle."""
    query = (sa.select(Booking)
             .where(Booking.status.in_(ACTIVE_BOOKING_STATUSES),
                    overlaps_clause(Booking.start, Booking.end, closure.start, closure.end))
             .order_by(Booking.start))
    if closure.space_id is not None:
        query = query.where(Booking.space_id == closure.space_id)
    return db.session.scalars(query).all()


def current_allocations(units) -> dict[int, EquipmentAllocation]:
    """For each unit held by an active allocation right now, that allocation."""
    ids = [u.id for u in units]
    if not ids:
        return {}
    now = utcnow()
    rows = db.session.scalars(
        sa.select(EquipmentAllocation)
        .where(EquipmentAllocation.unit_id.in_(ids), EquipmentAllocation.active.is_(True),
               EquipmentAllocation.start <= now, now < EquipmentAllocation.blocked_until)
    ).all()
    return {row.unit_id: row for row in rows}


def coming_allocations(unit: EquipmentUnit) -> list[EquipmentAllocation]:
    """Active allocations of ``unit`` that have not ended: the reservations an administrator
    should look at before taking the unit out of service."""
    return db.session.scalars(
        sa.select(EquipmentAllocation)
        .where(EquipmentAllocation.unit_id == unit.id, EquipmentAllocation.active.is_(True),
               EquipmentAllocation.blocked_until > utcnow())
        .order_by(EquipmentAllocation.start)
    ).all()
