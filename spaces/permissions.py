"""Who may book a space and who may reserve equipment: the one statement of the rule.

The booking service, the catalogue pages, the day and week grids, the booking and
reservation forms, the start page and the JSON API all ask these functions (single
objects) or their clauses (lists), so no two paths can disagree
(tests/test_can_book_agreement.py checks that they do not).

The rule, for spaces and equipment types alike:

* Only signed-in people with an active account book, and only active spaces (types).
* Members and organisation contacts: their organisation's kind is one of the kinds the
  space (type) is open to (``bookable_by``).
* Workshop staff and administrators book on behalf of any organisation, so they may book
  every active space (type) open to some kind of organisation. Which organisation a
  particular booking is for is a second question, :func:`open_to`, which the services
  ask of the organisation chosen.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from accounts.permissions import is_staff
from spaces.models import EquipmentType, Space


def _signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def open_to(space_or_type, organisation) -> bool:
    """Is ``organisation``'s kind among those the space (or equipment type) is open to?"""
    return bool(organisation is not None and organisation.kind.value in (space_or_type.bookable_by or []))


def _may_use(user, space_or_type) -> bool:
    if not _signed_in(user) or not space_or_type.active:
        return False
    if is_staff(user):  # they book on behalf of any organisation
        return bool(space_or_type.bookable_by)
    return open_to(space_or_type, user.organisation)


class _json_list_has(FunctionElement):
    """SQL: the JSON list in a column holds a given string (the list form of ``value in column``)."""

    type = sa.Boolean()
    inherit_cache = True
    name = "json_list_has"


@compiles(_json_list_has)
def _json_list_has_sqlite(element, compiler, **kw):
    column, value = element.clauses
    return (f"EXISTS (SELECT 1 FROM json_each({compiler.process(column, **kw)}) "
            f"WHERE json_each.value = {compiler.process(value, **kw)})")


@compiles(_json_list_has, "postgresql")
def _json_list_has_postgresql(element, compiler, **kw):
    column, value = element.clauses
    return (f"EXISTS (SELECT 1 FROM json_array_elements_text({compiler.process(column, **kw)}) AS kinds(kind) "
            f"WHERE kinds.kind = {compiler.process(value, **kw)})")


def _usable_clause(user, model):
    """The list form of :func:`_may_use` for ``model`` (Space or EquipmentType)."""
    if not _signed_in(user):
        return sa.false()
    active = model.active.is_(True)
    if is_staff(user):
        return sa.and_(active, sa.func.json_array_length(model.bookable_by) > 0)
    if user.organisation is None:
        return sa.false()
    return sa.and_(active, _json_list_has(model.bookable_by, sa.literal(user.organisation.kind.value, sa.String)))


def can_book(user, space: Space) -> bool:
    """May ``user`` book ``space`` (for their own organisation or, staff, for another)?"""
    return _may_use(user, space)


def bookable_spaces_clause(user):
    """SQL condition on ``Space``: the spaces ``user`` may book (the list form of :func:`can_book`)."""
    return _usable_clause(user, Space)


def can_reserve(user, equipment_type: EquipmentType) -> bool:
    """May ``user`` reserve units of ``equipment_type`` (for their organisation or, staff, another)?"""
    return _may_use(user, equipment_type)


def reservable_types_clause(user):
    """SQL condition on ``EquipmentType``: the types ``user`` may reserve (the list form of :func:`can_reserve`)."""
    return _usable_clause(user, EquipmentType)
