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
