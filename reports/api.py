"""Reports in the JSON API: ``GET /api/v1/reports/utilisation`` and ``/api/v1/reports/behaviour``,
as JSON, CSV or XLSX. Staff and administrators; an organisation's contacts for their own."""
from __future__ import annotations

from flask import Response, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from reports import attendance, behaviour, exports, services
from reports.periods import GROUPINGS, parse_grouping, parse_period
from samskap.api import api_blueprint, query_int
from samskap.errors import PermissionDenied, ValidationFailed
from samskap.openapi import error_responses, register_paths

api_bp = api_blueprint("reports_api", __name__)

FORMATS = ("json", "csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _format() -> str:
    value = request.args.get("format") or "json"
    if value not in FORMATS:
        raise ValidationFailed({"format": _("'format' must be one of: %(choices)s.", choices=", ".join(FORMATS))})
    return value


def _authorize(actor) -> None:
    """Who may see reports at all is decided before the parameters are looked at."""
    if not services.can_view_reports(actor):
        raise PermissionDenied(_("Reports are for workshop staff and organisation contacts."))


def report_from_args(actor, args) -> services.Report:
    """Parse the query string (422 naming each bad parameter) and run the report."""
    _authorize(actor)
    errors = {}
    period = grouping = None
    try:
        period = parse_period(args.get("from"), args.get("to"))
    except ValidationFailed as exc:
        errors.update(exc.fields)
    by = args.get("by") or ""
    if by not in services.DIMENSIONS + services.TIME_DIMENSIONS:
        errors["by"] = _("'by' must be one of: %(choices)s.",
                         choices=", ".join(services.DIMENSIONS + services.TIME_DIMENSIONS))
    try:
        grouping = parse_grouping(args.get("group"))
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed(errors)
    return services.utilisation(actor, period, by, grouping, organisation_id=query_int("organisation_id", minimum=1))


def _download(body: bytes, mimetype: str, name: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@api_bp.get("/reports/utilisation")
def utilisation():
    _authorize(current_user)
    fmt = _format()
    report = report_from_args(current_user, request.args)
    name = f"utilisation-{report.by}-{report.period.first_day}-{report.period.last_day}"
    if fmt == "csv":
        return _download(exports.report_csv(report), "text/csv", name + ".csv")
    if fmt == "xlsx":
        return _download(exports.report_xlsx(report), XLSX_TYPE, name + ".xlsx")
    return jsonify(exports.report_json(report))


@api_bp.get("/reports/behaviour")
def behaviour_report():
    _authorize(current_user)
    period = parse_period(request.args.get("from"), request.args.get("to"))
    organisation_id = query_int("organisation_id", minimum=1)
    result = behaviour.behaviour(current_user, period, organisation_id=organisation_id)
    events = attendance.attendance(current_user, period, organisation_id=organisation_id)
    return jsonify({**behaviour.behaviour_json(result), "attendance": attendance.attendance_json(events)})


@api_bp.get("/reports/attendance")
def attendance_report():
    _authorize(current_user)
    wanted = request.args.get("format") or "json"
    if wanted not in ("json", "csv"):
        raise ValidationFailed({"format": _("'format' must be json or csv.")})
    period = parse_period(request.args.get("from"), request.args.get("to"))
    result = attendance.attendance(current_user, period, organisation_id=query_int("organisation_id", minimum=1))
    if wanted == "csv":
        return _download(attendance.attendance_csv(result), "text/csv",
                         f"attendance-{period.first_day}-{period.last_day}.csv")
    return jsonify({"from": period.first_day.isoformat(), "to": period.last_day.isoformat(),
                    **attendance.attendance_json(result)})


_PERIOD_PARAMS = [
    {"name": "from", "in": "query", "required": True, "schema": {"type": "string", "format": "date"},
     "description": "first local day (Europe/Oslo), inclusive"},
    {"name": "to", "in": "query", "required": True, "schema": {"type": "string", "format": "date"},
     "description": "last local day, inclusive"},
    {"name": "organisation_id", "in": "query", "schema": {"type": "integer"},
     "description": "staff: narrow to one organisation; contacts: only their own (others 403)"},
]

register_paths({
    "/reports/utilisation": {"get": {
        "summary": "Utilisation and co-creation: hours (unit-days for equipment), sessions and share per row",
        "description": ("Staff and administrators; an organisation's contacts see their own organisation's "
                        "bookings only. Pending and confirmed bookings count; cancelled and rejected do not. "
                        "Hours are real elapsed time (UTC arithmetic), clipped to local (Europe/Oslo) days. "
                        "`by=space` adds `opening_hours` and `utilisation` (booked / opening hours); "
                        "`by=equipment_type` gives `unit_days`, `available_unit_days` and `utilisation`; "
                        "`by=day|week|month|year` gives all spaces over time; `by=sector_pair` gives the "
                        "matrix of organisation kinds that took part in the same session (one booking) with "
                        "`sectors` (distinct organisations per kind) and `multi_sector_sessions`."),
        "parameters": _PERIOD_PARAMS + [
            {"name": "by", "in": "query", "required": True, "schema": {
                "type": "string", "enum": list(services.DIMENSIONS + services.TIME_DIMENSIONS)}},
            {"name": "group", "in": "query", "schema": {"type": "string", "enum": list(GROUPINGS)},
             "description": "also split each row by local day, ISO week, month or year (`period` in each row)"},
            {"name": "format", "in": "query", "schema": {"type": "string", "enum": list(FORMATS)},
             "description": "csv: UTF-8 with BOM; xlsx: a spreadsheet"},
        ],
        "responses": {"200": {"description": "The report", "content": {
            "application/json": {"schema": {"type": "object", "properties": {
                "from": {"type": "string"}, "to": {"type": "string"}, "by": {"type": "string"},
                "unit": {"type": "string", "enum": ["hours", "unit_days"]},
                "rows": {"type": "array", "items": {"type": "object", "required": ["key", "label", "sessions", "share"],
                                                    "properties": {
                    "key": {"type": "string"}, "label": {"type": "string"}, "hours": {"type": "number"},
                    "unit_days": {"type": "number"}, "sessions": {"type": "integer"}, "share": {"type": "number"},
                    "period": {"type": "string"}, "opening_hours": {"type": "number"},
                    "available_unit_days": {"type": "number"}, "utilisation": {"type": ["number", "null"]}}}}}}},
            "text/csv": {"schema": {"type": "string"}},
            XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}}},
            **error_responses(401, 403, 422)},
    }},
    "/reports/behaviour": {"get": {
        "summary": "Cancellations (and how late), lead time, approvals and their waiting time; attendance at "
                   "events with registration",
        "description": "Bookings whose start lies in the period. Staff and administrators; contacts for their own "
                       "organisation. `attendance`: events taking registrations (not cancelled or rejected) with "
                       "their places, people `registered` (holding a place), `waitlisted`, and those marked at the "
                       "door as `attended` or `absent` (`unmarked` otherwise), in total and `by_event`; "
                       "`attendance_rate` is attended of those marked.",
        "parameters": _PERIOD_PARAMS,
        "responses": {"200": {"description": "The figures"}, **error_responses(401, 403, 422)},
    }},
    "/reports/attendance": {"get": {
        "summary": "Attendance at events with registration: the behaviour report's `attendance`, alone",
        "description": "Events taking registrations (not cancelled or rejected) starting in the period, with places, "
                       "people registered (holding a place), waitlisted, attended, absent and not marked; "
                       "`format=csv` gives one row per event.",
        "parameters": _PERIOD_PARAMS + [{"name": "format", "in": "query",
                                         "schema": {"type": "string", "enum": ["json", "csv"]}}],
        "responses": {"200": {"description": "The figures", "content": {
            "application/json": {"schema": {"type": "object"}}, "text/csv": {"schema": {"type": "string"}}}},
            **error_responses(401, 403, 422)},
    }},
})
