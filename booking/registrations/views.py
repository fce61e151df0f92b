"""Registration pages: register for an event, the registrant's own page behind their email link
(confirm, cancel), and for the organiser the registration settings, the list with attendance,
and a printable sign-in sheet."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user, login_required

from booking.models import Visibility
from booking.registrations import services
from booking.registrations.api import registration_exempt, registration_key, registration_limit
from booking.registrations.forms import ConfirmForm, RegisterForm, SettingsForm
from booking.registrations.models import Audience, RegistrationStatus
from samskap.errors import DomainError, NotFound, PermissionDenied
from samskap.extensions import db, limiter
from samskap.timeutil import to_local
from samskap.web import apply_errors, flash_success, local_instant

registrations_bp = Blueprint("registrations", __name__)

STATUS_LABELS = {
    RegistrationStatus.PENDING: lambda: _("Waiting for email confirmation"),
    RegistrationStatus.CONFIRMED: lambda: _("Place confirmed"),
    RegistrationStatus.WAITLISTED: lambda: _("On the waitlist"),
    RegistrationStatus.CANCELLED: lambda: _("Cancelled"),
}


def _actor():
    return current_user._get_current_object()


def _abort_for(error: DomainError):
    if isinstance(error, NotFound):
        abort(404)
    if isinstance(error, PermissionDenied):
        abort(403)
    raise error


def _managed(booking_id: int):
    try:
        return services.managed_event(_actor(), booking_id)
    except DomainError as exc:
        _abort_for(exc)


@registrations_bp.app_context_processor
def _template_helpers():
    def registration_state(booking) -> dict:
        """For a booking's page: its registration, places left, and what the viewer may do."""
        state = services.open_events_for(current_user, [booking.id]).get(booking.id) or {}
        # A private booking takes no registrations: its page offers none.
        state["may_manage"] = (booking.is_active and (bool(state) or booking.visibility != Visibility.PRIVATE)
                               and services.may_manage_registrations(current_user, booking))
        return state

    return {"registration_state": registration_state, "registration_status_label": lambda s: STATUS_LABELS[s](),
            "event_registrations": lambda bookings: services.open_events_for(current_user, [b.id for b in bookings])}


# --- registering ----------------------------------------------------------------------------------

@registrations_bp.route("/events/<int:booking_id>/register", methods=["GET", "POST"])
@limiter.shared_limit(registration_limit, scope="registration", key_func=registration_key,
                      exempt_when=registration_exempt, methods=["POST"])
def register(booking_id: int):
    try:
        booking, settings = services.open_event(current_user, booking_id)
    except NotFound:
        abort(404)
    form = RegisterForm()
    status = 200
    if request.method == "GET" and current_user.is_authenticated:
        form.name.data, form.email.data = current_user.name, current_user.email
    if form.validate_on_submit():
        try:
            wanted = services.parse_registration(
                {"name": form.name.data, "email": form.email.data, "organisation": form.organisation.data or "",
                 "needs": form.needs.data or ""}, _actor(), locale=str(get_locale() or "nb"))
            registration, _token = services.register(_actor(), booking.id, wanted)
        except services.AlreadyRegistered as exc:  # their own address: what they hold, not an error
            db.session.rollback()
            return render_template("registrations/registered.html", booking=booking, registration=exc.registration,
                                   email=wanted.email, already=True)
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc)
            status = exc.status
        else:
            db.session.commit()
            if not services.registers_self(_actor(), wanted):
                registration = None  # "check your email", whether or not the address was registered already
            return render_template("registrations/registered.html", booking=booking, registration=registration,
                                   email=wanted.email)
    elif request.method == "POST":
        status = 422
    return render_template("registrations/register.html", form=form, booking=booking, settings=settings,
                           is_open=services.is_open(settings)), status


# --- the registrant's link --------------------------------------------------------------------------

def _by_token(token: str):
    try:
        return services.registration_by_token(token)
    except NotFound:
        abort(404)


@registrations_bp.get("/events/registrations/<token>")
def registrant_page(token: str):
    registration = _by_token(token)
    response = make_response(render_template("registrations/mine.html", registration=registration,
                                             booking=registration.booking, token=token, form=ConfirmForm(),
                                             settings=services.settings_of(registration.booking_id)))
    response.headers["Cache-Control"] = "no-store"  # a personal page behind a secret link
    return response


