"""Project messages: a new proposal, to the staff who decide it; a proposal approved or
rejected, to the contact who proposed it."""
from __future__ import annotations

from flask_babel import gettext as _

from accounts.models import User
from booking.notifications import Notice, approvers, person, render, send, site


def _status_text(project) -> str:
    return {"planned": _("planned"), "active": _("active")}.get(project.status.value, project.status.value)


def _facts(project) -> list[tuple[str, str]]:
    return [(_("Project"), project.name), (_("Lead organisation"), project.lead_organisation.name)]


def _link(project) -> str:
    return f"{site().base_url}/projects/{project.id}"


def proposal_made(actor: User, project) -> None:
    """Tell the staff who decide that an organisation's contact proposed a project."""
    def build(recipient):
        return Notice(subject=_("Project proposed: %(name)s", name=project.name),
                      heading=_("A project proposal needs your decision"),
                      paragraphs=[_("Hello %(name)s,", name=recipient.name),
                                  _("%(actor)s proposed the project; approve or reject it on its page.",
                                    actor=actor.name)],
                      facts=_facts(project), link=_link(project), link_label=_("Open the project"))

    send([render(r, "project.proposed", lambda r=r: build(r), reference=f"project:{project.id}")
          for r in (person(user) for user in approvers())])


def proposal_decided(actor: User, project, reason: str = "") -> None:
    """Tell the proposer that staff approved (and with which status) or rejected their project."""
    if project.proposed_by is None or not project.proposed_by.active:
        return
    approved = project.status.takes_bookings
    recipient = person(project.proposed_by)

    def build():
        if approved:
            subject = _("Project approved: %(name)s", name=project.name)
            heading = _("Your project proposal is approved")
            paragraphs = [_("%(actor)s approved the project; its status is now %(status)s. Bookings and equipment "
                            "loans can now name it.", actor=actor.name, status=_status_text(project))]
        else:
            subject = _("Project not approved: %(name)s", name=project.name)
            heading = _("Your project proposal was not approved")
            paragraphs = [_("%(actor)s rejected the project.", actor=actor.name)]
        if reason:
            paragraphs.append(_("Reason: %(reason)s", reason=reason))
        return Notice(subject=subject, heading=heading,
                      paragraphs=[_("Hello %(name)s,", name=recipient.name), *paragraphs], facts=_facts(project),
                      link=_link(project), link_label=_("Open the project"))

    send([render(recipient, "project.approved" if approved else "project.rejected", build,
                 reference=f"project:{project.id}")])
