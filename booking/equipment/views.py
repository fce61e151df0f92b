"""Equipment reservation pages: reserve, mine, one reservation, the per-type timeline, and the
staff pages (lending desk, check-out, check-in, overdue, approvals).

Each view loads what the user may see (404 otherwise), calls one service, commits once
and renders; rules live in :mod:`booking.equipment.services`.
"""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required

from accounts.forms import ConfirmForm
from accounts.permissions import staff_required
from booking.equipment import services
from booking.equipment.forms import CheckInForm, NoteForm, ReasonForm, RejectForm, ReserveForm
from booking.equipment.permissions import can_cancel, can_handle, can_view
from booking.labels import reservation_status_label, unit_status_phrase
from booking.models import ReservationStatus
from samskap.ids import parse_id
from samskap.errors import Conflict, DomainError, ValidationFailed
from samskap.extensions import db
from samskap.nav import register_nav
from samskap.timeutil import local_to_utc, to_local, utcnow
from samskap.web import apply_errors, flash_success, local_instant
from spaces.models import EquipmentType
from spaces.permissions import reservable_types_clause

equipment_bp = Blueprint("equipment_reservations", __name__)

TIMELINE_DAYS = 28
FIRST_YEAR, LAST_YEAR = 2000, 2100
FIELD_MAP = {"equipment_id": "equipment_type", "start": "start_date", "end": "end_date"}

register_nav("equipment_reservations.mine", _l("My equipment"), "user", order=40)  # the page: My equipment reservations
register_nav("equipment_reservations.desk", _l("Lending desk"), "staff", order=70)


@equipment_bp.context_processor
def labels():
    return {"status_label": reservation_status_label, "unit_status_phrase": unit_status_phrase,
            "reservation_title": services.reservation_title}


def _user():
    return current_user._get_current_object()


def _reservation_or_404(reservation_id: int):
    return services.get_visible_reservation(_user(), reservation_id)  # NotFound renders the 404 page


def _type_choices(user) -> list[tuple[int, str]]:
    types = db.session.scalars(sa.select(EquipmentType).where(reservable_types_clause(user))
                               .order_by(EquipmentType.name)).all()
    return [(t.id, t.name) for t in types]


# --- reserving ---------------------------------------------------------------------------

@equipment_bp.route("/equipment-reservations/new", methods=["GET", "POST"])
@login_required
def new():
    user = _user()
    form = ReserveForm() if request.method == "POST" else ReserveForm(formdata=request.args or None)
    form.equipment_type.choices = _type_choices(user)
    if request.method == "GET" and parse_id(request.args.get("type")):
        form.equipment_type.data = parse_id(request.args["type"])
    shortage = None
    if form.validate_on_submit():
        start = local_instant(form.start_date, form.start_time)
        end = local_instant(form.end_date, form.end_time)
        if start is not None and end is not None:
            try:
                reservation = services.reserve_equipment(user, form.equipment_type.data, form.quantity.data, start,
                                                         end, purpose=form.purpose.data or "")
            except DomainError as exc:
                db.session.rollback()
                if isinstance(exc, Conflict) and "free_now" in exc.details:
                    shortage = exc.details
                    form.quantity.errors = list(form.quantity.errors or []) + [exc.message]  # linked to the field
                else:
                    apply_errors(form, exc, FIELD_MAP)
            else:
                db.session.commit()
                tags = ", ".join(unit.asset_tag for unit in services.allocated_units(reservation))
                if reservation.status == ReservationStatus.PENDING:
                    flash_success(_("Reserved, waiting for approval. Units held for you: %(tags)s.", tags=tags))
                else:
                    flash_success(_("Reserved. Your units: %(tags)s.", tags=tags))
                return redirect(url_for(".detail", reservation_id=reservation.id))
    suggestion = _suggestion(form, shortage)
    status = 200
    if request.method == "POST":
        status = 409 if shortage else 400 if (form.errors or form.form_errors) else 200
    return render_template("equipment_reservations/reserve.html", form=form, shortage=shortage,
                           suggestion=suggestion), status


