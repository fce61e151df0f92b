"""Who may see and do what with bookings. Views, the API and feeds ask these; nothing
re-derives the rules inline. Lists use :func:`details_visible_clause`, single objects
:func:`can_view_details`, so a list and a detail page can never disagree.

* Anyone (even anonymous) may see that a slot is busy, and the details of public events.
* Signed-in users see the details of bookings shared with partners.
* Private bookings: their own organisation's organiser, organisation contacts and (if the
  organisation shares bookings) its members; staff and administrators see everything.
* A project's bookings: every member of each of the project's partner organisations
  (privacy follows the partnership, :mod:`booking.projects`).
* A booking's participants: the members of each participating organisation and each named
  participant see it in full, as its own organisation does (:mod:`booking.participants`).
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from accounts.permissions import is_staff, manages_organisation, sees_organisation_bookings
from booking.models import Booking, BookingStatus, Visibility
from booking.participants import participating_booking_ids, participation_clause
from booking.projects.models import ProjectOrganisation
from samskap.extensions import db

_PARTNERSHIPS = "samskap.partner_project_ids"


def _signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def can_view_details(user, booking: Booking) -> bool:
    if booking.visibility == Visibility.PUBLIC and booking.status != BookingStatus.REJECTED:
        return True
    if not _signed_in(user):
        return False
    if is_staff(user) or booking.organiser_id == user.id:
        return True
    if booking.visibility == Visibility.PARTNERS:
        return True
    if getattr(booking, "project_id", None) is not None and booking.project_id in partner_project_ids(user):
        return True
    if getattr(booking, "id", None) is not None and booking.id in participating_booking_ids(user):
        return True
    return booking.organisation_id == user.organisation_id and sees_organisation_bookings(user, booking.organisation)


def partner_project_ids(user) -> frozenset[int]:
    """The projects whose partners include ``user``'s organisation: read once per unit of work
    (a day grid asks for every booking) and forgotten at its commit or rollback, and whenever
    a project's partners change (:func:`forget_partnerships`)."""
    if not _signed_in(user) or user.organisation_id is None:
        return frozenset()
    cache = db.session.info.setdefault(_PARTNERSHIPS, {})
    key = (user.id, user.organisation_id)
    if key not in cache:
        cache[key] = frozenset(db.session.scalars(
            sa.select(ProjectOrganisation.project_id).where(ProjectOrganisation.organisation_id == user.organisation_id)))
    return cache[key]


def forget_partnerships(session=None) -> None:
    (session or db.session).info.pop(_PARTNERSHIPS, None)


@sa.event.listens_for(Session, "after_commit")
@sa.event.listens_for(Session, "after_rollback")
def _forget_partnerships_at_end(session) -> None:
    session.info.pop(_PARTNERSHIPS, None)


def can_manage(user, booking: Booking) -> bool:
    """Edit or cancel: the organiser, their organisation's contacts (or members when the
    organisation shares bookings), staff and administrators."""
    if not _signed_in(user):
        return False
    if is_staff(user) or booking.organiser_id == user.id:
        return True
    return booking.organisation_id == user.organisation_id and sees_organisation_bookings(user, booking.organisation)


def can_decide(user) -> bool:
    """Approve or reject pending bookings."""
    return is_staff(user)


def can_book_for_other_organisations(user) -> bool:
    return is_staff(user)


def can_override_opening_hours(user) -> bool:
    """Book or move a booking outside the space's opening hours (audited)."""
    return is_staff(user)


def sees_every_booking(user) -> bool:
    """Every organisation's bookings with their details: staff and administrators (for
    example the calendar feed of every booking)."""
    return is_staff(user)


def details_visible_clause(user):
    """SQL condition: bookings whose details ``user`` may see (the list form of can_view_details)."""
    public = sa.and_(Booking.visibility == Visibility.PUBLIC, Booking.status != BookingStatus.REJECTED)
    if not _signed_in(user):
        return public
    if is_staff(user):
        return sa.true()
    own = Booking.organisation_id == user.organisation_id
    if manages_organisation(user, user.organisation_id) or user.organisation.members_share_bookings:
        own_visible = own
    else:
        own_visible = sa.false()
    partner = Booking.project_id.in_(sa.select(ProjectOrganisation.project_id)
                                     .where(ProjectOrganisation.organisation_id == user.organisation_id))
    return sa.or_(public, Booking.visibility == Visibility.PARTNERS, Booking.organiser_id == user.id, own_visible,
                  partner, participation_clause(user))


def manageable_clause(user):
    """SQL condition: bookings ``user`` may edit or cancel (the list form of can_manage)."""
    if not _signed_in(user):
        return sa.false()
    if is_staff(user):
        return sa.true()
    clauses = [Booking.organiser_id == user.id]
    if manages_organisation(user, user.organisation_id) or user.organisation.members_share_bookings:
        clauses.append(Booking.organisation_id == user.organisation_id)
    return sa.or_(*clauses)
