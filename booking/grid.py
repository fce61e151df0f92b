"""The day and week grids of the booking pages: which bookings, closures and opening hours
fall in which time cell, and what the viewer may read about each booking.

This is presentation only: it never decides whether a booking would be allowed (the
service does, when the form is sent). It reads the rows once per page and masks every
booking the viewer may not see through :func:`booking.permissions.can_view_details`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import lazyload

from booking.models import Booking, BookingStatus
from booking.permissions import can_view_details
from booking.services import blocked_overlaps
from samskap.extensions import db
from samskap.periods import overlaps, overlaps_clause
from samskap.timeutil import LocalTimeError, local_day_bounds, local_to_utc, local_tz, to_local
from spaces.hours import open_intervals
from spaces.models import Closure, Space

SLOT = timedelta(minutes=30)
FIRST_HOUR = 7
LAST_HOUR = 20  # the grid ends at 20:00 unless a booking runs later


@dataclass
class Cell:
    """One table cell; ``span`` > 1 when consecutive slots show the same thing."""

    state: str                 # free | booked | buffer | gap | closure | closed | past | none
    start: datetime            # UTC
    end: datetime              # UTC
    span: int = 1
    booking: Booking | None = None
    label: str = ""            # booking title ("" when the viewer sees only "busy"), or a closure's reason
    pending: bool = False
    space: Space | None = None
    key: object = None         # what makes two neighbouring slots mergeable

    @property
    def local_start(self) -> datetime:
        return to_local(self.start)

    @property
    def local_end(self) -> datetime:
        return to_local(self.end)

    @property
    def booking_end(self) -> datetime:
        """End offered for a booking starting in this free cell: the slot, or the space's
        minimum length when that is longer (the service still decides)."""
        minimum = timedelta(minutes=(self.space.min_minutes or 0) if self.space is not None else 0)
        return self.start + max(SLOT, minimum)


@dataclass
class Slot:
    start: datetime  # UTC; None when the wall-clock time does not exist that day
    end: datetime


@dataclass
class DayRow:
    space: Space
    cells: list[Cell] = field(default_factory=list)


def load_bookings(space_ids, start: datetime, end: datetime) -> list[Booking]:
    """Active bookings whose blocked period overlaps [start, end) in these spaces."""
    if not space_ids:
        return []
    # The grids have their spaces loaded already and look at a booking's organisation only when
    # it is the viewer's own (loaded with the viewer): no joins to fetch them again on every row.
    return list(db.session.scalars(
        sa.select(Booking)
        .options(lazyload(Booking.space), lazyload(Booking.organisation))
        .where(Booking.space_id.in_(space_ids), blocked_overlaps(start, end))
        .order_by(Booking.start)
    ))


def load_closures(space_ids, start: datetime, end: datetime) -> list[Closure]:
    return list(db.session.scalars(
        sa.select(Closure)
        .where(sa.or_(Closure.space_id.is_(None), Closure.space_id.in_(list(space_ids) or [-1])),
               overlaps_clause(Closure.start, Closure.end, start, end))
    ))


def hour_range(bookings) -> tuple[int, int]:
    """07-20, widened to whole hours so that every booking of the period is drawn."""
    first, last = FIRST_HOUR, LAST_HOUR
    tz = local_tz()
    for booking in bookings:
        local_start = booking.start.astimezone(tz)
        local_end = booking.end.astimezone(tz)
        ends_at_midnight = local_end.time() == time(0) and local_end.date() == local_start.date() + timedelta(days=1)
        if local_end.date() != local_start.date() and not ends_at_midnight:
            return 0, 24  # runs over midnight: show whole days
        first = min(first, local_start.hour)
        last = 24 if ends_at_midnight else max(last, local_end.hour + (1 if local_end.minute else 0))
    return first, last


def day_slots(day: date, first_hour: int, last_hour: int) -> list[Slot]:
    """30-minute slots of one local day, stepped in UTC so that DST days come out right
    (the spring gap is skipped, the repeated autumn hour appears twice)."""
    day_start, day_end = local_day_bounds(day)
    tz = local_tz()
    start = datetime.combine(day, time(first_hour), tzinfo=tz).astimezone(day_start.tzinfo)
    start = max(start, day_start)
    end = day_end if last_hour >= 24 else datetime.combine(day, time(last_hour), tzinfo=tz).astimezone(day_start.tzinfo)
    slots = []
    while start < end:
        slots.append(Slot(start, start + SLOT))
        start += SLOT
    return slots


def wall_clock_slot(day: date, minutes: int) -> Slot | None:
    """The slot starting at local wall-clock time ``minutes`` after midnight, or None
    when that time does not exist (spring-forward gap)."""
    if minutes >= 24 * 60:
        return None
    try:
        start = local_to_utc(day, time(minutes // 60, minutes % 60))
    except LocalTimeError:
        return None
    return Slot(start, start + SLOT)


def wall_clock_slots(day: date, minutes: int) -> list[Slot]:
    """Every real slot starting at local wall-clock time ``minutes`` after midnight: none in
    the spring-forward gap, two in the repeated autumn hour (first and second 02:00)."""
    first = wall_clock_slot(day, minutes)
    if first is None:
        return []
    clock = time(minutes // 60, minutes % 60)
    second = datetime.combine(day, clock, tzinfo=local_tz()).replace(fold=1).astimezone(first.start.tzinfo)
    return [first] if second == first.start else [first, Slot(second, second + SLOT)]


# Which of two slots sharing one wall-clock time a week cell shows: the more occupied one, so
# that a booking in either of the repeated autumn hours is never offered as free.
_OCCUPIED_FIRST = {"booked": 0, "buffer": 1, "closure": 2, "closed": 3, "gap": 4, "past": 5, "free": 6}


def week_cell(space: Space, day: date, minutes: int, bookings, closures, viewer, now: datetime) -> Cell:
    """The week grid's cell for one wall-clock time of one day (rows are wall-clock times)."""
    slots = wall_clock_slots(day, minutes)
    if not slots:
        return cell_for_slot(space, None, bookings, closures, viewer, now)
    cells = [cell_for_slot(space, slot, bookings, closures, viewer, now) for slot in slots]
    return min(cells, key=lambda cell: _OCCUPIED_FIRST[cell.state])


