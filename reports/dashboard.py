"""The staff's and administrators' front page: what is on today, what waits, what is out, and how
this month compares with the last."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from booking.models import Booking, BookingStatus, EquipmentReservation, ReservationStatus, Visibility
from reports import services
from reports.periods import Period
from samskap.extensions import db
from samskap.timeutil import UTC, local_day_bounds, to_local, utcnow

TODAY_LIMIT = 200
FAR_FUTURE = datetime(2200, 1, 1, tzinfo=UTC)
PENDING_LIMIT = 10


@dataclass
class MonthFigures:
    key: str  # "2026-12"
    first_day: date
    hours: float
    sessions: int
    opening_hours: float
    utilisation: float | None


@dataclass
class Dashboard:
    today: date
    bookings: list[Booking]
    bookings_more: bool
    events: list[Booking]
    pending_bookings: list[Booking]
    pending_count: int
    pending_reservations: int
    equipment_out: int
    overdue: list[EquipmentReservation]
    this_month: MonthFigures
    last_month: MonthFigures


def _month_start(day: date) -> date:
    return day.replace(day=1)


def dashboard(actor, now: datetime | None = None) -> Dashboard:
    """For staff and administrators (``report_scope`` refuses others)."""
    services.report_scope(actor)
    now = now or utcnow()
    today = to_local(now).date()
    start, end = local_day_bounds(today)
    todays = list(db.session.scalars(
        sa.select(Booking).options(selectinload(Booking.organiser))
        .where(*services.active_between(start, end))
        .order_by(Booking.start, Booking.id).limit(TODAY_LIMIT + 1)))
    pending = sa.select(Booking).where(*services.active_between(now, FAR_FUTURE),
                                       Booking.status == BookingStatus.PENDING)
    pending_count = db.session.scalar(sa.select(sa.func.count()).select_from(pending.subquery()))
    pending_rows = list(db.session.scalars(pending.order_by(Booking.start).limit(PENDING_LIMIT)))
    reservations = dict(db.session.execute(
        sa.select(EquipmentReservation.status, sa.func.count())
        .where(EquipmentReservation.status.in_((ReservationStatus.PENDING, ReservationStatus.CHECKED_OUT)))
        .group_by(EquipmentReservation.status)).all())
    overdue = list(db.session.scalars(
        sa.select(EquipmentReservation)
        .where(EquipmentReservation.status == ReservationStatus.CHECKED_OUT, EquipmentReservation.end < now)
        .order_by(EquipmentReservation.end).limit(50)))

    this_first = _month_start(today)
    last_first = _month_start(this_first - timedelta(days=1))
    next_first = _month_start(this_first + timedelta(days=32))
    report = services.utilisation(actor, Period(last_first, next_first - timedelta(days=1)), "month")
    months = {row.period: row for row in report.rows}

    def figures(first: date) -> MonthFigures:
        row = months.get(f"{first.year}-{first.month:02d}")
        return MonthFigures(f"{first.year}-{first.month:02d}", first, row.amount if row else 0.0,
                            row.sessions if row else 0, row.capacity or 0.0 if row else 0.0,
                            row.utilisation if row else None)

    return Dashboard(
        today=today, bookings=todays[:TODAY_LIMIT], bookings_more=len(todays) > TODAY_LIMIT,
        events=[b for b in todays[:TODAY_LIMIT] if b.visibility == Visibility.PUBLIC],
        pending_bookings=pending_rows, pending_count=pending_count or 0,
        pending_reservations=reservations.get(ReservationStatus.PENDING, 0),
        equipment_out=reservations.get(ReservationStatus.CHECKED_OUT, 0), overdue=overdue,
        this_month=figures(this_first), last_month=figures(last_first),
    )
