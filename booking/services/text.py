"""How the booking services write instants and periods: ISO 8601 in UTC for replies and
conflict lists, local wall-clock time for messages and audit summaries."""
from __future__ import annotations

from datetime import datetime

from flask_babel import format_time

from samskap.i18n import local_datetime_text
from samskap.timeutil import UTC, local_tz


def iso(value: datetime | None) -> str | None:
    """An instant as ISO 8601 in UTC with ``Z``."""
    if value is None:
        return None
    # isoformat is several times faster than strftime, which counts in answers of a thousand periods.
    return value.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def _local_text(value: datetime) -> str:
    return value.astimezone(local_tz()).strftime("%Y-%m-%d %H:%M")


def _period_text(start: datetime, end: datetime) -> str:
    local_start, local_end = start.astimezone(local_tz()), end.astimezone(local_tz())
    if local_start.date() == local_end.date():
        return f"{local_start:%Y-%m-%d %H:%M}–{local_end:%H:%M}"
    return f"{local_start:%Y-%m-%d %H:%M}–{local_end:%Y-%m-%d %H:%M}"


def _period_for_people(start: datetime, end: datetime) -> str:
    """A period in the reader's language, as the booking pages write it ("man. 23. nov. 10:00–11:00")."""
    if start.astimezone(local_tz()).date() == end.astimezone(local_tz()).date():
        return f"{local_datetime_text(start, 'day')}–{format_time(end, 'HH:mm')}"
    return f"{local_datetime_text(start, 'day')}–{local_datetime_text(end, 'day')}"
