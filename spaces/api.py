"""Catalogue endpoints of the JSON API (README, "API"): spaces with their rules, equipment
types with unit counts; administrators create and change them through the same
services as the browser pages."""
from __future__ import annotations

from flask import jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from accounts.permissions import is_admin
from samskap.api import api_blueprint, json_body, query_int
from samskap.errors import NotFound, PermissionDenied, ValidationFailed
from samskap.extensions import db
from samskap.openapi import error_responses, register_paths
from spaces import services
from spaces.models import EquipmentType, Space, SpaceKind

api_bp = api_blueprint("spaces_api", __name__)


def space_json(space: Space) -> dict:
    return {
        "id": space.id,
        "name": space.name,
        "slug": space.slug,
        "kind": space.kind.code,
        "capacity": space.capacity,
        "description": space.description,
        "location": space.location,
        "opening_hours": space.opening_hours,
        "bookable_by": list(space.bookable_by or []),
        "requires_approval": space.requires_approval,
        "min_minutes": space.min_minutes,
        "max_minutes": space.max_minutes,
        "buffer_minutes": space.buffer_minutes,
        "max_days_ahead": space.max_days_ahead,
        "check_in_minutes": space.check_in_minutes,
        "active": space.active,
    }


def unit_json(unit) -> dict:
    return {"id": unit.id, "asset_tag": unit.asset_tag, "serial": unit.serial, "status": unit.status.value,
            "loanable": unit.is_loanable, "home_space_id": unit.home_space_id}


def equipment_json(etype: EquipmentType, counts: services.UnitCounts, *, with_units: bool = False) -> dict:
    data = {
        "id": etype.id,
        "name": etype.name,
        "category": etype.category.value,
        "description": etype.description,
        "max_loan_days": etype.max_loan_days,
        "turnaround_hours": etype.turnaround_hours,
        "bookable_by": list(etype.bookable_by or []),
        "requires_approval": etype.requires_approval,
        "active": etype.active,
        "units_total": counts.units,
        "units_available": counts.available,
    }
    if with_units:
        data["units"] = [unit_json(u) for u in etype.units]
    return data


def _require_admin() -> None:
    if not is_admin(current_user):
        raise PermissionDenied(_("Only administrators can manage the catalogue."))


def _flag_arg(name: str) -> bool:
    raw = request.args.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ValidationFailed({name: _("'%(name)s' must be true or false.", name=name)})


# --- spaces -----------------------------------------------------------------------------------

@api_bp.get("/spaces")
def list_spaces():
    kind = request.args.get("kind") or None
    if kind is not None:
        found = services.find_space_kind(kind)
        if found is None:
            raise ValidationFailed({"kind": _("Unknown kind of space '%(kind)s'.", kind=kind)})
        kind = found.code
    filters = services.SpaceFilters(kind=kind, min_capacity=query_int("min_capacity", minimum=1),
                                    bookable_by_me=_flag_arg("bookable_by_me"),
                                    include_inactive=_flag_arg("include_inactive"))
    return jsonify({"spaces": [space_json(s) for s in services.list_spaces(current_user, filters)]})


def _space_or_404(space_id: int) -> Space:
    space = services.visible_space(current_user, space_id=space_id)
    if space is None:
        raise NotFound(_("There is no space with id %(id)d.", id=space_id))
    return space


@api_bp.get("/spaces/<int:space_id>")
def get_space(space_id: int):
    return jsonify(space_json(_space_or_404(space_id)))


@api_bp.post("/spaces")
def create_space():
    _require_admin()
    space = services.create_space(current_user, json_body())
    db.session.commit()
    response = jsonify(space_json(space))
    response.status_code = 201
    response.headers["Location"] = url_for("spaces_api.get_space", space_id=space.id)
    return response


@api_bp.patch("/spaces/<int:space_id>")
def update_space(space_id: int):
    _require_admin()
    space = _space_or_404(space_id)
    services.update_space(current_user, space, json_body())
    db.session.commit()
    return jsonify(space_json(space))


# --- kinds of space -------------------------------------------------------------------------

def space_kind_json(kind: SpaceKind) -> dict:
    return {"id": kind.id, "code": kind.code, "name_nb": kind.name_nb, "name_en": kind.name_en}


