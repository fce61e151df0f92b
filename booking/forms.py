"""Forms of the booking pages. They shape input only (types, required fields, and turning
local date + wall-clock time into UTC instants); every booking rule lives in the service."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from samskap.ids import coerce_id
from wtforms import (BooleanField, DateField, IntegerField, RadioField, SelectField,
                     SelectMultipleField, StringField, TextAreaField, TimeField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from booking.labels import PURPOSE_LABELS, VISIBILITY_LABELS
from booking.models import Purpose, Visibility
from samskap.web import local_instant

WEEKDAY_CHOICES = [("MO", _l("Monday")), ("TU", _l("Tuesday")), ("WE", _l("Wednesday")), ("TH", _l("Thursday")),
                   ("FR", _l("Friday")), ("SA", _l("Saturday")), ("SU", _l("Sunday"))]
SCOPE_CHOICES = [("this", _l("Only this occurrence")), ("following", _l("This and all following occurrences")),
                 ("series", _l("The whole series"))]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


TITLE_MAX = 200
# Common lengths offered next to the end time (minutes); the grid's own selection stays the default.
LENGTH_CHOICES = [("", _l("As the end time says")), ("30", _l("30 minutes")), ("60", _l("1 hour")),
                  ("120", _l("2 hours")), ("240", _l("Half day (4 hours)")), ("480", _l("Whole day (8 hours)"))]


class TextLength(Length):
    """Length without the ``maxlength`` attribute: a browser silently cuts pasted text at
    ``maxlength``, so an over-long title would be shortened without a word. The server
    refuses it instead, with a message saying the limit and how long the text is."""

    def __init__(self, max: int, message=None):
        super().__init__(max=max, message=message)
        self.field_flags = {}


class PeriodMixin:
    """Date + start time + end time in local time (end date only for bookings past midnight),
    or date + start time + one of the common lengths."""

    def period(self) -> tuple[datetime, datetime] | None:
        """The UTC start and end, or None after putting a message on the offending field."""
        start = local_instant(self.date, self.start_time)
        length = getattr(self, "length", None)
        if length is not None and length.data:
            return (start, start + timedelta(minutes=int(length.data))) if start is not None else None
        if self.end_time.data is None:
            if not self.end_time.errors:
                self.end_time.errors = list(self.end_time.errors or []) + [_l("Enter the end time (HH:MM).")]
            return None
        end_date = self.end_date if self.end_date.data else self.date
        end = local_instant(end_date, self.end_time)
        return (start, end) if start is not None and end is not None else None


def _date_field():
    return DateField(_l("Date"), validators=[InputRequired(_l("Enter the date."))])


def _start_field():
    return TimeField(_l("Start time"), validators=[InputRequired(_l("Enter the start time (HH:MM)."))])


def _end_field():
    # Required unless a length is chosen: PeriodMixin.period says so then.
    return TimeField(_l("End time"), validators=[Optional()])


def _end_date_field():
    return DateField(_l("End date (only when the booking runs past midnight)"), validators=[Optional()])


class BookingForm(PeriodMixin, FlaskForm):
    space = SelectField(_l("Space"), coerce=coerce_id, validate_choice=True,
                        validators=[InputRequired(_l("Choose a space."))])
    length = SelectField(_l("Length"), choices=LENGTH_CHOICES, default="", validate_choice=True)
    title = StringField(_l("Title"), validators=[DataRequired(_l("Enter a title.")), TextLength(
        max=TITLE_MAX, message=_l("The title can be at most %(max)d characters long; this one has %(length)d."))])
    purpose = SelectField(_l("Purpose"), choices=list(PURPOSE_LABELS.items()), default=Purpose.MEETING.value)
    date = _date_field()
    start_time = _start_field()
    end_time = _end_field()
    end_date = _end_date_field()
    attendees = IntegerField(_l("Attendees"), default=1,
                             validators=[InputRequired(_l("Enter the number of attendees.")),
                                         NumberRange(min=1, max=10000, message=_l("Enter a number from 1."))])
    visibility = RadioField(_l("Visibility"), choices=list(VISIBILITY_LABELS.items()), default=Visibility.PRIVATE.value)
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    project = SelectField(_l("Project"), coerce=coerce_id, validate_choice=True, default=0)

    repeat = SelectField(_l("Repeat"), default="none", choices=[
        ("none", _l("Does not repeat")), ("daily", _l("Daily")), ("weekly", _l("Weekly")), ("monthly", _l("Monthly"))])
    interval = IntegerField(_l("Every"), default=1,
                            validators=[Optional(), NumberRange(min=1, max=52, message=_l("Enter a number from 1 to 52."))])
    byday = MultiCheckboxField(_l("On these weekdays"), choices=WEEKDAY_CHOICES)
    repeat_end = RadioField(_l("Ends"), default="count",
                            choices=[("count", _l("After a number of times")), ("until", _l("On a date"))])
    count = IntegerField(_l("Number of times"), validators=[Optional(), NumberRange(
        min=1, max=200, message=_l("Enter a number from 1 to 200."))])
    until = DateField(_l("Last date"), validators=[Optional()])
    skip_conflicts = BooleanField(_l("Skip dates that clash with other bookings instead of refusing the whole series"))

    # Only for staff and administrators; the view removes these for everyone else.
    organisation = SelectField(_l("Book on behalf of"), coerce=coerce_id, validate_choice=True)
    override_opening_hours = BooleanField(_l("Override opening hours (recorded in the audit log)"))
    override_quota = BooleanField(_l("Book past the organisation's quota (recorded in the audit log)"))

    def validate_space(self, field):
        if not field.data:  # the "Choose a space" placeholder
            raise ValidationError(str(_l("Choose a space.")))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.repeat.data == "none":
            return valid
        # A series ends after a number of times or on a date; the chosen one must be filled in.
        if self.repeat_end.data == "until" and not self.until.data and not self.until.errors:
            self.until.errors = [str(_l("Enter the last date of the series."))]
            valid = False
        if self.repeat_end.data == "count" and not self.count.data and not self.count.errors:
            self.count.errors = [str(_l("Enter how many times the booking repeats."))]
            valid = False
        return valid


EQUIPMENT_FIELD_PREFIX = "equipment_"
MAX_UNITS_PER_TYPE = 999


def booking_form_with_equipment(equipment_types) -> type[BookingForm]:
    """The booking form plus one quantity field per equipment type (``equipment_<id>``;
    empty or 0 = none). Whether the units are free is the equipment service's business."""
    fields = {
        f"{EQUIPMENT_FIELD_PREFIX}{etype.id}": IntegerField(
            etype.name, default=0, render_kw={"min": 0, "max": MAX_UNITS_PER_TYPE, "inputmode": "numeric"},
            validators=[Optional(), NumberRange(min=0, max=MAX_UNITS_PER_TYPE,
                                                message=_l("Enter a number from 0 (none) to 999."))])
        for etype in equipment_types
    }
    return type("BookingFormWithEquipment", (BookingForm,), fields)


