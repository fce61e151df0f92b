"""The form for creating a feed. Rules live in services; the form only shapes input."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

SCOPE_LABELS = {
    "mine": _l("My bookings"),
    "organisation": _l("My organisation's bookings"),
    "space": _l("One space"),
    "equipment": _l("One equipment type"),
    "project": _l("One project (its sessions and loans)"),
    "public": _l("Public events"),
    "all": _l("Every booking (workshop staff)"),
}


class FeedForm(FlaskForm):
    scope = SelectField(_l("What the feed shows"), choices=[])
    space_id = SelectField(_l("Space"), choices=[], validate_choice=False)
    equipment_id = SelectField(_l("Equipment type"), choices=[], validate_choice=False)
    project_id = SelectField(_l("Project"), choices=[], validate_choice=False)
    name = StringField(_l("Name in your calendar (optional)"), validators=[Optional(), Length(max=100)])

    def set_choices(self, *, staff: bool, spaces, equipment_types, projects=()) -> None:
        projects = list(projects)
        self.scope.choices = [(value, label) for value, label in SCOPE_LABELS.items()
                              if (staff or value != "all") and (projects or value != "project")]
        self.project_id.choices = [("", _l("Choose a project"))] + [(str(p.id), p.name) for p in projects]
        self.space_id.choices = [("", _l("Choose a space"))] + [(str(s.id), s.name) for s in spaces]
        self.equipment_id.choices = ([("", _l("Choose an equipment type"))]
                                     + [(str(t.id), t.name) for t in equipment_types])
