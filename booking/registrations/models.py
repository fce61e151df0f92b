"""Registration for events: a booking's registration settings and the people registered."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from samskap.extensions import db
from samskap.models import created_at_column, enum_column, updated_at_column
from samskap.timeutil import UTCDateTime


class Audience(str, enum.Enum):
    PUBLIC = "public"      # anyone, signed in or not (the booking must be a public event)
    PARTNERS = "partners"  # signed-in users only


class RegistrationStatus(str, enum.Enum):
    PENDING = "pending_confirmation"  # anonymous: waits for the email link; holds no place
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class RegistrationSettings(db.Model):
    """A booking that takes registrations. Its row is also the lock that decides capacity: a
    registration, a confirmation by link, a cancellation and a change of capacity each lock it
    (``SELECT ... FOR UPDATE``) before counting the confirmed places."""

    __tablename__ = "registration_settings"

    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True)
    capacity: Mapped[int] = mapped_column(nullable=False)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    audience: Mapped[Audience] = enum_column(Audience, "registration_audience", nullable=False,
                                             default=Audience.PUBLIC)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    booking = relationship("Booking")

    __table_args__ = (sa.CheckConstraint("capacity >= 1", name="capacity_positive"),)


class Registration(db.Model):
    __tablename__ = "registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    email: Mapped[str] = mapped_column(sa.String(320), nullable=False)  # stored lower-case
    organisation: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    needs: Mapped[str] = mapped_column(sa.Text(), nullable=False, default="")
    locale: Mapped[str] = mapped_column(sa.String(5), nullable=False, default="nb")  # of their emails
    status: Mapped[RegistrationStatus] = enum_column(RegistrationStatus, "registration_status", nullable=False)
    # SHA-256 of the registrant's link token; the token itself is only in their email.
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    # Place in line: set when the registration takes a place or joins the waitlist (for an
    # anonymous registrant, when they confirm by the link), so the waitlist is first come, first served.
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attended: Mapped[bool | None] = mapped_column(sa.Boolean())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    booking = relationship("Booking", lazy="joined")

    __table_args__ = (
        sa.Index("ix_registrations_booking_status", "booking_id", "status", "queued_at"),
        # One live registration per address and event; a cancelled one does not count.
        sa.Index("uq_registrations_booking_email_live", "booking_id", "email", unique=True,
                 sqlite_where=sa.text("status != 'cancelled'"), postgresql_where=sa.text("status != 'cancelled'")),
    )

    @property
    def holds_place(self) -> bool:
        return self.status == RegistrationStatus.CONFIRMED

    @property
    def is_live(self) -> bool:
        return self.status != RegistrationStatus.CANCELLED