def _suggestion(form: ReserveForm, shortage: dict | None) -> str | None:
    """A link that fills the form with the same loan moved to when enough units are free."""
    if not shortage or not shortage.get("available_from"):
        return None
    from samskap.timeutil import parse_aware_iso

    start = local_to_utc(form.start_date.data, form.start_time.data)
    end = local_to_utc(form.end_date.data, form.end_time.data)
    new_start = to_local(parse_aware_iso(shortage["available_from"]))
    new_end = to_local(parse_aware_iso(shortage["available_from"]) + (end - start))
    return url_for(".new", type=form.equipment_type.data, quantity=form.quantity.data,
                   start_date=new_start.date().isoformat(), start_time=new_start.strftime("%H:%M"),
                   end_date=new_end.date().isoformat(), end_time=new_end.strftime("%H:%M"),
                   purpose=form.purpose.data or None)


@equipment_bp.route("/equipment-reservations/mine")
@login_required
def mine():
    user = _user()
    reservations = services.visible_reservations(user, organisation_id=user.organisation_id)
    now = utcnow()
    current = [r for r in reservations if r.end > now and r.status in services.HOLDING_STATUSES]
    past = [r for r in reservations if r not in current]
    return render_template("equipment_reservations/mine.html", current=list(reversed(current)), past=past)


@equipment_bp.route("/equipment-reservations/<int:reservation_id>")
@login_required
def detail(reservation_id: int):
    reservation = _reservation_or_404(reservation_id)
    user = _user()
    return render_template(
        "equipment_reservations/detail.html", reservation=reservation, units=services.allocated_units(reservation),
        can_cancel=can_cancel(user, reservation) and reservation.status in services.CANCELLABLE_STATUSES,
        can_handle=can_handle(user), confirm_form=ConfirmForm(), reason_form=ReasonForm(), reject_form=RejectForm(),
    )


