"""Equipment reservations in the JSON API: parse, call one service, commit once, serialise."""
from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from booking.equipment import services
from booking.models import Booking, EquipmentReservation
from booking.permissions import can_view_details
from samskap import idempotency
from samskap.api import api_blueprint, json_body
from samskap.errors import DomainError, ValidationFailed
from samskap.extensions import db
from samskap.idempotency import idempotent
from samskap.openapi import error_responses, register_paths
from samskap.timeutil import parse_aware_iso

api_bp = api_blueprint("equipment_api", __name__)


def reservation_json(reservation: EquipmentReservation) -> dict:
    return {
        "id": reservation.id,
        "equipment_id": reservation.equipment_type_id,
        "equipment_name": reservation.equipment_type.name,
        "quantity": reservation.quantity,
        "status": reservation.status.value,
        "start": reservation.start.isoformat(),
        "end": reservation.end.isoformat(),
        "purpose": reservation.purpose,
        "booking_id": reservation.booking_id,
        "project_id": reservation.project_id,
        "organisation": {"id": reservation.organisation.id, "name": reservation.organisation.name},
        "user_id": reservation.user_id,
        "units": [{"id": unit.id, "asset_tag": unit.asset_tag, "serial": unit.serial}
                  for unit in services.allocated_units(reservation)],
        "checked_out_at": reservation.checked_out_at.isoformat() if reservation.checked_out_at else None,
        "checkout_note": reservation.checkout_note,
        "returned_at": reservation.returned_at.isoformat() if reservation.returned_at else None,
        "return_note": reservation.return_note,
        "decision_reason": reservation.decision_reason,
        "cancel_reason": reservation.cancel_reason,
        "sequence": reservation.sequence,
        "created_at": reservation.created_at.isoformat(),
        "updated_at": reservation.updated_at.isoformat(),
    }


def _user():
    return current_user._get_current_object()


def _time(data: dict, name: str, errors: dict, *, required: bool = True):
    if data.get(name) in (None, ""):
        if required:
            errors[name] = _("'%(field)s' is required (ISO 8601 with an offset).", field=name)
        return None
    try:
        return parse_aware_iso(data[name])
    except (ValueError, OverflowError):
        errors[name] = _("'%(field)s' must be an ISO 8601 date-time with an offset, such as "
                         "2027-03-16T09:00+01:00.", field=name)
        return None


def _text(data: dict, name: str, errors: dict) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[name] = _("'%(field)s' must be a string.", field=name)
        return ""
    return value


def _optional_body() -> dict:
    """Actions (cancel, check-out...) may be sent without a body."""
    return json_body() if request.data else {}


def _commit_or_rollback(call):
    try:
        result = call()
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    return result


@api_bp.post("/equipment-reservations")
@idempotent
def create_reservation():
    data = json_body()
    errors: dict[str, str] = {}
    for name in ("equipment_id", "quantity"):
        if name not in data:
            errors[name] = _("'%(field)s' is required.", field=name)
        elif not isinstance(data[name], int) or isinstance(data[name], bool):
            errors[name] = _("'%(field)s' must be a whole number.", field=name)
    start, end = _time(data, "start", errors), _time(data, "end", errors)
    purpose = _text(data, "purpose", errors)
    booking = None
    if data.get("booking_id") is not None:
        raw = data["booking_id"]
        booking = db.session.get(Booking, services.as_id(raw)) if services.as_id(raw) is not None else None
        if booking is None or not can_view_details(_user(), booking):
            errors["booking_id"] = _("No such booking.")
    organisation_id = data.get("organisation_id")
    if organisation_id is not None and (not isinstance(organisation_id, int) or isinstance(organisation_id, bool)):
        errors["organisation_id"] = _("'%(field)s' must be a whole number.", field="organisation_id")
    if errors:
        raise ValidationFailed(errors)
    try:
        reservation = services.reserve_equipment(
            _user(), data["equipment_id"], data["quantity"], start, end, purpose=purpose, booking=booking,
            organisation_id=organisation_id, project_id=data.get("project_id"))
    except DomainError:
        db.session.rollback()
        raise
    # Serialised before the commit (the rows are loaded), so that the answer to an Idempotency-Key
    # is committed with the reservation itself.
    response = jsonify(reservation_json(reservation))
    response.status_code = 201
    idempotency.record(response)
    db.session.commit()
    return response


@api_bp.get("/equipment-reservations")
def list_reservations():
    errors: dict[str, str] = {}
    start = _time(request.args, "start", errors, required=False)
    end = _time(request.args, "end", errors, required=False)
    if start and end and end <= start:
        errors["end"] = _("'end' must be after 'start'.")
    if errors:
        raise ValidationFailed(errors)
    reservations = services.visible_reservations(_user(), start=start, end=end)
    return jsonify({"equipment_reservations": [reservation_json(r) for r in reservations]})


@api_bp.get("/equipment-reservations/<int:reservation_id>")
def get_reservation(reservation_id: int):
    return jsonify(reservation_json(services.get_visible_reservation(_user(), reservation_id)))


