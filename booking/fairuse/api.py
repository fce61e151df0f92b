"""Fair use in the JSON API: quotas (administrators), check-in and the waitlist.

Thin handlers: parse, load what the caller may see (404 otherwise), call one service,
commit, serialise. The rules live in :mod:`booking.fairuse.quotas`, ``checkin`` and ``waitlist``.
"""
from __future__ import annotations

from flask import jsonify, url_for
from flask_babel import gettext as _
from flask_login import current_user

from booking.fairuse import checkin, quotas, waitlist
from booking.models import Booking
from samskap.api import api_blueprint, json_body
from samskap.errors import NotFound, ValidationFailed
from samskap.ids import MAX_ID
from samskap.timeutil import parse_aware_iso
from samskap.extensions import db
from samskap.openapi import error_responses, register_paths

api_bp = api_blueprint("fairuse_api", __name__)


# --- quotas --------------------------------------------------------------------------------------

@api_bp.get("/quotas")
def list_quotas():
    return jsonify({"quotas": [quotas.quota_json(q) for q in quotas.list_quotas(current_user)]})


@api_bp.post("/quotas")
def create_quota():
    quotas.require_admin(current_user)  # before the body: others hear 403 whatever they send
    quota = quotas.create_quota(current_user, json_body())
    body = quotas.quota_json(quota)
    db.session.commit()
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for("fairuse_api.get_quota", quota_id=quota.id)
    return response


@api_bp.get("/quotas/<int:quota_id>")
def get_quota(quota_id: int):
    return jsonify(quotas.quota_json(quotas.get_quota(current_user, quota_id)))


@api_bp.patch("/quotas/<int:quota_id>")
def update_quota(quota_id: int):
    quota = quotas.get_quota(current_user, quota_id)
    quotas.update_quota(current_user, quota, json_body())
    body = quotas.quota_json(quota)
    db.session.commit()
    return jsonify(body)


@api_bp.delete("/quotas/<int:quota_id>")
def delete_quota(quota_id: int):
    quota = quotas.get_quota(current_user, quota_id)
    quotas.delete_quota(current_user, quota)
    db.session.commit()
    return "", 204


# --- check-in ----------------------------------------------------------------------------------

@api_bp.post("/bookings/<int:booking_id>/check-in")
def check_in(booking_id: int):
    from booking.api import booking_json

    booking = db.session.get(Booking, booking_id) if booking_id <= MAX_ID else None
    if booking is None:
        raise NotFound(_("No such booking."))
    checkin.check_in(current_user, booking)
    body = booking_json(booking)
    db.session.commit()
    return jsonify(body)


# --- waitlist ------------------------------------------------------------------------------------

WAITLIST_FIELDS = ("space_id", "start", "end", "auto_book", "title")


@api_bp.post("/waitlist")
def join_waitlist():
    data = json_body()
    errors = {key: _("Unknown field.") for key in data if key not in WAITLIST_FIELDS}
    times = {}
    for name in ("start", "end"):
        try:
            times[name] = parse_aware_iso(data.get(name))
        except ValueError:
            errors[name] = _("Give an ISO 8601 date-time with an offset, such as 2026-03-16T09:00+01:00.")
    if errors:
        raise ValidationFailed(errors)
    entry = waitlist.join_waitlist(current_user, data.get("space_id"), times["start"], times["end"],
                                   auto_book=data.get("auto_book", False), title=data.get("title", ""))
    body = waitlist.entry_json(entry)
    db.session.commit()
    response = jsonify(body)
    response.status_code = 201
    return response


@api_bp.get("/waitlist")
def list_waitlist():
    from samskap.timeutil import utcnow

    return jsonify({"waitlist": [waitlist.entry_json(e) for e in waitlist.entries_of(current_user, utcnow())]})


@api_bp.delete("/waitlist/<int:entry_id>")
def leave_waitlist(entry_id: int):
    entry = waitlist.own_entry(current_user, entry_id)
    waitlist.leave_waitlist(current_user, entry)
    db.session.commit()
    return "", 204


# --- OpenAPI -------------------------------------------------------------------------------------

