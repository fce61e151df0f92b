"""The project form (staff create and change projects; organisation contacts propose them) and
the forms staff decide a proposal with. Rules live in the services; the forms only shape input."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from samskap.ids import coerce_id

STATUS_LABELS = {
    "proposed": _l("Proposed"),
    "planned": _l("Planned"),
    "active": _l("Active"),
    "completed": _l("Completed"),
    "rejected": _l("Rejected"),
}


class ProjectForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=10_000)])
    goals = TextAreaField(_l("Goals"), validators=[Optional(), Length(max=10_000)])
    lead_organisation = SelectField(_l("Lead organisation"), coerce=coerce_id, validate_choice=True)
    partners = SelectMultipleField(_l("Partner organisations"), coerce=coerce_id, validate_choice=True,
                                   render_kw={"size": 8})
    starts_on = DateField(_l("Starts on"), validators=[Optional()])
    ends_on = DateField(_l("Ends on"), validators=[Optional()])
    status = SelectField(_l("Status"), choices=[(s, STATUS_LABELS[s]) for s in ("planned", "active", "completed")],
                         default="planned")

    def set_choices(self, *, organisations, lead_choices) -> None:
        self.lead_organisation.choices = [(o.id, o.name) for o in lead_choices]
        self.partners.choices = [(o.id, o.name) for o in organisations]

    def values(self) -> dict:
        """The fields as the service (and the API) take them."""
        values = {"name": self.name.data, "description": self.description.data or "",
                  "goals": self.goals.data or "", "lead_organisation_id": self.lead_organisation.data,
                  "organisation_ids": list(self.partners.data or []),
                  "starts_on": self.starts_on.data.isoformat() if self.starts_on.data else None,
                  "ends_on": self.ends_on.data.isoformat() if self.ends_on.data else None}
        if "status" in self:
            values["status"] = self.status.data
        return values


class ApproveProjectForm(FlaskForm):
    status = SelectField(_l("Status once approved"), choices=[("planned", STATUS_LABELS["planned"]),
                                                              ("active", STATUS_LABELS["active"])],
                         default="planned")
    reason = StringField(_l("Note to the proposer (optional)"), validators=[Optional(), Length(max=500)])


class RejectProjectForm(FlaskForm):
    reason = StringField(_l("Reason for rejecting"), validators=[DataRequired(_l("Say why the project is rejected.")),
                                                                 Length(max=500)])
