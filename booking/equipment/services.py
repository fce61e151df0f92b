"""Equipment reservations: reserve specific units, decide, cancel, check out and check in.

One use case per function; each takes the acting user explicitly, enforces every
rule, adds and flushes (the caller commits once) and records an audit entry.

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

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import joinedload, selectinload

from accounts.models import Organisation
from booking.equipment.permissions import (can_cancel, can_handle, can_reserve_for_other_organisations,
                                           visible_clause)
from booking.models import (ACTIVE_BOOKING_STATUSES, Booking, EquipmentAllocation, EquipmentReservation,
                            ReservationStatus)
from booking.permissions import can_manage as can_manage_booking
from booking.notifications import equipment as notifications
from samskap import audit
from samskap.database import is_collision, is_exclusion_violation
from samskap.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from samskap.ids import parse_int32
from samskap.extensions import db
from samskap.periods import overlaps, overlaps_clause
from samskap.i18n import date_text, duration_text, local_datetime_text
from samskap.timeutil import local_day_bounds, local_tz, utcnow
from spaces.models import EquipmentType, EquipmentUnit, UnitStatus
from spaces.permissions import can_reserve, open_to

ALLOCATION_CONSTRAINT = "ex_equipment_allocations_no_overlap"
# How often to look again for free units after a concurrent request took the chosen ones.
MAX_ALLOCATION_ATTEMPTS = 5
# A start a few minutes ago is "now" (the form has minute precision and people are slow).
PAST_GRACE = timedelta(minutes=5)
PURPOSE_MAX = 300
NOTE_MAX = 500
FAR_FUTURE = timedelta(days=3660)  # keeps date arithmetic (end + turnaround) far from datetime's limits

HOLDING_STATUSES = (ReservationStatus.PENDING, ReservationStatus.CONFIRMED, ReservationStatus.CHECKED_OUT)
CANCELLABLE_STATUSES = (ReservationStatus.PENDING, ReservationStatus.CONFIRMED)
AUDIT_FIELDS = ("status", "start", "end", "quantity", "checked_out_at", "returned_at", "decision_reason",
                "cancel_reason")


@dataclass
class ReturnReceipt:
    """What a check-in did, and what staff should know about it."""

    reservation: EquipmentReservation
    notices: list[str] = field(default_factory=list)


def format_local(value: datetime) -> str:
    """A UTC instant as local wall-clock time for messages, in the reader's language (24-hour)."""
    return local_datetime_text(value, "medium")


# --- availability ------------------------------------------------------------------------

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


def _allocate(reservation: EquipmentReservation, etype: EquipmentType, now: datetime) -> list[EquipmentUnit]:
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


# --- reserving ---------------------------------------------------------------------------

def as_id(value) -> int | None:
    """A whole number that fits an integer column, else None (so a huge id is "not found", not a 500)."""
    return parse_int32(value)


_int_or_none = as_id


def _load_type(equipment_type_id, errors: dict) -> EquipmentType | None:
    type_id = _int_or_none(equipment_type_id)
    etype = db.session.get(EquipmentType, type_id) if type_id is not None else None
    if etype is None:
        errors["equipment_id"] = _("Choose an existing equipment type.")
    elif not etype.active:
        errors["equipment_id"] = _("%(type)s can no longer be reserved.", type=etype.name)
    return etype


def _check_period(etype: EquipmentType | None, start, end, now: datetime, errors: dict) -> None:
    if not isinstance(start, datetime) or start.tzinfo is None:
        errors["start"] = _("Give a start date and time.")
    if not isinstance(end, datetime) or end.tzinfo is None:
        errors["end"] = _("Give an end date and time.")
    if "start" in errors or "end" in errors:
        return
    if start < now - PAST_GRACE:
        errors["start"] = _("The start cannot be in the past.")
    if end <= start:
        errors["end"] = _("The end must be after the start.")
        return
    if etype is not None and end - start > timedelta(days=etype.max_loan_days):
        # The rule a too long loan breaks is its length, also when the end is years away.
        days = (end - start).total_seconds() / 86400
        errors["end"] = _("A loan of %(type)s can last at most %(days)d days; this one would last %(asked)s.",
                          type=etype.name, days=etype.max_loan_days, asked=duration_text(math.ceil(days) * 24 * 60))
        return
    if start > now + FAR_FUTURE or end > now + FAR_FUTURE:
        errors["start" if start > now + FAR_FUTURE else "end"] = _(
            "Equipment can be reserved at most %(n)d years ahead (until %(date)s).", n=10,
            date=date_text((now + FAR_FUTURE).astimezone(local_tz()).date()))


