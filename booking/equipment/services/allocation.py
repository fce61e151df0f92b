"""Which units are free, when enough are, and holding specific units for a reservation.

Integrity. A reservation holds one :class:`EquipmentAllocation` row per physical
unit for ``[start, blocked_until)``, where ``blocked_until`` is the end (or the
actual return) plus the type's cleaning turnaround. On PostgreSQL the exclusion
constraint ``ex_equipment_allocations_no_overlap`` refuses a unit in two active
overlapping allocations, whatever the isolation level: we pick free units, insert
them inside a SAVEPOINT and, when a concurrent request took one of them first,
look again and try the next free units (a bounded number of times). On SQLite
every transaction starts with ``BEGIN IMMEDIATE``, so the check and the insert
cannot interleave with another writer.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError

from booking.models import EquipmentAllocation, EquipmentReservation, ReservationStatus
from samskap.database import is_collision, is_exclusion_violation
from samskap.errors import Conflict
from samskap.extensions import db
from samskap.periods import overlaps, overlaps_clause
from samskap.i18n import local_datetime_text
from samskap.timeutil import utcnow
from spaces.models import EquipmentType, EquipmentUnit, UnitStatus

ALLOCATION_CONSTRAINT = "ex_equipment_allocations_no_overlap"
# How often to look again for free units after a concurrent request took the chosen ones.
MAX_ALLOCATION_ATTEMPTS = 5


def format_local(value: datetime) -> str:
    """A UTC instant as local wall-clock time for messages, in the reader's language (24-hour)."""
    return local_datetime_text(value, "medium")


def _units_out_on_overdue_loans(now: datetime):
    """Units handed out on a loan whose end has passed: physically away, so never offered."""
    return (
        sa.select(EquipmentAllocation.unit_id)
        .join(EquipmentReservation, EquipmentReservation.id == EquipmentAllocation.reservation_id)
        .where(EquipmentReservation.status == ReservationStatus.CHECKED_OUT, EquipmentReservation.end < now)
    )


def _loanable_units_query(equipment_type_id: int, now: datetime):
    return (
        sa.select(EquipmentUnit)
        .where(EquipmentUnit.equipment_type_id == equipment_type_id,
               EquipmentUnit.status == UnitStatus.AVAILABLE,
               EquipmentUnit.id.not_in(_units_out_on_overdue_loans(now)))
        .order_by(EquipmentUnit.asset_tag)
    )


def free_units(equipment_type_id: int, start: datetime, blocked_until: datetime,
               now: datetime | None = None) -> list[EquipmentUnit]:
    """Units of the type in service that no active allocation holds in ``[start, blocked_until)``."""
    busy = sa.select(EquipmentAllocation.unit_id).where(
        EquipmentAllocation.active.is_(True),
        overlaps_clause(EquipmentAllocation.start, EquipmentAllocation.blocked_until, start, blocked_until),
    )
    query = _loanable_units_query(equipment_type_id, now or utcnow()).where(EquipmentUnit.id.not_in(busy))
    return list(db.session.scalars(query))


def earliest_free(equipment_type_id: int, quantity: int, start: datetime, blocked_until: datetime,
                  now: datetime | None = None) -> datetime | None:
    """The earliest start, not before ``start``, at which ``quantity`` units are free for a
    period as long as ``[start, blocked_until)``; None if the type has too few units in service.

    Units only become free where an allocation's blocked period ends, so those instants
    (and ``start`` itself) are the only candidates worth testing.
    """
    unit_ids = [unit.id for unit in db.session.scalars(_loanable_units_query(equipment_type_id, now or utcnow()))]
    if len(unit_ids) < quantity:
        return None
    held = db.session.execute(
        sa.select(EquipmentAllocation.unit_id, EquipmentAllocation.start, EquipmentAllocation.blocked_until)
        .where(EquipmentAllocation.unit_id.in_(unit_ids), EquipmentAllocation.active.is_(True),
               EquipmentAllocation.blocked_until > start)
    ).all()
    length = blocked_until - start
    for candidate in sorted({start} | {row.blocked_until for row in held}):
        window_end = candidate + length
        busy = {row.unit_id for row in held if overlaps(row.start, row.blocked_until, candidate, window_end)}
        if len(unit_ids) - len(busy) >= quantity:
            return candidate
    return None  # not reached: after the last blocked period every unit in service is free