def equipment_fields(form: FlaskForm) -> list:
    """The form's equipment quantity fields, in the order they were added."""
    return [f for f in form if f.name.startswith(EQUIPMENT_FIELD_PREFIX)]


def equipment_type_id(field) -> int:
    return int(field.name[len(EQUIPMENT_FIELD_PREFIX):])


class EditBookingForm(PeriodMixin, FlaskForm):
    space = SelectField(_l("Space"), coerce=coerce_id, validate_choice=True,
                        validators=[InputRequired(_l("Choose a space."))])
    title = StringField(_l("Title"), validators=[DataRequired(_l("Enter a title.")), TextLength(
        max=TITLE_MAX, message=_l("The title can be at most %(max)d characters long; this one has %(length)d."))])
    purpose = SelectField(_l("Purpose"), choices=list(PURPOSE_LABELS.items()))
    date = _date_field()
    start_time = _start_field()
    end_time = _end_field()
    end_date = _end_date_field()
    attendees = IntegerField(_l("Attendees"), validators=[
        InputRequired(_l("Enter the number of attendees.")),
        NumberRange(min=1, max=10000, message=_l("Enter a number from 1."))])
    visibility = RadioField(_l("Visibility"), choices=list(VISIBILITY_LABELS.items()))
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    project = SelectField(_l("Project"), coerce=coerce_id, validate_choice=True, default=0)
    scope = RadioField(_l("Apply the change to"), choices=SCOPE_CHOICES, default="this")


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Say why the booking is cancelled.")),
                                                     Length(max=500)])
    scope = RadioField(_l("Cancel"), choices=SCOPE_CHOICES, default="this")
    # Shown only when the booking has equipment reserved; the view removes it otherwise.
    cancel_equipment = BooleanField(_l("Cancel the equipment reserved with the booking too"), default=True)


class ApproveForm(FlaskForm):
    reason = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=500)])


class RejectForm(FlaskForm):
    reason = StringField(_l("Reason for rejecting"), validators=[DataRequired(_l("Say why the booking is rejected.")),
                                                                 Length(max=500)])


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"