_JSON = "application/json"
_QUOTA = {
    "type": "object",
    "description": "Who: organisation_id or organisation_kind (each organisation of that kind has the limit for "
                   "itself). Where (optional): space_id or space_kind (a kind's code); neither means every space. "
                   "Periods in Europe/Oslo: week = Monday 00:00 to Monday 00:00, month = calendar month, term = "
                   "1 January-1 July or 1 July-1 January. A booking's hours count in the periods it overlaps; "
                   "cancelled, rejected and no-show bookings do not count. At least one of max_hours and max_active.",
    "properties": {
        "organisation_id": {"type": ["integer", "null"]},
        "organisation_kind": {"type": ["string", "null"],
                              "enum": ["municipality", "hospital", "company", "academia", "host", None]},
        "space_id": {"type": ["integer", "null"]},
        "space_kind": {"type": ["string", "null"]},
        "period": {"type": "string", "enum": ["week", "month", "term"], "default": "week"},
        "max_hours": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 10000},
        "max_active": {"type": ["integer", "null"], "minimum": 1, "maximum": 10000,
                       "description": "bookings not yet over at once"},
    },
}
_QID = [{"name": "quota_id", "in": "path", "required": True, "schema": {"type": "integer"}}]

_TIME = {"type": "string", "format": "date-time", "description": "ISO 8601 with an offset"}
_WAITLIST = {"type": "object", "required": ["space_id", "start", "end"], "properties": {
    "space_id": {"type": "integer"}, "start": _TIME, "end": _TIME,
    "auto_book": {"type": "boolean", "default": False,
                  "description": "book at once when the time frees, if every rule still holds"},
    "title": {"type": "string", "maxLength": 200, "description": "the title of a booking made automatically"}}}

register_paths({
    "/bookings/{booking_id}/check-in": {
        "post": {"summary": "Check in (organiser, their organisation's contacts, staff); opens 15 minutes before "
                           "the start. A space's check_in_minutes releases bookings not checked in in time "
                           "(status no_show)",
                 "parameters": [{"name": "booking_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                 "responses": {"200": {"description": "The booking, with checked_in_at"},
                               **error_responses(401, 403, 404, 409)}},
    },
    "/waitlist": {
        "get": {"summary": "The caller's waitlist entries",
                "responses": {"200": {"description": "{\"waitlist\": [...]}"}, **error_responses(401)}},
        "post": {"summary": "Wait for a taken time: the first in line is told by mail when it frees and holds it "
                            "(SAMSKAP_WAITLIST_HOLD_MINUTES, default 30) or has it booked at once (auto_book)",
                 "requestBody": {"required": True, "content": {_JSON: {"schema": _WAITLIST}}},
                 "responses": {"201": {"description": "The entry, with its position"},
                               **error_responses(400, 401, 403, 409, 422)}},
    },
    "/waitlist/{entry_id}": {
        "delete": {"summary": "Leave the waitlist (one's own entry)",
                   "parameters": [{"name": "entry_id", "in": "path", "required": True,
                                   "schema": {"type": "integer"}}],
                   "responses": {"204": {"description": "Left"}, **error_responses(401, 404)}},
    },
    "/quotas": {
        "get": {"summary": "Every quota (administrators)",
                "responses": {"200": {"description": "{\"quotas\": [...]}"}, **error_responses(401, 403)}},
        "post": {"summary": "Set a quota (administrators); a booking past it answers 409 quota_exceeded",
                 "requestBody": {"required": True, "content": {_JSON: {"schema": _QUOTA}}},
                 "responses": {"201": {"description": "The quota"}, **error_responses(400, 401, 403, 422)}},
    },
    "/quotas/{quota_id}": {
        "get": {"summary": "One quota (administrators)", "parameters": _QID,
                "responses": {"200": {"description": "The quota"}, **error_responses(401, 403, 404)}},
        "patch": {"summary": "Change a quota (administrators)", "parameters": _QID,
                  "requestBody": {"required": True, "content": {_JSON: {"schema": _QUOTA}}},
                  "responses": {"200": {"description": "The quota"}, **error_responses(400, 401, 403, 404, 422)}},
        "delete": {"summary": "Remove a quota (administrators)", "parameters": _QID,
                   "responses": {"204": {"description": "Removed"}, **error_responses(401, 403, 404)}},
    },
})