def _resolve_organisation(actor, organisation_id, booking: Booking | None, errors: dict) -> Organisation | None:
    if booking is not None:
        return booking.organisation
    if organisation_id in (None, "") or _int_or_none(organisation_id) == actor.organisation_id:
        return actor.organisation
    if not can_reserve_for_other_organisations(actor):
        raise PermissionDenied(_("You can only reserve equipment for your own organisation."))
    org = db.session.get(Organisation, _int_or_none(organisation_id)) if _int_or_none(organisation_id) else None
    if org is None:
        errors["organisation_id"] = _("Choose an existing organisation.")
    return org


def _reservation_project(project_id, organisation):
    from booking.projects.services import check_booking_project

    return check_booking_project(project_id, organisation)


def reserve_equipment(actor, equipment_type_id, quantity, start, end, purpose: str = "",
                      booking: Booking | None = None, organisation_id=None, *,
                      now: datetime | None = None, project_id=None) -> EquipmentReservation:
    """Reserve ``quantity`` units of a type from ``start`` to ``end`` and allocate specific free units.

    Rules: the type exists and is active; the organisation's kind may borrow it (staff and
    administrators may reserve on behalf of any organisation); at least one unit; the end
    after the start; the start not in the past; the loan no longer than the type allows;
    only units in service that no active reservation holds (period plus cleaning
    turnaround) are allocated. A type that requires approval gives a pending reservation
    that already holds its units (staff, who decide, get a confirmed one). Too few free
    units: Conflict saying how many are free and when enough are.
    """
    now = now or utcnow()
    errors: dict[str, str] = {}
    etype = _load_type(equipment_type_id, errors)
    count = _int_or_none(quantity)
    if count is None or count < 1:
        errors["quantity"] = _("Reserve at least one unit.")
    _check_period(etype, start, end, now, errors)
    purpose = purpose.strip() if isinstance(purpose, str) else ""
    if len(purpose) > PURPOSE_MAX:
        errors["purpose"] = _("The purpose can be at most %(n)d characters long.", n=PURPOSE_MAX)
    elif "\x00" in purpose:
        errors["purpose"] = _("The text contains a character that is not allowed.")
    if booking is not None:
        if not can_manage_booking(actor, booking):
            raise PermissionDenied(_("You cannot add equipment to this booking."))
        if booking.status not in ACTIVE_BOOKING_STATUSES:
            errors["booking_id"] = _("Equipment can only be added to a pending or confirmed booking.")
    org = _resolve_organisation(actor, organisation_id, booking, errors)
    if errors:
        raise ValidationFailed(errors)
    if not (can_reserve(actor, etype) and open_to(etype, org)):
        raise PermissionDenied(_("Organisations of this kind cannot borrow %(type)s.", type=etype.name))
    if project_id is None and booking is not None:
        project_id = booking.project_id
    project = _reservation_project(project_id, org)

    status = (ReservationStatus.PENDING if etype.requires_approval and not can_handle(actor)
              else ReservationStatus.CONFIRMED)
    reservation = EquipmentReservation(
        equipment_type_id=etype.id, quantity=count, booking_id=booking.id if booking else None,
        organisation_id=org.id, user_id=actor.id, start=start, end=end, purpose=purpose, status=status,
        project_id=project.id if project is not None else None,
    )
    with db.session.begin_nested():  # a shortage leaves no reservation row behind
        db.session.add(reservation)
        db.session.flush()
        units = _allocate(reservation, etype, now)
    tags = ", ".join(unit.asset_tag for unit in units)
    audit.record(actor, "equipment_reservation.create", reservation,
                 changes={"status": [None, status], "quantity": [None, count], "start": [None, start],
                          "end": [None, end], "units": [None, [unit.asset_tag for unit in units]]},
                 summary=f"{etype.name} x{count}: {tags}")
    notifications.reservation_made(actor, reservation)
    return reservation


