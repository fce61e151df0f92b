"""Bookings in the JSON API, exactly as the published contract fixes them (README, "API";
the spec at ``/api/v1/openapi.json``).

Each handler parses and type-checks its input (422 with ``details.fields`` per bad
field, 400 for a body that is not a JSON object), loads the booking scoped to what the
caller may see (404 otherwise), calls ONE service, commits once and serialises. The
rules themselves live in :mod:`booking.services`.
"""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from flask import jsonify, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from booking import extras, services
from booking.models import ACTIVE_BOOKING_STATUSES, Booking
from booking.permissions import can_decide, can_manage, can_view_details, details_visible_clause
from booking.recurrence import Recurrence
from booking.registrations import api as registrations_api
from booking.services import MAX_ID, BookingRequest, iso
from samskap import idempotency
from samskap.ids import parse_id
from samskap.api import api_blueprint, json_body, query_int
from samskap.errors import NotFound, PermissionDenied, ValidationFailed
from samskap.extensions import db
from samskap.idempotency import idempotent
from samskap.openapi import error_responses, register_paths
from samskap.periods import overlaps_clause
from samskap.timeutil import local_day_bounds, local_tz, parse_aware_iso, utcnow
from spaces.models import Space
from spaces.permissions import bookable_spaces_clause, can_book
from spaces.services import visible_space

api_bp = api_blueprint("booking_api", __name__)

MAX_WINDOW_DAYS = 366
MAX_AVAILABILITY_DAYS = 31  # every space at once: a month at most
DEFAULT_WINDOW_DAYS = 7
DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000
CREATE_FIELDS = ("space_id", "title", "start", "end", "attendees", "purpose", "visibility", "description",
                 "organisation_id", "recurrence", "skip_conflicts", "override_opening_hours", "equipment",
                 "override_quota", "project_id", "registration", "participants", "fields")
UPDATE_FIELDS = ("title", "description", "purpose", "visibility", "attendees", "start", "end", "space_id",
                 "override_opening_hours", "override_quota", "scope", "project_id", "registration", "participants",
                 "fields")
# Checked before the service writes, stored after it: booking.extras (participants, fields) and
# booking.registrations (registration).
EXTRAS = ("participants", "fields")
RECURRENCE_FIELDS = ("freq", "interval", "count", "until", "byday")


# --- serialising -------------------------------------------------------------------------------

def _person(user) -> dict | None:
    return {"id": user.id, "name": user.name} if user is not None else None


def booking_json(booking: Booking) -> dict:
    return {
        "id": booking.id,
        "space_id": booking.space_id,
        "space": {"id": booking.space.id, "name": booking.space.name},
        "title": booking.title,
        "description": booking.description,
        "purpose": booking.purpose.value,
        "visibility": booking.visibility.value,
        "status": booking.status.value,
        "start": iso(booking.start),
        "end": iso(booking.end),
        "blocked_until": iso(booking.blocked_until),
        "attendees": booking.attendees,
        "organisation": {"id": booking.organisation.id, "name": booking.organisation.name},
        "organiser": _person(booking.organiser),
        "series_id": booking.series_id,
        "original_start": iso(booking.original_start),
        "sequence": booking.sequence,
        "opening_hours_overridden": booking.opening_hours_overridden,
        "decided_at": iso(booking.decided_at),
        "decision_reason": booking.decision_reason,
        "cancelled_at": iso(booking.cancelled_at),
        "cancel_reason": booking.cancel_reason,
        "checked_in_at": iso(booking.checked_in_at),
        "project_id": booking.project_id,
        "created_at": iso(booking.created_at),
        "updated_at": iso(booking.updated_at),
        "masked": False,
    }


def busy_json(booking: Booking) -> dict:
    """Another organisation's private booking: only that the space is busy."""
    return {"id": None, "space_id": booking.space_id, "title": _("Busy"), "status": booking.status.value,
            "start": iso(booking.start), "end": iso(booking.end), "blocked_until": iso(booking.blocked_until),
            "masked": True}


