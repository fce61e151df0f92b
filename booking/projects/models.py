"""Projects and their partner organisations."""
from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from samskap.extensions import db
from samskap.models import created_at_column, enum_column, updated_at_column


class ProjectStatus(str, enum.Enum):
    PROPOSED = "proposed"  # by a contact of the lead organisation, waiting for staff
    PLANNED = "planned"
    ACTIVE = "active"
    COMPLETED = "completed"
    REJECTED = "rejected"  # a proposal staff turned down

    @property
    def takes_bookings(self) -> bool:
        """Bookings and loans may name only a project staff have approved."""
        return self not in (ProjectStatus.PROPOSED, ProjectStatus.REJECTED)


# What staff may turn a proposal into when they approve it.
APPROVED_STATUSES = (ProjectStatus.PLANNED, ProjectStatus.ACTIVE)


class Project(db.Model):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text(), nullable=False, default="")
    goals: Mapped[str] = mapped_column(sa.Text(), nullable=False, default="")
    lead_organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), nullable=False)
    starts_on: Mapped[date | None] = mapped_column(sa.Date())
    ends_on: Mapped[date | None] = mapped_column(sa.Date())
    status: Mapped[ProjectStatus] = enum_column(ProjectStatus, "project_status", nullable=False,
                                                default=ProjectStatus.PLANNED)
    # The organisation contact who proposed the project (None when staff created it).
    proposed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    lead_organisation = relationship("Organisation", foreign_keys=[lead_organisation_id], lazy="joined")
    proposed_by = relationship("User", foreign_keys=[proposed_by_id])
    partners: Mapped[list[ProjectOrganisation]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="ProjectOrganisation.organisation_id")

    __table_args__ = (
        sa.CheckConstraint("ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
    )

    @property
    def organisation_ids(self) -> list[int]:
        return [p.organisation_id for p in self.partners]


class ProjectOrganisation(db.Model):
    """A partner organisation of a project (the lead organisation is always one)."""

    __tablename__ = "project_organisations"

    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), primary_key=True, index=True)

    project: Mapped[Project] = relationship(back_populates="partners")
    organisation = relationship("Organisation", lazy="joined")
