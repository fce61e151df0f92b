"""Forms for sign-in, profile and account administration. Rules live in services;
forms only shape input (and give the browser its required/length hints)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from samskap.ids import coerce_id
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from accounts.models import OrganisationKind, Role

KIND_LABELS = {
    "municipality": _l("Municipality"),
    "hospital": _l("Hospital"),
    "company": _l("Company"),
    "academia": _l("Academia"),
    "host": _l("Workshop host"),
}
ROLE_LABELS = {"admin": _l("Administrator"), "staff": _l("Workshop staff"), "member": _l("Member")}
LOCALE_CHOICES = [("nb", "Norsk bokmål"), ("en", "English")]


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email address.")), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])
    remember = BooleanField(_l("Remember me on this device"))
    next = HiddenField()


class ProfileForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES)


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(_l("Enter your current password."))])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(_l("Enter a password."))])
    confirm = PasswordField(_l("Repeat the new password"), validators=[DataRequired(_l("Repeat the new password."))])


class TokenForm(FlaskForm):
    # Its own id: the profile page also has the profile form's "name" field.
    name = StringField(_l("What the token is for"), id="token-name", validators=[Optional(), Length(max=100)])


class ConfirmForm(FlaskForm):
    """An empty form: a CSRF-protected button."""


class LanguageForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES)
    next = HiddenField()


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=[(k.value, KIND_LABELS[k.value]) for k in OrganisationKind])
    number = StringField(_l("Organisation number (optional)"), validators=[Optional(), Length(max=11)])
    members_share_bookings = BooleanField(_l("Members see and manage all of the organisation's bookings"),
                                          default=True)
    active = BooleanField(_l("Active"), default=True)
    contact_email = EmailField(_l("Shared contact address (optional)"), validators=[Optional(), Length(max=254)])


class UserForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter an email address.")), Length(max=254)])
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    organisation_id = SelectField(_l("Organisation"), coerce=coerce_id, validate_choice=False)
    role = SelectField(_l("Role"), choices=[(r.value, ROLE_LABELS[r.value]) for r in Role])
    is_org_contact = BooleanField(_l("Organisation contact (manages the organisation's bookings)"))
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES)
    active = BooleanField(_l("Active"), default=True)
    password = PasswordField(_l("Password"))


class NotificationForm(FlaskForm):
    """Which optional emails a user gets (status mail about their own bookings always comes)."""

    notify_reminders = BooleanField(_l("Remind me before my bookings start and before loans end"))
    reminder_hours = StringField(_l("Hours before the start"), id="reminder-hours",
                                 validators=[Optional(), Length(max=4)])
    approval_digest = BooleanField(_l("Bookings waiting for my decision: one daily digest instead of one email "
                                      "per request"))