# --- parsing -----------------------------------------------------------------------------------

def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_id(value) -> bool:
    return _is_int(value) and 1 <= value <= MAX_ID


def _time_message() -> str:
    return _("Give an ISO 8601 date-time with an offset, such as 2026-03-16T09:00+01:00 or 2026-03-16T08:00Z.")


def _parse_time(data: dict, name: str, errors: dict, *, required: bool):
    if name not in data or data[name] in (None, ""):
        if required:
            errors[name] = _("'%(field)s' is required.", field=name)
        return None
    try:
        return parse_aware_iso(data[name])
    except ValueError:
        errors[name] = _time_message()
        return None


def _expect(data: dict, name: str, kind, errors: dict, message):
    """``message`` is lazy (``_l``): translated only when the field is wrong, not on every request."""
    value = data.get(name)
    if name in data and value is not None and not (isinstance(value, kind) and
                                                   (kind is not int or _is_int(value))):
        errors[name] = str(message)
    return value


def _parse_recurrence(value, errors: dict) -> Recurrence | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        errors["recurrence"] = _("'recurrence' must be an object with freq, interval, count or until, and byday.")
        return None
    for key in value:
        if key not in RECURRENCE_FIELDS:
            errors[f"recurrence.{key}"] = _("Unknown field.")
    freq = value.get("freq")
    if not isinstance(freq, str):
        errors["recurrence.freq"] = _("Choose how often the booking repeats: daily, weekly or monthly.")
    interval = value.get("interval", 1)
    if not _is_int(interval):
        errors["recurrence.interval"] = _("'%(field)s' must be a whole number.", field="interval")
    count = value.get("count")
    if count is not None and not _is_int(count):
        errors["recurrence.count"] = _("'%(field)s' must be a whole number.", field="count")
    until = value.get("until")
    if until is not None:
        try:
            if not isinstance(until, str) or len(until) != 10:
                raise ValueError
            until = date.fromisoformat(until)
        except ValueError:
            errors["recurrence.until"] = _("The last date must be a date (YYYY-MM-DD).")
            until = None
    byday = value.get("byday") or []
    if not isinstance(byday, list) or not all(isinstance(d, str) for d in byday):
        errors["recurrence.byday"] = _("Weekdays must be a list such as [\"MO\", \"WE\"].")
        byday = []
    if any(key.startswith("recurrence.") for key in errors):
        return None
    return Recurrence(freq=freq, interval=interval, count=count, until=until, byday=byday)


def _parse_booking_request(data: dict) -> BookingRequest:
    errors: dict[str, str] = {}
    for key in data:
        if key not in CREATE_FIELDS:
            errors[key] = _("Unknown field.")
    equipment = data.get("equipment")
    if equipment is not None and not isinstance(equipment, list):
        errors["equipment"] = _("Give the equipment as a list of {equipment_id, quantity} objects.")
    if not _is_id(data.get("space_id")):
        errors["space_id"] = _("'%(field)s' must be the id of a space (a whole number).", field="space_id")
    if not isinstance(data.get("title"), str):
        errors["title"] = _("Give the booking a title.")
    start = _parse_time(data, "start", errors, required=True)
    end = _parse_time(data, "end", errors, required=True)
    _expect(data, "attendees", int, errors, _l("The number of attendees must be a whole number of at least 1."))
    for name in ("purpose", "visibility", "description"):
        _expect(data, name, str, errors, _l("'%(field)s' must be text.", field=name))
    _expect(data, "organisation_id", int, errors,
            _l("'%(field)s' must be the id of an organisation (a whole number).", field="organisation_id"))
    _expect(data, "project_id", int, errors,
            _l("'%(field)s' must be the id of a project (a whole number).", field="project_id"))
    for name in ("skip_conflicts", "override_opening_hours", "override_quota"):
        _expect(data, name, bool, errors, _l("'%(field)s' must be true or false.", field=name))
    recurrence = _parse_recurrence(data.get("recurrence"), errors)
    if errors:
        raise ValidationFailed(errors)
    return BookingRequest(
        space_id=data["space_id"], title=data["title"], start=start, end=end,
        attendees=data.get("attendees") if data.get("attendees") is not None else 1,
        purpose=data.get("purpose") or "meeting", visibility=data.get("visibility") or "private",
        description=data.get("description") or "", organisation_id=data.get("organisation_id"),
        recurrence=recurrence, skip_conflicts=bool(data.get("skip_conflicts")),
        override_opening_hours=bool(data.get("override_opening_hours")),
        override_quota=bool(data.get("override_quota")),
        equipment=data.get("equipment") or [],
        project_id=data.get("project_id"),
    )


