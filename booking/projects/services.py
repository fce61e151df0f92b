"""Projects: create, change, list and read them, and the rule for naming one on a booking.

Staff and administrators create and change projects; the members of a project's partner
organisations read it (others hear 404, as for anything they may not see). A contact of an
organisation may propose a project that their organisation leads: it waits as ``proposed``
(unusable for bookings) until staff approve it (``planned`` or ``active``) or reject it; the
proposer is told by email either way.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from flask_babel import gettext as _

from accounts.models import Organisation
from accounts.permissions import is_staff, manages_organisation
from booking.models import Booking, EquipmentReservation
from booking.permissions import forget_partnerships, partner_project_ids
from booking.projects.models import APPROVED_STATUSES, Project, ProjectOrganisation, ProjectStatus
from samskap import audit
from samskap.errors import NotFound, PermissionDenied, ValidationFailed
from samskap.extensions import db
from samskap.ids import MAX_ID
from samskap.timeutil import utcnow

CREATE_FIELDS = ("name", "description", "goals", "lead_organisation_id", "organisation_ids", "starts_on",
                 "ends_on", "status")
MAX_NAME = 200
MAX_TEXT = 10_000
MAX_PARTNERS = 100


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def _signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def can_view_project(user, project: Project) -> bool:
    return is_staff(user) or project.id in partner_project_ids(user)


def require_staff(actor) -> None:
    if not is_staff(actor):
        raise PermissionDenied(_("Only workshop staff can create or change projects."))


def can_propose(user) -> bool:
    """Staff create projects; an organisation's contacts propose ones their organisation leads."""
    return is_staff(user) or bool(_signed_in(user) and user.is_org_contact)


def require_may_create(actor) -> None:
    if not can_propose(actor):
        raise PermissionDenied(_("Only workshop staff and organisation contacts can create or propose projects."))


def can_decide_proposal(user, project: Project) -> bool:
    return is_staff(user) and project.status == ProjectStatus.PROPOSED


def visible_projects_clause(user):
    """SQL condition: the projects ``user`` may read (the list form of can_view_project)."""
    if is_staff(user):
        return sa.true()
    if not _signed_in(user):
        return sa.false()
    return Project.id.in_(sa.select(ProjectOrganisation.project_id)
                          .where(ProjectOrganisation.organisation_id == user.organisation_id))


def list_projects(user) -> list[Project]:
    return list(db.session.scalars(sa.select(Project).where(visible_projects_clause(user))
                                   .order_by(Project.starts_on.is_(None), Project.starts_on, Project.id)))


def get_project(user, project_id: int) -> Project:
    """The project, if ``user`` may read it; 404 otherwise (a non-partner learns nothing)."""
    project = db.session.get(Project, project_id) if _is_id(project_id) else None
    if project is None or not can_view_project(user, project):
        raise NotFound(_("No such project."))
    return project


def _text(data: dict, name: str, errors: dict, *, required: bool, limit: int) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            errors[name] = _("'%(field)s' is required.", field=name)
        return None
    if not isinstance(value, str):
        errors[name] = _("'%(field)s' must be text.", field=name)
        return None
    value = value.strip()
    if "\x00" in value:
        errors[name] = _("'%(field)s' holds a character that cannot be stored.", field=name)
    elif required and not value:
        errors[name] = _("'%(field)s' is required.", field=name)
    elif len(value) > limit:
        errors[name] = _("'%(field)s' may be at most %(n)d characters long.", field=name, n=limit)
    return value


def _day(data: dict, name: str, errors: dict) -> date | None:
    value = data.get(name)
    if value is None:
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = _("'%(field)s' must be a date (YYYY-MM-DD).", field=name)
        return None


def _organisation(value, name: str, errors: dict) -> Organisation | None:
    organisation = db.session.get(Organisation, value) if _is_id(value) else None
    if organisation is None:
        errors[name] = _("Choose an existing organisation.")
    return organisation


