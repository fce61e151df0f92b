"""Audit log: who changed what, when, from which values to which."""
from __future__ import annotations

from datetime import date, datetime
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from samskap.extensions import db
from samskap.timeutil import UTCDateTime, utcnow


class AuditEntry(db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(64), nullable=False, index=True)
    object_type: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    object_id: Mapped[int | None] = mapped_column()
    changes: Mapped[dict | None] = mapped_column(sa.JSON())
    summary: Mapped[str | None] = mapped_column(sa.String(500))

    actor = relationship("User", lazy="joined")

    __table_args__ = (sa.Index("ix_audit_log_object", "object_type", "object_id"),)


def _plain(value):
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def diff(obj, fields, before: dict) -> dict:
    """``{field: [old, new]}`` for the fields whose value changed since ``before``."""
    changes = {}
    for field in fields:
        old, new = _plain(before.get(field)), _plain(getattr(obj, field))
        if old != new:
            changes[field] = [old, new]
    return changes


def snapshot(obj, fields) -> dict:
    return {field: getattr(obj, field) for field in fields}


def entry_values(actor, action: str, obj=None, *, object_type: str | None = None, changes: dict | None = None,
                 summary: str | None = None) -> dict:
    """The columns of an audit entry (all but ``at`` and ``id``), as :func:`record` writes them."""
    return {
        "actor_id": getattr(actor, "id", None),
        "action": action,
        "object_type": object_type or (obj.__tablename__ if obj is not None else "system"),
        "object_id": getattr(obj, "id", None),
        "changes": _plain(changes) if changes else None,
        "summary": summary[:500] if summary else None,
    }


def record(actor, action: str, obj=None, *, object_type: str | None = None, changes: dict | None = None,
           summary: str | None = None) -> AuditEntry:
    """Add an audit entry to the current unit of work (the caller's transaction commits it)."""
    entry = AuditEntry(**entry_values(actor, action, obj, object_type=object_type, changes=changes, summary=summary))
    db.session.add(entry)
    return entry


# --- searching (the administrators' audit-log page) -------------------------------------------

class AuditSearch:
    """Validated filters for the audit log; :meth:`from_args` raises ValidationFailed."""

    def __init__(self, action="", actor="", object_type="", object_id=None, day_from=None, day_to=None, page=1):
        self.action, self.actor, self.object_type = action, actor, object_type
        self.object_id, self.day_from, self.day_to, self.page = object_id, day_from, day_to, page

    @classmethod
    def from_args(cls, args: dict) -> "AuditSearch":
        from flask_babel import gettext as _

        from samskap.errors import ValidationFailed
        from samskap.ids import parse_count, parse_id

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
    from accounts.models import User
    from samskap.timeutil import local_day_bounds

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


PERSONAL_FIELDS = ("name", "email")


def scrub_personal_data(user_id: int, texts: list[str], replacement: str) -> None:
    """Remove a departed user's name and email from the audit trail (anonymisation): every
    old and new value of those fields in the user's own entries, and any summary mentioning
    the current ones."""
    texts = [t for t in texts if t]
    entries = db.session.scalars(sa.select(AuditEntry).where(sa.or_(
        sa.and_(AuditEntry.object_type == "users", AuditEntry.object_id == user_id),
        *[AuditEntry.summary.contains(t, autoescape=True) for t in texts]))).all()
    for entry in entries:
        if entry.changes and entry.object_type == "users" and entry.object_id == user_id:
            entry.changes = {field: ([None if v is None else replacement for v in values]
                                     if field in PERSONAL_FIELDS and isinstance(values, list) else values)
                             for field, values in entry.changes.items()}
        if entry.summary:
            for text in texts:
                entry.summary = entry.summary.replace(text, replacement)