@registrations_bp.post("/events/registrations/<token>/confirm")
def confirm(token: str):
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    _by_token(token)
    try:
        registration = services.confirm_by_token(token)
    except DomainError as exc:
        db.session.rollback()
        registration = _by_token(token)
        return render_template("registrations/mine.html", registration=registration, booking=registration.booking,
                               token=token, form=form, error=exc.message,
                               settings=services.settings_of(registration.booking_id)), exc.status
    db.session.commit()
    flash_success(_("You have a place.") if registration.status == RegistrationStatus.CONFIRMED
                  else _("The event is full: you are on the waitlist."))
    return redirect(url_for("registrations.registrant_page", token=token), 303)


@registrations_bp.post("/events/registrations/<token>/cancel")
def cancel_own(token: str):
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    registration = _by_token(token)
    services.cancel(_actor(), registration, by_registrant=True)
    db.session.commit()
    flash_success(_("Your registration is cancelled."))
    return redirect(url_for("registrations.registrant_page", token=token), 303)


# --- the organiser's pages --------------------------------------------------------------------------

@registrations_bp.route("/bookings/<int:booking_id>/registration", methods=["GET", "POST"])
@login_required
def settings_page(booking_id: int):
    booking, settings = _managed(booking_id)
    if not booking.is_active:
        abort(404)
    form = SettingsForm()
    status = 200
    if request.method == "GET":
        if settings is not None:
            closes = to_local(settings.closes_at)
            form.capacity.data, form.audience.data = settings.capacity, settings.audience.value
        else:
            closes = to_local(booking.start - timedelta(days=1))
            form.capacity.data = booking.attendees if booking.attendees > 1 else None
            form.audience.data = (Audience.PUBLIC.value if booking.visibility == Visibility.PUBLIC
                                  else Audience.PARTNERS.value)
        form.closes_date.data, form.closes_time.data = closes.date(), closes.time().replace(second=0, microsecond=0)
    elif form.validate_on_submit():
        closes_at = local_instant(form.closes_date, form.closes_time)
        if closes_at is not None:
            try:
                wanted = services.parse_settings(
                    {"capacity": form.capacity.data, "closes_at": closes_at, "audience": form.audience.data},
                    end=booking.end, visibility=booking.visibility, prefix="")
                services.open_registration(_actor(), booking, wanted)
            except DomainError as exc:
                db.session.rollback()
                apply_errors(form, exc, {"closes_at": "closes_date"})
                status = exc.status
            else:
                db.session.commit()
                flash_success(_("Registration is saved."))
                return redirect(url_for("bookings.booking_page", booking_id=booking.id), 303)
        else:
            status = 422
    else:
        status = 422
    return render_template("registrations/settings.html", form=form, booking=booking, settings=settings), status


@registrations_bp.get("/bookings/<int:booking_id>/registrations")
@login_required
def list_page(booking_id: int):
    booking, settings = _managed(booking_id)
    return render_template("registrations/list.html", booking=booking, settings=settings, form=ConfirmForm(),
                           registrations=services.registrations_of(booking.id),
                           counts=services.place_counts(booking.id))


@registrations_bp.get("/bookings/<int:booking_id>/registrations/sheet")
@login_required
def sign_in_sheet(booking_id: int):
    booking, settings = _managed(booking_id)
    people = services.registrations_of(booking.id, [RegistrationStatus.CONFIRMED])
    return render_template("registrations/sheet.html", booking=booking, people=sorted(people, key=lambda r: r.name.lower()))


@registrations_bp.post("/bookings/<int:booking_id>/registrations/attendance")
@login_required
def attendance(booking_id: int):
    booking, _settings = _managed(booking_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    present = set(request.form.getlist("present"))
    for registration in services.registrations_of(booking.id, [RegistrationStatus.CONFIRMED]):
        services.mark_attendance(_actor(), registration, str(registration.id) in present)
    db.session.commit()
    flash_success(_("Attendance is saved."))
    return redirect(url_for("registrations.list_page", booking_id=booking.id), 303)


@registrations_bp.post("/bookings/<int:booking_id>/registrations/<int:registration_id>/cancel")
@login_required
def cancel_registration(booking_id: int, registration_id: int):
    booking, _settings = _managed(booking_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        registration = services.registration_of(booking, registration_id)
    except NotFound:
        abort(404)
    promoted = services.cancel(_actor(), registration)
    db.session.commit()
    flash_success(_("The registration is cancelled.") if promoted is None else
                  _("The registration is cancelled; %(name)s moved up from the waitlist.", name=promoted.name))
    return redirect(url_for("registrations.list_page", booking_id=booking.id), 303)
