"""The project pages: the list, one project (its timeline of sessions and loans, partners,
sectors, equipment used and calendar feed), and the forms to create, propose, change and
decide projects. Thin: each view loads, authorizes through the services, acts and renders."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from accounts.forms import KIND_LABELS
from accounts.permissions import is_staff, staff_required
from booking.projects import services
from booking.projects.forms import STATUS_LABELS, ApproveProjectForm, ProjectForm, RejectProjectForm
from booking.projects.models import Project
from samskap.errors import DomainError
from samskap.extensions import db
from samskap.web import apply_errors, flash_success

projects_bp = Blueprint("projects", __name__)

# Service field names -> form fields, so a service's message lands next to the right input.
FIELD_MAP = {"lead_organisation_id": "lead_organisation", "organisation_ids": "partners"}


def _user():
    return current_user._get_current_object()


def _labels() -> dict:
    return {"status_label": lambda status: STATUS_LABELS[status.value],
            "kind_label": lambda kind: KIND_LABELS[getattr(kind, "value", kind)]}


@projects_bp.get("/projects")
@login_required
def index():
    user = _user()
    return render_template("projects/index.html", projects=services.list_projects(user),
                           may_create=services.can_propose(user), staff=is_staff(user), **_labels())


def _form(user, project: Project | None = None) -> ProjectForm:
    data = None
    if project is not None and request.method == "GET":
        data = {"name": project.name, "description": project.description, "goals": project.goals,
                "lead_organisation": project.lead_organisation_id,
                "partners": [i for i in project.organisation_ids if i != project.lead_organisation_id],
                "starts_on": project.starts_on, "ends_on": project.ends_on,
                "status": project.status.value}
    form = ProjectForm(data=data)
    form.set_choices(organisations=services.partner_choices(), lead_choices=services.lead_choices(user))
    if not is_staff(user) or (project is not None and not project.status.takes_bookings):
        del form.status  # a proposal's status is set when staff decide it
    return form


def _save(form: ProjectForm, save, template: str, **context):
    """Validate, call ``save(values)`` and commit; or show the form again with the errors."""
    status = 200
    if form.validate_on_submit():
        try:
            project = save(form.values())
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc, FIELD_MAP)
            status = exc.status
        else:
            db.session.commit()
            return project, None
    elif request.method == "POST":
        status = 422
    return None, (render_template(template, form=form, **context), status)


@projects_bp.route("/projects/new", methods=["GET", "POST"])
@login_required
def new():
    user = _user()
    if not services.can_propose(user):
        abort(403)
    form = _form(user)
    project, page = _save(form, lambda values: services.create_project(user, values), "projects/form.html",
                          project=None, proposing=not is_staff(user))
    if project is None:
        return page
    flash_success(_("The project is created.") if is_staff(user)
                  else _("Your proposal is sent. Workshop staff will approve or reject it."))
    return redirect(url_for(".detail", project_id=project.id), 303)


@projects_bp.route("/projects/<int:project_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(project_id: int):
    user = _user()
    project = services.get_project(user, project_id)
    form = _form(user, project)
    saved, page = _save(form, lambda values: services.update_project(user, project, values), "projects/form.html",
                        project=project, proposing=False)
    if saved is None:
        return page
    flash_success(_("The project is changed."))
    return redirect(url_for(".detail", project_id=project.id), 303)


@projects_bp.get("/projects/<int:project_id>")
@login_required
def detail(project_id: int):
    user = _user()
    project = services.get_project(user, project_id)  # 404 for anyone who is not a partner or staff
    return _render_detail(user, project)


def _render_detail(user, project: Project, *, approve_form=None, reject_form=None, status: int = 200):
    from booking.labels import reservation_status_label, status_label

    timeline = services.project_timeline(user, project)
    deciding = services.can_decide_proposal(user, project)
    body = render_template(
        "projects/detail.html", project=project, timeline=timeline, equipment=services.equipment_used(timeline),
        sectors=services.sectors(project), may_edit=is_staff(user), deciding=deciding,
        approve_form=approve_form or (ApproveProjectForm() if deciding else None),
        reject_form=reject_form or (RejectProjectForm() if deciding else None),
        booking_status_label=status_label, loan_status_label=reservation_status_label,
        **_labels())
    return body, status


@projects_bp.post("/projects/<int:project_id>/approve")
@staff_required
def approve(project_id: int):
    return _decide(project_id, approve=True)


@projects_bp.post("/projects/<int:project_id>/reject")
@staff_required
def reject(project_id: int):
    return _decide(project_id, approve=False)


def _decide(project_id: int, *, approve: bool):
    user = _user()
    project = services.get_project(user, project_id)
    form = ApproveProjectForm() if approve else RejectProjectForm()
    forms = {"approve_form" if approve else "reject_form": form}
    if not form.validate_on_submit():
        return _render_detail(user, project, **forms, status=422)
    try:
        services.decide_proposal(user, project, approve=approve, status=form.status.data if approve else None,
                                 reason=form.reason.data)
    except DomainError as exc:
        db.session.rollback()
        apply_errors(form, exc)
        return _render_detail(user, project, **forms, status=exc.status)
    db.session.commit()
    flash_success(_("The project is approved; the proposer is told by email.") if approve
                  else _("The project is rejected; the proposer is told by email."))
    return redirect(url_for(".detail", project_id=project.id), 303)
