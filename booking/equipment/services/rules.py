"""The rules every equipment use case shares: input cleaning, the period a loan may have,
whose organisation borrows, who counts as staff, and the audit record of a change."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from flask_babel import gettext as _

from accounts.models import Organisation
from booking.equipment.permissions import can_handle, can_reserve_for_other_organisations
from booking.models import Booking, EquipmentReservation, ReservationStatus
from samskap import audit
from samskap.errors import PermissionDenied, ValidationFailed
from samskap.extensions import db
from samskap.i18n import date_text, duration_text
from samskap.ids import parse_int32
from samskap.timeutil import local_tz
from spaces.models import EquipmentType

# A start a few minutes ago is "now" (the form has minute precision and people are slow).
PAST_GRACE = timedelta(minutes=5)
PURPOSE_MAX = 300
NOTE_MAX = 500
FAR_FUTURE = timedelta(days=3660)  # keeps date arithmetic (end + turnaround) far from datetime's limits

HOLDING_STATUSES = (ReservationStatus.PENDING, ReservationStatus.CONFIRMED, ReservationStatus.CHECKED_OUT)
CANCELLABLE_STATUSES = (ReservationStatus.PENDING, ReservationStatus.CONFIRMED)
AUDIT_FIELDS = ("status", "start", "end", "quantity", "checked_out_at", "returned_at", "decision_reason",
                "cancel_reason")


def as_id(value) -> int | None:
    """A whole number that fits an integer column, else None (so a huge id is "not found", not a 500)."""
    return parse_int32(value)


def load_type(equipment_type_id, errors: dict) -> EquipmentType | None:
    type_id = as_id(equipment_type_id)
    etype = db.session.get(EquipmentType, type_id) if type_id is not None else None
    if etype is None:
        errors["equipment_id"] = _("Choose an existing equipment type.")
    elif not etype.active:
        errors["equipment_id"] = _("%(type)s can no longer be reserved.", type=etype.name)
    return etype


def check_period(etype: EquipmentType | None, start, end, now: datetime, errors: dict) -> None:
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


def resolve_organisation(actor, organisation_id, booking: Booking | None, errors: dict) -> Organisation | None:
    if booking is not None:
        return booking.organisation
    if organisation_id in (None, "") or as_id(organisation_id) == actor.organisation_id:
        return actor.organisation
    if not can_reserve_for_other_organisations(actor):
        raise PermissionDenied(_("You can only reserve equipment for your own organisation."))
    org = db.session.get(Organisation, as_id(organisation_id)) if as_id(organisation_id) else None
    if org is None:
        errors["organisation_id"] = _("Choose an existing organisation.")
    return org


def reservation_project(project_id, organisation):
    from booking.projects.services import check_booking_project

    return check_booking_project(project_id, organisation)


def clean_text(value, field_name: str, limit: int = NOTE_MAX) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > limit:
        raise ValidationFailed({field_name: _("The text can be at most %(n)d characters long.", n=limit)})
    if "\x00" in text:
        raise ValidationFailed({field_name: _("The text contains a character that is not allowed.")})
    return text


def require_staff(actor) -> None:
    if not can_handle(actor):
        raise PermissionDenied(_("Only workshop staff can do this."))


def release_units(reservation: EquipmentReservation) -> None:
    for allocation in reservation.allocations:
        allocation.active = False


def record_change(actor, action: str, reservation: EquipmentReservation, before: dict, summary: str | None = None):
    """Write the audit record of a change to ``reservation`` (its fields now against the snapshot
    ``before``), after raising its sequence so calendar clients take the new version."""
    reservation.sequence = (reservation.sequence or 0) + 1
    db.session.flush()
    audit.record(actor, action, reservation, changes=audit.diff(reservation, AUDIT_FIELDS, before),
                 summary=summary)
