"""Extra booking fields per kind of space, defined by administrators: the room layout (U-shape,
workshop islands), catering, AV, accessibility needs... Each has a type, choices for a choice,
labels in nb and en, an order, and may be required or switched off.

The kind of space owns its fields, so the definitions live here; the values a booking gives
live with the booking (:mod:`booking.fields`), which reads these definitions.
"""
from __future__ import annotations

import enum
import re
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Mapped, mapped_column, relationship

from samskap import audit
from samskap.errors import PermissionDenied, ValidationFailed
from samskap.extensions import db
from samskap.models import created_at_column, enum_column, updated_at_column
from spaces.models import SpaceKind

MAX_CODE = 64
MAX_LABEL = 200
MAX_CHOICES = 50
MAX_FIELDS_PER_KIND = 50
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class FieldType(str, enum.Enum):
    TEXT = "text"
    CHOICE = "choice"
    BOOLEAN = "boolean"   # yes/no
    NUMBER = "number"     # a whole number from 0


class BookingFieldDefinition(db.Model):
    """One extra field of the booking form for spaces of one kind."""

    __tablename__ = "booking_field_definitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    space_kind_id: Mapped[int] = mapped_column(sa.ForeignKey("space_kinds.id"), nullable=False, index=True)
    code: Mapped[str] = mapped_column(sa.String(MAX_CODE), nullable=False)
    field_type: Mapped[FieldType] = enum_column(FieldType, "booking_field_type", nullable=False)
    label_nb: Mapped[str] = mapped_column(sa.String(MAX_LABEL), nullable=False)
    label_en: Mapped[str] = mapped_column(sa.String(MAX_LABEL), nullable=False)
    # For a choice: [{"code": "u_shape", "label_nb": "U-form", "label_en": "U-shape"}, ...]
    choices: Mapped[list] = mapped_column(sa.JSON(), nullable=False, default=list)
    required: Mapped[bool] = mapped_column(nullable=False, default=False)
    position: Mapped[int] = mapped_column(nullable=False, default=0)
    active: Mapped[bool] = mapped_column(nullable=False, default=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    space_kind: Mapped[SpaceKind] = relationship(lazy="joined")

    __table_args__ = (sa.UniqueConstraint("space_kind_id", "code"),)

    def label(self, locale: str) -> str:
        return self.label_en if locale == "en" else self.label_nb

    def choice_label(self, code, locale: str) -> str:
        for choice in self.choices or []:
            if choice.get("code") == code:
                return choice["label_en"] if locale == "en" else choice["label_nb"]
        return str(code)

    @property
    def choice_codes(self) -> list[str]:
        return [c["code"] for c in self.choices or []]


def definitions_for_kind(kind_id: int, *, active_only: bool = True) -> list[BookingFieldDefinition]:
    query = sa.select(BookingFieldDefinition).where(BookingFieldDefinition.space_kind_id == kind_id)
    if active_only:
        query = query.where(BookingFieldDefinition.active.is_(True))
    return list(db.session.scalars(query.order_by(BookingFieldDefinition.position, BookingFieldDefinition.id)))


def all_definitions() -> list[BookingFieldDefinition]:
    return list(db.session.scalars(sa.select(BookingFieldDefinition).order_by(
        BookingFieldDefinition.space_kind_id, BookingFieldDefinition.position, BookingFieldDefinition.id)))


def _require_admin(actor) -> None:
    from accounts.permissions import is_admin

    if not is_admin(actor):
        raise PermissionDenied(_("Only administrators can define booking fields."))


def _text(value, name: str, errors: dict, *, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        errors[name] = _("Fill in '%(field)s'.", field=name)
        return ""
    value = value.strip()
    if len(value) > limit:
        errors[name] = _("At most %(n)d characters.", n=limit)
    return value


def parse_choices(text: str) -> list[dict]:
    """Choices typed one a line as ``code | bokmål | English`` (the admin form's shape)."""
    choices = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        parts += [""] * (3 - len(parts))
        choices.append({"code": parts[0], "label_nb": parts[1], "label_en": parts[2] or parts[1]})
    return choices


def choices_text(choices: list[dict]) -> str:
    return "\n".join(f"{c['code']} | {c['label_nb']} | {c['label_en']}" for c in choices or [])


def _clean_choices(value, errors: dict) -> list[dict]:
    if not isinstance(value, list) or not value:
        errors["choices"] = _("A choice field needs at least one choice.")
        return []
    if len(value) > MAX_CHOICES:
        errors["choices"] = _("At most %(n)d choices.", n=MAX_CHOICES)
        return []
    cleaned, seen = [], set()
    for item in value:
        code = item.get("code") if isinstance(item, dict) else None
        nb = item.get("label_nb") if isinstance(item, dict) else None
        en = item.get("label_en") if isinstance(item, dict) else None
        if not isinstance(code, str) or not CODE_PATTERN.match(code):
            errors["choices"] = _("Each choice needs a code of lower-case letters, digits and underscores, "
                                  "such as u_shape.")
            return []
        if code in seen:
            errors["choices"] = _("The choice %(code)s is given twice.", code=code)
            return []
        if not isinstance(nb, str) or not nb.strip() or len(nb) > MAX_LABEL or not isinstance(en, str) \
                or len(en) > MAX_LABEL:
            errors["choices"] = _("Each choice needs a label in Norwegian and English "
                                  "(code | bokmål | English).")
            return []
        seen.add(code)
        cleaned.append({"code": code, "label_nb": nb.strip(), "label_en": en.strip() or nb.strip()})
    return cleaned


def _check(data: dict, definition: BookingFieldDefinition | None) -> dict:
    errors: dict[str, str] = {}
    values: dict = {}
    if definition is None:
        kind = db.session.get(SpaceKind, data.get("space_kind_id")) if isinstance(data.get("space_kind_id"), int) \
            else None
        if kind is None:
            errors["space_kind_id"] = _("Choose a kind of space.")
        values["space_kind_id"] = kind.id if kind else None
        code = data.get("code")
        if not isinstance(code, str) or not CODE_PATTERN.match(code.strip()):
            errors["code"] = _("Use lower-case letters, digits and underscores, starting with a letter "
                               "(such as layout).")
        else:
            values["code"] = code.strip()
            if kind is not None and db.session.scalar(sa.select(BookingFieldDefinition.id).where(
                    BookingFieldDefinition.space_kind_id == kind.id,
                    BookingFieldDefinition.code == values["code"])) is not None:
                errors["code"] = _("This kind of space already has a field with the code %(code)s.",
                                   code=values["code"])
        if kind is not None and len(definitions_for_kind(kind.id, active_only=False)) >= MAX_FIELDS_PER_KIND:
            errors["space_kind_id"] = _("A kind of space can have at most %(n)d fields.", n=MAX_FIELDS_PER_KIND)
        try:
            values["field_type"] = FieldType(data.get("field_type"))
        except ValueError:
            errors["field_type"] = _("Choose a type: text, choice, yes/no or number.")
    field_type = values.get("field_type") or (definition.field_type if definition else None)
    values["label_nb"] = _text(data.get("label_nb"), "label_nb", errors, limit=MAX_LABEL)
    values["label_en"] = _text(data.get("label_en"), "label_en", errors, limit=MAX_LABEL)
    if field_type == FieldType.CHOICE:
        values["choices"] = _clean_choices(data.get("choices"), errors)
    else:
        values["choices"] = []
    for name in ("required", "active"):
        values[name] = bool(data.get(name, name == "active"))
    position = data.get("position", 0)
    if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position <= 10_000:
        errors["position"] = _("Give the order as a whole number from 0 to 10000.")
    values["position"] = position
    if errors:
        raise ValidationFailed(errors)
    return values


AUDITED = ("code", "label_nb", "label_en", "choices", "required", "position", "active")


def create_definition(actor, data: dict) -> BookingFieldDefinition:
    """A new field for one kind of space (administrators)."""
    _require_admin(actor)
    definition = BookingFieldDefinition(**_check(data, None))
    db.session.add(definition)
    db.session.flush()
    audit.record(actor, "booking_field.create", definition, summary=definition.code)
    return definition


def update_definition(actor, definition: BookingFieldDefinition, data: dict) -> BookingFieldDefinition:
    """Change labels, choices, whether it is required, its order or whether it is active. The code,
    kind and type stay (values already given are stored under them)."""
    _require_admin(actor)
    values = _check(data, definition)
    before = audit.snapshot(definition, AUDITED)
    for key, value in values.items():
        setattr(definition, key, value)
    db.session.flush()
    changes = audit.diff(definition, AUDITED, before)
    if changes:
        audit.record(actor, "booking_field.update", definition, changes=changes)
    return definition