def _shortage(etype: EquipmentType, quantity: int, start: datetime, blocked_until: datetime,
              now: datetime) -> Conflict:
    free = free_units(etype.id, start, blocked_until, now)
    available_from = earliest_free(etype.id, quantity, start, blocked_until, now)
    in_service = db.session.scalar(sa.select(sa.func.count()).select_from(_loanable_units_query(etype.id, now)
                                                                          .subquery()))
    busy = db.session.execute(
        sa.select(EquipmentAllocation.start, EquipmentAllocation.blocked_until, EquipmentUnit.asset_tag)
        .join(EquipmentUnit, EquipmentUnit.id == EquipmentAllocation.unit_id)
        .where(EquipmentUnit.equipment_type_id == etype.id, EquipmentAllocation.active.is_(True),
               overlaps_clause(EquipmentAllocation.start, EquipmentAllocation.blocked_until, start, blocked_until))
        .order_by(EquipmentAllocation.start, EquipmentUnit.asset_tag)
    ).all()
    if available_from is None:
        message = _("Only %(free)d of the %(needed)d requested units of %(type)s are free for that period, and "
                    "only %(in_service)d are in service, so %(needed)d can never be reserved at once.",
                    free=len(free), needed=quantity, type=etype.name, in_service=in_service)
    else:
        message = _("Only %(free)d of the %(needed)d requested units of %(type)s are free for that period. "
                    "%(needed)d units are free for a loan of the same length from %(when)s.",
                    free=len(free), needed=quantity, type=etype.name, when=format_local(available_from))
    return Conflict(message, details={
        "equipment_id": etype.id,
        "free_now": len(free),
        "needed": quantity,
        "available_from": available_from.isoformat() if available_from else None,
        "conflicts": [{"start": row.start.isoformat(), "end": row.blocked_until.isoformat(),
                       "asset_tag": row.asset_tag, "reason": "reserved"} for row in busy],
    })


def allocate(reservation: EquipmentReservation, etype: EquipmentType, now: datetime) -> list[EquipmentUnit]:
    """Hold ``reservation.quantity`` specific free units for the reservation, or raise Conflict."""
    blocked_until = reservation.end + timedelta(hours=etype.turnaround_hours)
    for _attempt in range(MAX_ALLOCATION_ATTEMPTS):
        units = free_units(etype.id, reservation.start, blocked_until, now)
        if len(units) < reservation.quantity:
            raise _shortage(etype, reservation.quantity, reservation.start, blocked_until, now)
        chosen = units[:reservation.quantity]  # asset-tag order: concurrent writers lock in one order
        try:
            with db.session.begin_nested():
                db.session.add_all([
                    EquipmentAllocation(reservation_id=reservation.id, unit_id=unit.id, start=reservation.start,
                                        blocked_until=blocked_until, active=True)
                    for unit in chosen
                ])
                db.session.flush()
        except DBAPIError as exc:
            if not (is_exclusion_violation(exc, ALLOCATION_CONSTRAINT) or is_collision(exc)):
                raise
            continue  # someone took (or is taking) one of these units a moment ago: look again
        db.session.expire(reservation, ["allocations"])
        return chosen
    raise Conflict(_("Other people were reserving the same units at the same moment. Please try again."),
                   details={"conflicts": []})


def allocated_units(reservation: EquipmentReservation) -> list[EquipmentUnit]:
    """The units the reservation was given, in asset-tag order."""
    return sorted((a.unit for a in reservation.allocations), key=lambda unit: unit.asset_tag)