def _parse(data: dict, *, creating: bool) -> dict:
    errors: dict[str, str] = {key: _("Unknown field.") for key in data if key not in CREATE_FIELDS}
    values: dict = {}
    for name, limit in (("name", MAX_NAME), ("description", MAX_TEXT), ("goals", MAX_TEXT)):
        if name in data:
            values[name] = _text(data, name, errors, required=name == "name", limit=limit)
        elif creating and name == "name":
            errors[name] = _("'%(field)s' is required.", field=name)
    for name in ("starts_on", "ends_on"):
        if name in data:
            values[name] = _day(data, name, errors)
    if "status" in data:
        try:
            values["status"] = ProjectStatus(data["status"]) if isinstance(data["status"], str) else None
        except ValueError:
            values["status"] = None
        if values["status"] not in (ProjectStatus.PLANNED, ProjectStatus.ACTIVE, ProjectStatus.COMPLETED):
            errors["status"] = _("Choose a status: planned, active or completed.")
    if "lead_organisation_id" in data or creating:
        values["lead_organisation"] = _organisation(data.get("lead_organisation_id"), "lead_organisation_id", errors)
    if "organisation_ids" in data:
        ids = data["organisation_ids"]
        if not isinstance(ids, list) or len(ids) > MAX_PARTNERS or not all(_is_id(i) for i in ids):
            errors["organisation_ids"] = _("Give the partner organisations as a list of at most %(n)d ids.",
                                           n=MAX_PARTNERS)
        else:
            found = {o.id: o for o in db.session.scalars(sa.select(Organisation).where(Organisation.id.in_(ids)))}
            missing = sorted(set(ids) - set(found))
            if missing:
                errors["organisation_ids"] = _("No organisation has the id %(ids)s.",
                                               ids=", ".join(str(i) for i in missing))
            values["partners"] = list(found.values())
    if errors:
        raise ValidationFailed(errors)
    return values


def _set_partners(project: Project, organisations) -> None:
    wanted = {o.id for o in organisations} | {project.lead_organisation_id}
    before = set(project.organisation_ids)
    for partner in list(project.partners):
        if partner.organisation_id not in wanted:
            project.partners.remove(partner)
    for organisation_id in sorted(wanted - before):
        project.partners.append(ProjectOrganisation(organisation_id=organisation_id))
    if wanted != before:
        # Who sees the project's bookings changed: feeds revalidated by date must see a change.
        project.updated_at = utcnow()
    forget_partnerships()


def _check_period(project: Project) -> None:
    if project.starts_on and project.ends_on and project.ends_on < project.starts_on:
        raise ValidationFailed({"ends_on": _("The project cannot end before it starts.")})


def create_project(actor, data: dict) -> Project:
    """A new project; the lead organisation is always one of its partners.

    Staff create it with the status they give; an organisation contact proposes it for their
    own organisation to lead, and it stays ``proposed`` until staff decide."""
    require_may_create(actor)
    values = _parse(data, creating=True)
    lead = values.pop("lead_organisation")
    partners = values.pop("partners", [])
    proposing = not is_staff(actor)
    if proposing:
        if not manages_organisation(actor, lead.id):
            raise PermissionDenied(_("You can propose projects only with your own organisation as the lead."))
        if "status" in values:
            raise ValidationFailed({"status": _("Workshop staff set the status when they approve the project.")})
        values["status"] = ProjectStatus.PROPOSED
    project = Project(**{"description": "", "goals": "", "status": ProjectStatus.PLANNED, **values})
    if proposing:
        project.proposed_by_id = actor.id
    project.lead_organisation = lead
    project.lead_organisation_id = lead.id
    _check_period(project)
    _set_partners(project, partners)
    db.session.add(project)
    db.session.flush()
    audit.record(actor, "project.propose" if proposing else "project.create", project,
                 summary=f"{project.name} ({project.status.value}); partners "
                 + ", ".join(str(i) for i in project.organisation_ids))
    if proposing:
        from booking.notifications.projects import proposal_made

        proposal_made(actor, project)
    return project


