"""Forms for invitations, password reset and the members page's invitation."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from accounts.forms import ROLE_LABELS


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email address.")), Length(max=254)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(_l("Enter a password."))])
    confirm = PasswordField(_l("Repeat the new password"), validators=[DataRequired(_l("Repeat the new password."))])


class AcceptInvitationForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter a password."))])
    confirm = PasswordField(_l("Repeat the password"), validators=[DataRequired(_l("Repeat the password."))])


class InviteForm(FlaskForm):
    email = EmailField(_l("Email"), id="invite-email",
                       validators=[DataRequired(_l("Enter an email address.")), Length(max=254)])
    role = SelectField(_l("Role"), id="invite-role", default="member",
                       choices=[(r, ROLE_LABELS[r]) for r in ("member", "staff", "admin")])
    organisation_id = HiddenField()