@equipment_bp.route("/equipment-reservations/<int:reservation_id>/cancel", methods=["POST"])
@login_required
def cancel(reservation_id: int):
    reservation = _reservation_or_404(reservation_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.cancel_reservation(_user(), reservation)
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    flash_success(_("The reservation is cancelled; the units are free again."))
    return redirect(url_for(".detail", reservation_id=reservation.id))


# --- timeline ----------------------------------------------------------------------------

@equipment_bp.route("/equipment/<int:type_id>/timeline")
@login_required
def timeline(type_id: int):
    user = _user()
    etype = db.session.get(EquipmentType, services.as_id(type_id)) if services.as_id(type_id) is not None else None
    if etype is None or (not etype.active and not can_handle(user)):
        abort(404)
    raw = request.args.get("from", "")
    if raw:
        try:
            first_day = date.fromisoformat(raw)
            if not FIRST_YEAR <= first_day.year <= LAST_YEAR:  # a window of days must fit in a date
                raise ValueError
        except ValueError:
            raise ValidationFailed({"from": _("'%(value)s' is not a date; use yyyy-mm-dd.", value=raw[:20])})
    else:
        first_day = to_local(utcnow()).date()
    days, rows = services.timeline(etype, first_day, TIMELINE_DAYS)
    return render_template(
        "equipment_reservations/timeline.html", etype=etype, days=days, rows=rows, can_view=lambda r: can_view(user, r),
        is_staff=can_handle(user), previous=first_day - timedelta(days=TIMELINE_DAYS),
        following=first_day + timedelta(days=TIMELINE_DAYS), today=to_local(utcnow()).date(),
    )


# --- staff -------------------------------------------------------------------------------

DESK_QUERY_MAX = 100


@equipment_bp.route("/equipment-reservations/desk")
@staff_required
def desk():
    """Loans by what people know them by (borrower, organisation, type, asset tags, days), with
    hand-out and take-back on each row, and a search by asset tag or serial number."""
    text = request.args.get("q", "")[:DESK_QUERY_MAX].strip()
    to_hand_out, out = services.desk_reservations()
    to_hand_out = [r for r in to_hand_out if services.matches_desk_filter(r, text)]
    out = [r for r in out if services.matches_desk_filter(r, text)]
    return render_template("equipment_reservations/desk.html", to_hand_out=to_hand_out, out=out, query=text,
                           found=services.find_units(text) if text else [],
                           overdue_count=len(services.overdue_reservations()),
                           pending_count=len(services.pending_reservations()), now=utcnow(),
                           note_form=NoteForm())


def _back_to_desk() -> bool:
    return request.form.get("return_to") == "desk"


@equipment_bp.route("/equipment-reservations/<int:reservation_id>/check-out", methods=["GET", "POST"])
@staff_required
def check_out(reservation_id: int):
    reservation = _reservation_or_404(reservation_id)
    form = NoteForm()
    early = reservation.start > utcnow() + services.PAST_GRACE
    confirm_early = early and request.method == "POST" and not request.form.get("early")
    if not confirm_early and form.validate_on_submit():
        try:
            services.check_out(_user(), reservation, form.note.data or "")
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            tags = ", ".join(unit.asset_tag for unit in services.allocated_units(reservation))
            flash_success(_("Handed out: %(what)s, to %(organisation)s (%(tags)s).",
                            what=services.reservation_title(reservation), organisation=reservation.organisation.name,
                            tags=tags))
            if _back_to_desk():
                return redirect(url_for(".desk"), 303)
            return redirect(url_for(".detail", reservation_id=reservation.id))
    status = 409 if form.form_errors else 400 if form.errors else 200
    return render_template("equipment_reservations/check_out.html", form=form, reservation=reservation, early=early,
                           return_to=request.form.get("return_to", ""),
                           units=services.allocated_units(reservation)), status


@equipment_bp.route("/equipment-reservations/<int:reservation_id>/check-in", methods=["GET", "POST"])
@staff_required
def check_in(reservation_id: int):
    reservation = _reservation_or_404(reservation_id)
    units = services.allocated_units(reservation)
    form = CheckInForm()
    form.maintenance.choices = [(unit.id, unit.asset_tag) for unit in units]
    if form.validate_on_submit():
        try:
            receipt = services.check_in(_user(), reservation, form.note.data or "", form.maintenance.data or [])
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc, {"maintenance_unit_ids": "maintenance"})
        else:
            db.session.commit()
            flash_success(_("Taken back: %(what)s. Each unit is blocked for cleaning until %(when)s.",
                            what=services.reservation_title(reservation),
                            when=services.format_local(reservation.returned_at + timedelta(
                                hours=reservation.equipment_type.turnaround_hours))))
            for notice in receipt.notices:
                flash_success(notice)
            if _back_to_desk():
                return redirect(url_for(".desk"), 303)
            return redirect(url_for(".detail", reservation_id=reservation.id))
    status = 409 if form.form_errors else 400 if form.errors else 200
    return render_template("equipment_reservations/check_in.html", form=form, reservation=reservation,
                           units=units), status


@equipment_bp.route("/equipment-reservations/overdue")
@staff_required
def overdue():
    return render_template("equipment_reservations/overdue.html", reservations=services.overdue_reservations(),
                           now=utcnow())


@equipment_bp.route("/equipment-reservations/approvals")
@staff_required
def approvals():
    return render_template("equipment_reservations/approvals.html", reservations=services.pending_reservations(),
                           reason_form=ReasonForm(), reject_form=RejectForm())


@equipment_bp.route("/equipment-reservations/<int:reservation_id>/approve", methods=["POST"])
@staff_required
def approve(reservation_id: int):
    reservation = _reservation_or_404(reservation_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        raise ValidationFailed({"reason": _("The reason can be at most %(n)d characters long.", n=500)})
    try:
        services.approve_reservation(_user(), reservation, form.reason.data or "")
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    flash_success(_("Reservation %(id)d is approved.", id=reservation.id))
    return redirect(url_for(".approvals"))


@equipment_bp.route("/equipment-reservations/<int:reservation_id>/reject", methods=["POST"])
@staff_required
def reject(reservation_id: int):
    reservation = _reservation_or_404(reservation_id)
    form = RejectForm()
    try:
        if not form.validate_on_submit():
            raise ValidationFailed({"reason": _("Say why the reservation is rejected.")})
        services.reject_reservation(_user(), reservation, form.reason.data)
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    flash_success(_("Reservation %(id)d is rejected.", id=reservation.id))
    return redirect(url_for(".approvals"))
