"""Registrations in the JSON API: thin handlers over :mod:`booking.registrations.services`.

``POST /api/v1/bookings/{id}/registrations`` is open to callers who are not signed in (public
events only, rate-limited per address); everything else needs the organiser, their organisation's
contacts or staff.
"""
from __future__ import annotations

from flask import Response, current_app, g, jsonify, request
from flask_babel import get_locale, gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms.validators import ValidationError

from booking.registrations import services
from booking.registrations.exports import registrations_csv
from booking.registrations.models import Registration
from samskap.api import api_blueprint, api_key, api_limit, json_body
from samskap.errors import ValidationFailed, api_error
from samskap.extensions import db, limiter
from samskap.openapi import error_responses, register_paths

api_bp = api_blueprint("registrations_api", __name__, public_endpoints=("register",))


def registration_limit() -> str:
    return current_app.config.get("SAMSKAP_REGISTRATION_LIMIT", "10 per hour")


def registration_key() -> str:
    return f"registration-addr:{request.remote_addr}"


def registration_exempt() -> bool:
    """Signed-in people registering themselves (no address, or their own) are held to the API's own
    limit; the stricter limit is for registrations by email link, which anyone can start, signed
    in or not (each sends a mail to the address given)."""
    if not (current_user and current_user.is_authenticated):
        return False
    body = request.get_json(silent=True) if request.is_json else request.form
    email = body.get("email") if isinstance(body, dict) or hasattr(body, "get") else None
    return not email or (isinstance(email, str) and email.strip().casefold() == (current_user.email or "").casefold())


def registration_json(registration: Registration, *, full: bool = True) -> dict:
    body = {"id": registration.id, "booking_id": registration.booking_id, "status": registration.status.value,
            "name": registration.name, "email": registration.email}
    if full:
        body.update({"organisation": registration.organisation, "needs": registration.needs,
                     "attended": registration.attended, "user_id": registration.user_id,
                     "queued_at": registration.queued_at.isoformat() if registration.queued_at else None,
                     "created_at": registration.created_at.isoformat(),
                     "cancelled_at": registration.cancelled_at.isoformat() if registration.cancelled_at else None})
    return body


def not_registration_exempt() -> bool:
    return not registration_exempt()


@api_bp.post("/bookings/<int:booking_id>/registrations")
@limiter.shared_limit(registration_limit, scope="registration", key_func=registration_key,
                      exempt_when=registration_exempt)
