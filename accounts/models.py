"""Organisations, users, roles and API tokens."""
from __future__ import annotations

import enum
import hashlib
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from samskap.extensions import db
from samskap.models import created_at_column, enum_column, updated_at_column
from samskap.timeutil import UTCDateTime


class OrganisationKind(str, enum.Enum):
    MUNICIPALITY = "municipality"
    HOSPITAL = "hospital"
    COMPANY = "company"
    ACADEMIA = "academia"
    HOST = "host"


class Role(str, enum.Enum):
    ADMIN = "admin"
    STAFF = "staff"
    MEMBER = "member"


class Organisation(db.Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True, nullable=False)
    kind: Mapped[OrganisationKind] = enum_column(OrganisationKind, "organisation_kind", nullable=False)
    number: Mapped[str | None] = mapped_column(sa.String(9), unique=True)
    # When true, every member may see and manage all of the organisation's bookings;
    # otherwise only organisation contacts (and the organiser) may.
    members_share_bookings: Mapped[bool] = mapped_column(nullable=False, default=True)
    active: Mapped[bool] = mapped_column(nullable=False, default=True)
    # A shared address (post@kommune.no) that receives a copy of the booking mail its members get.
    contact_email: Mapped[str | None] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    users: Mapped[list["User"]] = relationship(back_populates="organisation")

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name!r} {self.kind.value}>"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Always stored lower-cased, so uniqueness is case-insensitive on every database.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), nullable=False, index=True)
    role: Mapped[Role] = enum_column(Role, "user_role", nullable=False, default=Role.MEMBER)
    is_org_contact: Mapped[bool] = mapped_column(nullable=False, default=False)
    locale: Mapped[str] = mapped_column(sa.String(5), nullable=False, default="nb")
    active: Mapped[bool] = mapped_column(nullable=False, default=True)
    # Bumped on sign-out, password change and deactivation: ends every other session.
    session_version: Mapped[int] = mapped_column(nullable=False, default=1)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Notification preferences (status mail about one's own bookings cannot be turned off).
    notify_reminders: Mapped[bool] = mapped_column(nullable=False, default=True, server_default=sa.true())
    reminder_hours: Mapped[int | None] = mapped_column()  # None: SAMSKAP_REMINDER_HOURS
    approval_digest: Mapped[bool] = mapped_column(nullable=False, default=False, server_default=sa.false())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    organisation: Mapped[Organisation] = relationship(back_populates="users", lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_staff(self) -> bool:
        """Workshop staff or administrator: may act for any organisation."""
        return self.role in (Role.ADMIN, Role.STAFF)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role.value}>"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    prefix: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="joined")

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
