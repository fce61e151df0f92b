"""Project messages: a proposal approved or rejected, to the contact who proposed it."""
from __future__ import annotations

from flask_babel import gettext as _

from accounts.models import User
from booking.notifications import Notice, person, render, send, site


def _status_text(project) -> str:
    return {"planned": _("planned"), "active": _("active")}.get(project.status.value, project.status.value)


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
        facts = [(_("Project"), project.name), (_("Lead organisation"), project.lead_organisation.name)]
        return Notice(subject=subject, heading=heading,
                      paragraphs=[_("Hello %(name)s,", name=recipient.name), *paragraphs], facts=facts,
                      link=f"{site().base_url}/projects/{project.id}", link_label=_("Open the project"))

    send([render(recipient, "project.approved" if approved else "project.rejected", build,
                 reference=f"project:{project.id}")])