def _optional_body() -> dict:
    return json_body() if request.get_data() else {}


def _scope(data: dict) -> str:
    scope = data.get("scope", request.args.get("scope", "this"))
    if not isinstance(scope, str):
        raise ValidationFailed({"scope": _("Choose which bookings to change: this, following or series.")})
    return scope


def _window(max_days: int = MAX_WINDOW_DAYS) -> tuple:
    """The ``start``/``end`` query parameters (default: today and the next 7 days, local)."""
    errors: dict[str, str] = {}
    start = _parse_time(request.args, "start", errors, required=False)
    end = _parse_time(request.args, "end", errors, required=False)
    if errors:
        raise ValidationFailed(errors)
    if start is None:
        start = local_day_bounds(utcnow().astimezone(local_tz()).date())[0]
    if end is None:
        end = start + timedelta(days=DEFAULT_WINDOW_DAYS)
    if end <= start:
        raise ValidationFailed({"end": _("The end must be after the start.")})
    if end - start > timedelta(days=max_days):
        raise ValidationFailed({"end": _("Ask for at most %(n)d days at a time.", n=max_days)})
    return start, end


def _visible_booking(booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id) if booking_id <= MAX_ID else None
    if booking is None or not can_view_details(current_user, booking):
        raise NotFound(_("No such booking."))
    return booking


def _manageable_booking(booking_id: int) -> Booking:
    """Load and authorise before reading the body: a caller who may not change the booking
    hears 403 whatever they send, not a list of what is wrong with their input."""
    booking = _visible_booking(booking_id)
    if not can_manage(current_user, booking):
        raise PermissionDenied(_("You cannot change this booking."))
    return booking


def _decidable_booking(booking_id: int) -> Booking:
    booking = _visible_booking(booking_id)
    if not can_decide(current_user):
        raise PermissionDenied(_("Only staff can approve or reject bookings."))
    return booking


# --- endpoints ---------------------------------------------------------------------------------

@api_bp.get("/bookings")
def list_bookings():
    start, end = _window()
    space_id = query_int("space_id", minimum=1)
    limit = query_int("limit", minimum=1) or DEFAULT_LIMIT
    if limit > MAX_LIMIT:
        raise ValidationFailed({"limit": _("Ask for at most %(n)d bookings at a time.", n=MAX_LIMIT)})
    if space_id is not None and (space_id > MAX_ID or db.session.get(Space, space_id) is None):
        raise ValidationFailed({"space_id": _("There is no space with id %(id)s.", id=space_id)})
    query = (sa.select(Booking, details_visible_clause(current_user).label("visible"))
             .where(Booking.status.in_(ACTIVE_BOOKING_STATUSES),
                    overlaps_clause(Booking.start, Booking.end, start, end))
             .options(selectinload(Booking.organiser))
             .order_by(Booking.start, Booking.id)
             .limit(limit + 1))
    if space_id is not None:
        query = query.where(Booking.space_id == space_id)
    rows = db.session.execute(query).all()
    # participants and fields as GET /bookings/{id} shows them, for the bookings whose details the
    # caller sees; read for the whole page at once
    more = extras.extras_json_by_booking([b for b, visible in rows[:limit] if visible], current_user)
    bookings = [{**booking_json(b), **more[b.id]} if visible else busy_json(b) for b, visible in rows[:limit]]
    return jsonify({"bookings": bookings, "start": iso(start), "end": iso(end), "truncated": len(rows) > limit})


