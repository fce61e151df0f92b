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
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, TextAreaField
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


def set_organisation_choices(form, own) -> None:
    """Every active organisation but ``own`` (the booker's; a user stands for their organisation)."""
    own_id = own.organisation_id if hasattr(own, "organisation_id") else own.id
    organisations = db.session.scalars(sa.select(Organisation).where(Organisation.active.is_(True),
                                                                     Organisation.id != own_id)
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
    """A booking's participants as the form's text (users by their name and address)."""
    lines = []
    for p in people:
        name, address = (p.user.name, p.user.email) if p.user is not None else (p.name, p.email)
        lines.append(f"{name} <{address}>" if name else address)
    return "\n".join(lines)


def prefill(form, booking) -> None:
    """The edit form's participants and field values from the booking."""
    from booking.fields import fields_json
    from booking.participants import organisations_of, people_of

    form.participant_organisations.data = [p.organisation_id for p in organisations_of(booking)]
    form.participant_people.data = people_to_text(people_of(booking))
    values = fields_json(booking)
    for d in form.booking_definitions:
        if d.space_kind_id == booking.space.kind_id and d.code in values:
            form[f"{PREFIX}{d.id}"].data = values[d.code]


def extras_data(form, space_id, booking=None) -> dict:
    """The form's participants and the chosen space's field values, shaped as the API's body. On
    the edit page a line with the address of a user already on the list stays that user."""
    space = db.session.get(Space, space_id) if space_id else None
    values = {}
    if space is not None:
        for d in form.booking_definitions:
            if d.space_kind_id != space.kind_id:
                continue
            data = form[f"{PREFIX}{d.id}"].data
            if d.field_type == FieldType.BOOLEAN:
                values[d.code] = bool(data)
            else:  # every field of the kind is on the form: an empty one clears the value
                values[d.code] = (data.strip() or None) if isinstance(data, str) else data
    people = people_from_text(form.participant_people.data)
    if booking is not None:
        from booking.participants import people_of

        users = {p.user.email.lower(): p.user_id for p in people_of(booking) if p.user is not None}
        people = [{"user_id": users[p["email"].strip().lower()]} if p["email"].strip().lower() in users else p
                  for p in people]
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
