"""Who may see and do what with equipment reservations.

The same rule as for bookings' private details: staff and administrators see
everything; otherwise the person who reserved, and (when the organisation shares
bookings, or for its contacts) everyone in that organisation. Lists use
:func:`visible_clause`, single objects :func:`can_view`, so they never disagree.
Handing units out, taking them back and deciding pending reservations is staff work.
"""
from __future__ import annotations

import sqlalchemy as sa

from accounts.permissions import is_staff, manages_organisation, sees_organisation_bookings
from booking.models import EquipmentReservation


def _signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def can_view(user, reservation: EquipmentReservation) -> bool:
    if not _signed_in(user):
        return False
    if is_staff(user) or reservation.user_id == user.id:
        return True
    return (reservation.organisation_id == user.organisation_id
            and sees_organisation_bookings(user, reservation.organisation))


def can_cancel(user, reservation: EquipmentReservation) -> bool:
    return can_view(user, reservation)


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
    return sa.or_(*clauses)