@api_bp.post("/bookings")
@idempotent
def create_booking():
    data = json_body()
    errors: dict[str, str] = {}
    try:
        booking_request = _parse_booking_request(data)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    more = extras.check_new(current_user, data, errors)
    if errors:
        raise ValidationFailed(errors)
    registration = registrations_api.parse_for_create(data, booking_request)  # 422 before anything is written
    result = services.book_space(current_user, booking_request)
    extras.apply(current_user, result.bookings, more, new=True)
    if registration is not None:
        registrations_api.apply(current_user, result.bookings[0], registration)
    # Serialised before the commit, while the flushed rows are still loaded: after it they would
    # be read back from the database only to be written out again.
    if result.series is None:
        booking = result.bookings[0]
        response = jsonify({**booking_json(booking), **extras.extras_json(booking, current_user, made_with=more),
                            **registrations_api.booking_registration_json(booking, opened=registration is not None)})
        response.headers["Location"] = url_for("booking_api.get_booking", booking_id=booking.id)
    else:
        made = extras.extras_json_by_booking(result.bookings, current_user, made_with=more)
        response = jsonify({"series_id": result.series.id, "rrule": result.series.rrule,
                            "tzid": result.series.tzid, "dtstart_local": result.series.dtstart_local,
                            "occurrences": [{**booking_json(b), **made[b.id]} for b in result.bookings],
                            "skipped": result.skipped})
    response.status_code = 201
    idempotency.record(response)  # committed with the booking, or not at all
    db.session.commit()
    return response


@api_bp.get("/bookings/<int:booking_id>")
def get_booking(booking_id: int):
    booking = _visible_booking(booking_id)
    return jsonify({**booking_json(booking), **extras.extras_json(booking, current_user),
                    **registrations_api.booking_registration_json(booking)})


@api_bp.patch("/bookings/<int:booking_id>")
def update_booking(booking_id: int):
    booking = _manageable_booking(booking_id)
    data = json_body()
    errors = {key: _("Unknown field.") for key in data if key not in UPDATE_FIELDS}
    changes = {key: value for key, value in data.items()
               if key in UPDATE_FIELDS and key not in ("scope", "registration", *EXTRAS)}
    for name in ("start", "end"):
        if name in data:
            changes[name] = _parse_time(data, name, errors, required=True)
    for name in ("override_opening_hours", "override_quota"):
        _expect(data, name, bool, errors, _l("'%(field)s' must be true or false.", field=name))
    _expect(data, "project_id", int, errors,
            _l("'%(field)s' must be the id of a project (a whole number).", field="project_id"))
    if errors:
        raise ValidationFailed(errors)
    registration = registrations_api.parse_for_update(data, booking)  # 422 before anything is written
    more = extras.check_change(current_user, booking, data)
    if changes or "registration" not in data:
        changed = services.update_booking(current_user, booking, changes, scope=_scope(data))
    else:
        changed = [booking]
    extras.apply(current_user, changed, more, new=False)
    registrations_api.apply(current_user, booking, registration)
    body = {**booking_json(booking), **extras.extras_json(booking, current_user),
            **registrations_api.booking_registration_json(booking), "affected_ids": [b.id for b in changed]}
    db.session.commit()
    return jsonify(body)


@api_bp.post("/bookings/<int:booking_id>/cancel")
def cancel_booking(booking_id: int):
    booking = _manageable_booking(booking_id)
    data = _optional_body()
    cancel_equipment = data.get("cancel_equipment", True)
    if not isinstance(cancel_equipment, bool):
        raise ValidationFailed({"cancel_equipment": _("'%(field)s' must be true or false.", field="cancel_equipment")})
    cancelled = services.cancel_booking(current_user, booking, data.get("reason", ""), scope=_scope(data),
                                        cancel_equipment=cancel_equipment)
    db.session.commit()
    return jsonify({**booking_json(booking), "affected_ids": [b.id for b in cancelled]})


