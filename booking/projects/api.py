"""Projects in the JSON API: thin handlers over :mod:`booking.projects.services`."""
from __future__ import annotations

from flask import jsonify, request, url_for
from flask_login import current_user

from booking.projects import services
from booking.projects.models import Project
from samskap.api import api_blueprint, json_body
from samskap.extensions import db
from samskap.openapi import error_responses, register_paths

api_bp = api_blueprint("projects_api", __name__)


def _organisation_json(organisation) -> dict:
    return {"id": organisation.id, "name": organisation.name, "kind": organisation.kind.value}


def project_json(project: Project, *, full: bool = False) -> dict:
    body = {
        "id": project.id,
        "name": project.name,
        "description": project.description,
        "goals": project.goals,
        "status": project.status.value,
        "starts_on": project.starts_on.isoformat() if project.starts_on else None,
        "ends_on": project.ends_on.isoformat() if project.ends_on else None,
        "lead_organisation_id": project.lead_organisation_id,
        "organisation_ids": project.organisation_ids,
        "proposed_by_id": project.proposed_by_id,
    }
    if full:
        from booking.api import booking_json
        from booking.equipment.api import reservation_json

        body["organisations"] = [_organisation_json(p.organisation) for p in project.partners]
        from booking.extras import extras_json_by_booking

        bookings = services.project_bookings(project)  # all visible in full to whoever sees the project
        more = extras_json_by_booking(bookings, current_user)
        body["bookings"] = [{**booking_json(b), **more[b.id]} for b in bookings]
        body["equipment_reservations"] = [reservation_json(r) for r in services.project_reservations(project)]
    return body


@api_bp.get("/projects")
def list_projects():
    return jsonify({"projects": [project_json(p) for p in services.list_projects(current_user)]})


@api_bp.post("/projects")
def create_project():
    services.require_may_create(current_user)  # before the body: others hear 403 whatever they send
    project = services.create_project(current_user, json_body())
    body = project_json(project, full=True)
    db.session.commit()
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for("projects_api.get_project", project_id=project.id)
    return response


@api_bp.get("/projects/<int:project_id>")
def get_project(project_id: int):
    return jsonify(project_json(services.get_project(current_user, project_id), full=True))


@api_bp.patch("/projects/<int:project_id>")
def update_project(project_id: int):
    project = services.get_project(current_user, project_id)
    services.require_staff(current_user)
    services.update_project(current_user, project, json_body())
    body = project_json(project, full=True)
    db.session.commit()
    return jsonify(body)


def _decide(project_id: int, *, approve: bool):
    project = services.get_project(current_user, project_id)
    services.require_staff(current_user)
    body = json_body() if request.get_data() else {}
    services.decide_proposal(current_user, project, approve=approve, status=body.get("status"),
                             reason=body.get("reason"))
    reply = project_json(project, full=True)
    db.session.commit()
    return jsonify(reply)


@api_bp.post("/projects/<int:project_id>/approve")
def approve_project(project_id: int):
    return _decide(project_id, approve=True)


@api_bp.post("/projects/<int:project_id>/reject")
def reject_project(project_id: int):
    return _decide(project_id, approve=False)


# --- OpenAPI -------------------------------------------------------------------------------------

_JSON = "application/json"
_PROJECT = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": services.MAX_NAME},
        "description": {"type": "string", "maxLength": services.MAX_TEXT},
        "goals": {"type": "string", "maxLength": services.MAX_TEXT},
        "lead_organisation_id": {"type": "integer", "description": "always one of the partners"},
        "organisation_ids": {"type": "array", "items": {"type": "integer"}, "maxItems": services.MAX_PARTNERS,
                             "description": "partner organisations (any kinds); their members see the project "
                                            "and its bookings in full"},
        "starts_on": {"type": ["string", "null"], "format": "date"},
        "ends_on": {"type": ["string", "null"], "format": "date"},
        "status": {"type": "string", "enum": ["planned", "active", "completed"], "default": "planned",
                   "description": "staff only; a project an organisation contact proposes is 'proposed' until "
                                  "staff approve it ('planned' or 'active') or reject it ('rejected')"},
    },
}
_PID = [{"name": "project_id", "in": "path", "required": True, "schema": {"type": "integer"}}]

register_paths({
    "/projects": {
        "get": {"summary": "Projects: every one for staff and admins; for others, those their organisation is a "
                           "partner of",
                "responses": {"200": {"description": "{\"projects\": [...]}"}, **error_responses(401)}},
        "post": {"summary": "Create a pilot or co-creation project (staff, admins), or propose one that your "
                            "organisation leads (its contacts): status 'proposed' until staff decide",
                 "requestBody": {"required": True, "content": {_JSON: {"schema": {
                     **_PROJECT, "required": ["name", "lead_organisation_id"]}}}},
                 "responses": {"201": {"description": "The project with organisations, bookings and "
                                                      "equipment_reservations"},
                               **error_responses(400, 401, 403, 422)}},
    },
    "/projects/{project_id}": {
        "get": {"summary": "One project with its organisations, bookings and equipment_reservations (partners, "
                           "staff, admins)", "parameters": _PID,
                "responses": {"200": {"description": "The project; each of its bookings as GET "
                                                     "/bookings/{booking_id} gives it, with `participants` and "
                                                     "`fields`, without `registration`"},
                              **error_responses(401, 404)}},
        "patch": {"summary": "Change a project (staff, admins); organisation_ids replaces the partners",
                  "parameters": _PID,
                  "requestBody": {"required": True, "content": {_JSON: {"schema": _PROJECT}}},
                  "responses": {"200": {"description": "The project"}, **error_responses(400, 401, 403, 404, 422)}},
    },
    "/projects/{project_id}/approve": {
        "post": {"summary": "Approve a proposed project (staff, admins); the proposer is told by email",
                 "parameters": _PID,
                 "requestBody": {"required": False, "content": {_JSON: {"schema": {"type": "object", "properties": {
                     "status": {"type": "string", "enum": ["planned", "active"], "default": "planned"},
                     "reason": {"type": "string"}}}}}},
                 "responses": {"200": {"description": "The project"}, **error_responses(400, 401, 403, 404, 422)}},
    },
    "/projects/{project_id}/reject": {
        "post": {"summary": "Reject a proposed project (staff, admins); the proposer is told by email",
                 "parameters": _PID,
                 "requestBody": {"required": False, "content": {_JSON: {"schema": {"type": "object", "properties": {
                     "reason": {"type": "string"}}}}}},
                 "responses": {"200": {"description": "The project"}, **error_responses(400, 401, 403, 404, 422)}},
    },
})