def _parse_items(items) -> list[tuple[int, int]]:
    if not isinstance(items, list):
        raise ValidationFailed({"equipment": _("Give the equipment as a list of types and quantities.")})
    errors: dict[str, str] = {}
    parsed: list[tuple[int, int]] = []
    seen: set[int] = set()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors[f"equipment[{index}]"] = _("Give an equipment type and a quantity.")
            continue
        type_id = _int_or_none(item.get("equipment_id"))
        count = _int_or_none(item.get("quantity", 1))
        if type_id is None:
            errors[f"equipment[{index}].equipment_id"] = _("Choose an existing equipment type.")
        elif type_id in seen:
            errors[f"equipment[{index}].equipment_id"] = _("Each equipment type can be listed only once.")
        if count is None or count < 1:
            errors[f"equipment[{index}].quantity"] = _("Reserve at least one unit.")
        if type_id is not None and count is not None:
            seen.add(type_id)
            parsed.append((type_id, count))
    if errors:
        raise ValidationFailed(errors)
    return parsed


def reserve_for_booking(actor, booking: Booking, items: list[dict], *,
                        now: datetime | None = None) -> list[EquipmentReservation]:
    """Reserve equipment for a room booking's period (``items``: ``{equipment_id, quantity}``).

    All or nothing: when one item cannot be reserved, none is, and the error names the item.
    """
    parsed = _parse_items(items)
    reservations = []
    with db.session.begin_nested():
        for index, (type_id, count) in enumerate(parsed):
            try:
                reservations.append(reserve_equipment(actor, type_id, count, booking.start, booking.end,
                                                      purpose=booking.title[:PURPOSE_MAX], booking=booking,
                                                      organisation_id=booking.organisation_id, now=now))
            except ValidationFailed as exc:
                raise ValidationFailed({(f"equipment[{index}].{name}" if name in ("equipment_id", "quantity")
                                         else name): message for name, message in exc.fields.items()})
    return reservations


def _linked_reservations(booking: Booking) -> list[EquipmentReservation]:
    """The booking's equipment reservations that have not been handed out (pending or confirmed)."""
    return list(db.session.scalars(
        sa.select(EquipmentReservation)
        .where(EquipmentReservation.booking_id == booking.id,
               EquipmentReservation.status.in_(CANCELLABLE_STATUSES))
        .order_by(EquipmentReservation.id)
    ))


def cancel_for_booking(actor, booking: Booking, reason: str = "") -> list[EquipmentReservation]:
    """Cancel the booking's equipment reservations that have not been handed out yet.

    Whoever may manage the booking (or decide it: staff) may cancel its equipment, also
    equipment a colleague added to it: the reservations belong to the booking.
    """
    if not (can_manage_booking(actor, booking) or can_handle(actor)):
        raise PermissionDenied(_("You cannot cancel the equipment of this booking."))
    reason = _clean_text(reason, "reason")
    reservations = _linked_reservations(booking)
    for reservation in reservations:
        _cancel(actor, reservation, reason)
    return reservations


