"""The one place that answers "may this actor do this?" for accounts-level actions: roles,
managing an organisation and its members, seeing an organisation's bookings, and the view
decorators built on them.

Rules about other areas' objects live in those areas' own ``permissions.py`` (for example
``booking/permissions.py``, ``booking/equipment/permissions.py``), which build on these.
"""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from accounts.models import Organisation, Role, User


def is_admin(user) -> bool:
    return bool(user and getattr(user, "is_authenticated", False) and user.role == Role.ADMIN)


def is_staff(user) -> bool:
    """Workshop staff or administrator."""
    return bool(user and getattr(user, "is_authenticated", False) and user.role in (Role.ADMIN, Role.STAFF))


def manages_organisation(user, organisation_id: int | None) -> bool:
    """Staff and admins manage every organisation; an organisation contact manages their own."""
    if is_staff(user):
        return True
    return bool(user and getattr(user, "is_authenticated", False) and user.is_org_contact
                and user.organisation_id == organisation_id)


def sees_organisation_bookings(user, organisation: Organisation) -> bool:
    """May ``user`` see and manage all bookings of ``organisation`` (not only their own)?"""
    if manages_organisation(user, organisation.id):
        return True
    return bool(getattr(user, "organisation_id", None) == organisation.id and organisation.members_share_bookings)


def can_manage_users(user) -> bool:
    """Create, change, deactivate and anonymise users; change roles."""
    return is_admin(user)


def can_manage_organisations(user) -> bool:
    return is_admin(user)


def can_manage_tokens_of(actor, user) -> bool:
    """Create or revoke API tokens of ``user``: the user themself, or an administrator."""
    return bool(actor is not None and (actor.id == user.id or is_admin(actor)))


def can_view_member_list(user, organisation: Organisation) -> bool:
    """See who belongs to an organisation (name, email, role): its contacts, staff, admins."""
    return manages_organisation(user, organisation.id)


def can_choose_any_organisation(user) -> bool:
    """Pick any organisation in the organisation pages (its bookings, its members): staff and
    administrators; everyone else sees their own organisation only."""
    return is_staff(user)


def can_manage_member(actor, member: User) -> bool:
    """Deactivate, reactivate or make ``member`` an organisation contact (the members page):
    administrators anyone; workshop staff and the organisation's own contacts only plain members,
    and contacts only those of their own organisation. Nobody changes themself there."""
    if not (actor and getattr(actor, "is_authenticated", False)) or actor.id == member.id:
        return False
    if is_admin(actor):
        return True
    if member.role != Role.MEMBER:
        return False
    return manages_organisation(actor, member.organisation_id)


def can_invite(actor, organisation: Organisation, role: Role) -> bool:
    """Invite someone into ``organisation`` with ``role``: administrators any role (the service
    keeps staff and administrators to the host organisation); workshop staff and an organisation's contacts only members, the
    contacts only into their own organisation."""
    if not (actor and getattr(actor, "is_authenticated", False)):
        return False
    if is_admin(actor):
        return True
    return role == Role.MEMBER and manages_organisation(actor, organisation.id)


def admin_required(view):
    """Signed in and administrator, else 403 (401 redirect to sign-in when anonymous)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not is_admin(current_user):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def staff_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not is_staff(current_user):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


__all__ = [
    "User",
    "admin_required",
    "can_choose_any_organisation",
    "can_invite",
    "can_manage_member",
    "can_manage_organisations",
    "can_manage_tokens_of",
    "can_manage_users",
    "can_view_member_list",
    "is_admin",
    "is_staff",
    "manages_organisation",
    "sees_organisation_bookings",
    "staff_required",
]
