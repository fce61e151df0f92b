"""Forms for the catalogue's pages. They shape input for the services, which hold the
rules; choices are not validated here, so a bad choice gets the service's message,
the same one the API gives."""
from __future__ import annotations

import re
from datetime import time

from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, SelectField, SelectMultipleField, StringField, TextAreaField,
                     TimeField)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget, NumberInput

from accounts.forms import KIND_LABELS
from accounts.models import OrganisationKind
from samskap.errors import ValidationFailed
from samskap.timeutil import local_day_bounds
from samskap.web import local_instant
from spaces.hours import parse_opening_hours, weekday_label
from spaces.models import WEEKDAYS, EquipmentCategory

CATEGORY_LABELS = {
    "sensor_kit": _l("Sensor kit"),
    "welfare_technology": _l("Welfare technology"),
    "vr": _l("VR"),
    "measurement_device": _l("Measurement device"),
    "robot": _l("Robot"),
    "other": _l("Other"),
}
STATUS_LABELS = {
    "available": _l("Available"),
    "maintenance": _l("In maintenance"),
    "retired": _l("Retired"),
}
ORG_KIND_CHOICES = [(k.value, KIND_LABELS[k.value]) for k in OrganisationKind]


class NumberText(StringField):
    """A number input whose text goes to the service unchanged, so "ten" gets the
    service's message (the same as in the API) instead of a form-only one."""

    widget = NumberInput()

    def _value(self):
        return "" if self.data is None else str(self.data)


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _blank_none(text):
    return text if text is not None and str(text).strip() else None


# --- opening hours as text, one field per weekday --------------------------------------------

_INTERVAL = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*[-–—]\s*(\d{1,2})(?::(\d{2}))?$")


def intervals_from_text(text: str) -> list[list[str]]:
    """"08:00-12:00, 13:00-16:00" -> [["08:00", "12:00"], ["13:00", "16:00"]]; raises ValueError."""
    intervals = []
    for piece in re.split(r"[,;]", text or ""):
        piece = piece.strip()
        if not piece:
            continue
        match = _INTERVAL.match(piece)
        if not match:
            raise ValueError(piece)
        h1, m1, h2, m2 = match.groups()
        intervals.append([f"{int(h1):02d}:{m1 or '00'}", f"{int(h2):02d}:{m2 or '00'}"])
    return intervals


def intervals_to_text(intervals) -> str:
    return ", ".join(f"{start}-{end}" for start, end in intervals or [])


class SpaceForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    slug = StringField(_l("Address name"), validators=[Optional(), Length(max=100)])
    kind = SelectField(_l("Kind of space"), validate_choice=False)
    capacity = NumberText(_l("Capacity (people)"))
    location = StringField(_l("Location"), validators=[Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])
    around_the_clock = BooleanField(_l("Open around the clock (ignore the weekday hours below)"))
    hours_mon = StringField()
    hours_tue = StringField()
    hours_wed = StringField()
    hours_thu = StringField()
    hours_fri = StringField()
    hours_sat = StringField()
    hours_sun = StringField()
    bookable_by = CheckboxesField(_l("Organisation kinds that may book"), choices=ORG_KIND_CHOICES,
                                  validate_choice=False)
    requires_approval = BooleanField(_l("Bookings need approval by the workshop staff"))
    min_minutes = NumberText(_l("Shortest booking (minutes)"))
    max_minutes = NumberText(_l("Longest booking (minutes)"))
    buffer_minutes = NumberText(_l("Buffer after each booking (minutes)"), default="0")
    max_days_ahead = NumberText(_l("How many days ahead one may book"))
    check_in_minutes = NumberText(_l("Check-in required within (minutes of the start)"))
    active = BooleanField(_l("Active (offered for booking)"), default=True)

    def hour_fields(self):
        return [(day, getattr(self, f"hours_{day}")) for day in WEEKDAYS]

    def label_weekdays(self) -> None:
        for day, field in self.hour_fields():
            field.label.text = weekday_label(day).capitalize()

    def fill_from(self, space) -> None:
        """Show a space's values (the form's own defaults otherwise)."""
        for name in ("name", "slug", "capacity", "location", "description", "bookable_by", "requires_approval",
                     "min_minutes", "max_minutes", "buffer_minutes", "max_days_ahead", "active", "check_in_minutes"):
            getattr(self, name).data = getattr(space, name)
        self.kind.data = space.kind.code
        self.around_the_clock.data = space.opening_hours is None
        for day, field in self.hour_fields():
            field.data = intervals_to_text((space.opening_hours or {}).get(day))

    def opening_hours(self) -> dict | None:
        """The weekday texts as the opening-hours JSON shape; ValidationFailed names each bad day."""
        if self.around_the_clock.data:
            return None
        hours, errors = {}, {}
        for day, field in self.hour_fields():
            try:
                intervals = intervals_from_text(field.data)
            except ValueError as exc:
                errors[field.name] = _("'%(text)s' is not a time interval; write for example 08:00-16:00 and "
                                       "separate several with commas.", text=str(exc))
                continue
            try:
                parsed = parse_opening_hours({day: intervals}, field=field.name)
            except ValidationFailed as exc:
                errors.update(exc.fields)
                continue
            hours.update(parsed)
        if errors:
            raise ValidationFailed(errors)
        return hours

    def service_data(self, *, with_hours: bool = True) -> dict:
        data = {
            "name": self.name.data, "slug": self.slug.data, "kind": self.kind.data, "capacity": self.capacity.data,
            "location": self.location.data or "", "description": self.description.data or "",
            "bookable_by": self.bookable_by.data or [],
            "requires_approval": bool(self.requires_approval.data),
            "min_minutes": _blank_none(self.min_minutes.data), "max_minutes": _blank_none(self.max_minutes.data),
            "buffer_minutes": _blank_none(self.buffer_minutes.data) or 0,
            "max_days_ahead": _blank_none(self.max_days_ahead.data), "active": bool(self.active.data),
            "check_in_minutes": _blank_none(self.check_in_minutes.data),
        }
        if with_hours:
            data["opening_hours"] = self.opening_hours()
        return data


