"""Spaces, their kinds and closures; equipment types and their physical units."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from samskap.extensions import db
from samskap.models import created_at_column, enum_column, updated_at_column
from samskap.timeutil import UTCDateTime

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SpaceKind(db.Model):
    """Meeting room, workshop room, simulation lab... administrators may add more."""

    __tablename__ = "space_kinds"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    name_nb: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    name_en: Mapped[str] = mapped_column(sa.String(100), nullable=False)

    def label(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_nb


class Space(db.Model):
    __tablename__ = "spaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True, nullable=False)
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True, nullable=False)
    kind_id: Mapped[int] = mapped_column(sa.ForeignKey("space_kinds.id"), nullable=False)
    capacity: Mapped[int] = mapped_column(nullable=False)
    description: Mapped[str] = mapped_column(sa.Text(), nullable=False, default="")
    location: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    # {"mon": [["08:00", "16:00"]], ...} in local time; None means open around the clock,
    # a missing weekday means closed that day.
    opening_hours: Mapped[dict | None] = mapped_column(sa.JSON())
    # Organisation kinds (values of OrganisationKind) whose members may book.
    bookable_by: Mapped[list] = mapped_column(sa.JSON(), nullable=False, default=list)
    requires_approval: Mapped[bool] = mapped_column(nullable=False, default=False)
    min_minutes: Mapped[int | None] = mapped_column()
    max_minutes: Mapped[int | None] = mapped_column()
    max_days_ahead: Mapped[int | None] = mapped_column()
    buffer_minutes: Mapped[int] = mapped_column(nullable=False, default=0)
    # Bookings must be checked in within this many minutes of their start, or the worker
    # releases them (status no_show); None: no check-in required.
    check_in_minutes: Mapped[int | None] = mapped_column()
    active: Mapped[bool] = mapped_column(nullable=False, default=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    kind: Mapped[SpaceKind] = relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("capacity >= 1", name="capacity_positive"),
        sa.CheckConstraint("buffer_minutes >= 0", name="buffer_not_negative"),
        sa.CheckConstraint("min_minutes IS NULL OR min_minutes >= 1", name="min_positive"),
        sa.CheckConstraint(
            "min_minutes IS NULL OR max_minutes IS NULL OR min_minutes <= max_minutes",
            name="min_not_above_max",
        ),
        sa.CheckConstraint("max_days_ahead IS NULL OR max_days_ahead >= 0", name="days_ahead_not_negative"),
        sa.CheckConstraint("check_in_minutes IS NULL OR check_in_minutes >= 1", name="check_in_positive"),
    )

    def __repr__(self) -> str:
        return f"<Space {self.id} {self.slug}>"


class Closure(db.Model):
    """A period when one space, or the whole workshop (``space_id`` NULL), is closed."""

    __tablename__ = "closures"

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int | None] = mapped_column(sa.ForeignKey("spaces.id"), index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    end: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    reason: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()

    space: Mapped[Space | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint('"end" > start', name="end_after_start"),
        sa.Index("ix_closures_period", "start", "end"),
    )


class EquipmentCategory(str, enum.Enum):
    SENSOR_KIT = "sensor_kit"
    WELFARE_TECHNOLOGY = "welfare_technology"
    VR = "vr"
    MEASUREMENT_DEVICE = "measurement_device"
    ROBOT = "robot"
    OTHER = "other"


class UnitStatus(str, enum.Enum):
    AVAILABLE = "available"
    MAINTENANCE = "maintenance"
    RETIRED = "retired"


class EquipmentType(db.Model):
    __tablename__ = "equipment_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True, nullable=False)
    category: Mapped[EquipmentCategory] = enum_column(EquipmentCategory, "equipment_category", nullable=False)
    description: Mapped[str] = mapped_column(sa.Text(), nullable=False, default="")
    max_loan_days: Mapped[int] = mapped_column(nullable=False, default=14)
    turnaround_hours: Mapped[int] = mapped_column(nullable=False, default=0)
    bookable_by: Mapped[list] = mapped_column(sa.JSON(), nullable=False, default=list)
    requires_approval: Mapped[bool] = mapped_column(nullable=False, default=False)
    active: Mapped[bool] = mapped_column(nullable=False, default=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    units: Mapped[list["EquipmentUnit"]] = relationship(
        back_populates="equipment_type", order_by="EquipmentUnit.asset_tag"
    )

    __table_args__ = (
        sa.CheckConstraint("max_loan_days >= 1", name="max_loan_positive"),
        sa.CheckConstraint("turnaround_hours >= 0", name="turnaround_not_negative"),
    )


class EquipmentUnit(db.Model):
    """One physical unit, tracked by asset tag and serial number."""

    __tablename__ = "equipment_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_type_id: Mapped[int] = mapped_column(sa.ForeignKey("equipment_types.id"), nullable=False, index=True)
    asset_tag: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    serial: Mapped[str] = mapped_column(sa.String(128), nullable=False, default="")
    status: Mapped[UnitStatus] = enum_column(UnitStatus, "unit_status", nullable=False, default=UnitStatus.AVAILABLE)
    status_note: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    home_space_id: Mapped[int | None] = mapped_column(sa.ForeignKey("spaces.id"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    equipment_type: Mapped[EquipmentType] = relationship(back_populates="units")
    home_space: Mapped[Space | None] = relationship()

    @property
    def is_loanable(self) -> bool:
        return self.status == UnitStatus.AVAILABLE
