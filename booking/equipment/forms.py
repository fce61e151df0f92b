"""Forms for equipment reservations. They shape input; the rules live in the services."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from samskap.ids import coerce_id
from wtforms import DateField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget


class ReserveForm(FlaskForm):
    equipment_type = SelectField(_l("Equipment type"), coerce=coerce_id, validate_choice=False,
                                 validators=[InputRequired(_l("Choose an equipment type."))])
    quantity = IntegerField(_l("Number of units"), default=1,
                            validators=[InputRequired(_l("Give the number of units as a whole number."))])
    start_date = DateField(_l("Start date"), validators=[InputRequired(_l("Give a start date (yyyy-mm-dd)."))])
    start_time = TimeField(_l("Start time"), validators=[InputRequired(_l("Give a start time (hh:mm)."))])
    end_date = DateField(_l("End date"), validators=[InputRequired(_l("Give an end date (yyyy-mm-dd)."))])
    end_time = TimeField(_l("End time"), validators=[InputRequired(_l("Give an end time (hh:mm)."))])
    purpose = StringField(_l("Purpose (optional)"), validators=[Optional(), Length(max=300)])


class NoteForm(FlaskForm):
    """Check-out: a condition note."""

    note = TextAreaField(_l("Condition note (optional)"), validators=[Optional(), Length(max=500)])


class CheckInForm(FlaskForm):
    note = TextAreaField(_l("Condition note (optional)"), validators=[Optional(), Length(max=500)])
    maintenance = SelectMultipleField(_l("Send to maintenance"), coerce=coerce_id, validate_choice=False,
                                      widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])


class RejectForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(_l("Say why the reservation is rejected.")),
                                                   Length(max=500)])