def _act_with_text(reservation_id: int, field: str, act):
    """Load the reservation the caller may see (404 otherwise), read one optional text field
    from the body, run one service (``act(user, reservation, text)``) and commit."""
    reservation = services.get_visible_reservation(_user(), reservation_id)
    data = _optional_body()
    errors: dict[str, str] = {}
    text = _text(data, field, errors)
    if errors:
        raise ValidationFailed(errors)
    _commit_or_rollback(lambda: act(_user(), reservation, text))
    return jsonify(reservation_json(reservation))


@api_bp.post("/equipment-reservations/<int:reservation_id>/cancel")
def cancel(reservation_id: int):
    return _act_with_text(reservation_id, "reason", services.cancel_reservation)


@api_bp.post("/equipment-reservations/<int:reservation_id>/checkout")
def checkout(reservation_id: int):
    return _act_with_text(reservation_id, "note", services.check_out)


@api_bp.post("/equipment-reservations/<int:reservation_id>/checkin")
def checkin(reservation_id: int):
    reservation = services.get_visible_reservation(_user(), reservation_id)
    data = _optional_body()
    errors: dict[str, str] = {}
    note = _text(data, "note", errors)
    unit_ids = data.get("maintenance_unit_ids", [])
    if unit_ids is None:
        unit_ids = []
    if not isinstance(unit_ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in unit_ids):
        errors["maintenance_unit_ids"] = _("'maintenance_unit_ids' must be a list of unit ids.")
    if errors:
        raise ValidationFailed(errors)
    receipt = _commit_or_rollback(lambda: services.check_in(_user(), reservation, note, unit_ids))
    return jsonify({**reservation_json(reservation), "notices": receipt.notices})


@api_bp.post("/equipment-reservations/<int:reservation_id>/approve")
def approve(reservation_id: int):
    return _act_with_text(reservation_id, "reason", services.approve_reservation)


@api_bp.post("/equipment-reservations/<int:reservation_id>/reject")
def reject(reservation_id: int):
    return _act_with_text(reservation_id, "reason", services.reject_reservation)


_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_RESERVATION = {"description": "The reservation, with its allocated `units` ({id, asset_tag, serial}) and `status`"}


def _action(summary: str, body: dict | None, *statuses) -> dict:
    operation = {"summary": summary, "parameters": _ID,
                 "responses": {"200": _RESERVATION, **error_responses(400, 401, *statuses)}}
    if body:
        operation["requestBody"] = {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "properties": body}}}}
    return {"post": operation}


register_paths({
    "/equipment-reservations": {
        "post": {
            "summary": "Reserve `quantity` units of an equipment type from `start` to `end`",
            "parameters": [idempotency.openapi_header()],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["equipment_id", "quantity", "start", "end"],
                "properties": {
                    "equipment_id": {"type": "integer"}, "quantity": {"type": "integer", "minimum": 1},
                    "start": {"type": "string", "format": "date-time"},
                    "end": {"type": "string", "format": "date-time"},
                    "purpose": {"type": "string", "maxLength": services.PURPOSE_MAX},
                    "booking_id": {"type": "integer"},
                    "project_id": {"type": "integer", "description": "a project whose partners include the "
                                                                     "organisation (422 otherwise); with "
                                                                     "booking_id, the booking's by default"},
                    "organisation_id": {"type": "integer", "description": "staff and administrators only"},
                }}}}},
            "responses": {
                "201": {"description": "Reserved: `status` is `confirmed` or `pending` (the type needs approval); "
                                       "`units` lists the allocated units"},
                **error_responses(400, 401, 403, 422, 503),
                "409": {"description": "Too few units free: `details` has `free_now`, `needed`, `available_from` "
                                       "(when that many are free for a loan of the same length, or null) and "
                                       "`conflicts`",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        },
        "get": {
            "summary": "Equipment reservations the caller may see (own organisation's; staff: all)",
            "parameters": [{"name": "start", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                           {"name": "end", "in": "query", "schema": {"type": "string", "format": "date-time"}}],
            "responses": {"200": {"description": "`{\"equipment_reservations\": [...]}`"},
                          **error_responses(401, 422)},
        },
    },
    "/equipment-reservations/{id}": {"get": {"summary": "One equipment reservation", "parameters": _ID,
                                             "responses": {"200": _RESERVATION, **error_responses(401, 404)}}},
    "/equipment-reservations/{id}/cancel": _action("Cancel; the units are free at once",
                                                   {"reason": {"type": "string"}}, 403, 404, 409),
    "/equipment-reservations/{id}/checkout": _action("Hand the units out (staff)", {"note": {"type": "string"}},
                                                     403, 404, 409, 422),
    "/equipment-reservations/{id}/checkin": _action(
        "Take the units back (staff); each stays blocked for the cleaning turnaround from now",
        {"note": {"type": "string"}, "maintenance_unit_ids": {"type": "array", "items": {"type": "integer"}}},
        403, 404, 409, 422),
    "/equipment-reservations/{id}/approve": _action("Approve a pending reservation (staff)",
                                                    {"reason": {"type": "string"}}, 403, 404, 409),
    "/equipment-reservations/{id}/reject": _action("Reject a pending reservation with a `reason` (staff)",
                                                   {"reason": {"type": "string"}}, 403, 404, 409, 422),
})
