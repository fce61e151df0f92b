"""Small helpers shared by the browser views of every blueprint."""
from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm

from samskap.errors import DomainError, ValidationFailed


def apply_errors(form: FlaskForm, error: DomainError, field_map: dict | None = None) -> None:
    """Show a service's error on the form: per field where it names one, else at the top."""
    field_map = field_map or {}
    if isinstance(error, ValidationFailed):
        for name, message in error.fields.items():
            field = getattr(form, field_map.get(name, name), None)
            if field is not None and hasattr(field, "errors"):
                field.errors = list(field.errors or []) + [message]
            else:
                form.form_errors.append(message)
    else:
        form.form_errors.append(error.message)


def flash_success(message: str) -> None:
    flash(message, "success")


def local_instant(date_field, time_field, *, default_time=None):
    """The UTC instant of a local date field plus time field (Europe/Oslo by default).

    Puts a message on the offending field and returns None when the wall-clock time does
    not exist that day (the spring-forward gap) or the date is out of range; forms of every
    area share this, so the message and the rule are the same everywhere.
    """
    from flask_babel import format_date, gettext as _

    from samskap.timeutil import LocalTimeError, local_to_utc

    day = date_field.data
    clock = time_field.data if time_field is not None and time_field.data is not None else default_time
    if day is None or clock is None:
        return None
    try:
        return local_to_utc(day, clock)
    except LocalTimeError:
        time_field.errors = list(time_field.errors or []) + [_(
            "%(time)s does not exist on %(date)s: the clocks go forward an hour that night. "
            "Choose a time after the change.", time=clock.strftime("%H:%M"), date=format_date(day, "d MMMM yyyy"))]
    except (OverflowError, ValueError):
        date_field.errors = list(date_field.errors or []) + [_("That date is out of range.")]
    return None
