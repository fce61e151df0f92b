"""The worker's fair-use jobs (registered with :func:`samskap.worker.periodic` on import)."""
from __future__ import annotations

from datetime import datetime

from samskap.worker import periodic


@periodic("fairuse.release_no_shows", every_seconds=30)
def release_no_shows_job(now: datetime) -> None:
    """Release bookings not checked in within their space's check_in_minutes (status no_show)."""
    from booking.fairuse.checkin import release_no_shows

    release_no_shows(now)


@periodic("fairuse.waitlist_holds", every_seconds=60)
def waitlist_holds_job(now: datetime) -> None:
    """Pass holds that ran out to the next in line."""
    from booking.fairuse.waitlist import expire_holds

    expire_holds(now)