@api_bp.post("/bookings/<int:booking_id>/approve")
def approve_booking(booking_id: int):
    booking = _decidable_booking(booking_id)
    services.approve_booking(current_user, booking, _optional_body().get("reason", ""))
    db.session.commit()
    return jsonify(booking_json(booking))


@api_bp.post("/bookings/<int:booking_id>/reject")
def reject_booking(booking_id: int):
    booking = _decidable_booking(booking_id)
    services.reject_booking(current_user, booking, _optional_body().get("reason", ""))
    db.session.commit()
    return jsonify(booking_json(booking))


def _busy_json(period: dict) -> dict:
    return dict(period, start=iso(period["start"]), end=iso(period["end"]), blocked_until=iso(period["blocked_until"]))


@api_bp.get("/spaces/<int:space_id>/availability")
def space_availability(space_id: int):
    # An inactive space is not found, except by administrators (as in the spaces API).
    space = visible_space(current_user, space_id=space_id) if space_id <= MAX_ID else None
    if space is None:
        raise NotFound(_("No such space."))
    start, end = _window()
    busy = [_busy_json(period) for period in services.busy_periods(space, start, end, current_user)]
    return jsonify({"space_id": space.id, "start": iso(start), "end": iso(end), "busy": busy,
                    "bookable": can_book(current_user, space)})


def _space_ids_arg() -> list[int] | None:
    """The ``space_id`` query parameters (may repeat), each an existing space; None when absent."""
    raw = [value for value in request.args.getlist("space_id") if value != ""]
    if not raw:
        return None
    ids = []
    for value in raw:
        if parse_id(value) is None:
            raise ValidationFailed({"space_id": _("'%(field)s' must be the id of a space (a whole number).",
                                                  field="space_id")})
        ids.append(parse_id(value))
    found = set(db.session.scalars(sa.select(Space.id).where(Space.id.in_(ids))))
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationFailed({"space_id": _("There is no space with id %(id)s.", id=missing[0])})
    return list(dict.fromkeys(ids))


@api_bp.get("/availability")
def availability():
    """Busy periods of every active space (or of the ``space_id`` ones) in one answer."""
    start, end = _window(MAX_AVAILABILITY_DAYS)
    space_ids = _space_ids_arg()
    if space_ids is None:
        space_ids = list(db.session.scalars(sa.select(Space.id).where(Space.active.is_(True)).order_by(Space.id)))
    by_space = services.busy_periods_by_space(space_ids, start, end, current_user)
    bookable = set(db.session.scalars(sa.select(Space.id).where(Space.id.in_(space_ids),
                                                                bookable_spaces_clause(current_user))))
    return jsonify({"start": iso(start), "end": iso(end),
                    "spaces": [{"space_id": space_id, "busy": [_busy_json(p) for p in by_space[space_id]],
                                "bookable": space_id in bookable}
                               for space_id in space_ids]})


# --- OpenAPI -----------------------------------------------------------------------------------

