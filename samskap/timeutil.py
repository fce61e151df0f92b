"""Time helpers. UTC inside, local (Europe/Oslo by default) only at the edges.

Every timestamp column uses :class:`UTCDateTime`: aware datetimes in, aware UTC
out, naive datetimes refused loudly, so no naive time can sneak between parsing
and rendering.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask import current_app, has_app_context

UTC = timezone.utc
# Times outside these years are refused at the edges: they are typing mistakes, and date
# arithmetic near year 1 or 9999 overflows.
MIN_YEAR, MAX_YEAR = 1970, 2200


class NaiveDatetimeError(ValueError):
    """A datetime without a time zone where an instant is needed."""


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware timestamp stored as UTC (``timestamptz`` on PostgreSQL)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(f"naive datetime {value!r} refused; attach a time zone")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # SQLite has no time zone type: store naive UTC, re-attach on the way out.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_tz() -> ZoneInfo:
    name = "Europe/Oslo"
    if has_app_context():
        name = current_app.config.get("SAMSKAP_TIMEZONE", name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Oslo")


def to_local(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise NaiveDatetimeError(f"naive datetime {value!r}")
    return value.astimezone(local_tz())


class LocalTimeError(ValueError):
    """A wall-clock time that does not exist in the local zone (spring-forward gap)."""


def local_to_utc(day: date, clock: time, *, tz: ZoneInfo | None = None) -> datetime:
    """Combine a local date and wall-clock time into an aware UTC datetime.

    A time in the spring-forward gap (02:00-03:00 on the last Sunday of March in
    Oslo) does not exist and raises :class:`LocalTimeError`. A time in the
    repeated autumn hour is read as its first occurrence (summer time).
    """
    tz = tz or local_tz()
    naive = datetime.combine(day, clock)
    aware = naive.replace(tzinfo=tz, fold=0)
    roundtrip = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if roundtrip != naive:
        raise LocalTimeError(f"{naive:%Y-%m-%d %H:%M} does not exist in {tz.key}")
    return aware.astimezone(UTC)


def local_day_bounds(day: date, *, tz: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """UTC instants of local midnight at the start of ``day`` and of the next day.

    A local day is 23 or 25 hours long across DST changes; this returns the real span.
    """
    tz = tz or local_tz()
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def parse_aware_iso(value) -> datetime:
    """Parse ISO 8601 with an explicit offset; naive or malformed input raises ValueError."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected an ISO 8601 date-time string with an offset")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"'{value}' is not an ISO 8601 date-time") from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"'{value}' has no UTC offset; add one such as +01:00 or Z")
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValueError(f"'{value}' is outside the years {MIN_YEAR}–{MAX_YEAR}")
    return parsed.astimezone(UTC)