# A route's own limit replaces its blueprint's: those the registration limit exempts (signed in,
# registering themselves) are held to the API's per-user limit here instead.
@limiter.limit(api_limit, key_func=api_key, exempt_when=not_registration_exempt)
def register(booking_id: int):
    if current_user.is_authenticated and not g.get("auth_via_token"):
        # The blueprint skips its own check on this open endpoint: a browser session still needs it.
        try:
            validate_csrf(request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token"))
        except (ValidationError, CSRFError):
            return api_error(400, "csrf_failed", "Missing or invalid CSRF token: send it in the X-CSRFToken header.")
    actor = current_user._get_current_object()
    services.open_event(actor, booking_id)  # 404 before looking at the body
    wanted = services.parse_registration(json_body(), actor, locale=str(get_locale() or "nb"))
    try:
        registration, _token = services.register(actor, booking_id, wanted)
    except services.AlreadyRegistered as exc:  # their own address: 409 with their registration
        exc.details["registration"] = registration_json(exc.registration, full=False)
        raise
    if services.registers_self(actor, wanted):
        body = registration_json(registration, full=False)
    else:  # the same answer whether or not the address was registered already
        body = services.anonymous_answer(booking_id, wanted)
    db.session.commit()
    return jsonify(body), 201


@api_bp.get("/bookings/<int:booking_id>/registrations")
def list_registrations(booking_id: int):
    booking, settings = services.managed_event(current_user, booking_id)
    wanted = request.args.get("format", "json")
    if wanted not in ("json", "csv"):
        raise ValidationFailed({"format": _("'format' must be json or csv.")})
    if wanted == "csv":
        people = services.registrations_of(booking.id, [services.RegistrationStatus.CONFIRMED])
        response = Response(registrations_csv(people), mimetype="text/csv")
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
        response.headers["Content-Disposition"] = f'attachment; filename="registrations-{booking.id}.csv"'
        return response
    return jsonify({"booking_id": booking.id, "registration": services.settings_json(settings),
                    "registrations": [registration_json(r) for r in services.registrations_of(booking.id)]})


@api_bp.post("/bookings/<int:booking_id>/registrations/<int:registration_id>/cancel")
def cancel_registration(booking_id: int, registration_id: int):
    booking, _settings = services.managed_event(current_user, booking_id)
    registration = services.registration_of(booking, registration_id)
    promoted = services.cancel(current_user._get_current_object(), registration)
    body = {**registration_json(registration), "promoted": registration_json(promoted) if promoted else None}
    db.session.commit()
    return jsonify(body)


@api_bp.post("/bookings/<int:booking_id>/registrations/<int:registration_id>/attendance")
def mark_attendance(booking_id: int, registration_id: int):
    booking, _settings = services.managed_event(current_user, booking_id)
    registration = services.registration_of(booking, registration_id)
    data = json_body()
    attended = data.get("attended")
    if set(data) - {"attended"} or not (attended is None or isinstance(attended, bool)):
        raise ValidationFailed({"attended": _("'attended' must be true, false or null.")})
    services.mark_attendance(current_user._get_current_object(), registration, attended)
    body = registration_json(registration)
    db.session.commit()
    return jsonify(body)


# --- the `registration` object of POST/PATCH /api/v1/bookings (booking/api.py calls these) -------

def parse_for_create(data: dict, booking_request) -> services.SettingsInput | None:
    """The create body's ``registration`` checked against the booking to be written (422 before
    anything is written)."""
    if data.get("registration") is None:
        return None
    if data.get("recurrence") is not None:
        raise ValidationFailed({"registration": _("Registration is for single events: book the occurrences, then "
                                                  "open registration on one of them.")})
    return services.parse_settings(data["registration"], end=booking_request.end,
                                   visibility=booking_request.visibility)


def parse_for_update(data: dict, booking) -> services.SettingsInput | None:
    """The change body's ``registration`` checked against the booking as it will be."""
    current = services.settings_of(booking.id)
    if "registration" not in data and current is None:
        return None
    end = booking.end
    if isinstance(data.get("end"), str):
        try:
            from samskap.timeutil import parse_aware_iso

            end = parse_aware_iso(data["end"])
        except ValueError:
            return None  # the booking's own parsing names the bad time
    visibility = data.get("visibility", booking.visibility)
    value = data.get("registration", {})
    if value is None:
        raise ValidationFailed({"registration": _("Registration cannot be removed once open: set closes_at to "
                                                  "close it.")})
    if "registration" not in data and "end" not in data and "visibility" not in data:
        return None
    return services.parse_settings(value, end=end, visibility=visibility, current=current)


def apply(actor, booking, wanted: services.SettingsInput | None) -> None:
    if wanted is not None:
        services.open_registration(actor, booking, wanted)


def booking_registration_json(booking, *, opened: bool = True) -> dict:
    """The booking's ``registration`` (None when it takes none; ``opened=False``: known without asking)."""
    return {"registration": services.settings_json(services.settings_of(booking.id)) if opened else None}


SETTINGS_SCHEMA = {
    "type": "object", "description": "open registration (organiser, staff): single bookings only; on a change, "
                                     "fields left out keep their values",
    "properties": {
        "capacity": {"type": "integer", "minimum": 1, "maximum": services.MAX_CAPACITY},
        "closes_at": {"type": "string", "format": "date-time", "description": "before the booking's end"},
        "audience": {"type": "string", "enum": ["public", "partners"],
                     "description": "public: anyone (the booking must be public); partners: signed-in users"}},
}


# --- OpenAPI -------------------------------------------------------------------------------------

_JSON = "application/json"
_IDS = [{"name": "booking_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_RID = [*_IDS, {"name": "registration_id", "in": "path", "required": True, "schema": {"type": "integer"}}]

register_paths({
    "/bookings/{booking_id}/registrations": {
        "post": {"summary": "Register for an event. Signed in: 201 with status confirmed, or waitlisted when full. "
                            "Not signed in (public events only, rate-limited per address): 201 with status "
                            "pending_confirmation; the place is decided when the link in the email is used. "
                            "Signed in with another person's address: as not signed in (the place is decided "
                            "by the link sent to that address). An address already registered, entered by "
                            "someone not signed in or signed in as someone else, gets the same answer as a new "
                            "one (and its owner an email saying so), so the answer never tells who is "
                            "registered. Signed in with one's own address: a registration waiting for its "
                            "email link takes its place now (201); one with a place or on the waitlist answers "
                            "409 already_registered with that registration in error.details.registration "
                            "({id, booking_id, status, name, email}).",
                 "security": [{}, {"bearer": []}], "parameters": _IDS,
                 "requestBody": {"required": True, "content": {_JSON: {"schema": {
                     "type": "object", "required": ["name", "email"], "properties": {
                         "name": {"type": "string", "maxLength": services.NAME_MAX},
                         "email": {"type": "string", "format": "email"},
                         "organisation": {"type": "string", "maxLength": services.ORGANISATION_MAX},
                         "needs": {"type": "string", "maxLength": services.NEEDS_MAX,
                                   "description": "diet, accessibility and the like"}}}}}},
                 "responses": {"201": {"description": "Signed in: {id, booking_id, status, name, email}; "
                                                     "not signed in: {booking_id, status, name, email}"},
                               **error_responses(400, 404, 409, 422, 429)}},
        "get": {"summary": "The registrations (organiser, their organisation's contacts, staff); "
                           "?format=csv: the confirmed people as CSV",
                "parameters": [*_IDS, {"name": "format", "in": "query",
                                       "schema": {"type": "string", "enum": ["json", "csv"]}}],
                "responses": {"200": {"description": "{booking_id, registration, registrations: [...]}"},
                              **error_responses(401, 403, 404, 422)}},
    },
    "/bookings/{booking_id}/registrations/{registration_id}/cancel": {
        "post": {"summary": "Cancel a registration; a confirmed place goes at once to the first on the waitlist "
                            "(returned as promoted), who is emailed",
                 "parameters": _RID,
                 "responses": {"200": {"description": "The registration and promoted"},
                               **error_responses(401, 403, 404)}},
    },
    "/bookings/{booking_id}/registrations/{registration_id}/attendance": {
        "post": {"summary": "Mark whether a confirmed person came (true, false or null for not known)",
                 "parameters": _RID,
                 "requestBody": {"required": True, "content": {_JSON: {"schema": {
                     "type": "object", "properties": {"attended": {"type": ["boolean", "null"]}}}}}},
                 "responses": {"200": {"description": "The registration"}, **error_responses(401, 403, 404, 409, 422)}},
    },
})
