"""Cleaning what a booking request or change brings: titles, descriptions, purposes,
visibilities, attendees, aware times and reasons, each checked and turned into field errors
that name the field. (The labels people see for these live in :mod:`booking.labels`.)"""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _

from booking.models import Purpose, Visibility
from samskap.errors import ValidationFailed
from samskap.ids import MAX_ID
from samskap.timeutil import UTC

TITLE_MAX = 200
DESCRIPTION_MAX = 5000
REASON_MAX = 500
NUL = "\x00"



def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_id(value) -> bool:
    return _is_int(value) and 1 <= value <= MAX_ID


def _add(errors: dict, key: str, message: str) -> None:
    errors[key] = f"{errors[key]} {message}" if key in errors else message


def _aware(value, name: str, errors: dict) -> datetime | None:
    if not isinstance(value, datetime):
        errors[name] = _("Give a date and time.")
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        errors[name] = _("Give the time with a time zone offset, such as +01:00 or Z.")
        return None
    return value.astimezone(UTC).replace(microsecond=0)


def _enum(enum_cls, value, name: str, errors: dict):
    if isinstance(value, enum_cls):
        return value
    try:
        return enum_cls(value.strip() if isinstance(value, str) else value)
    except ValueError:
        errors[name] = _("'%(value)s' is not a valid choice; choose one of: %(choices)s.", value=value,
                         choices=", ".join(member.value for member in enum_cls))
        return None


def _clean_details(values: dict, errors: dict) -> dict:
    """Validate the descriptive fields present in ``values``."""
    clean = {}
    if "title" in values:
        title = values["title"].strip() if isinstance(values["title"], str) else ""
        if not title:
            errors["title"] = _("Give the booking a title.")
        elif NUL in title:
            errors["title"] = _("The text contains a character that is not allowed.")
        elif len(title) > TITLE_MAX:
            errors["title"] = _("The title can be at most %(n)d characters long.", n=TITLE_MAX)
        clean["title"] = title
    if "description" in values:
        description = values["description"] if values["description"] is not None else ""
        if not isinstance(description, str):
            errors["description"] = _("The description must be text.")
        elif len(description) > DESCRIPTION_MAX:
            errors["description"] = _("The description can be at most %(n)d characters long.", n=DESCRIPTION_MAX)
        elif NUL in description:
            errors["description"] = _("The text contains a character that is not allowed.")
        else:
            clean["description"] = description.strip()
    if "purpose" in values:
        clean["purpose"] = _enum(Purpose, values["purpose"], "purpose", errors)
    if "visibility" in values:
        clean["visibility"] = _enum(Visibility, values["visibility"], "visibility", errors)
    if "attendees" in values:
        attendees = values["attendees"]
        if not _is_int(attendees) or attendees < 1:
            errors["attendees"] = _("The number of attendees must be a whole number of at least 1.")
        clean["attendees"] = attendees
    return clean


def _clean_reason(reason, *, required: bool) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if reason is not None and not isinstance(reason, str):
        raise ValidationFailed({"reason": _("The reason must be text.")})
    if required and not text:
        raise ValidationFailed({"reason": _("Give a reason.")})
    if len(text) > REASON_MAX:
        raise ValidationFailed({"reason": _("The reason can be at most %(n)d characters long.", n=REASON_MAX)})
    if NUL in text:
        raise ValidationFailed({"reason": _("The text contains a character that is not allowed.")})
    return text
