"""Shared helpers for the booking tests: a settable clock and local-time shorthands."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from booking.services import BookingRequest
from samskap.timeutil import local_to_utc, local_tz, utcnow

UTC = timezone.utc
# Monday 2 March 2026, 09:00 in Oslo: before both 2026 DST changes, so tests can book them.
FROZEN_NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


CLOCKED_MODULES = ("booking.services.writes", "booking.services.create", "booking.services.changes",
                   "booking.services.availability")


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """Freeze the booking services' idea of "now" (settable through ``clock.now``): ``utcnow`` in
    each module of :mod:`booking.services` that reads it."""
    frozen = Clock(FROZEN_NOW)
    for module in CLOCKED_MODULES:
        monkeypatch.setattr(f"{module}.utcnow", frozen)
    return frozen


def miss_clashes_in_the_check(monkeypatch) -> None:
    """Make the services' friendly clash check (and the list of clashes a refusal names) see
    nothing, as when another request commits an overlapping booking between check and write:
    only the database's exclusion constraint is left to refuse."""
    for module in ("booking.services.create", "booking.services.writes"):
        monkeypatch.setattr(f"{module}.find_clashes", lambda *args, **kwargs: [])


def oslo(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    """A wall-clock time in Oslo as an aware UTC instant."""
    return local_to_utc(date(y, m, d), time(hh, mm))


def oslo_today() -> date:
    """Today's date in Oslo (``date.today()`` is the machine's, a UTC day on CI)."""
    return utcnow().astimezone(local_tz()).date()


def oslo_in(days: int, hh: int, mm: int = 0) -> datetime:
    """A wall-clock time in Oslo ``days`` local days from today, as an aware UTC instant: a time
    that stays in the future without tying the test to the hour or the date it runs at."""
    return oslo_on(oslo_today() + timedelta(days=days), hh, mm)


def oslo_on(day: date, hh: int, mm: int = 0) -> datetime:
    return local_to_utc(day, time(hh, mm))


def request_for(space, start: datetime, end: datetime, **fields) -> BookingRequest:
    fields.setdefault("title", "Planning meeting")
    return BookingRequest(space_id=space.id, start=start, end=end, **fields)