def cell_for_slot(space: Space, slot: Slot | None, bookings, closures, viewer, now: datetime, opening=None) -> Cell:
    """What one slot of one space shows. ``opening``: the space's open intervals on the slot's
    local day, when the caller has them already (they are worked out otherwise)."""
    if slot is None:
        return Cell("none", None, None, space=space, key=("none",))
    start, end = slot.start, slot.end
    for booking in bookings:
        if booking.space_id == space.id and overlaps(start, end, booking.start, booking.end):
            visible = can_view_details(viewer, booking)
            return Cell("booked", start, end, booking=booking, space=space,
                        label=booking.title if visible else "",
                        pending=booking.status == BookingStatus.PENDING, key=("booked", booking.id))
    for booking in bookings:
        if booking.space_id == space.id and overlaps(start, end, booking.end, booking.blocked_until):
            return Cell("buffer", start, end, space=space, key=("buffer", booking.id))
    for closure in closures:
        if (closure.space_id in (None, space.id)) and overlaps(start, end, closure.start, closure.end):
            return Cell("closure", start, end, space=space, label=closure.reason, key=("closure", closure.id))
    if opening is None:
        opening = _open(space, to_local(start).date())
    inside = any(s <= start and end <= e for s, e in opening)
    if not inside:
        return Cell("closed", start, end, space=space, key=("closed",))
    if start < now:
        return Cell("past", start, end, space=space, key=("past",))
    cell = Cell("free", start, end, space=space, key=None)
    # The booking a free cell offers (its slot, or the space's minimum length) plus the space's
    # preparation time must end before the next booking starts: the service refuses it otherwise.
    blocked_until = cell.booking_end + timedelta(minutes=space.buffer_minutes or 0)
    for booking in bookings:
        if booking.space_id == space.id and overlaps(start, blocked_until, booking.start, booking.blocked_until):
            return Cell("gap", start, end, space=space, key=("gap", booking.id))
    return cell