def move_for_booking(actor, booking: Booking, old_start: datetime, old_end: datetime, *,
                     now: datetime | None = None) -> list[EquipmentReservation]:
    """Move the booking's equipment reservations that have not been handed out along with
    the booking, which was moved from ``old_start``–``old_end`` to its present period: a
    reservation for the booking's whole old period gets the new period; one for part of it
    moves by as much as the booking's start did, keeping its length. Its units are released
    and free units are allocated for the new time.

    All or nothing: when one reservation cannot get its units at the new time, none moves
    (Conflict naming the type, as for a new reservation). Whoever may manage the booking may
    move its equipment, also equipment a colleague added. A reservation of a type that
    requires approval waits for approval again, unless staff move it. Handed-out equipment
    stays as it is (it is checked in as usual).
    """
    if not (can_manage_booking(actor, booking) or can_handle(actor)):
        raise PermissionDenied(_("You cannot change the equipment of this booking."))
    now = now or utcnow()
    shift = booking.start - old_start
    targets = {}
    for reservation in _linked_reservations(booking):
        if (reservation.start, reservation.end) == (old_start, old_end):
            targets[reservation] = (booking.start, booking.end)
        else:
            targets[reservation] = (reservation.start + shift, reservation.end + shift)
    reservations = [r for r, period in targets.items() if period != (r.start, r.end)]
    if not reservations:
        return []
    errors: dict[str, str] = {}
    for reservation in reservations:
        problems: dict[str, str] = {}
        _check_period(reservation.equipment_type, *targets[reservation], now, problems)
        for key, message in problems.items():
            errors.setdefault(key, f"{reservation.equipment_type.name}: {message}")
    if errors:
        raise ValidationFailed(errors)
    with db.session.begin_nested():  # a shortage moves nothing
        before = {r.id: (audit.snapshot(r, AUDIT_FIELDS), [u.asset_tag for u in allocated_units(r)])
                  for r in reservations}
        # Release every unit first, so that reservations of the booking never compete with
        # their own old periods for the new time.
        for reservation in reservations:
            for allocation in list(reservation.allocations):
                db.session.delete(allocation)
            reservation.start, reservation.end = targets[reservation]
            etype = reservation.equipment_type
            if (reservation.status == ReservationStatus.CONFIRMED and etype.requires_approval
                    and not can_handle(actor)):
                reservation.status = ReservationStatus.PENDING
                reservation.decided_by_id, reservation.decision_reason = None, ""
        db.session.flush()
        for reservation in reservations:
            db.session.expire(reservation, ["allocations"])
            units = _allocate(reservation, reservation.equipment_type, now)
            snapshot, old_tags = before[reservation.id]
            _changed(actor, "equipment_reservation.move", reservation, snapshot,
                     summary=f"{reservation.equipment_type.name} x{reservation.quantity}: {', '.join(old_tags)} → "
                             f"{', '.join(unit.asset_tag for unit in units)}")
    return reservations


# --- state changes -----------------------------------------------------------------------

def _release(reservation: EquipmentReservation) -> None:
    for allocation in reservation.allocations:
        allocation.active = False


def _changed(actor, action: str, reservation: EquipmentReservation, before: dict, summary: str | None = None):
    reservation.sequence = (reservation.sequence or 0) + 1
    db.session.flush()
    audit.record(actor, action, reservation, changes=audit.diff(reservation, AUDIT_FIELDS, before),
                 summary=summary)


def _clean_text(value, field_name: str, limit: int = NOTE_MAX) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > limit:
        raise ValidationFailed({field_name: _("The text can be at most %(n)d characters long.", n=limit)})
    if "\x00" in text:
        raise ValidationFailed({field_name: _("The text contains a character that is not allowed.")})
    return text


def cancel_reservation(actor, reservation: EquipmentReservation, reason: str = "") -> EquipmentReservation:
    """Cancel a reservation that has not been handed out; its units are free again at once."""
    if not can_cancel(actor, reservation):
        raise PermissionDenied(_("You cannot cancel this reservation."))
    return _cancel(actor, reservation, _clean_text(reason, "reason"))


def _cancel(actor, reservation: EquipmentReservation, reason: str) -> EquipmentReservation:
    if reservation.status == ReservationStatus.CHECKED_OUT:
        raise Conflict(_("The equipment has been handed out; it must be checked in instead of cancelled."))
    if reservation.status not in CANCELLABLE_STATUSES:
        raise Conflict(_("This reservation is already %(status)s.", status=status_label(reservation.status)))
    before = audit.snapshot(reservation, AUDIT_FIELDS)
    reservation.status = ReservationStatus.CANCELLED
    reservation.cancelled_by_id = actor.id
    reservation.cancel_reason = reason
    _release(reservation)
    _changed(actor, "equipment_reservation.cancel", reservation, before, summary=reason or None)
    return reservation


