"""Equipment reservations: reserve specific units (alone or for a room booking), move them
with their booking, cancel, approve and reject.

One use case per function; each takes the acting user explicitly, enforces every
rule, adds and flushes (the caller commits once) and records an audit entry.
How units are chosen and held is in :mod:`.allocation`.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from booking.equipment.permissions import can_cancel, can_handle
from booking.equipment.services.allocation import allocate, allocated_units
from booking.equipment.services.rules import (AUDIT_FIELDS, CANCELLABLE_STATUSES, PURPOSE_MAX, as_id,
                                              check_period, clean_text, load_type, record_change,
                                              release_units, require_staff, reservation_project,
                                              resolve_organisation)
from booking.labels import reservation_status_phrase
from booking.models import ACTIVE_BOOKING_STATUSES, Booking, EquipmentReservation, ReservationStatus
from booking.notifications import equipment as notifications
from booking.permissions import can_manage as can_manage_booking
from samskap import audit
from samskap.errors import Conflict, PermissionDenied, ValidationFailed
from samskap.extensions import db
from samskap.timeutil import utcnow
from spaces.permissions import can_reserve, open_to


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
    etype = load_type(equipment_type_id, errors)
    count = as_id(quantity)
    if count is None or count < 1:
        errors["quantity"] = _("Reserve at least one unit.")
    check_period(etype, start, end, now, errors)
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
    org = resolve_organisation(actor, organisation_id, booking, errors)
    if errors:
        raise ValidationFailed(errors)
    if not (can_reserve(actor, etype) and open_to(etype, org)):
        raise PermissionDenied(_("Organisations of this kind cannot borrow %(type)s.", type=etype.name))
    if project_id is None and booking is not None:
        project_id = booking.project_id
    project = reservation_project(project_id, org)

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
        units = allocate(reservation, etype, now)
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
        type_id = as_id(item.get("equipment_id"))
        count = as_id(item.get("quantity", 1))
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
    reason = clean_text(reason, "reason")
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
        check_period(reservation.equipment_type, *targets[reservation], now, problems)
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
            units = allocate(reservation, reservation.equipment_type, now)
            snapshot, old_tags = before[reservation.id]
            record_change(actor, "equipment_reservation.move", reservation, snapshot,
                     summary=f"{reservation.equipment_type.name} x{reservation.quantity}: {', '.join(old_tags)} → "
                             f"{', '.join(unit.asset_tag for unit in units)}")
    return reservations


def cancel_reservation(actor, reservation: EquipmentReservation, reason: str = "") -> EquipmentReservation:
    """Cancel a reservation that has not been handed out; its units are free again at once."""
    if not can_cancel(actor, reservation):
        raise PermissionDenied(_("You cannot cancel this reservation."))
    return _cancel(actor, reservation, clean_text(reason, "reason"))


def _cancel(actor, reservation: EquipmentReservation, reason: str) -> EquipmentReservation:
    if reservation.status == ReservationStatus.CHECKED_OUT:
        raise Conflict(_("The equipment has been handed out; it must be checked in instead of cancelled."))
    if reservation.status not in CANCELLABLE_STATUSES:
        raise Conflict(_("This reservation is already %(status)s.", status=reservation_status_phrase(reservation.status)))
    before = audit.snapshot(reservation, AUDIT_FIELDS)
    reservation.status = ReservationStatus.CANCELLED
    reservation.cancelled_by_id = actor.id
    reservation.cancel_reason = reason
    release_units(reservation)
    record_change(actor, "equipment_reservation.cancel", reservation, before, summary=reason or None)
    return reservation


def approve_reservation(actor, reservation: EquipmentReservation, reason: str = "") -> EquipmentReservation:
    require_staff(actor)
    reason = clean_text(reason, "reason")
    if reservation.status != ReservationStatus.PENDING:
        raise Conflict(_("Only pending reservations can be approved; this one is %(status)s.",
                         status=reservation_status_phrase(reservation.status)))
    before = audit.snapshot(reservation, AUDIT_FIELDS)
    reservation.status = ReservationStatus.CONFIRMED
    reservation.decided_by_id = actor.id
    reservation.decision_reason = reason
    record_change(actor, "equipment_reservation.approve", reservation, before, summary=reason or None)
    notifications.reservation_decided(actor, reservation)
    return reservation


def reject_reservation(actor, reservation: EquipmentReservation, reason: str) -> EquipmentReservation:
    """Reject a pending reservation (a reason is required); its units are freed."""
    require_staff(actor)
    reason = clean_text(reason, "reason")
    if not reason:
        raise ValidationFailed({"reason": _("Say why the reservation is rejected.")})
    if reservation.status != ReservationStatus.PENDING:
        raise Conflict(_("Only pending reservations can be rejected; this one is %(status)s.",
                         status=reservation_status_phrase(reservation.status)))
    before = audit.snapshot(reservation, AUDIT_FIELDS)
    reservation.status = ReservationStatus.REJECTED
    reservation.decided_by_id = actor.id
    reservation.decision_reason = reason
    release_units(reservation)
    record_change(actor, "equipment_reservation.reject", reservation, before, summary=reason)
    notifications.reservation_decided(actor, reservation)
    return reservation