def _open(space: Space, day: date):
    return open_intervals(space.opening_hours, day)


def _reach(spaces) -> timedelta:
    """How far past a period's end a booking offered in it can block (its length plus the
    preparation time): bookings starting that soon after make the last cells unbookable."""
    return max((max(SLOT, timedelta(minutes=s.min_minutes or 0)) + timedelta(minutes=s.buffer_minutes or 0)
                for s in spaces), default=SLOT)


def _by_space(spaces, bookings, closures) -> dict[int, tuple[list, list]]:
    """Each space's own bookings and the closures that reach it (its own and the workshop's),
    so that a cell looks only at its space's rows, not at every row of the page."""
    grouped = {space.id: ([], []) for space in spaces}
    for booking in bookings:
        if booking.space_id in grouped:
            grouped[booking.space_id][0].append(booking)
    for closure in closures:
        for space_id in ([closure.space_id] if closure.space_id is not None else grouped):
            if space_id in grouped:
                grouped[space_id][1].append(closure)
    return grouped


def join_neighbouring_cells(cells: list[Cell]) -> list[Cell]:
    """Join neighbouring cells that show the same booking, closure or closed stretch."""
    merged: list[Cell] = []
    for cell in cells:
        last = merged[-1] if merged else None
        if last is not None and cell.key is not None and cell.key == last.key:
            last.span += 1
            if cell.end is not None:
                last.end = cell.end
        else:
            merged.append(cell)
    return merged


def day_grid(spaces: list[Space], day: date, viewer, now: datetime) -> tuple[list[Slot], list[DayRow]]:
    day_start, day_end = local_day_bounds(day)
    ids = [s.id for s in spaces]
    bookings = load_bookings(ids, day_start, day_end + _reach(spaces))
    closures = load_closures(ids, day_start, day_end)
    first, last = hour_range([b for b in bookings if b.start < day_end])
    slots = day_slots(day, first, last)
    grouped = _by_space(spaces, bookings, closures)
    rows = []
    for space in spaces:
        own_bookings, own_closures = grouped[space.id]
        opening = _open(space, day)
        cells = [cell_for_slot(space, slot, own_bookings, own_closures, viewer, now, opening) for slot in slots]
        rows.append(DayRow(space, join_neighbouring_cells(cells)))
    return slots, rows


def week_grid(space: Space, monday: date, viewer, now: datetime):
    """Rows of wall-clock times, one column per day; merged cells carry their row span.
    On the autumn day a row stands for both of its real half hours (see :func:`week_cell`);
    the day view shows them apart.

    Returns (days, times, rows) where ``rows[i]`` is a list with one entry per day: a Cell
    that starts in that row, or None where a cell from above spans over it.
    """
    days = [monday + timedelta(days=i) for i in range(7)]
    week_start, _ = local_day_bounds(days[0])
    _, week_end = local_day_bounds(days[-1])
    bookings = load_bookings([space.id], week_start, week_end + _reach([space]))
    closures = load_closures([space.id], week_start, week_end)
    first, last = hour_range([b for b in bookings if b.start < week_end])
    minutes = list(range(first * 60, last * 60, 30))
    columns = []
    for day in days:
        cells = [week_cell(space, day, m, bookings, closures, viewer, now) for m in minutes]
        columns.append(join_neighbouring_cells(cells))
    rows: list[list] = [[None] * len(days) for _ in minutes]
    for col, cells in enumerate(columns):
        row = 0
        for cell in cells:
            rows[row][col] = cell
            row += cell.span
    times = [time(m // 60, m % 60) for m in minutes]
    return days, times, rows
