"""The lending desk: hand units out, take them back (with cleaning time and maintenance), and
find a loan by what people know it by (borrower, organisation, type, asset tag, serial number)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError

from booking.equipment.services.allocation import ALLOCATION_CONSTRAINT, allocated_units, format_local
from booking.equipment.services.queries import with_units
from booking.equipment.services.rules import (AUDIT_FIELDS, as_id, clean_text, record_change,
                                              require_staff)
from booking.labels import reservation_status_phrase, unit_status_phrase
from booking.models import EquipmentAllocation, EquipmentReservation, ReservationStatus
from booking.notifications import equipment as notifications
from samskap import audit
from samskap.database import is_collision, is_exclusion_violation
from samskap.errors import Conflict, ValidationFailed
from samskap.extensions import db
from samskap.periods import overlaps_clause
from samskap.timeutil import utcnow
from spaces.models import EquipmentUnit, UnitStatus


@dataclass
class ReturnReceipt:
    """What a check-in did, and what staff should know about it."""

    reservation: EquipmentReservation
    notices: list[str] = field(default_factory=list)


def check_out(actor, reservation: EquipmentReservation, note: str = "", *,
              now: datetime | None = None) -> EquipmentReservation:
    """Hand the allocated units out (staff): stamps who and when, with a condition note.

    Handing out before the reservation starts is allowed (a partner may fetch the kit the day
    before), but from that moment the units are physically away, so each allocation is made to
    start at the hand-out: availability, the timeline and (on PostgreSQL) the exclusion
    constraint then hold the units from the hand-out on, and nobody can be given them in
    between. It follows that an early hand-out is refused while another reservation holds one
    of the units between now and this reservation's start: an earlier loan that has not ended
    yet (or its cleaning time) would otherwise find its unit gone at its own check-out.
    """
    require_staff(actor)
    now = now or utcnow()
    note = clean_text(note, "note")
    if reservation.status == ReservationStatus.PENDING:
        raise Conflict(_("The reservation is waiting for approval; approve it before handing out the equipment."))
    if reservation.status != ReservationStatus.CONFIRMED:
        raise Conflict(_("Only confirmed reservations can be checked out; this one is %(status)s.",
                         status=reservation_status_phrase(reservation.status)))
    unit_ids = [a.unit_id for a in reservation.allocations if a.active]
    for unit in allocated_units(reservation):
        if unit.status != UnitStatus.AVAILABLE:
            raise Conflict(_("Unit %(tag)s is not in service (%(status)s); it cannot be handed out.",
                             tag=unit.asset_tag, status=unit_status_phrase(unit.status)))
    still_out = db.session.execute(
        sa.select(EquipmentUnit.asset_tag, EquipmentReservation.id)
        .join(EquipmentAllocation, EquipmentAllocation.unit_id == EquipmentUnit.id)
        .join(EquipmentReservation, EquipmentReservation.id == EquipmentAllocation.reservation_id)
        .where(EquipmentUnit.id.in_(unit_ids), EquipmentReservation.id != reservation.id,
               EquipmentReservation.status == ReservationStatus.CHECKED_OUT)
    ).first()
    if still_out is not None:
        raise Conflict(_("Unit %(tag)s has not been returned from reservation %(id)d yet.",
                         tag=still_out.asset_tag, id=still_out.id))
    _hold_from_hand_out(reservation, now)
    before = audit.snapshot(reservation, AUDIT_FIELDS)
    reservation.status = ReservationStatus.CHECKED_OUT
    reservation.checked_out_at = now
    reservation.checked_out_by_id = actor.id
    reservation.checkout_note = note
    tags = ", ".join(unit.asset_tag for unit in allocated_units(reservation))
    record_change(actor, "equipment_reservation.check_out", reservation, before, summary=f"{tags}. {note}".strip())
    return reservation


def _hold_from_hand_out(reservation: EquipmentReservation, now: datetime) -> None:
    """Before the start, make the reservation's allocations start at the hand-out, or raise
    Conflict naming the reservation that holds a unit in between (see :func:`check_out`)."""
    early = [a for a in reservation.allocations if a.active and now < a.start]
    if not early:
        return
    in_between = db.session.execute(
        sa.select(EquipmentUnit.asset_tag, EquipmentAllocation.reservation_id, EquipmentAllocation.blocked_until)
        .join(EquipmentUnit, EquipmentUnit.id == EquipmentAllocation.unit_id)
        .where(EquipmentAllocation.active.is_(True), EquipmentAllocation.reservation_id != reservation.id,
               sa.or_(*(sa.and_(EquipmentAllocation.unit_id == a.unit_id,
                                overlaps_clause(EquipmentAllocation.start, EquipmentAllocation.blocked_until, now, a.start))
                        for a in early)))
        .order_by(EquipmentAllocation.blocked_until.desc(), EquipmentUnit.asset_tag)
    ).first()
    if in_between is not None:
        raise Conflict(_("Unit %(tag)s is held by reservation %(id)d until %(when)s, before this reservation "
                         "starts. Hand this reservation out from %(when)s or once that loan has been returned; "
                         "handing it out now would take the unit from the earlier reservation.",
                         tag=in_between.asset_tag, id=in_between.reservation_id,
                         when=format_local(in_between.blocked_until)),
                       details={"conflicts": [{"reservation_id": in_between.reservation_id,
                                               "asset_tag": in_between.asset_tag,
                                               "end": in_between.blocked_until.isoformat(),
                                               "reason": "reserved"}]})
    try:
        with db.session.begin_nested():
            for allocation in early:
                allocation.start = now
            db.session.flush()
    except DBAPIError as exc:
        if not (is_exclusion_violation(exc, ALLOCATION_CONSTRAINT) or is_collision(exc)):
            raise
        raise Conflict(_("A unit was reserved by someone else at this very moment. Please try again."))


def check_in(actor, reservation: EquipmentReservation, note: str = "", to_maintenance_unit_ids=(), *,
             now: datetime | None = None) -> ReturnReceipt:
    """Take the units back (staff). Each unit stays blocked for the type's cleaning turnaround
    from the moment of return (a return at 12:00 with 24 h turnaround blocks it until 12:00
    the next day); a late return's block never reaches into the next reservation of that unit.
    Units named in ``to_maintenance_unit_ids`` go to maintenance with the note.
    """
    require_staff(actor)
    now = now or utcnow()
    note = clean_text(note, "note")
    if reservation.status != ReservationStatus.CHECKED_OUT:
        raise Conflict(_("Only equipment that has been checked out can be checked in; this reservation is "
                         "%(status)s.", status=reservation_status_phrase(reservation.status)))
    own_unit_ids = {a.unit_id for a in reservation.allocations}
    maintenance_ids = set()
    for raw in to_maintenance_unit_ids or ():
        unit_id = as_id(raw)
        if unit_id is None or unit_id not in own_unit_ids:
            raise ValidationFailed({"maintenance_unit_ids": _("Only units of this reservation can be sent to "
                                                              "maintenance.")})
        maintenance_ids.add(unit_id)

    receipt = ReturnReceipt(reservation)
    turnaround = timedelta(hours=reservation.equipment_type.turnaround_hours)
    before = audit.snapshot(reservation, AUDIT_FIELDS)
    for allocation in reservation.allocations:
        if not allocation.active:
            continue
        blocked_until = now + turnaround
        next_start = db.session.scalar(
            sa.select(sa.func.min(EquipmentAllocation.start))
            .where(EquipmentAllocation.unit_id == allocation.unit_id, EquipmentAllocation.active.is_(True),
                   EquipmentAllocation.id != allocation.id, EquipmentAllocation.start >= allocation.start)
        )
        if next_start is not None and blocked_until > next_start:
            blocked_until = next_start
            receipt.notices.append(_("Unit %(tag)s is reserved again from %(when)s: there is less time for "
                                     "cleaning than usual.", tag=allocation.unit.asset_tag,
                                     when=format_local(next_start)))
        if blocked_until <= allocation.start:
            allocation.active = False  # returned before the loan began: it holds nothing any more
        else:
            allocation.blocked_until = blocked_until
        if allocation.unit_id in maintenance_ids:
            unit = allocation.unit
            unit.status = UnitStatus.MAINTENANCE
            unit.status_note = note or _("Sent to maintenance on return of reservation %(id)d.", id=reservation.id)
            audit.record(actor, "equipment_unit.maintenance", unit,
                         changes={"status": [UnitStatus.AVAILABLE, UnitStatus.MAINTENANCE]},
                         summary=unit.status_note)
            later = db.session.scalar(
                sa.select(sa.func.count(EquipmentAllocation.id))
                .where(EquipmentAllocation.unit_id == unit.id, EquipmentAllocation.active.is_(True),
                       EquipmentAllocation.id != allocation.id, EquipmentAllocation.start >= now)
            )
            if later:
                receipt.notices.append(_("Unit %(tag)s is in maintenance but held by %(n)d later reservations; "
                                         "give them other units or return it to service in time.",
                                         tag=unit.asset_tag, n=later))
    reservation.status = ReservationStatus.RETURNED
    reservation.returned_at = now
    reservation.returned_by_id = actor.id
    reservation.return_note = note
    try:
        record_change(actor, "equipment_reservation.check_in", reservation, before, summary=note or None)
    except DBAPIError as exc:
        if not (is_exclusion_violation(exc, ALLOCATION_CONSTRAINT) or is_collision(exc)):
            raise
        raise Conflict(_("A unit was reserved by someone else at this very moment. Please try again."))
    notifications.reservation_returned(actor, reservation)
    return receipt

SEARCH_MAX = 100


def reservation_title(reservation: EquipmentReservation) -> str:
    """A reservation named by what it is: "2 × Fallsensor-sett, 3.–10. des." (the period's days
    in the reader's language; the year when it is not this year's)."""
    from samskap.i18n import day_range_text

    return _("%(n)d × %(type)s, %(days)s", n=reservation.quantity, type=reservation.equipment_type.name,
             days=day_range_text(reservation.start, reservation.end))


def matches_desk_filter(reservation: EquipmentReservation, text: str) -> bool:
    """Whether a desk row matches what staff typed: the borrower's name or email, the organisation,
    the equipment type, an asset tag or a serial number (case-insensitive, part of a word)."""
    needle = text.casefold().strip()
    if not needle:
        return True
    units = [a.unit for a in reservation.allocations]
    haystack = [reservation.user.name if reservation.user else "", reservation.user.email if reservation.user else "",
                reservation.organisation.name, reservation.equipment_type.name]
    haystack += [u.asset_tag for u in units] + [u.serial or "" for u in units]
    return any(needle in value.casefold() for value in haystack)


@dataclass
class FoundUnit:
    unit: EquipmentUnit
    current: EquipmentReservation | None  # handed out now, or the next confirmed/pending loan


def find_units(text: str, now: datetime | None = None) -> list[FoundUnit]:
    """Units whose asset tag or serial number is ``text`` (or starts with it), each with its loan:
    the one it is handed out on, or else the next one it is reserved for."""
    needle = (text or "").strip()
    if not needle or len(needle) > 128 or "\x00" in needle:
        return []
    now = now or utcnow()
    pattern = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    units = db.session.scalars(
        sa.select(EquipmentUnit)
        .where(sa.or_(sa.func.lower(EquipmentUnit.asset_tag).like(pattern.lower(), escape="\\"),
                      sa.func.lower(EquipmentUnit.serial).like(pattern.lower(), escape="\\")))
        .order_by(EquipmentUnit.asset_tag).limit(SEARCH_MAX)).all()
    found = []
    for unit in units:
        loans = db.session.scalars(
            sa.select(EquipmentReservation).join(EquipmentAllocation,
                                                 EquipmentAllocation.reservation_id == EquipmentReservation.id)
            .options(with_units())
            .where(EquipmentAllocation.unit_id == unit.id, EquipmentAllocation.active.is_(True),
                   sa.or_(EquipmentReservation.status == ReservationStatus.CHECKED_OUT,
                          sa.and_(EquipmentReservation.status.in_([ReservationStatus.CONFIRMED,
                                                                   ReservationStatus.PENDING]),
                                  EquipmentReservation.end > now)))
            .order_by(EquipmentReservation.start)).all()
        out = [r for r in loans if r.status == ReservationStatus.CHECKED_OUT]
        found.append(FoundUnit(unit, out[0] if out else (loans[0] if loans else None)))
    return found
