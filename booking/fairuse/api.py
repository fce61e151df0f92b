"""Fair use in the JSON API: quotas (administrators), check-in and the waitlist.

Thin handlers: parse, load what the caller may see (404 otherwise), call one service,
commit, serialise. The rules live in :mod:`booking.fairuse.quotas`, ``checkin`` and ``waitlist``.
"""
from __future__ import annotations

from flask import jsonify, url_for
from flask_login import current_user

from booking.fairuse import quotas
from samskap.api import api_blueprint, json_body
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

register_paths({
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
