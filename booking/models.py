"""Bookings (occurrences of a series are rows of their own), equipment reservations
with their per-unit allocations, and calendar feeds.

The database has the last word on overlaps: on PostgreSQL the exclusion
constraints below refuse two active bookings of one space (or two active
allocations of one unit) whose blocked periods overlap. Ranges are half-open
``[start, blocked_until)``, so back-to-back periods may touch.
"""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from samskap.extensions import db
import booking.projects.models  # noqa: F401 (bookings.project_id refers to projects)
from samskap.models import created_at_column, enum_column, updated_at_column
from samskap.timeutil import UTCDateTime


class BookingStatus(str, enum.Enum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    # Not checked in within the space's check_in_minutes: released by the worker, slot free again.
    NO_SHOW = "no_show"


ACTIVE_BOOKING_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED)


class Purpose(str, enum.Enum):
    MEETING = "meeting"
    CO_CREATION = "co-creation workshop"
    PILOT_TEST = "pilot test"
    TRAINING = "training"
    EVENT = "event"


class Visibility(str, enum.Enum):
    PRIVATE = "private"
    PARTNERS = "partners"
    PUBLIC = "public"


class BookingSeries(db.Model):
    """A recurring booking: the rule it was made from; each occurrence is a Booking row."""

    __tablename__ = "booking_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    # RFC 5545 RRULE value (without "RRULE:"), anchored at ``dtstart_local`` in ``tzid``.
    rrule: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    tzid: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="Europe/Oslo")
    dtstart_local: Mapped[str] = mapped_column(sa.String(19), nullable=False)  # "YYYY-MM-DDTHH:MM:SS"
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    occurrences: Mapped[list["Booking"]] = relationship(back_populates="series", order_by="Booking.start")


class Booking(db.Model):
    __tablename__ = "bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(sa.ForeignKey("spaces.id"), nullable=False)
    organiser_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), nullable=False, index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text(), nullable=False, default="")
    purpose: Mapped[Purpose] = enum_column(Purpose, "booking_purpose", nullable=False, default=Purpose.MEETING)
    start: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    end: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # end plus the space's buffer at booking time: the period no other booking may overlap.
    blocked_until: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    attendees: Mapped[int] = mapped_column(nullable=False, default=1)
    visibility: Mapped[Visibility] = enum_column(
        Visibility, "booking_visibility", nullable=False, default=Visibility.PRIVATE
    )
    status: Mapped[BookingStatus] = enum_column(
        BookingStatus, "booking_status", nullable=False, default=BookingStatus.CONFIRMED
    )
    series_id: Mapped[int | None] = mapped_column(sa.ForeignKey("booking_series.id"), index=True)
    # For an occurrence: the start the series rule gave it (iCalendar RECURRENCE-ID),
    # kept when the occurrence is moved.
    original_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sequence: Mapped[int] = mapped_column(nullable=False, default=0)
    opening_hours_overridden: Mapped[bool] = mapped_column(nullable=False, default=False)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_reason: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    cancelled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_in_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # The pilot or co-creation project the booking is made for: its partners see it in full.
    project_id: Mapped[int | None] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    space = relationship("Space", lazy="joined")
    organiser = relationship("User", foreign_keys=[organiser_id])
    organisation = relationship("Organisation", lazy="joined")
    series: Mapped[BookingSeries | None] = relationship(back_populates="occurrences")
    decided_by = relationship("User", foreign_keys=[decided_by_id])
    cancelled_by = relationship("User", foreign_keys=[cancelled_by_id])
    checked_in_by = relationship("User", foreign_keys=[checked_in_by_id])

    __table_args__ = (
        sa.CheckConstraint('"end" > start', name="end_after_start"),
        sa.CheckConstraint('blocked_until >= "end"', name="blocked_after_end"),
        sa.CheckConstraint("attendees >= 1", name="attendees_positive"),
        sa.Index("ix_bookings_space_period", "space_id", "start", "blocked_until"),
        sa.Index("ix_bookings_organisation_start", "organisation_id", "start"),
        sa.Index("ix_bookings_start", "start"),
        sa.Index("ix_bookings_updated_at", "updated_at"),
        ExcludeConstraint(
            (sa.column("space_id"), "="),
            (sa.func.tstzrange(sa.column("start"), sa.column("blocked_until"), sa.text("'[)'")), "&&"),
            name="ex_bookings_no_overlap",
            using="gist",
            where=sa.text("status IN ('pending', 'confirmed')"),
        ).ddl_if(dialect="postgresql"),
    )

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_BOOKING_STATUSES

    def __repr__(self) -> str:
        return f"<Booking {self.id} space={self.space_id} {self.start:%Y-%m-%d %H:%M}Z {self.status.value}>"