@api_bp.get("/space-kinds")
def list_space_kinds():
    return jsonify({"space_kinds": [space_kind_json(k) for k in services.space_kinds()]})


@api_bp.post("/space-kinds")
def create_space_kind():
    _require_admin()
    kind = services.create_space_kind(current_user, json_body())
    db.session.commit()
    return jsonify(space_kind_json(kind)), 201


@api_bp.patch("/space-kinds/<int:kind_id>")
def update_space_kind(kind_id: int):
    _require_admin()
    kind = db.session.get(SpaceKind, kind_id)
    if kind is None:
        raise NotFound(_("There is no kind of space with id %(id)d.", id=kind_id))
    services.update_space_kind(current_user, kind, json_body())
    db.session.commit()
    return jsonify(space_kind_json(kind))


# --- equipment --------------------------------------------------------------------------------

@api_bp.get("/equipment")
def list_equipment():
    types = services.list_equipment_types(current_user, include_inactive=_flag_arg("include_inactive"))
    counts = services.unit_counts(t.id for t in types)
    return jsonify({"equipment": [equipment_json(t, counts.get(t.id, services.UnitCounts())) for t in types]})


@api_bp.get("/equipment/<int:type_id>")
def get_equipment(type_id: int):
    etype = services.visible_equipment_type(current_user, type_id)
    if etype is None:
        raise NotFound(_("There is no equipment type with id %(id)d.", id=type_id))
    counts = services.unit_counts([etype.id]).get(etype.id, services.UnitCounts())
    return jsonify(equipment_json(etype, counts, with_units=True))


@api_bp.post("/equipment")
def create_equipment():
    _require_admin()
    etype = services.create_equipment_type(current_user, json_body())
    db.session.commit()
    counts = services.unit_counts([etype.id]).get(etype.id, services.UnitCounts())
    response = jsonify(equipment_json(etype, counts, with_units=True))
    response.status_code = 201
    response.headers["Location"] = url_for("spaces_api.get_equipment", type_id=etype.id)
    return response


# --- OpenAPI ----------------------------------------------------------------------------------

_OPENING_HOURS = {
    "type": ["object", "null"],
    "description": "mon…sun to lists of [\"HH:MM\", \"HH:MM\"] local-time intervals; 24:00 allowed as an end; "
                   "a missing day is closed; null means open around the clock.",
    "additionalProperties": {"type": "array", "items": {"type": "array", "items": {"type": "string"},
                                                        "minItems": 2, "maxItems": 2}},
}
_ORG_KINDS = {"type": "array", "items": {"type": "string", "enum": services.ALL_ORG_KINDS}}
SPACE_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "readOnly": True},
        "name": {"type": "string", "maxLength": 200},
        "slug": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "description": "derived from the name "
                 "when absent"},
        "kind": {"type": "string", "description": "a kind of space (GET /space-kinds) by its code or by its "
                 "name in either language, any case: meeting-room, \"Meeting room\" and \"møterom\" are one kind; "
                 "replies give the code"},
        "capacity": {"type": "integer", "minimum": 1},
        "description": {"type": "string"},
        "location": {"type": "string"},
        "opening_hours": _OPENING_HOURS,
        "bookable_by": _ORG_KINDS,
        "requires_approval": {"type": "boolean"},
        "min_minutes": {"type": ["integer", "null"], "minimum": 1},
        "max_minutes": {"type": ["integer", "null"], "minimum": 1},
        "buffer_minutes": {"type": "integer", "minimum": 0},
        "max_days_ahead": {"type": ["integer", "null"], "minimum": 0},
        "check_in_minutes": {"type": ["integer", "null"], "minimum": 1, "maximum": 1440,
                             "description": "bookings not checked in within this many minutes of their start "
                                            "are released (status no_show); null: no check-in required"},
        "active": {"type": "boolean"},
    },
}
EQUIPMENT_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "readOnly": True},
        "name": {"type": "string"},
        "category": {"type": "string", "enum": ["sensor_kit", "welfare_technology", "vr", "measurement_device",
                                                "robot", "other"],
                     "description": "any case, with spaces or hyphens for the underscores (\"sensor kit\")"},
        "description": {"type": "string"},
        "max_loan_days": {"type": "integer", "minimum": 1},
        "turnaround_hours": {"type": "integer", "minimum": 0},
        "bookable_by": _ORG_KINDS,
        "requires_approval": {"type": "boolean"},
        "active": {"type": "boolean"},
        "units_total": {"type": "integer", "readOnly": True},
        "units_available": {"type": "integer", "readOnly": True},
        "units": {"type": "array", "items": {"type": "object", "required": ["asset_tag"],
                                             "properties": {"asset_tag": {"type": "string"},
                                                            "serial": {"type": "string"}}}},
    },
}


