"""The registrations' scheduled job, run by ``flask --app app worker`` once across all workers."""
from __future__ import annotations

from datetime import datetime

from booking.registrations.personal_data import erase_old_needs
from samskap.worker import periodic


@periodic("registrations.needs_retention", every_seconds=3600)
def needs_retention(now: datetime) -> None:
    erase_old_needs(now)