_TIME = {"type": "string", "format": "date-time", "description": "ISO 8601 with an offset"}
_WINDOW = [
    {"name": "start", "in": "query", "schema": _TIME, "description": "default: start of today (Europe/Oslo)"},
    {"name": "end", "in": "query", "schema": _TIME,
     "description": f"default: start + {DEFAULT_WINDOW_DAYS} days; at most {MAX_WINDOW_DAYS} days after start"},
]
_ID = [{"name": "booking_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_SCOPE = {"type": "string", "enum": ["this", "following", "series"], "default": "this"}
_PARTICIPANTS = {
    "type": "object", "additionalProperties": False,
    "description": "Who is in the room besides the booker's organisation. Each named person gets the calendar "
                   "invitation (METHOD:REQUEST, the feeds' UID) by email, an update when the booking changes and a "
                   "cancellation when it is cancelled or they are taken off. Members of a participating "
                   "organisation and named users see the booking's details. On PATCH each key given replaces that "
                   "list; a key left out keeps it. Duplicates are dropped. Reads add `organisations` "
                   "[{id, name}] and give each person as {user_id, name, email}.",
    "properties": {
        "organisation_ids": {"type": "array", "items": {"type": "integer"}, "maxItems": 50,
                             "description": "active organisations; the booker's own is left out"},
        "people": {"type": "array", "maxItems": 200, "items": {"oneOf": [
            {"type": "object", "required": ["user_id"], "additionalProperties": False,
             "properties": {"user_id": {"type": "integer",
                                        "description": "a user of the booker's or a participating organisation "
                                                       "(staff: anyone); invite others by email"}}},
            {"type": "object", "required": ["email"], "additionalProperties": False,
             "properties": {"email": {"type": "string", "format": "email", "maxLength": 254},
                            "name": {"type": "string", "maxLength": 200}}},
        ]}},
    },
    "example": {"organisation_ids": [3], "people": [{"user_id": 5}, {"email": "kari@example.no", "name": "Kari"}]},
}
_FIELDS = {
    "type": "object",
    "description": "Values of the extra fields administrators define for the space's kind, keyed by each field's "
                   "code: text a string, choice one of its choice codes, yes/no a boolean, number a whole number "
                   "from 0. An unknown code, a wrong type or a required field left out answers 422 with "
                   "details.fields[\"fields.<code>\"]. On PATCH the codes given are changed (null removes one); "
                   "required fields are checked when `fields` is given or the space changes to one of another kind.",
    "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "boolean"}, {"type": "integer"}]},
    "example": {"layout": "u_shape", "catering": True},
}
_BOOKING_BODY = {
    "type": "object",
    "required": ["space_id", "title", "start", "end"],
    "properties": {
        "space_id": {"type": "integer"}, "title": {"type": "string", "maxLength": 200},
        "start": _TIME, "end": _TIME, "attendees": {"type": "integer", "minimum": 1, "default": 1},
        "purpose": {"type": "string", "enum": ["meeting", "co-creation workshop", "pilot test", "training", "event"]},
        "visibility": {"type": "string", "enum": ["private", "partners", "public"]},
        "description": {"type": "string"},
        "organisation_id": {"type": "integer", "description": "staff and admins: book on behalf of this organisation"},
        "override_opening_hours": {"type": "boolean", "description": "staff and admins only; audited"},
        "override_quota": {"type": "boolean", "description": "staff and admins only; audited: book past the "
                                                             "organisation's quota (409 quota_exceeded otherwise)"},
        "skip_conflicts": {"type": "boolean", "description": "series: book the free dates, skip the others"},
        "project_id": {"type": "integer", "description": "a project whose partners include the booking's "
                                                         "organisation (422 otherwise); every partner's members "
                                                         "then see the booking in full"},
        "registration": registrations_api.SETTINGS_SCHEMA,
        "recurrence": {"type": "object", "required": ["freq"], "properties": {
            "freq": {"type": "string", "enum": ["daily", "weekly", "monthly"]},
            "interval": {"type": "integer", "minimum": 1, "maximum": 52},
            "count": {"type": "integer", "minimum": 1, "maximum": 200},
            "until": {"type": "string", "format": "date"},
            "byday": {"type": "array", "items": {"type": "string", "enum": ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]}},
        }},
        "participants": _PARTICIPANTS,
        "fields": _FIELDS,
        "equipment": {"type": "array", "description": "equipment reserved for the booking's period (for a series: "
                                                      "each occurrence); all or nothing",
                      "items": {"type": "object", "properties": {"equipment_id": {"type": "integer"},
                                                                 "quantity": {"type": "integer", "minimum": 1}}}},
    },
}
_JSON = "application/json"

register_paths({
    "/bookings": {
        "get": {"summary": "Active bookings in a period visible to the caller; others' private ones masked as busy",
                "parameters": [*_WINDOW, {"name": "space_id", "in": "query", "schema": {"type": "integer"}},
                               {"name": "limit", "in": "query",
                                "schema": {"type": "integer", "default": DEFAULT_LIMIT, "maximum": MAX_LIMIT}}],
                "responses": {"200": {"description": "{\"bookings\": [...], \"truncated\": false}. Each booking "
                                                     "whose details the caller sees is as GET /bookings/{booking_id} "
                                                     "gives it, with `participants` (guests' addresses only for "
                                                     "those who may change it) and `fields`, without `registration`; "
                                                     "a masked one ({masked: true}) has neither"},
                              **error_responses(401, 422)}},
        "post": {"summary": "Book a space, once or as a series",
                 "parameters": [idempotency.openapi_header()],
                 "requestBody": {"required": True, "content": {_JSON: {"schema": _BOOKING_BODY}}},
                 "responses": {"201": {"description": "The booking (with its status), or for a series "
                                                      "{series_id, occurrences, skipped}; each occurrence with its "
                                                      "`participants` and `fields`"},
                               **error_responses(400, 401, 403, 409, 422, 503)}},
    },
    "/bookings/{booking_id}": {
        "get": {"summary": "One booking", "parameters": _ID,
                "responses": {"200": {"description": "The booking"}, **error_responses(401, 404)}},
        "patch": {"summary": "Change a booking (scope: this, following or series)", "parameters": _ID,
                  "requestBody": {"content": {_JSON: {"schema": {"type": "object", "properties": {
                      **{k: v for k, v in _BOOKING_BODY["properties"].items()
                         if k in ("title", "description", "purpose", "visibility", "attendees", "start", "end",
                                  "space_id", "override_opening_hours", "override_quota", "project_id",
                                  "registration", "participants", "fields")},
                      "scope": _SCOPE}}}}},
                  "responses": {"200": {"description": "The booking and affected_ids"},
                                **error_responses(400, 401, 403, 404, 409, 422)}},
    },
    "/bookings/{booking_id}/cancel": {
        "post": {"summary": "Cancel a booking (scope: this, following or series)", "parameters": _ID,
                 "requestBody": {"content": {_JSON: {"schema": {"type": "object", "properties": {
                     "reason": {"type": "string", "maxLength": 500}, "scope": _SCOPE}}}}},
                 "responses": {"200": {"description": "The booking and affected_ids"},
                               **error_responses(400, 401, 403, 404, 409, 422)}},
    },
    "/bookings/{booking_id}/approve": {
        "post": {"summary": "Approve a pending booking (staff, admin)", "parameters": _ID,
                 "responses": {"200": {"description": "The booking"}, **error_responses(401, 403, 404, 409)}},
    },
    "/bookings/{booking_id}/reject": {
        "post": {"summary": "Reject a pending booking with a reason (staff, admin)", "parameters": _ID,
                 "requestBody": {"required": True, "content": {_JSON: {"schema": {
                     "type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}}}}},
                 "responses": {"200": {"description": "The booking"}, **error_responses(401, 403, 404, 409, 422)}},
    },
    "/spaces/{space_id}/availability": {
        "get": {"summary": "Busy periods (bookings, masked where private, and closures) of a space",
                "parameters": [{"name": "space_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                               *_WINDOW],
                "responses": {"200": {"description": "{space_id, start, end, busy: [...], bookable}; bookable: "
                                                     "may the caller book this space"},
                              **error_responses(401, 404, 422)}},
    },
    "/availability": {
        "get": {"summary": "Busy periods of every active space (or of the given ones) in one answer; each "
                           "period as in /spaces/{space_id}/availability",
                "parameters": [
                    {"name": "start", "in": "query", "schema": _TIME,
                     "description": "default: start of today (Europe/Oslo)"},
                    {"name": "end", "in": "query", "schema": _TIME,
                     "description": f"default: start + {DEFAULT_WINDOW_DAYS} days; at most "
                                    f"{MAX_AVAILABILITY_DAYS} days after start"},
                    {"name": "space_id", "in": "query", "schema": {"type": "array", "items": {"type": "integer"}},
                     "style": "form", "explode": True, "description": "only these spaces (may repeat)"}],
                "responses": {"200": {"description": "{start, end, spaces: [{space_id, busy: [...], bookable}]}"},
                              **error_responses(401, 422)}},
    },
})
