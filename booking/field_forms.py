"""The booking form's part for participants and for the extra fields of each kind of space.

The form carries the fields of every kind of space it offers (``bf_<definition id>``), grouped by
kind; a small script shows only the group of the chosen space's kind (without JavaScript every
group shows, each under its kind's name). Only the chosen space's kind is checked, by the same
rule the API uses (:func:`booking.fields.clean_fields`), and its messages land on the fields.
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from accounts.models import Organisation
from booking.fields import MAX_NUMBER, MAX_TEXT
from samskap.extensions import db
from spaces.booking_fields import BookingFieldDefinition, FieldType
from spaces.models import Space

PREFIX = "bf_"
_NAMED = re.compile(r"^\s*(?P<name>[^<]*?)\s*<(?P<email>[^>]*)>\s*$")


class _Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class _RequiredFlag:
    """Marks a field required (label star, ``required`` attribute for assistive technology) without
    checking it here: only the chosen space's kind's fields are required, which the service checks."""

    field_flags = {"required": True}

    def __call__(self, form, field):
        return None


def _field(definition: BookingFieldDefinition, locale: str):
    label = definition.label(locale)
    flags = [_RequiredFlag()] if definition.required and definition.field_type != FieldType.BOOLEAN else []
    if definition.field_type == FieldType.BOOLEAN:
        return BooleanField(label)
    if definition.field_type == FieldType.NUMBER:
        return IntegerField(label, validators=[Optional(), *flags, NumberRange(
            min=0, max=MAX_NUMBER, message=_l("Enter a whole number from 0 to %(max)d.", max=MAX_NUMBER))],
            render_kw={"min": 0, "inputmode": "numeric"})
    if definition.field_type == FieldType.CHOICE:
        choices = [("", _("Choose…"))] + [(c["code"], c["label_en"] if locale == "en" else c["label_nb"])
                                          for c in definition.choices]
        return SelectField(label, choices=choices, validate_choice=False, validators=flags)
    return TextAreaField(label, validators=flags, render_kw={"rows": 2, "maxlength": MAX_TEXT})


def offered_definitions(spaces: list[Space]) -> list[BookingFieldDefinition]:
    kind_ids = sorted({s.kind_id for s in spaces})
    if not kind_ids:
        return []
    return list(db.session.scalars(
        sa.select(BookingFieldDefinition)
        .where(BookingFieldDefinition.space_kind_id.in_(kind_ids), BookingFieldDefinition.active.is_(True))
        .order_by(BookingFieldDefinition.space_kind_id, BookingFieldDefinition.position, BookingFieldDefinition.id)))


def with_extras(form_class, definitions: list[BookingFieldDefinition], locale: str):
    """``form_class`` plus the participant fields and one field per definition."""
    attributes = {f"{PREFIX}{d.id}": _field(d, locale) for d in definitions}
    attributes["participant_organisations"] = _Checkboxes(_l("Other organisations taking part"), coerce=int,
                                                          validate_choice=False)
    attributes["participant_people"] = TextAreaField(_l("Participants to invite by email"),
                                                     render_kw={"rows": 3, "autocomplete": "off"})
    form_class = type(form_class.__name__ + "WithExtras", (form_class,), attributes)
    form_class.booking_definitions = definitions
    return form_class


def set_organisation_choices(form, user) -> None:
    organisations = db.session.scalars(sa.select(Organisation).where(Organisation.active.is_(True),
                                                                     Organisation.id != user.organisation_id)
                                       .order_by(Organisation.name))
    form.participant_organisations.choices = [(o.id, o.name) for o in organisations]


def groups(form) -> list[tuple]:
    """(kind, [form fields]) for the template, in the definitions' order."""
    result: dict[int, tuple] = {}
    for d in form.booking_definitions:
        result.setdefault(d.space_kind_id, (d.space_kind, []))[1].append(form[f"{PREFIX}{d.id}"])
    return list(result.values())


def people_from_text(text: str) -> list[dict]:
    """One person a line: ``kari@example.no`` or ``Kari Nordmann <kari@example.no>`` (commas and
    semicolons separate too)."""
    people = []
    for line in re.split(r"[\n;,]", text or ""):
        if not line.strip():
            continue
        match = _NAMED.match(line)
        if match:
            people.append({"email": match["email"].strip(), "name": match["name"].strip().strip('"')})
        else:
            people.append({"email": line.strip()})
    return people


def people_to_text(people: list) -> str:
    return "\n".join(f"{p.name} <{p.email}>" if p.name else p.email for p in people if p.email)


def extras_data(form, space_id) -> dict:
    """The form's participants and the chosen space's field values, shaped as the API's body."""
    space = db.session.get(Space, space_id) if space_id else None
    values = {}
    if space is not None:
        for d in form.booking_definitions:
            if d.space_kind_id != space.kind_id:
                continue
            data = form[f"{PREFIX}{d.id}"].data
            if d.field_type == FieldType.BOOLEAN:
                values[d.code] = bool(data)
            elif data not in (None, ""):
                values[d.code] = data.strip() if isinstance(data, str) else data
    people = people_from_text(form.participant_people.data)
    return {"space_id": space_id, "fields": values,
            "participants": {"organisation_ids": list(form.participant_organisations.data or []),
                             "people": people}}


def error_map(form, space_id) -> dict:
    """Names in the service's messages -> the form's fields."""
    names = {"participants": "participant_people", "participants.people": "participant_people",
             "participants.organisation_ids": "participant_organisations"}
    for index in range(len(people_from_text(form.participant_people.data)) + 1):
        for key in ("", ".email", ".name", ".user_id"):
            names[f"participants.people[{index}]{key}"] = "participant_people"
    for index in range(len(form.participant_organisations.data or []) + 1):
        names[f"participants.organisation_ids[{index}]"] = "participant_organisations"
    space = db.session.get(Space, space_id) if space_id else None
    for d in form.booking_definitions:
        if space is not None and d.space_kind_id == space.kind_id:
            names[f"fields.{d.code}"] = f"{PREFIX}{d.id}"
    return names