SPACE_KIND_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "readOnly": True},
        "code": {"type": "string", "maxLength": 64, "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$",
                 "description": "made from name_en when absent on creation"},
        "name_nb": {"type": "string", "maxLength": 100},
        "name_en": {"type": "string", "maxLength": 100},
    },
    "additionalProperties": False,
}


def _json(schema) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


register_paths({
    "/spaces": {
        "get": {"summary": "Spaces with their rules",
                "parameters": [{"name": n, "in": "query", "schema": {"type": t}} for n, t in
                               (("kind", "string"), ("min_capacity", "integer"), ("bookable_by_me", "boolean"),
                                ("include_inactive", "boolean"))],
                "responses": {"200": {"description": "{\"spaces\": [...]}", **_json(
                    {"type": "object", "properties": {"spaces": {"type": "array", "items": SPACE_SCHEMA}}})},
                    **error_responses(401, 422)}},
        "post": {"summary": "Create a space (administrators)",
                 "requestBody": {"required": True, **_json({**SPACE_SCHEMA, "required": ["name", "kind", "capacity"]})},
                 "responses": {"201": {"description": "The space", **_json(SPACE_SCHEMA)},
                               **error_responses(400, 401, 403, 422)}},
    },
    "/spaces/{id}": {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "get": {"summary": "One space with its rules",
                "responses": {"200": {"description": "The space", **_json(SPACE_SCHEMA)}, **error_responses(401, 404)}},
        "patch": {"summary": "Change a space (administrators); only the fields given change",
                  "requestBody": {"required": True, **_json(SPACE_SCHEMA)},
                  "responses": {"200": {"description": "The space", **_json(SPACE_SCHEMA)},
                                **error_responses(400, 401, 403, 404, 422)}},
    },
    "/space-kinds": {
        "get": {"summary": "The kinds of space (meeting room, workshop room, simulation lab...)",
                "responses": {"200": {"description": "{\"space_kinds\": [...]}", **_json(
                    {"type": "object", "properties": {"space_kinds": {"type": "array", "items": SPACE_KIND_SCHEMA}}})},
                    **error_responses(401)}},
        "post": {"summary": "Add a kind of space (administrators)",
                 "requestBody": {"required": True, **_json({**SPACE_KIND_SCHEMA, "required": ["name_nb", "name_en"]})},
                 "responses": {"201": {"description": "The kind", **_json(SPACE_KIND_SCHEMA)},
                               **error_responses(400, 401, 403, 422)}},
    },
    "/space-kinds/{id}": {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "patch": {"summary": "Rename a kind of space or change its code (administrators); only the fields given "
                             "change",
                  "requestBody": {"required": True, **_json(SPACE_KIND_SCHEMA)},
                  "responses": {"200": {"description": "The kind", **_json(SPACE_KIND_SCHEMA)},
                                **error_responses(400, 401, 403, 404, 422)}},
    },
    "/equipment": {
        "get": {"summary": "Equipment types with unit counts",
                "responses": {"200": {"description": "{\"equipment\": [...]}", **_json(
                    {"type": "object", "properties": {"equipment": {"type": "array", "items": EQUIPMENT_SCHEMA}}})},
                    **error_responses(401)}},
        "post": {"summary": "Create an equipment type with its units (administrators); all or nothing",
                 "requestBody": {"required": True, **_json({**EQUIPMENT_SCHEMA, "required": ["name", "category"]})},
                 "responses": {"201": {"description": "The equipment type", **_json(EQUIPMENT_SCHEMA)},
                               **error_responses(400, 401, 403, 422)}},
    },
    "/equipment/{id}": {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "get": {"summary": "One equipment type with its units",
                "responses": {"200": {"description": "The equipment type", **_json(EQUIPMENT_SCHEMA)},
                              **error_responses(401, 404)}},
    },
})
