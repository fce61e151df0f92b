"""Browser pages of the catalogue: browsing spaces and equipment for every signed-in
user, and the administrators' pages for spaces, kinds, closures, equipment types and units.

Each view loads (404 when absent or not visible), authorises, calls one service,
commits once and renders.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required

from accounts.forms import ConfirmForm
from accounts.permissions import admin_required, is_admin
from samskap.ids import parse_count, parse_id
from samskap.audit import AuditEntry
from samskap.errors import DomainError, NotFound, ValidationFailed
from samskap.extensions import db
from samskap.timeutil import to_local, utcnow
from samskap.web import apply_errors, flash_success
from spaces import services, usage
from spaces.forms import (CATEGORY_LABELS, STATUS_LABELS, ClosureForm, EquipmentTypeForm, SpaceFilterForm, SpaceForm,
                          SpaceKindForm, UnitForm, UnitStatusForm)
from spaces.hours import weekday_label
from spaces.models import WEEKDAYS, Closure, EquipmentType, EquipmentUnit, Space, UnitStatus
from spaces.permissions import can_book, can_reserve

spaces_bp = Blueprint("spaces", __name__)
catalogue_admin_bp = Blueprint("catalogue_admin", __name__, url_prefix="/admin")


def _actor():
    return current_user._get_current_object()


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "nb")


@spaces_bp.app_context_processor
def catalogue_helpers():
    return {"category_label": lambda value: CATEGORY_LABELS.get(value, value),
            "unit_status_label": lambda value: STATUS_LABELS.get(value, value),
            "weekday_label": weekday_label,
            "WEEKDAYS": WEEKDAYS}


# --- browsing spaces --------------------------------------------------------------------------

@spaces_bp.route("/spaces")
@login_required
def index():
    form = SpaceFilterForm(formdata=request.args)
    kinds = services.space_kinds()
    form.kind.choices = [("", _("All kinds"))] + [(k.code, k.label(_locale())) for k in kinds]
    filters = services.SpaceFilters(kind=form.kind.data or None, bookable_by_me=bool(form.bookable_by_me.data))
    status = 200
    raw_capacity = (form.min_capacity.data or "").strip()
    if raw_capacity:
        capacity = parse_count(raw_capacity, maximum=100_000)
        if capacity is not None:
            filters.min_capacity = capacity
        else:
            form.min_capacity.errors = [_("'%(value)s' is not a whole number.", value=raw_capacity)]
            status = 400
    if form.kind.data and form.kind.data not in {k.code for k in kinds}:
        form.kind.errors = [_("Unknown kind of space '%(kind)s'.", kind=form.kind.data)]
        status = 400
    spaces = services.list_spaces(_actor(), filters) if status == 200 else []
    return render_template("spaces/list.html", form=form, spaces=spaces,
                           bookable=lambda s: can_book(current_user, s)), status


_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
FIRST_YEAR, LAST_YEAR = 2000, 2100


def _requested_monday() -> date:
    """The Monday of ``?week=YYYY-Www`` or of ``?date=YYYY-MM-DD``; this week by default."""
    week, day = request.args.get("week"), request.args.get("date")
    try:
        if week:
            match = _WEEK.match(week.strip())
            if not match:
                raise ValueError
            monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
        elif day:
            monday = services.week_monday(date.fromisoformat(day.strip()))
        else:
            return services.week_monday(to_local(utcnow()).date())
        if not FIRST_YEAR <= monday.year <= LAST_YEAR:  # far enough from date's limits for a week's arithmetic
            raise ValueError
        return monday
    except ValueError:
        raise DomainError(_("Give the week as YYYY-Www (for example 2026-W48) or a date as YYYY-MM-DD."))


def _iso_week(day: date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


@spaces_bp.route("/spaces/<slug>")
@login_required
def detail(slug: str):
    space = services.visible_space(_actor(), slug=slug)
    if space is None:
        raise NotFound(_("There is no such space."))
    monday = _requested_monday()
    days = usage.week_at_a_glance(_actor(), space, monday)
    closures = services.closures_between(space, utcnow(), utcnow() + timedelta(days=365))
    return render_template(
        "spaces/detail.html", space=space, days=days, monday=monday, week=_iso_week(monday),
        previous_week=_iso_week(monday - timedelta(days=7)), next_week=_iso_week(monday + timedelta(days=7)),
        this_week=_iso_week(services.week_monday(to_local(utcnow()).date())), closures=closures,
        bookable=can_book(current_user, space), kind_name=space.kind.label(_locale()),
    )


# --- browsing equipment -----------------------------------------------------------------------

@spaces_bp.route("/equipment")
@login_required
def equipment():
    types = services.list_equipment_types(_actor())
    return render_template("spaces/equipment_list.html", types=types,
                           counts=services.unit_counts(t.id for t in types), empty=services.UnitCounts())


@spaces_bp.route("/equipment/<int:type_id>")
@login_required
def equipment_detail(type_id: int):
    etype = services.visible_equipment_type(_actor(), type_id)
    if etype is None:
        raise NotFound(_("There is no such equipment."))
    units = [u for u in etype.units if u.status != UnitStatus.RETIRED or is_admin(current_user)]
    return render_template("spaces/equipment_detail.html", etype=etype, units=units,
                           counts=services.unit_counts([etype.id]).get(etype.id, services.UnitCounts()),
                           allocations=usage.current_allocations(units),
                           reservable=can_reserve(current_user, etype))


# --- administration: spaces and kinds ---------------------------------------------------------

def _history(obj) -> list[AuditEntry]:
    return db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.object_type == obj.__tablename__, AuditEntry.object_id == obj.id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(50)
    ).all()


@catalogue_admin_bp.route("/spaces")
@admin_required
def spaces():
    all_spaces = services.list_spaces(_actor(), services.SpaceFilters(include_inactive=True))
    return render_template("catalogue_admin/spaces.html", spaces=all_spaces, kinds=services.space_kinds(),
                           kind_form=SpaceKindForm(), confirm_form=ConfirmForm())


@catalogue_admin_bp.route("/space-kinds/new", methods=["POST"])
@admin_required
def new_space_kind():
    form = SpaceKindForm()
    if form.validate_on_submit():
        try:
            kind = services.create_space_kind(_actor(), {"code": form.code.data, "name_nb": form.name_nb.data,
                                                         "name_en": form.name_en.data})
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash_success(_("The kind %(name)s is added.", name=kind.label(_locale())))
            return redirect(url_for("catalogue_admin.spaces"))
    all_spaces = services.list_spaces(_actor(), services.SpaceFilters(include_inactive=True))
    return render_template("catalogue_admin/spaces.html", spaces=all_spaces, kinds=services.space_kinds(),
                           kind_form=form, confirm_form=ConfirmForm()), 400


@catalogue_admin_bp.route("/spaces/new", methods=["GET", "POST"])
@admin_required
def new_space():
    return _space_form(None)


@catalogue_admin_bp.route("/spaces/<int:space_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_space(space_id: int):
    return _space_form(db.get_or_404(Space, space_id))


def _space_form(space: Space | None):
    form = SpaceForm()
    form.kind.choices = [("", _("Choose…"))] + [(k.code, k.label(_locale())) for k in services.space_kinds()]
    form.label_weekdays()
    if request.method == "GET":
        if space is not None:
            form.fill_from(space)
        else:
            form.bookable_by.data = list(services.ALL_ORG_KINDS)
            form.requires_approval.data = False
    if form.validate_on_submit():
        try:
            data = _space_data(form, space)
            if space is None:
                space = services.create_space(_actor(), data)
            else:
                services.update_space(_actor(), space, data)
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash_success(_("The space %(name)s is saved.", name=space.name))
            return redirect(url_for("catalogue_admin.spaces"))
    status = 400 if request.method == "POST" else 200
    history = _history(space) if space is not None and space.id else []
    return render_template("catalogue_admin/space_form.html", form=form, space=space, history=history,
                           confirm_form=ConfirmForm()), status


def _space_data(form: SpaceForm, space: Space | None) -> dict:
    """The form's values for the service. When the weekday hours cannot be read, the other
    fields are checked too, so that every problem is shown at once."""
    try:
        return form.service_data()
    except ValidationFailed as hours_error:
        fields = dict(hours_error.fields)
        try:
            services.check_space_input(form.service_data(with_hours=False), space)
        except ValidationFailed as other:
            fields = {**other.fields, **fields}
        raise ValidationFailed(fields) from hours_error


@catalogue_admin_bp.route("/spaces/<int:space_id>/deactivate", methods=["POST"])
@admin_required
def deactivate_space(space_id: int):
    space = db.get_or_404(Space, space_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.deactivate_space(_actor(), space)
    db.session.commit()
    flash_success(_("%(name)s is deactivated. Its bookings and history are kept.", name=space.name))
    return redirect(url_for("catalogue_admin.spaces"))


# --- administration: closures -----------------------------------------------------------------

def _closure_choices():
    return [("", _("The whole workshop"))] + [
        (str(s.id), s.name) for s in services.list_spaces(_actor(), services.SpaceFilters(include_inactive=True))]


@catalogue_admin_bp.route("/closures")
@admin_required
def closures():
    include_past = request.args.get("past") == "1"
    return render_template("catalogue_admin/closures.html", closures=services.list_closures(include_past=include_past),
                           include_past=include_past, confirm_form=ConfirmForm())


@catalogue_admin_bp.route("/closures/new", methods=["GET", "POST"])
@admin_required
def new_closure():
    form = ClosureForm()
    form.space_id.choices = _closure_choices()
    if request.method == "GET" and parse_id(request.args.get("space")):
        form.space_id.data = request.args["space"].strip()
    if form.validate_on_submit():
        try:
            space = None
            if form.space_id.data:
                space_id = parse_id(form.space_id.data)
                space = db.session.get(Space, space_id) if space_id else None
                if space is None:
                    raise ValidationFailed({"space_id": _("Choose an existing space or the whole workshop.")})
            start, end = form.period()
            closure = services.add_closure(_actor(), space, start, end, form.reason.data)
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc, {"start": "start_date", "end": "end_date"})
        else:
            db.session.commit()
            flash_success(_("The closure is saved."))
            return redirect(url_for("catalogue_admin.closure", closure_id=closure.id))
    status = 400 if request.method == "POST" else 200
    return render_template("catalogue_admin/closure_form.html", form=form), status


@catalogue_admin_bp.route("/closures/<int:closure_id>")
@admin_required
def closure(closure_id: int):
    item = db.get_or_404(Closure, closure_id)
    return render_template("catalogue_admin/closure.html", closure=item, bookings=usage.bookings_in_closure(item),
                           confirm_form=ConfirmForm())


@catalogue_admin_bp.route("/closures/<int:closure_id>/delete", methods=["POST"])
@admin_required
def delete_closure(closure_id: int):
    item = db.get_or_404(Closure, closure_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.remove_closure(_actor(), item)
    db.session.commit()
    flash_success(_("The closure is removed."))
    return redirect(url_for("catalogue_admin.closures"))


# --- administration: equipment types and units ------------------------------------------------

@catalogue_admin_bp.route("/equipment")
@admin_required
def equipment_types():
    types = services.list_equipment_types(_actor(), include_inactive=True)
    return render_template("catalogue_admin/equipment.html", types=types,
                           counts=services.unit_counts(t.id for t in types), empty=services.UnitCounts())


@catalogue_admin_bp.route("/equipment/new", methods=["GET", "POST"])
@admin_required
def new_equipment_type():
    return _equipment_type_form(None)


@catalogue_admin_bp.route("/equipment/<int:type_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_equipment_type(type_id: int):
    return _equipment_type_form(db.get_or_404(EquipmentType, type_id))


def _equipment_type_form(etype: EquipmentType | None):
    form = EquipmentTypeForm()
    if request.method == "GET":
        if etype is not None:
            for name in ("name", "description", "max_loan_days", "turnaround_hours", "bookable_by",
                         "requires_approval", "active"):
                getattr(form, name).data = getattr(etype, name)
            form.category.data = etype.category.value
        else:
            form.bookable_by.data = list(services.ALL_ORG_KINDS)
    if form.validate_on_submit():
        try:
            if etype is None:
                etype = services.create_equipment_type(_actor(), form.service_data())
            else:
                services.update_equipment_type(_actor(), etype, form.service_data())
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash_success(_("%(name)s is saved.", name=etype.name))
            return redirect(url_for("catalogue_admin.equipment_type", type_id=etype.id))
    status = 400 if request.method == "POST" else 200
    return render_template("catalogue_admin/equipment_form.html", form=form, etype=etype,
                           history=_history(etype) if etype is not None and etype.id else []), status


@catalogue_admin_bp.route("/equipment/<int:type_id>")
@admin_required
def equipment_type(type_id: int):
    etype = db.get_or_404(EquipmentType, type_id)
    return render_template("catalogue_admin/equipment_type.html", etype=etype, units=etype.units,
                           allocations=usage.current_allocations(etype.units), confirm_form=ConfirmForm())


def _home_space_choices():
    return [("", _("None"))] + [
        (str(s.id), s.name) for s in services.list_spaces(_actor(), services.SpaceFilters(include_inactive=True))]


@catalogue_admin_bp.route("/equipment/<int:type_id>/units/new", methods=["GET", "POST"])
@admin_required
def new_unit(type_id: int):
    etype = db.get_or_404(EquipmentType, type_id)
    return _unit_form(etype, None)


@catalogue_admin_bp.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_unit(unit_id: int):
    unit = db.get_or_404(EquipmentUnit, unit_id)
    return _unit_form(unit.equipment_type, unit)


def _unit_form(etype: EquipmentType, unit: EquipmentUnit | None):
    form = UnitForm()
    form.home_space_id.choices = _home_space_choices()
    if request.method == "GET" and unit is not None:
        form.asset_tag.data, form.serial.data = unit.asset_tag, unit.serial
        form.home_space_id.data = str(unit.home_space_id or "")
    if form.validate_on_submit():
        data = {"asset_tag": form.asset_tag.data, "serial": form.serial.data or "",
                "home_space_id": form.home_space_id.data or None}
        try:
            if unit is None:
                unit = services.add_unit(_actor(), etype, {**data, "status": form.status.data or "available",
                                                           "status_note": form.status_note.data or ""})
            else:
                services.update_unit(_actor(), unit, data)
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash_success(_("Unit %(tag)s is saved.", tag=unit.asset_tag))
            return redirect(url_for("catalogue_admin.equipment_type", type_id=etype.id))
    status = 400 if request.method == "POST" else 200
    return render_template("catalogue_admin/unit_form.html", form=form, etype=etype, unit=unit,
                           history=_history(unit) if unit is not None and unit.id else []), status


_STATUS_ACTIONS = {
    "maintenance": (services.set_maintenance, _l("Put unit %(tag)s in maintenance"),
                    _l("Unit %(tag)s is in maintenance and will not be offered for reservation.")),
    "maintenance-done": (services.clear_maintenance, _l("Maintenance of unit %(tag)s is done"),
                         _l("Unit %(tag)s is available again.")),
    "retire": (services.retire_unit, _l("Retire unit %(tag)s"),
               _l("Unit %(tag)s is retired. Its loan history is kept.")),
}


@catalogue_admin_bp.route("/units/<int:unit_id>/<any(maintenance, 'maintenance-done', retire):action>",
                          methods=["GET", "POST"])
@admin_required
def unit_status(unit_id: int, action: str):
    unit = db.get_or_404(EquipmentUnit, unit_id)
    service, title, done = _STATUS_ACTIONS[action]
    form = UnitStatusForm()
    if form.validate_on_submit():
        try:
            service(_actor(), unit, form.note.data or "")
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash_success(str(done) % {"tag": unit.asset_tag})
            return redirect(url_for("catalogue_admin.equipment_type", type_id=unit.equipment_type_id))
    status = 400 if request.method == "POST" else 200
    return render_template("catalogue_admin/unit_status.html", form=form, unit=unit, action=action,
                           title=str(title) % {"tag": unit.asset_tag},
                           allocations=usage.coming_allocations(unit)), status


def _register_navigation():
    from samskap.nav import register_admin_link, register_nav

    register_nav("spaces.index", _l("Spaces"), "user", 20)
    register_nav("spaces.equipment", _l("Equipment"), "user", 30)
    register_admin_link("catalogue_admin.spaces", _l("Spaces"), 30)
    register_admin_link("catalogue_admin.closures", _l("Closures"), 40)
    register_admin_link("catalogue_admin.equipment_types", _l("Equipment"), 50)


_register_navigation()


def _register_audit_names():
    """How the audit log names spaces, closures and equipment, and reads their values."""
    from flask_babel import get_locale

    from samskap.audit_text import ObjectRef, register_audit_object, register_audit_value
    from samskap.i18n import local_datetime_text
    from spaces.models import SpaceKind

    def spaces(ids):
        rows = db.session.execute(sa.select(Space.id, Space.name, Space.slug).where(Space.id.in_(ids)))
        return {i: ObjectRef(name, url_for("spaces.detail", slug=slug)) for i, name, slug in rows}

    def closures(ids):
        found = db.session.scalars(sa.select(Closure).where(Closure.id.in_(ids)))
        refs = {}
        for c in found:
            where = c.space.name if c.space_id is not None else _("the whole workshop")
            label = _("%(where)s, %(start)s–%(end)s (%(reason)s)", where=where,
                      start=local_datetime_text(c.start, "day"), end=local_datetime_text(c.end, "day"), reason=c.reason)
            refs[c.id] = ObjectRef(label, url_for("catalogue_admin.closure", closure_id=c.id))
        return refs

    def kinds(ids):
        locale = str(get_locale() or "nb")
        found = db.session.scalars(sa.select(SpaceKind).where(SpaceKind.id.in_(ids)))
        return {k.id: ObjectRef(k.label(locale)) for k in found}

    def equipment_types(ids):
        rows = db.session.execute(sa.select(EquipmentType.id, EquipmentType.name).where(EquipmentType.id.in_(ids)))
        return {i: ObjectRef(name, url_for("spaces.equipment_detail", type_id=i)) for i, name in rows}

    def units(ids):
        rows = db.session.execute(sa.select(EquipmentUnit.id, EquipmentUnit.asset_tag, EquipmentUnit.equipment_type_id)
                                  .where(EquipmentUnit.id.in_(ids)))
        return {i: ObjectRef(tag, url_for("catalogue_admin.equipment_type", type_id=t)) for i, tag, t in rows}

    def space_name(value):
        return db.session.scalar(sa.select(Space.name).where(Space.id == int(value))) or f"#{value}"

    def kind_name(value):
        kind = db.session.get(SpaceKind, int(value))
        return kind.label(str(get_locale() or "nb")) if kind else f"#{value}"

    register_audit_object("spaces", spaces)
    register_audit_object("closures", closures)
    register_audit_object("space_kinds", kinds)
    register_audit_object("equipment_types", equipment_types)
    register_audit_object("equipment_units", units)
    register_audit_value("space_id", space_name)
    register_audit_value("home_space_id", space_name)
    register_audit_value("kind_id", kind_name)
    register_audit_value("category", lambda value: str(CATEGORY_LABELS[value]))
    register_audit_value("status", lambda value: str(STATUS_LABELS[value]), object_type="equipment_units")


_register_audit_names()