def _require_staff(actor) -> None:
    if not can_handle(actor):
        raise PermissionDenied(_("Only workshop staff can do this."))


def approve_reservation(actor, reservation: EquipmentReservation, reason: str = "") -> EquipmentReservation:
    _require_staff(actor)
    reason = _clean_text(reason, "reason")
    if reservation.status != ReservationStatus.PENDING:
        raise Conflict(_("Only pending reservations can be approved; this one is %(status)s.",
                         status=status_label(reservation.status)))
    before = audit.snapshot(reservation, AUDIT_FIELDS)
    reservation.status = ReservationStatus.CONFIRMED
    reservation.decided_by_id = actor.id
    reservation.decision_reason = reason
    _changed(actor, "equipment_reservation.approve", reservation, before, summary=reason or None)
    notifications.reservation_decided(actor, reservation)
    return reservation


def reject_reservation(actor, reservation: EquipmentReservation, reason: str) -> EquipmentReservation:
    """Reject a pending reservation (a reason is required); its units are freed."""
    _require_staff(actor)
    reason = _clean_text(reason, "reason")
    if not reason:
        raise ValidationFailed({"reason": _("Say why the reservation is rejected.")})
    if reservation.status != ReservationStatus.PENDING:
        raise Conflict(_("Only pending reservations can be rejected; this one is %(status)s.",
                         status=status_label(reservation.status)))
    before = audit.snapshot(reservation, AUDIT_FIELDS)
    reservation.status = ReservationStatus.REJECTED
    reservation.decided_by_id = actor.id
    reservation.decision_reason = reason
    _release(reservation)
    _changed(actor, "equipment_reservation.reject", reservation, before, summary=reason)
    notifications.reservation_decided(actor, reservation)
    return reservation


def allocated_units(reservation: EquipmentReservation) -> list[EquipmentUnit]:
    """The units the reservation was given, in asset-tag order."""
    return sorted((a.unit for a in reservation.allocations), key=lambda unit: unit.asset_tag)


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
    _require_staff(actor)
    now = now or utcnow()
    note = _clean_text(note, "note")
    if reservation.status == ReservationStatus.PENDING:
        raise Conflict(_("The reservation is waiting for approval; approve it before handing out the equipment."))
    if reservation.status != ReservationStatus.CONFIRMED:
        raise Conflict(_("Only confirmed reservations can be checked out; this one is %(status)s.",
                         status=status_label(reservation.status)))
    unit_ids = [a.unit_id for a in reservation.allocations if a.active]
    for unit in allocated_units(reservation):
        if unit.status != UnitStatus.AVAILABLE:
            raise Conflict(_("Unit %(tag)s is not in service (%(status)s); it cannot be handed out.",
                             tag=unit.asset_tag, status=unit_status_label(unit.status)))
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
    _changed(actor, "equipment_reservation.check_out", reservation, before, summary=f"{tags}. {note}".strip())
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
    _require_staff(actor)
    now = now or utcnow()
    note = _clean_text(note, "note")
    if reservation.status != ReservationStatus.CHECKED_OUT:
        raise Conflict(_("Only equipment that has been checked out can be checked in; this reservation is "
                         "%(status)s.", status=status_label(reservation.status)))
    own_unit_ids = {a.unit_id for a in reservation.allocations}
    maintenance_ids = set()
    for raw in to_maintenance_unit_ids or ():
        unit_id = _int_or_none(raw)
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
        _changed(actor, "equipment_reservation.check_in", reservation, before, summary=note or None)
    except DBAPIError as exc:
        if not (is_exclusion_violation(exc, ALLOCATION_CONSTRAINT) or is_collision(exc)):
            raise
        raise Conflict(_("A unit was reserved by someone else at this very moment. Please try again."))
    notifications.reservation_returned(actor, reservation)
    return receipt


# --- queries -----------------------------------------------------------------------------

def _with_units():
    """Loader option for lists that show each reservation's units: one extra query for all the
    allocations (each with its unit, joined) instead of one per reservation."""
    return selectinload(EquipmentReservation.allocations)


