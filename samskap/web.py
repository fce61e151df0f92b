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