def update_project(actor, project: Project, data: dict) -> Project:
    """Change a project; the partners given replace the old ones (the lead stays a partner)."""
    require_staff(actor)
    values = _parse(data, creating=False)
    if "status" in values and not project.status.takes_bookings:
        raise ValidationFailed({"status": _("Approve or reject the proposal first.")})
    before = {"name": project.name, "status": project.status.value, "partners": project.organisation_ids,
              "starts_on": str(project.starts_on), "ends_on": str(project.ends_on)}
    lead = values.pop("lead_organisation", None)
    partners = values.pop("partners", None)
    for key, value in values.items():
        setattr(project, key, value)
    if lead is not None:
        project.lead_organisation = lead
        project.lead_organisation_id = lead.id
    _check_period(project)
    if partners is not None or lead is not None:
        _set_partners(project, partners if partners is not None else [p.organisation for p in project.partners])
    db.session.flush()
    after = {"name": project.name, "status": project.status.value, "partners": project.organisation_ids,
             "starts_on": str(project.starts_on), "ends_on": str(project.ends_on)}
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    audit.record(actor, "project.update", project, changes=changes, summary=project.name)
    return project


def decide_proposal(actor, project: Project, *, approve: bool, status=None, reason=None) -> Project:
    """Approve a proposed project (as ``planned``, the default, or ``active``) or reject it;
    audited, and the proposer is told by email (through the outbox, sent after the commit)."""
    require_staff(actor)
    if project.status != ProjectStatus.PROPOSED:
        raise ValidationFailed({"status": _("Only a proposed project can be approved or rejected.")})
    errors = {}
    new_status = ProjectStatus.REJECTED
    if approve:
        new_status = ProjectStatus.PLANNED if status is None else None
        if isinstance(status, str) and status in {s.value for s in APPROVED_STATUSES}:
            new_status = ProjectStatus(status)
        if new_status is None:
            errors["status"] = _("Choose a status: planned or active.")
    if reason is not None and not isinstance(reason, str):
        errors["reason"] = _("'%(field)s' must be text.", field="reason")
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if len(reason) > MAX_TEXT:
        errors["reason"] = _("'%(field)s' may be at most %(n)d characters long.", field="reason", n=MAX_TEXT)
    if errors:
        raise ValidationFailed(errors)
    before = project.status.value
    project.status = new_status
    db.session.flush()
    audit.record(actor, "project.approve" if approve else "project.reject", project,
                 changes={"status": [before, new_status.value]}, summary=reason or project.name)
    from booking.notifications.projects import proposal_decided

    proposal_decided(actor, project, reason)
    return project


def check_booking_project(project_id, organisation: Organisation) -> Project | None:
    """The project a booking (or an equipment reservation) for ``organisation`` names, or None;
    422 unless the organisation is one of the project's partners (what the booking's partners
    then see follows from it) and staff have approved the project."""
    if project_id is None:
        return None
    project = db.session.get(Project, project_id) if _is_id(project_id) else None
    if project is None or organisation.id not in project.organisation_ids:
        raise ValidationFailed({"project_id": _(
            "%(organisation)s is not a partner of that project.", organisation=organisation.name)})
    if not project.status.takes_bookings:
        raise ValidationFailed({"project_id": _(
            "The project %(name)s is not approved, so nothing can be booked for it yet.", name=project.name)})
    return project


def project_link(user, booking: Booking) -> Project | None:
    """The project a booking is part of, when ``user`` may open the project's page."""
    if booking.project_id is None:
        return None
    project = db.session.get(Project, booking.project_id)
    return project if project is not None and can_view_project(user, project) else None


