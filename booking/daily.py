"""What a person needs at the start of a day: a member's next bookings and loans, and the
staff's day sheet ("today at the workshop"). Read-only questions; the views in
:mod:`booking.home` render them."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from booking.models import (ACTIVE_BOOKING_STATUSES, Booking, BookingStatus, EquipmentReservation, Purpose,
                            ReservationStatus, Visibility)
from samskap.extensions import db
from samskap.periods import overlaps_clause
from samskap.timeutil import local_day_bounds

UPCOMING_LIMIT = 5
SHEET_LIMIT = 500


def next_bookings(user, now: datetime, limit: int = UPCOMING_LIMIT) -> list[Booking]:
    """The user's own bookings that have not ended, soonest first (pending and confirmed)."""
    return list(db.session.scalars(
        sa.select(Booking)
        .where(Booking.organiser_id == user.id, Booking.status.in_(ACTIVE_BOOKING_STATUSES), Booking.end > now)
        .order_by(Booking.start).limit(limit)))


def next_loans(user, now: datetime, limit: int = UPCOMING_LIMIT) -> list[EquipmentReservation]:
    """The user's own equipment reservations that are coming, or handed out and not yet back."""
    return list(db.session.scalars(
        sa.select(EquipmentReservation)
        .options(selectinload(EquipmentReservation.allocations))
        .where(EquipmentReservation.user_id == user.id,
               sa.or_(EquipmentReservation.status == ReservationStatus.CHECKED_OUT,
                      sa.and_(EquipmentReservation.status.in_([ReservationStatus.PENDING,
                                                               ReservationStatus.CONFIRMED]),
                              EquipmentReservation.end > now)))
        .order_by(EquipmentReservation.start).limit(limit)))


@dataclass
class DaySheet:
    day: date
    bookings: list = field(default_factory=list)       # every active booking that day, by start
    hand_out: list = field(default_factory=list)       # confirmed loans starting that day or before, not out yet
    take_back: list = field(default_factory=list)      # loans out that end that day or are overdue
    pending_bookings: list = field(default_factory=list)
    pending_loans: list = field(default_factory=list)

    @staticmethod
    def is_event(booking: Booking) -> bool:
        return booking.visibility == Visibility.PUBLIC or booking.purpose == Purpose.EVENT


def day_sheet(day: date, now: datetime) -> DaySheet:
    """Everything the workshop's staff handle on ``day`` (local): the bookings and events in
    every space, the equipment to hand out and take back, and what waits for approval."""
    start, end = local_day_bounds(day)
    sheet = DaySheet(day)
    sheet.bookings = list(db.session.scalars(
        sa.select(Booking).where(Booking.status.in_(ACTIVE_BOOKING_STATUSES),
                                 overlaps_clause(Booking.start, Booking.end, start, end))
        .order_by(Booking.start, Booking.space_id).limit(SHEET_LIMIT)))
    with_units = selectinload(EquipmentReservation.allocations)
    sheet.hand_out = list(db.session.scalars(
        sa.select(EquipmentReservation).options(with_units)
        .where(EquipmentReservation.status == ReservationStatus.CONFIRMED,
               overlaps_clause(EquipmentReservation.start, EquipmentReservation.end, start, end))
        .order_by(EquipmentReservation.start).limit(SHEET_LIMIT)))
    sheet.take_back = list(db.session.scalars(
        sa.select(EquipmentReservation).options(with_units)
        .where(EquipmentReservation.status == ReservationStatus.CHECKED_OUT, EquipmentReservation.end < end)
        .order_by(EquipmentReservation.end).limit(SHEET_LIMIT)))
    sheet.pending_bookings = list(db.session.scalars(
        sa.select(Booking).where(Booking.status == BookingStatus.PENDING, Booking.end > now)
        .order_by(Booking.start).limit(SHEET_LIMIT)))
    sheet.pending_loans = list(db.session.scalars(
        sa.select(EquipmentReservation).options(with_units)
        .where(EquipmentReservation.status == ReservationStatus.PENDING, EquipmentReservation.end > now)
        .order_by(EquipmentReservation.start).limit(SHEET_LIMIT)))
    return sheet


def closures_during(booking: Booking) -> list:
    """Closures of the booking's space (or the whole workshop) that overlap an active booking:
    the booking's page shows their reasons."""
    if booking.status not in ACTIVE_BOOKING_STATUSES:
        return []
    from spaces.models import Closure

    return list(db.session.scalars(
        sa.select(Closure)
        .where(sa.or_(Closure.space_id.is_(None), Closure.space_id == booking.space_id),
               overlaps_clause(Closure.start, Closure.end, booking.start, booking.end))
        .order_by(Closure.start)))