class ReservationStatus(str, enum.Enum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    CHECKED_OUT = "checked_out"
    RETURNED = "returned"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class EquipmentReservation(db.Model):
    __tablename__ = "equipment_reservations"

    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_type_id: Mapped[int] = mapped_column(sa.ForeignKey("equipment_types.id"), nullable=False, index=True)
    quantity: Mapped[int] = mapped_column(nullable=False)
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bookings.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), nullable=False, index=True)
    # The project the loan is for (booking.projects); a reservation made with a booking takes the booking's.
    project_id: Mapped[int | None] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    end: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    purpose: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")
    status: Mapped[ReservationStatus] = enum_column(
        ReservationStatus, "reservation_status", nullable=False, default=ReservationStatus.CONFIRMED
    )
    sequence: Mapped[int] = mapped_column(nullable=False, default=0)
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_out_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    checkout_note: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    returned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    return_note: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decision_reason: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    cancelled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    cancel_reason: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    equipment_type = relationship("EquipmentType", lazy="joined")
    booking: Mapped[Booking | None] = relationship()
    organisation = relationship("Organisation", lazy="joined")
    user = relationship("User", foreign_keys=[user_id])
    allocations: Mapped[list["EquipmentAllocation"]] = relationship(back_populates="reservation")

    __table_args__ = (
        sa.CheckConstraint('"end" > start', name="end_after_start"),
        sa.CheckConstraint("quantity >= 1", name="quantity_positive"),
        sa.Index("ix_equipment_reservations_period", "start", "end"),
    )


class EquipmentAllocation(db.Model):
    """One physical unit held by a reservation from ``start`` until ``blocked_until``
    (the reservation's end, or the actual return, plus the cleaning turnaround)."""

    __tablename__ = "equipment_allocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int] = mapped_column(sa.ForeignKey("equipment_reservations.id"), nullable=False, index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("equipment_units.id"), nullable=False)
    start: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    blocked_until: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    active: Mapped[bool] = mapped_column(nullable=False, default=True)

    reservation: Mapped[EquipmentReservation] = relationship(back_populates="allocations")
    unit = relationship("EquipmentUnit", lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("blocked_until > start", name="blocked_after_start"),
        sa.Index("ix_equipment_allocations_unit_period", "unit_id", "start", "blocked_until"),
        ExcludeConstraint(
            (sa.column("unit_id"), "="),
            (sa.func.tstzrange(sa.column("start"), sa.column("blocked_until"), sa.text("'[)'")), "&&"),
            name="ex_equipment_allocations_no_overlap",
            using="gist",
            where=sa.text("active"),
        ).ddl_if(dialect="postgresql"),
    )


class FeedScope(str, enum.Enum):
    MINE = "mine"
    ORGANISATION = "organisation"
    SPACE = "space"
    EQUIPMENT = "equipment"
    ALL = "all"  # staff and administrators only
    PUBLIC = "public"  # the public events (as /feeds/public.ics), behind a token that can be listed and revoked
    PROJECT = "project"  # one project's bookings and loans (booking.projects), for its partners and staff


class Feed(db.Model):
    """A secret, revocable calendar subscription; only the token's SHA-256 is stored."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), nullable=False, index=True)
    scope: Mapped[FeedScope] = enum_column(FeedScope, "feed_scope", nullable=False)
    space_id: Mapped[int | None] = mapped_column(sa.ForeignKey("spaces.id"))
    equipment_type_id: Mapped[int | None] = mapped_column(sa.ForeignKey("equipment_types.id"))
    project_id: Mapped[int | None] = mapped_column(sa.ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    owner = relationship("User", lazy="joined")
    space = relationship("Space")
    equipment_type = relationship("EquipmentType")
    project = relationship("Project")

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