class SpaceKindForm(FlaskForm):
    name_nb = StringField(_l("Name in Norwegian"), validators=[DataRequired(_l("Enter the Norwegian name.")),
                                                               Length(max=100)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(_l("Enter the English name.")),
                                                             Length(max=100)])
    code = StringField(_l("Code (optional)"), validators=[Optional(), Length(max=64)])


class ClosureForm(FlaskForm):
    space_id = SelectField(_l("Closed"), validate_choice=False)
    start_date = DateField(_l("From date"), validators=[DataRequired(_l("Give the first day of the closure."))])
    start_time = TimeField(_l("From time (optional)"), validators=[Optional()])
    end_date = DateField(_l("To date"), validators=[DataRequired(_l("Give the last day of the closure."))])
    end_time = TimeField(_l("To time (optional)"), validators=[Optional()])
    reason = StringField(_l("Reason"), validators=[Length(max=300)])

    def period(self):
        """(start, end) in UTC from local dates and times; a blank end time means the end of that day.
        Raises ValidationFailed naming the field whose time does not exist (spring-forward gap)."""
        start = local_instant(self.start_date, self.start_time, default_time=time(0))
        if self.end_time.data is None:
            end = local_day_bounds(self.end_date.data)[1]
        else:
            end = local_instant(self.end_date, self.end_time)
        if start is None or end is None:
            raise ValidationFailed({name: field.errors.pop() for name, field in
                                    (("start_time", self.start_time), ("end_time", self.end_time),
                                     ("start_date", self.start_date), ("end_date", self.end_date)) if field.errors})
        return start, end


class EquipmentTypeForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    category = SelectField(_l("Category"), choices=[(c.value, CATEGORY_LABELS[c.value]) for c in EquipmentCategory],
                           validate_choice=False)
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])
    max_loan_days = NumberText(_l("Longest loan (days)"), default="14")
    turnaround_hours = NumberText(_l("Cleaning time after each return (hours)"), default="0")
    bookable_by = CheckboxesField(_l("Organisation kinds that may borrow"), choices=ORG_KIND_CHOICES,
                                  validate_choice=False)
    requires_approval = BooleanField(_l("Reservations need approval by the workshop staff"))
    active = BooleanField(_l("Active (offered for reservation)"), default=True)

    def service_data(self) -> dict:
        return {"name": self.name.data, "category": self.category.data, "description": self.description.data or "",
                "max_loan_days": self.max_loan_days.data, "turnaround_hours": self.turnaround_hours.data,
                "bookable_by": self.bookable_by.data or [], "requires_approval": bool(self.requires_approval.data),
                "active": bool(self.active.data)}


class UnitForm(FlaskForm):
    asset_tag = StringField(_l("Asset tag"), validators=[DataRequired(_l("Enter the asset tag.")), Length(max=64)])
    serial = StringField(_l("Serial number"), validators=[Length(max=128)])
    home_space_id = SelectField(_l("Home space"), validate_choice=False)
    status = SelectField(_l("Status"), choices=[("available", STATUS_LABELS["available"]),
                                                ("maintenance", STATUS_LABELS["maintenance"])],
                         validate_choice=False)
    status_note = StringField(_l("Maintenance note"), validators=[Length(max=500)])


class UnitStatusForm(FlaskForm):
    note = TextAreaField(_l("Note"), validators=[Length(max=500)])


class SpaceFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    kind = SelectField(_l("Kind"), validate_choice=False)
    min_capacity = NumberText(_l("At least this many people"))
    bookable_by_me = BooleanField(_l("Only spaces I may book"))
