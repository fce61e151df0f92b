"""The scheduled notification jobs, run by ``flask --app app worker`` once across all workers."""
from __future__ import annotations

from datetime import datetime

from booking.notifications import bookings, equipment
from samskap.worker import periodic


@periodic("booking.reminders", every_seconds=300)
def booking_reminders(now: datetime) -> None:
    bookings.send_reminders(now)


@periodic("booking.approval_digest", every_seconds=24 * 3600)
def approval_digest(now: datetime) -> None:
    bookings.send_digests(now)


@periodic("equipment.notices", every_seconds=900)
def equipment_notices(now: datetime) -> None:
    equipment.send_ready_for_pickup(now)
    equipment.send_due_reminders(now)
    equipment.send_overdue(now)
