"""The reports page's filter: a GET form, so a report has an address to bookmark and share."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.validators import InputRequired, Optional

from reports.periods import GROUPING_LABELS


class ReportFilterForm(FlaskForm):
    class Meta:
        csrf = False  # read-only and idempotent

    first = DateField(_l("From"), validators=[InputRequired(_l("Enter the first date."))])
    last = DateField(_l("To (inclusive)"), validators=[InputRequired(_l("Enter the last date."))])
    group = SelectField(_l("Grouping over time"), choices=list(GROUPING_LABELS.items()), default="month")
    organisation_id = SelectField(_l("Organisation"), choices=[], validators=[Optional()], validate_choice=True)
