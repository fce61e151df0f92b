"""Forms of the registration pages: they shape input; every rule lives in the service."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, IntegerField, RadioField, StringField, TextAreaField, TimeField
from wtforms.validators import InputRequired, Optional

AUDIENCE_CHOICES = [("public", _l("Anyone (a public event; people not signed in confirm by email)")),
                    ("partners", _l("Signed-in partners only"))]


class RegisterForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(_l("Enter your name."))],
                       render_kw={"autocomplete": "name"})
    email = EmailField(_l("Email"), validators=[InputRequired(_l("Enter an email address."))],
                       render_kw={"autocomplete": "email"})
    organisation = StringField(_l("Organisation (optional)"), validators=[Optional()],
                               render_kw={"autocomplete": "organization"})
    needs = TextAreaField(_l("Diet, accessibility or other needs (optional)"), validators=[Optional()])


class SettingsForm(FlaskForm):
    capacity = IntegerField(_l("Places"), validators=[InputRequired(_l("Give the number of places."))])
    closes_date = DateField(_l("Registration closes (date)"),
                            validators=[InputRequired(_l("Give the date registration closes."))])
    closes_time = TimeField(_l("Registration closes (time)"),
                            validators=[InputRequired(_l("Give the time registration closes."))])
    audience = RadioField(_l("Who may register"), choices=AUDIENCE_CHOICES, default="public")


class ConfirmForm(FlaskForm):
    """A button that only carries the CSRF token."""


class GuestDataForm(FlaskForm):
    """Ask for the link to one's data (people without an account)."""

    email = EmailField(_l("Email"), validators=[InputRequired(_l("Enter an email address."))],
                       render_kw={"autocomplete": "email"})
