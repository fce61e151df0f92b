"""Who may see and do what with equipment reservations.

The same rule as for bookings' private details: staff and administrators see
everything; otherwise the person who reserved, and (when the organisation shares
bookings, or for its contacts) everyone in that organisation. A reservation made for a
project (by itself or with one of the project's bookings) is seen, as the project's bookings
are, by every member of the project's partner organisations; everyone else sees only that
the units are taken. Seeing is not cancelling: :func:`can_cancel` keeps to the borrowing
organisation. Lists use :func:`visible_clause`, single objects :func:`can_view`, so they
never disagree.
Handing units out, taking them back and deciding pending reservations is staff work.
"""
from __future__ import annotations

import sqlalchemy as sa

from accounts.permissions import is_staff, manages_organisation, sees_organisation_bookings
from booking.models import Booking, EquipmentReservation
from booking.permissions import partner_project_ids
from booking.projects.models import ProjectOrganisation


def _signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def _borrows(user, reservation: EquipmentReservation) -> bool:
    """The person who reserved, their organisation as far as it shares, staff and admins."""
    if not _signed_in(user):
        return False
    if is_staff(user) or reservation.user_id == user.id:
        return True
    return (reservation.organisation_id == user.organisation_id
            and sees_organisation_bookings(user, reservation.organisation))


def _project_id(reservation: EquipmentReservation) -> int | None:
    if reservation.project_id is not None:
        return reservation.project_id
    return reservation.booking.project_id if reservation.booking is not None else None


def can_view(user, reservation: EquipmentReservation) -> bool:
    if _borrows(user, reservation):
        return True
    project_id = _project_id(reservation) if _signed_in(user) else None
    return project_id is not None and project_id in partner_project_ids(user)


def can_cancel(user, reservation: EquipmentReservation) -> bool:
    return _borrows(user, reservation)


def can_handle(user) -> bool:
    """Check out, check in, approve and reject: workshop staff and administrators."""
    return is_staff(user)


def can_reserve_for_other_organisations(user) -> bool:
    return is_staff(user)


def visible_clause(user):
    """SQL condition: reservations ``user`` may see (the list form of :func:`can_view`)."""
    if not _signed_in(user):
        return sa.false()
    if is_staff(user):
        return sa.true()
    clauses = [EquipmentReservation.user_id == user.id]
    if manages_organisation(user, user.organisation_id) or user.organisation.members_share_bookings:
        clauses.append(EquipmentReservation.organisation_id == user.organisation_id)
    partnered = sa.select(ProjectOrganisation.project_id).where(
        ProjectOrganisation.organisation_id == user.organisation_id)
    clauses.append(EquipmentReservation.project_id.in_(partnered))
    clauses.append(EquipmentReservation.booking_id.in_(
        sa.select(Booking.id).where(Booking.project_id.in_(partnered))))
    return sa.or_(*clauses)
