"""The values a booking gives for the extra fields of its space's kind (room layout, catering, AV,
accessibility needs...), which administrators define (:mod:`spaces.booking_fields`).

In the API they are the booking's ``fields`` object, keyed by each field's code::

    "fields": {"layout": "u_shape", "catering": true, "av_needs": "Two microphones", "tables": 6}

Text is a string, a choice one of its choice codes, yes/no ``true`` or ``false``, a number a whole
number from 0. A key the space's kind does not define, a value of the wrong type or a required
field left out answers 422 with a message per field (``fields.layout``). The values are checked
before the booking is written, so a bad ``fields`` never leaves a half-made booking.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.models import Booking
from samskap import audit
from samskap.errors import ValidationFailed
from samskap.extensions import db
from spaces.booking_fields import BookingFieldDefinition, FieldType, definitions_for_kind
from spaces.models import Space

MAX_TEXT = 2000
MAX_NUMBER = 100_000


class BookingFieldValue(db.Model):
    __tablename__ = "booking_field_values"

    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True)
    definition_id: Mapped[int] = mapped_column(sa.ForeignKey("booking_field_definitions.id"), primary_key=True,
                                               index=True)
    value: Mapped[object] = mapped_column(sa.JSON(), nullable=False)

    definition: Mapped[BookingFieldDefinition] = relationship(lazy="joined")


def _check_value(definition: BookingFieldDefinition, value, errors: dict, key: str):
    """The value as stored, or None after putting a message in ``errors``."""
    kind = definition.field_type
    if kind == FieldType.TEXT:
        if not isinstance(value, str):
            errors[key] = _("Give text.")
        elif len(value.strip()) > MAX_TEXT:
            errors[key] = _("At most %(n)d characters.", n=MAX_TEXT)
        else:
            return value.strip()
    elif kind == FieldType.BOOLEAN:
        if not isinstance(value, bool):
            errors[key] = _("Give true or false.")
        else:
            return value
    elif kind == FieldType.NUMBER:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_NUMBER:
            errors[key] = _("Give a whole number from 0 to %(n)d.", n=MAX_NUMBER)
        else:
            return value
    elif kind == FieldType.CHOICE:
        if not isinstance(value, str) or value not in definition.choice_codes:
            errors[key] = _("Choose one of: %(choices)s.", choices=", ".join(definition.choice_codes))
        else:
            return value
    return None


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_fields(space: Space, given, *, current: dict | None = None, check_required: bool = True,
                 prefix: str = "fields") -> dict[str, object]:
    """Check ``given`` (the API's ``fields`` object, or the form's values) against the fields of
    ``space``'s kind; return ``{code: value}`` to store (``current`` values kept unless given; a
    value given as null or empty removes it). Raises ValidationFailed naming each bad field."""
    if given is not None and not isinstance(given, dict):
        raise ValidationFailed({prefix: _("'fields' must be an object keyed by each field's code.")})
    definitions = {d.code: d for d in definitions_for_kind(space.kind_id)}
    errors: dict[str, str] = {}
    values = {code: value for code, value in (current or {}).items() if code in definitions}
    for code, value in (given or {}).items():
        key = f"{prefix}.{code}"
        definition = definitions.get(code)
        if definition is None:
            errors[key] = _("%(space)s has no field '%(code)s'.", space=space.name, code=str(code)[:64])
            continue
        if _empty(value):
            values.pop(code, None)
            continue
        checked = _check_value(definition, value, errors, key)
        if checked is not None:
            values[code] = checked
    if check_required:
        for code, definition in definitions.items():
            if definition.required and code not in values and f"{prefix}.{code}" not in errors:
                errors[f"{prefix}.{code}"] = _("'%(label)s' is required for %(space)s.",
                                               label=definition.label(_locale()), space=space.name)
    if errors:
        raise ValidationFailed(errors)
    return values


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "nb")


def values_of(booking: Booking) -> list[BookingFieldValue]:
    return list(db.session.scalars(
        sa.select(BookingFieldValue).join(BookingFieldDefinition)
        .where(BookingFieldValue.booking_id == booking.id)
        .order_by(BookingFieldDefinition.position, BookingFieldDefinition.id)))


def values_by_booking(ids) -> dict[int, dict]:
    """:func:`fields_json` for many bookings in one query, by booking id (codes in the fields' order)."""
    found: dict[int, dict] = {}
    rows = db.session.execute(
        sa.select(BookingFieldValue.booking_id, BookingFieldDefinition.code, BookingFieldValue.value)
        .join(BookingFieldDefinition, BookingFieldDefinition.id == BookingFieldValue.definition_id)
        .where(BookingFieldValue.booking_id.in_(list(ids)))
        .order_by(BookingFieldValue.booking_id, BookingFieldDefinition.position, BookingFieldDefinition.id))
    for booking_id, code, value in rows:
        found.setdefault(booking_id, {})[code] = value
    return found


def fields_json(booking: Booking) -> dict:
    """The booking's ``fields`` object: ``{code: value}``."""
    return {row.definition.code: row.value for row in values_of(booking)}


def apply_fields(actor, bookings: list[Booking], values: dict | None) -> None:
    """Store ``values`` (already checked by :func:`clean_fields`) on each booking, replacing what it
    had; values of another kind's fields (the booking moved to a space of another kind) go."""
    if values is None:
        return
    for booking in bookings:
        definitions = {d.code: d for d in definitions_for_kind(booking.space.kind_id, active_only=False)}
        current = {row.definition_id: row for row in db.session.scalars(
            sa.select(BookingFieldValue).where(BookingFieldValue.booking_id == booking.id))}
        before = fields_json(booking) if current else {}
        wanted = {definitions[code].id: value for code, value in values.items() if code in definitions}
        for definition_id, row in current.items():
            if definition_id not in wanted:
                db.session.delete(row)
            elif row.value != wanted[definition_id]:
                row.value = wanted[definition_id]
        for definition_id, value in wanted.items():
            if definition_id not in current:
                db.session.add(BookingFieldValue(booking_id=booking.id, definition_id=definition_id, value=value))
        db.session.flush()
        after = {code: value for code, value in values.items() if code in definitions}
        if after != before:
            audit.record(actor, "booking.fields", booking,
                         changes={"fields": [_audit_text(before), _audit_text(after)]})


def _audit_text(values: dict) -> str:
    return "; ".join(f"{code}={value}" for code, value in values.items())


@dataclass
class ShownValue:
    label: str
    text: str


def shown_values(booking: Booking, locale: str) -> list[ShownValue]:
    """The booking's field values as people read them (labels and choices in ``locale``)."""
    return [ShownValue(row.definition.label(locale), display(row.definition, row.value, locale))
            for row in values_of(booking)]


def shown_values_by_booking(bookings, locale: str) -> dict[int, list[ShownValue]]:
    """:func:`shown_values` for many bookings in one query (the day sheet)."""
    ids = [b.id for b in bookings]
    result: dict[int, list[ShownValue]] = {}
    if not ids:
        return result
    rows = db.session.scalars(
        sa.select(BookingFieldValue).join(BookingFieldDefinition)
        .where(BookingFieldValue.booking_id.in_(ids))
        .order_by(BookingFieldValue.booking_id, BookingFieldDefinition.position, BookingFieldDefinition.id))
    for row in rows:
        result.setdefault(row.booking_id, []).append(
            ShownValue(row.definition.label(locale), display(row.definition, row.value, locale)))
    return result


def display(definition: BookingFieldDefinition, value, locale: str) -> str:
    if definition.field_type == FieldType.BOOLEAN:
        return _("Yes") if value else _("No")
    if definition.field_type == FieldType.CHOICE:
        return definition.choice_label(value, locale)
    return str(value)
