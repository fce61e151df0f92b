"""Fair use of shared rooms: quotas per organisation (or kind of organisation) and the
waitlist for taken slots. Check-in lives on the booking itself (``checked_in_at``) and the
space (``check_in_minutes``)."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import OrganisationKind
from samskap.extensions import db
from samskap.models import created_at_column, enum_column, updated_at_column
from samskap.timeutil import UTCDateTime


class QuotaPeriod(str, enum.Enum):
    WEEK = "week"      # Monday 00:00 to Monday 00:00, local time
    MONTH = "month"    # the calendar month, local time
    TERM = "term"      # 1 January to 1 July, 1 July to 1 January, local time


class Quota(db.Model):
    """A limit on what one organisation may hold: hours booked per period and/or bookings
    not yet over at once.

    Who: one organisation (``organisation_id``) or each organisation of a kind
    (``organisation_kind``: every company gets the limit for itself, the kind does not share
    one pool). Where: one space, every space of a kind, or (both empty) every space.
    """

    __tablename__ = "quotas"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    organisation_kind: Mapped[OrganisationKind | None] = enum_column(OrganisationKind, "quota_organisation_kind")
    space_id: Mapped[int | None] = mapped_column(sa.ForeignKey("spaces.id"))
    space_kind_id: Mapped[int | None] = mapped_column(sa.ForeignKey("space_kinds.id"))
    period: Mapped[QuotaPeriod] = enum_column(QuotaPeriod, "quota_period", nullable=False, default=QuotaPeriod.WEEK)
    max_hours: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 2))
    max_active: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    organisation = relationship("Organisation")
    space = relationship("Space")
    space_kind = relationship("SpaceKind")

    __table_args__ = (
        sa.CheckConstraint("(organisation_id IS NULL) <> (organisation_kind IS NULL)", name="one_who"),
        sa.CheckConstraint("space_id IS NULL OR space_kind_id IS NULL", name="one_where"),
        sa.CheckConstraint("max_hours IS NOT NULL OR max_active IS NOT NULL", name="some_limit"),
        sa.CheckConstraint("max_hours IS NULL OR max_hours > 0", name="hours_positive"),
        sa.CheckConstraint("max_active IS NULL OR max_active >= 1", name="active_positive"),
        sa.Index("ix_quotas_organisation_kind", "organisation_kind"),
    )


class WaitlistStatus(str, enum.Enum):
    WAITING = "waiting"      # in line
    OFFERED = "offered"      # the slot freed; held for this person until ``hold_until``
    BOOKED = "booked"        # booked automatically, or by the person while holding it
    EXPIRED = "expired"      # the hold ran out, or the wanted time passed
    CANCELLED = "cancelled"  # the person left the line


OPEN_WAITLIST_STATUSES = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)


class WaitlistEntry(db.Model):
    """A person waiting for a taken period of a space; first come, first told."""

    __tablename__ = "waitlist_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(sa.ForeignKey("spaces.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), nullable=False, index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), nullable=False)
    start: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    end: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    auto_book: Mapped[bool] = mapped_column(nullable=False, default=False)
    status: Mapped[WaitlistStatus] = enum_column(WaitlistStatus, "waitlist_status", nullable=False,
                                                 default=WaitlistStatus.WAITING)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bookings.id"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    space = relationship("Space", lazy="joined")
    user = relationship("User", lazy="joined")
    booking = relationship("Booking")

    __table_args__ = (
        sa.CheckConstraint('"end" > start', name="end_after_start"),
        sa.Index("ix_waitlist_entries_space_period", "space_id", "start", "end"),
        sa.Index("ix_waitlist_entries_status", "status"),
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_WAITLIST_STATUSES
