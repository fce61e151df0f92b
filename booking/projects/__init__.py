"""Pilot and co-creation projects: several organisations working together over a period,
with the bookings (and, through them, the equipment) made for the project.

A project's partner organisations see its bookings in full, as their own organisation's
(:func:`booking.permissions.can_view_details` asks :func:`booking.permissions.partner_project_ids`).
"""
from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    """Register the projects API and pages, their menu link and how the audit log names projects."""
    from booking.projects.api import api_bp
    from booking.projects.views import projects_bp
    from samskap.nav import register_nav

    app.register_blueprint(api_bp)
    app.register_blueprint(projects_bp)
    register_nav("projects.index", _l("Projects"), "user", 35, group="booking")
    _register_audit_text()


def _register_audit_text() -> None:
    import sqlalchemy as sa

    from booking.projects.models import Project
    from samskap.audit_text import ObjectRef, register_audit_action, register_audit_object
    from samskap.extensions import db

    def projects(ids):
        rows = db.session.execute(sa.select(Project.id, Project.name).where(Project.id.in_(ids)))
        return {i: ObjectRef(name) for i, name in rows}

    register_audit_object("projects", projects, label=_l("Projects"))
    register_audit_action("project.create", _l("Project created"), _l("%(actor)s created the project %(object)s"))
    register_audit_action("project.update", _l("Project changed"), _l("%(actor)s changed the project %(object)s"))
    register_audit_action("project.propose", _l("Project proposed"), _l("%(actor)s proposed the project %(object)s"))
    register_audit_action("project.approve", _l("Project approved"), _l("%(actor)s approved the project %(object)s"))
    register_audit_action("project.reject", _l("Project rejected"), _l("%(actor)s rejected the project %(object)s"))
