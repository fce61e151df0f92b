"""An organisation's contacts (and workshop staff, and administrators) manage its members:
deactivate and reactivate them, and make another member a contact. Nobody here can reach another
organisation's people or grant staff or administrator rights (accounts.permissions.can_manage_member)."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from accounts.models import User
from accounts.permissions import can_choose_any_organisation, can_manage_member
from samskap import audit
from samskap.errors import NotFound, PermissionDenied, ValidationFailed
from samskap.extensions import db


def member_for(actor: User, user_id: int) -> User:
    """The person ``actor`` may see on a members page, else NotFound: another organisation's
    people do not exist for a contact (IDOR-proof: scoped in the query)."""
    query = sa.select(User).where(User.id == user_id, User.anonymised_at.is_(None))
    if not can_choose_any_organisation(actor):
        query = query.where(User.organisation_id == actor.organisation_id)
    member = db.session.scalar(query)
    if member is None:
        raise NotFound(_("No such member."))
    return member


def _require(actor: User, member: User) -> None:
    if actor.id == member.id:
        raise PermissionDenied(_("You cannot change your own access here."))
    if not can_manage_member(actor, member):
        raise PermissionDenied(_("Only the organisation's contacts, workshop staff and administrators can manage "
                                 "its members, and only members (not staff or administrators)."))


def set_active(actor: User, member: User, active: bool) -> User:
    """Deactivate (ends every session of theirs at once) or reactivate a member."""
    _require(actor, member)
    if member.active == active:
        return member
    before = audit.snapshot(member, ("active", "is_org_contact"))
    member.active = active
    if not active:
        member.is_org_contact = False  # a deactivated person manages nothing
        member.session_version += 1
    db.session.flush()
    audit.record(actor, "user.activate" if active else "user.deactivate", member,
                 changes=audit.diff(member, ("active", "is_org_contact"), before))
    return member


def set_contact(actor: User, member: User, is_contact: bool) -> User:
    """Make a member an organisation contact, or end that."""
    _require(actor, member)
    if is_contact and not member.active:
        raise ValidationFailed({"is_org_contact": _("A deactivated member cannot be a contact.")})
    if member.is_org_contact == is_contact:
        return member
    member.is_org_contact = is_contact
    db.session.flush()
    audit.record(actor, "user.role_change", member, changes={"is_org_contact": [not is_contact, is_contact]})
    return member
