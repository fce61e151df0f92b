"""Calendar feeds in the JSON API: ``POST/GET /api/v1/feeds``, ``DELETE /api/v1/feeds/{id}``."""
from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from booking.feeds import services
from booking.models import FeedScope
from booking.feeds.views import feed_urls
from samskap.api import api_blueprint, json_body
from samskap.extensions import db
from samskap.openapi import error_responses, register_paths

api_bp = api_blueprint("feeds_api", __name__)


def feed_json(feed, token: str | None = None) -> dict:
    data = {
        "id": feed.id,
        "scope": feed.scope.value,
        "space_id": feed.space_id,
        "equipment_id": feed.equipment_type_id,
        "project_id": feed.project_id,
        "name": feed.name,
        "description": services.scope_label(feed),
        "created_at": feed.created_at.isoformat(),
        "last_used_at": feed.last_used_at.isoformat() if feed.last_used_at else None,
    }
    if token is not None:  # only the reply to creation can carry the URL: the token is not stored
        data.update(feed_urls(token))
    return data


@api_bp.post("/feeds")
def create_feed():
    body = json_body()
    feed, token = services.create_feed(current_user._get_current_object(), body.get("scope"),
                                       space_id=body.get("space_id"), equipment_type_id=body.get("equipment_id"),
                                       project_id=body.get("project_id"), name=body.get("name", ""))
    db.session.commit()
    response = jsonify({"feed": feed_json(feed, token)})
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"  # the url holds the secret token
    return response


@api_bp.get("/feeds")
def list_feeds():
    return jsonify({"feeds": [feed_json(f) for f in services.list_feeds(current_user._get_current_object())]})


@api_bp.delete("/feeds/<int:feed_id>")
def revoke_feed(feed_id: int):
    services.revoke_feed(current_user._get_current_object(), feed_id)
    db.session.commit()
    return "", 204


SCOPES = [scope.value for scope in FeedScope]
_FEED_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "scope": {"type": "string", "enum": SCOPES},
        "space_id": {"type": ["integer", "null"]},
        "equipment_id": {"type": ["integer", "null"]},
        "project_id": {"type": ["integer", "null"]},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "last_used_at": {"type": ["string", "null"], "format": "date-time"},
        "url": {"type": "string", "description": "Only in the reply to creation"},
        "webcal_url": {"type": "string", "description": "Only in the reply to creation"},
    },
}

register_paths({
    "/feeds": {
        "get": {"summary": "Your calendar feeds that still work (without their secret URLs)",
                "responses": {"200": {"description": "{\"feeds\": [...]}"}, **error_responses(401)}},
        "post": {
            "summary": "Create a calendar feed; the reply's url is shown only this once",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["scope"],
                "properties": {
                    "scope": {"type": "string", "enum": SCOPES,
                              "description": "'all' is for workshop staff and administrators; 'public' shows "
                                             "the public events (as /feeds/public.ics)"},
                    "space_id": {"type": "integer", "description": "Required with scope 'space'"},
                    "equipment_id": {"type": "integer", "description": "Required with scope 'equipment'"},
                    "project_id": {"type": "integer", "description": "Required with scope 'project': a project "
                                                                     "your organisation is a partner of (staff: any)"},
                    "name": {"type": "string", "maxLength": 100},
                }}}}},
            "responses": {"201": {"description": "{\"feed\": {...}} with url and webcal_url",
                                  "content": {"application/json": {"schema": {
                                      "type": "object", "properties": {"feed": _FEED_SCHEMA}}}}},
                          **error_responses(400, 401, 403, 422)},
        },
    },
    "/feeds/{id}": {
        "delete": {"summary": "Revoke one of your feeds; its URL answers 404 from now on",
                   "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                   "responses": {"204": {"description": "Revoked"}, **error_responses(401, 404)}},
    },
})
