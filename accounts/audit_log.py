"""Searching the audit log (the administrators' audit-log page, ``/admin/audit``).

The log itself is the core's (:mod:`samskap.audit`); searching it by who acted needs the users'
names and email addresses, which are this area's.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from accounts.models import User
from samskap.audit import AuditEntry
from samskap.errors import ValidationFailed
from samskap.extensions import db
from samskap.ids import parse_count, parse_id
from samskap.timeutil import local_day_bounds


class AuditSearch:
    """Validated filters for the audit log; :meth:`from_args` raises ValidationFailed."""

    def __init__(self, action="", actor="", object_type="", object_id=None, day_from=None, day_to=None, page=1):
        self.action, self.actor, self.object_type = action, actor, object_type
        self.object_id, self.day_from, self.day_to, self.page = object_id, day_from, day_to, page

    @classmethod
    def from_args(cls, args: dict) -> "AuditSearch":
        errors = {}
        object_id = None
        if args.get("object_id"):
            object_id = parse_id(args["object_id"])
            if object_id is None:
                errors["object_id"] = _("The object id must be a whole number.")
        days = {}
        for key in ("from", "to"):
            if args.get(key):
                try:
                    days[key] = date.fromisoformat(args[key])
                except ValueError:
                    days[key] = None
                if days[key] is None or not 1970 <= days[key].year <= 2200:
                    errors[key] = _("'%(value)s' is not a date (YYYY-MM-DD).", value=args[key])
        page = parse_count(args.get("page") or "1", maximum=100_000) or 1
        if errors:
            raise ValidationFailed(errors)
        return cls(action=(args.get("action") or "")[:64], actor=(args.get("actor") or "")[:200],
                   object_type=(args.get("object_type") or "")[:64], object_id=object_id,
                   day_from=days.get("from"), day_to=days.get("to"), page=page)


class AuditPage:
    def __init__(self, entries, page, has_next):
        self.entries, self.page, self.has_next = entries, page, has_next


def search(criteria: AuditSearch, *, page_size: int = 50) -> AuditPage:
    """Entries matching ``criteria``, newest first, one page at a time."""
    query = sa.select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if criteria.action:
        query = query.where(AuditEntry.action.startswith(criteria.action, autoescape=True))
    if criteria.object_type:
        query = query.where(AuditEntry.object_type == criteria.object_type)
    if criteria.object_id is not None:
        query = query.where(AuditEntry.object_id == criteria.object_id)
    if criteria.actor:
        actors = sa.select(User.id).where(sa.or_(User.email.contains(criteria.actor.lower(), autoescape=True),
                                                 User.name.contains(criteria.actor, autoescape=True)))
        query = query.where(AuditEntry.actor_id.in_(actors))
    if criteria.day_from:
        query = query.where(AuditEntry.at >= local_day_bounds(criteria.day_from)[0])
    if criteria.day_to:
        query = query.where(AuditEntry.at < local_day_bounds(criteria.day_to)[1])
    rows = db.session.scalars(query.limit(page_size + 1).offset((criteria.page - 1) * page_size)).all()
    return AuditPage(rows[:page_size], criteria.page, len(rows) > page_size)


def object_types() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.object_type).distinct().order_by(AuditEntry.object_type)))
