"""Lists of equipment reservations (who may see which, what waits, what is out and overdue)
and the units × days timeline."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from booking.equipment.permissions import visible_clause
from booking.equipment.services.rules import as_id
from booking.models import EquipmentAllocation, EquipmentReservation, ReservationStatus
from samskap.errors import NotFound
from samskap.extensions import db
from samskap.periods import overlaps, overlaps_clause
from samskap.timeutil import local_day_bounds, utcnow
from spaces.models import EquipmentType, EquipmentUnit, UnitStatus


def with_units():
    """Loader option for lists that show each reservation's units: one extra query for all the
    allocations (each with its unit, joined) instead of one per reservation."""
    return selectinload(EquipmentReservation.allocations)


def overdue_reservations(now: datetime | None = None) -> list[EquipmentReservation]:
    """Reservations handed out and not returned although their end has passed, oldest first."""
    now = now or utcnow()
    return list(db.session.scalars(
        sa.select(EquipmentReservation).options(with_units())
        .where(EquipmentReservation.status == ReservationStatus.CHECKED_OUT, EquipmentReservation.end < now)
        .order_by(EquipmentReservation.end)
    ))


def visible_reservations(viewer, *, start: datetime | None = None, end: datetime | None = None,
                         organisation_id: int | None = None, statuses=None) -> list[EquipmentReservation]:
    """Reservations ``viewer`` may see, optionally overlapping ``[start, end)``, newest start first."""
    query = sa.select(EquipmentReservation).options(with_units()).where(visible_clause(viewer))
    if start is not None:
        query = query.where(EquipmentReservation.end > start)
    if end is not None:
        query = query.where(EquipmentReservation.start < end)
    if organisation_id is not None:
        query = query.where(EquipmentReservation.organisation_id == organisation_id)
    if statuses:
        query = query.where(EquipmentReservation.status.in_(statuses))
    return list(db.session.scalars(query.order_by(EquipmentReservation.start.desc(), EquipmentReservation.id)))


def get_visible_reservation(viewer, reservation_id) -> EquipmentReservation:
    """The reservation if ``viewer`` may see it; NotFound otherwise (another organisation's
    reservation is indistinguishable from one that does not exist)."""
    res_id = as_id(reservation_id)
    reservation = None
    if res_id is not None:
        reservation = db.session.scalar(
            sa.select(EquipmentReservation).where(EquipmentReservation.id == res_id, visible_clause(viewer)))
    if reservation is None:
        raise NotFound(_("No such equipment reservation."))
    return reservation


def pending_reservations() -> list[EquipmentReservation]:
    return list(db.session.scalars(
        sa.select(EquipmentReservation).options(with_units())
        .where(EquipmentReservation.status == ReservationStatus.PENDING)
        .order_by(EquipmentReservation.start)))


def desk_reservations(now: datetime | None = None, days_ahead: int = 7) -> tuple[list, list]:
    """For the lending desk: confirmed reservations starting within ``days_ahead`` days (to hand
    out) and reservations currently handed out (to take back)."""
    now = now or utcnow()
    to_hand_out = db.session.scalars(
        sa.select(EquipmentReservation).options(with_units())
        .where(EquipmentReservation.status == ReservationStatus.CONFIRMED,
               EquipmentReservation.start < now + timedelta(days=days_ahead))
        .order_by(EquipmentReservation.start)).all()
    out = db.session.scalars(
        sa.select(EquipmentReservation).options(with_units())
        .where(EquipmentReservation.status == ReservationStatus.CHECKED_OUT)
        .order_by(EquipmentReservation.end)).all()
    return list(to_hand_out), list(out)


@dataclass
class TimelineCell:
    state: str  # "free", "reserved", "cleaning", "out_of_service"
    reservation: EquipmentReservation | None = None


@dataclass
class TimelineRow:
    unit: EquipmentUnit
    cells: list[TimelineCell]


def timeline(etype: EquipmentType, first_day: date, days: int = 28) -> tuple[list[date], list[TimelineRow]]:
    """Units x local days: for each day, the reservation holding the unit (or its cleaning time)."""
    day_list = [first_day + timedelta(days=i) for i in range(days)]
    window_start = local_day_bounds(day_list[0])[0]
    window_end = local_day_bounds(day_list[-1])[1]
    allocations = db.session.scalars(
        sa.select(EquipmentAllocation)
        .options(joinedload(EquipmentAllocation.reservation))  # each cell names its reservation
        .join(EquipmentUnit, EquipmentUnit.id == EquipmentAllocation.unit_id)
        .where(EquipmentUnit.equipment_type_id == etype.id, EquipmentAllocation.active.is_(True),
               overlaps_clause(EquipmentAllocation.start, EquipmentAllocation.blocked_until, window_start, window_end))
        .order_by(EquipmentAllocation.start)
    ).all()
    by_unit: dict[int, list[EquipmentAllocation]] = {}
    for allocation in allocations:
        by_unit.setdefault(allocation.unit_id, []).append(allocation)
    rows = []
    for unit in etype.units:
        cells = []
        for day in day_list:
            day_start, day_end = local_day_bounds(day)
            cell = TimelineCell("free" if unit.status == UnitStatus.AVAILABLE else "out_of_service")
            for allocation in by_unit.get(unit.id, []):
                reservation = allocation.reservation
                loan_end = reservation.returned_at or reservation.end
                if overlaps(allocation.start, min(loan_end, allocation.blocked_until), day_start, day_end):
                    cell = TimelineCell("reserved", reservation)
                    break
                if overlaps(allocation.start, allocation.blocked_until, day_start, day_end):
                    cell = TimelineCell("cleaning", reservation)
            cells.append(cell)
        rows.append(TimelineRow(unit, cells))
    return day_list, rows
