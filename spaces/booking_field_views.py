"""Administrators' pages for the extra booking fields of each kind of space (layout, catering,
AV, accessibility needs...): a list by kind, a form to add one and a form to change one."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, NumberRange

from accounts.permissions import admin_required
from samskap.errors import DomainError, NotFound
from samskap.extensions import db
from samskap.ids import MAX_ID
from samskap.web import apply_errors, flash_success
from spaces import booking_fields as fields
from spaces import services
from spaces.views import _locale, catalogue_admin_bp

TYPE_LABELS = {
    fields.FieldType.TEXT.value: _l("Text"),
    fields.FieldType.CHOICE.value: _l("Choice from a list"),
    fields.FieldType.BOOLEAN.value: _l("Yes/no"),
    fields.FieldType.NUMBER.value: _l("Number"),
}


class BookingFieldForm(FlaskForm):
    space_kind_id = SelectField(_l("Kind of space"), coerce=int, validate_choice=False)
    label_nb = StringField(_l("Label in Norwegian (bokmål)"))
    label_en = StringField(_l("Label in English"))
    code = StringField(_l("Code"))
    field_type = SelectField(_l("Type"), choices=list(TYPE_LABELS.items()), validate_choice=False)
    choices = TextAreaField(_l("Choices"))
    required = BooleanField(_l("Required: the booking cannot be made without it"))
    position = IntegerField(_l("Order"), default=0, validators=[
        InputRequired(_l("Enter a whole number.")),
        NumberRange(min=0, max=10000, message=_l("Enter a whole number from 0 to 10000."))])
    active = BooleanField(_l("Active (shown in the booking form)"), default=True)

    def service_data(self) -> dict:
        return {"space_kind_id": self.space_kind_id.data, "code": (self.code.data or "").strip(),
                "field_type": self.field_type.data, "label_nb": self.label_nb.data, "label_en": self.label_en.data,
                "choices": fields.parse_choices(self.choices.data), "required": bool(self.required.data),
                "position": self.position.data, "active": bool(self.active.data)}


@catalogue_admin_bp.route("/booking-fields")
@admin_required
def booking_fields():
    kinds = services.space_kinds()
    by_kind = {kind.id: [] for kind in kinds}
    for definition in fields.all_definitions():
        by_kind.setdefault(definition.space_kind_id, []).append(definition)
    return render_template("catalogue_admin/booking_fields.html", kinds=kinds, by_kind=by_kind,
                           type_labels=TYPE_LABELS)


@catalogue_admin_bp.route("/booking-fields/new", methods=["GET", "POST"])
@admin_required
def new_booking_field():
    return _field_form(None)


@catalogue_admin_bp.route("/booking-fields/<int:field_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_booking_field(field_id: int):
    definition = db.session.get(fields.BookingFieldDefinition, field_id) if field_id <= MAX_ID else None
    if definition is None:
        raise NotFound(_("There is no such booking field."))
    return _field_form(definition)


def _field_form(definition):
    form = BookingFieldForm()
    form.space_kind_id.choices = [(0, _("Choose…"))] + [(k.id, k.label(_locale())) for k in services.space_kinds()]
    if definition is not None:
        # The kind, code and type stay: bookings' values are stored under them.
        del form.space_kind_id, form.code, form.field_type
        if request.method == "GET":
            form.label_nb.data, form.label_en.data = definition.label_nb, definition.label_en
            form.choices.data = fields.choices_text(definition.choices)
            form.required.data, form.position.data = definition.required, definition.position
            form.active.data = definition.active
    elif request.method == "GET" and request.args.get("kind", "").isdigit():
        form.space_kind_id.data = int(request.args["kind"])
    status = 200
    if form.validate_on_submit():
        try:
            if definition is None:
                definition = fields.create_definition(current_user, form.service_data())
            else:
                data = {
                    "label_nb": form.label_nb.data, "label_en": form.label_en.data,
                    "choices": fields.parse_choices(form.choices.data), "required": bool(form.required.data),
                    "position": form.position.data, "active": bool(form.active.data)}
                fields.update_definition(current_user, definition, data)
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc)
            status = exc.status
        else:
            db.session.commit()
            flash_success(_("The field %(label)s is saved.", label=definition.label(_locale())))
            return redirect(url_for("catalogue_admin.booking_fields") + f"#kind-{definition.space_kind_id}", 303)
    elif request.method == "POST":
        status = 422
    return render_template("catalogue_admin/booking_field_form.html", form=form, definition=definition,
                           type_labels=TYPE_LABELS), status


def _register() -> None:
    import sqlalchemy as sa

    from samskap.audit_text import ACTIONS, OBJECT_TYPES, ObjectRef, register_audit_object
    from samskap.nav import register_admin_link

    register_admin_link("catalogue_admin.booking_fields", _l("Booking fields"), 35)

    def definitions(ids):
        found = db.session.scalars(sa.select(fields.BookingFieldDefinition)
                                   .where(fields.BookingFieldDefinition.id.in_(ids)))
        return {d.id: ObjectRef(f"{d.label(_locale())} ({d.space_kind.label(_locale())})",
                                url_for("catalogue_admin.edit_booking_field", field_id=d.id)) for d in found}

    register_audit_object("booking_field_definitions", definitions)
    OBJECT_TYPES.setdefault("booking_field_definitions", _l("Booking fields"))
    ACTIONS.setdefault("booking_field.create", (_l("Booking field added"),
                                                _l("%(actor)s added the booking field %(object)s")))
    ACTIONS.setdefault("booking_field.update", (_l("Booking field changed"),
                                                _l("%(actor)s changed the booking field %(object)s")))


_register()


# --- the API: which fields a kind of space asks for --------------------------------------------

def definition_json(definition) -> dict:
    return {"id": definition.id, "code": definition.code, "type": definition.field_type.value,
            "label_nb": definition.label_nb, "label_en": definition.label_en, "choices": definition.choices,
            "required": definition.required, "position": definition.position}


def _register_api() -> None:
    from flask import jsonify

    from samskap.openapi import error_responses, register_paths
    from spaces.api import api_bp
    from spaces.models import SpaceKind

    @api_bp.get("/space-kinds/<int:kind_id>/booking-fields")
    def list_booking_fields(kind_id: int):
        kind = db.session.get(SpaceKind, kind_id) if kind_id <= MAX_ID else None
        if kind is None:
            raise NotFound(_("There is no kind of space with id %(id)d.", id=kind_id))
        return jsonify({"booking_fields": [definition_json(d) for d in fields.definitions_for_kind(kind.id)]})

    register_paths({"/space-kinds/{id}/booking-fields": {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "get": {"summary": "The active extra booking fields of a kind of space, in their order: what a booking's "
                           "`fields` object may and must hold for a space of this kind",
                "responses": {"200": {"description": "{\"booking_fields\": [{id, code, type (text, choice, boolean, "
                                                     "number), label_nb, label_en, choices: [{code, label_nb, "
                                                     "label_en}], required, position}]}"},
                              **error_responses(401, 404)}},
    }})


_register_api()
