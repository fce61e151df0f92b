"""Identity links (provider + subject -> user) and single-use sign-in links (invitations and
password resets). Link tokens are stored only as their SHA-256."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import Organisation, Role, User
from samskap.extensions import db
from samskap.models import created_at_column, enum_column
from samskap.timeutil import UTCDateTime


class UserIdentity(db.Model):
    """A person's account at an OpenID Connect provider, linked to one Samskap user.

    ``sub`` is unique only per issuer (OIDC Core 2), so the pair is the key; ``provider`` is the
    configured name it came through, kept for the profile and the audit log."""

    __tablename__ = "user_identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    provider: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    issuer: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    subject: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (sa.UniqueConstraint("issuer", "subject", name="uq_user_identities_issuer_subject"),)


class LinkPurpose(str, enum.Enum):
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"


class SignInLink(db.Model):
    """A link sent by email that lets one person in once: an invitation (to an organisation,
    with a role) or a password reset (for an existing user). Expires; ``used_at`` makes it
    single-use."""

    __tablename__ = "sign_in_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[LinkPurpose] = enum_column(LinkPurpose, "sign_in_link_purpose", nullable=False)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    email: Mapped[str] = mapped_column(sa.String(254), nullable=False, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"))
    role: Mapped[Role | None] = enum_column(Role, "sign_in_link_role")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    organisation: Mapped[Organisation | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    def usable_at(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at