def overdue_reservations(now: datetime | None = None) -> list[EquipmentReservation]:
    """Reservations handed out and not returned although their end has passed, oldest first."""
    now = now or utcnow()
    return list(db.session.scalars(
        sa.select(EquipmentReservation).options(_with_units())
        .where(EquipmentReservation.status == ReservationStatus.CHECKED_OUT, EquipmentReservation.end < now)
        .order_by(EquipmentReservation.end)
    ))


def visible_reservations(viewer, *, start: datetime | None = None, end: datetime | None = None,
                         organisation_id: int | None = None, statuses=None) -> list[EquipmentReservation]:
    """Reservations ``viewer`` may see, optionally overlapping ``[start, end)``, newest start first."""
    query = sa.select(EquipmentReservation).options(_with_units()).where(visible_clause(viewer))
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
    res_id = _int_or_none(reservation_id)
    reservation = None
    if res_id is not None:
        reservation = db.session.scalar(
            sa.select(EquipmentReservation).where(EquipmentReservation.id == res_id, visible_clause(viewer)))
    if reservation is None:
        raise NotFound(_("No such equipment reservation."))
    return reservation


def pending_reservations() -> list[EquipmentReservation]:
    return list(db.session.scalars(
        sa.select(EquipmentReservation).options(_with_units())
        .where(EquipmentReservation.status == ReservationStatus.PENDING)
        .order_by(EquipmentReservation.start)))


def desk_reservations(now: datetime | None = None, days_ahead: int = 7) -> tuple[list, list]:
    """For the lending desk: confirmed reservations starting within ``days_ahead`` days (to hand
    out) and reservations currently handed out (to take back)."""
    now = now or utcnow()
    to_hand_out = db.session.scalars(
        sa.select(EquipmentReservation).options(_with_units())
        .where(EquipmentReservation.status == ReservationStatus.CONFIRMED,
               EquipmentReservation.start < now + timedelta(days=days_ahead))
        .order_by(EquipmentReservation.start)).all()
    out = db.session.scalars(
        sa.select(EquipmentReservation).options(_with_units())
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


# --- labels ------------------------------------------------------------------------------

def status_label(status: ReservationStatus) -> str:
    return {
        ReservationStatus.PENDING: _("pending approval"),
        ReservationStatus.CONFIRMED: _("confirmed"),
        ReservationStatus.CHECKED_OUT: _("checked out"),
        ReservationStatus.RETURNED: _("returned"),
        ReservationStatus.REJECTED: _("rejected"),
        ReservationStatus.CANCELLED: _("cancelled"),
    }[ReservationStatus(status)]


def unit_status_label(status: UnitStatus) -> str:
    return {UnitStatus.AVAILABLE: _("in service"), UnitStatus.MAINTENANCE: _("in maintenance"),
            UnitStatus.RETIRED: _("retired")}[UnitStatus(status)]


# --- the lending desk: what people know a loan by ------------------------------------------------

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
            .options(_with_units())
            .where(EquipmentAllocation.unit_id == unit.id, EquipmentAllocation.active.is_(True),
                   sa.or_(EquipmentReservation.status == ReservationStatus.CHECKED_OUT,
                          sa.and_(EquipmentReservation.status.in_([ReservationStatus.CONFIRMED,
                                                                   ReservationStatus.PENDING]),
                                  EquipmentReservation.end > now)))
            .order_by(EquipmentReservation.start)).all()
        out = [r for r in loans if r.status == ReservationStatus.CHECKED_OUT]
        found.append(FoundUnit(unit, out[0] if out else (loans[0] if loans else None)))
    return found


def display_status_label(status: ReservationStatus) -> str:
    """A reservation's status as a heading or badge shows it, written as the bookings' are."""
    return {
        ReservationStatus.PENDING: _("Pending approval"),
        ReservationStatus.CONFIRMED: _("Confirmed"),
        ReservationStatus.CHECKED_OUT: _("Handed out"),
        ReservationStatus.RETURNED: _("Returned"),
        ReservationStatus.REJECTED: _("Rejected"),
        ReservationStatus.CANCELLED: _("Cancelled"),
    }[ReservationStatus(status)]