def bookable_projects(organisation_id: int | None) -> list[Project]:
    """The approved projects ``organisation_id`` is a partner of, for a booking form's choice."""
    if organisation_id is None:
        return []
    return list(db.session.scalars(
        sa.select(Project).join(ProjectOrganisation)
        .where(ProjectOrganisation.organisation_id == organisation_id,
               Project.status.not_in((ProjectStatus.PROPOSED, ProjectStatus.REJECTED)))
        .order_by(Project.name, Project.id)))


def project_bookings(project: Project) -> list[Booking]:
    return list(db.session.scalars(sa.select(Booking).where(Booking.project_id == project.id)
                                   .options(selectinload(Booking.organiser))
                                   .order_by(Booking.start, Booking.id)))


def project_reservations(project: Project) -> list[EquipmentReservation]:
    """The equipment reserved for the project, by itself or with one of its bookings."""
    with_booking = sa.select(Booking.id).where(Booking.project_id == project.id)
    return list(db.session.scalars(
        sa.select(EquipmentReservation)
        .where(sa.or_(EquipmentReservation.project_id == project.id, EquipmentReservation.booking_id.in_(with_booking)))
        .order_by(EquipmentReservation.start, EquipmentReservation.id)))


# --- the project page ------------------------------------------------------------------------------

@dataclass(frozen=True)
class TimelineEntry:
    """A session (booking) or a loan (equipment reservation) on a project's page, in order of start."""

    kind: str  # "session" or "loan"
    start: datetime
    end: datetime
    item: Booking | EquipmentReservation
    details: bool  # False: shown only as busy (not one of the project's partners)


def project_timeline(user, project: Project) -> list[TimelineEntry]:
    """The project's sessions and loans, each with whether ``user`` sees its details (the same
    rules as everywhere else: booking.permissions and booking.equipment.permissions)."""
    from booking.equipment.permissions import can_view as can_view_reservation
    from booking.models import BookingStatus, ReservationStatus
    from booking.permissions import can_view_details

    entries = [TimelineEntry("session", b.start, b.end, b, can_view_details(user, b))
               for b in project_bookings(project) if b.status != BookingStatus.REJECTED]
    entries += [TimelineEntry("loan", r.start, r.end, r, can_view_reservation(user, r))
                for r in project_reservations(project) if r.status != ReservationStatus.REJECTED]
    return sorted(entries, key=lambda e: (e.start, e.kind, e.item.id))


@dataclass(frozen=True)
class EquipmentUse:
    name: str
    units: int  # units reserved over all loans
    loans: int


def equipment_used(timeline: list[TimelineEntry]) -> list[EquipmentUse]:
    """The equipment types the project's loans (not cancelled) use, by name."""
    from booking.models import ReservationStatus

    used: dict[str, list[int]] = {}
    for entry in timeline:
        if entry.kind == "loan" and entry.item.status != ReservationStatus.CANCELLED:
            totals = used.setdefault(entry.item.equipment_type.name, [0, 0])
            totals[0] += entry.item.quantity
            totals[1] += 1
    return [EquipmentUse(name, units, loans) for name, (units, loans) in sorted(used.items())]


def sectors(project: Project) -> list[str]:
    """The kinds of organisation (sectors) taking part, each once, in the order of the kinds."""
    from accounts.models import OrganisationKind

    present = {p.organisation.kind for p in project.partners}
    return [kind.value for kind in OrganisationKind if kind in present]


def lead_choices(actor) -> list[Organisation]:
    """Who may lead a project ``actor`` creates: any active organisation for staff; a contact's
    own organisation for a proposal."""
    query = sa.select(Organisation).where(Organisation.active.is_(True)).order_by(Organisation.name)
    if not is_staff(actor):
        query = query.where(Organisation.id == actor.organisation_id)
    return list(db.session.scalars(query))


def partner_choices() -> list[Organisation]:
    return list(db.session.scalars(sa.select(Organisation).where(Organisation.active.is_(True))
                                   .order_by(Organisation.name)))
