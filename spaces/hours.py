"""Weekly opening hours: validation of the API/form shape and checks against them.

Shape (the API's ``opening_hours``): ``{"mon": [["08:00", "16:00"]], ...}`` in local time, several
intervals a day allowed, ``24:00`` allowed as an end, a missing day closed;
``None`` means open around the clock.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from babel.dates import get_day_names
from flask_babel import get_locale, gettext as _

from samskap.errors import ValidationFailed
from samskap.timeutil import UTC, local_tz
from spaces.models import WEEKDAYS

_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


def weekday_label(day: str) -> str:
    """The weekday's name in the user's language ("mandag", "Monday") for a code like "mon"."""
    if day not in WEEKDAYS:
        return day
    names = get_day_names("wide", locale=str(get_locale() or "nb"))
    return names[WEEKDAYS.index(day)]


def _minutes(text, *, allow_24: bool) -> int | None:
    if not isinstance(text, str):
        return None
    match = _CLOCK.match(text.strip())
    if not match:
        return None
    value = int(match.group(1)) * 60 + int(match.group(2))
    if value > 24 * 60 or (value == 24 * 60 and not allow_24):
        return None
    return value


def parse_opening_hours(data, field: str = "opening_hours") -> dict | None:
    """Validate and normalise opening hours; raises ValidationFailed naming the problem."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValidationFailed({field: _("Opening hours must map weekdays (mon…sun) to lists of "
                                         "[\"HH:MM\", \"HH:MM\"] intervals.")})
    clean: dict[str, list[list[str]]] = {}
    for day, intervals in data.items():
        if day not in WEEKDAYS:
            raise ValidationFailed({field: _("Unknown weekday '%(day)s'; use mon, tue, wed, thu, fri, sat or sun.",
                                             day=day)})
        if not isinstance(intervals, list):
            raise ValidationFailed({field: _("The hours for %(day)s must be a list of intervals.",
                                             day=weekday_label(day))})
        spans = []
        for interval in intervals:
            if not isinstance(interval, (list, tuple)) or len(interval) != 2:
                raise ValidationFailed({field: _("Each interval on %(day)s must be [\"HH:MM\", \"HH:MM\"].",
                                                 day=weekday_label(day))})
            start = _minutes(interval[0], allow_24=False)
            end = _minutes(interval[1], allow_24=True)
            if start is None or end is None:
                raise ValidationFailed({field: _("'%(value)s' on %(day)s is not a time of day (HH:MM).",
                                                 value=f"{interval[0]}-{interval[1]}", day=weekday_label(day))})
            if end <= start:
                raise ValidationFailed({field: _("On %(day)s the closing time %(end)s is not after the opening "
                                                 "time %(start)s.", day=weekday_label(day), start=interval[0], end=interval[1])})
            spans.append((start, end))
        spans.sort()
        for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
            if s2 < e1:
                raise ValidationFailed({field: _("The opening-hour intervals on %(day)s overlap.",
                                                 day=weekday_label(day))})
        if spans:
            clean[day] = [[_clock(s), _clock(e)] for s, e in spans]
    return clean


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _local_instant(day: date, minutes: int, tz) -> datetime:
    moment = datetime.combine(day, time(0), tzinfo=tz) if minutes == 0 else None
    if minutes >= 24 * 60:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    if moment is None:
        moment = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=tz)
    return moment.astimezone(UTC)


def open_intervals(opening_hours: dict | None, day: date, *, tz=None) -> list[tuple[datetime, datetime]]:
    """The UTC periods a space is open on local ``day`` (whole day when hours are None)."""
    tz = tz or local_tz()
    if opening_hours is None:
        return [(_local_instant(day, 0, tz), _local_instant(day, 24 * 60, tz))]
    spans = opening_hours.get(WEEKDAYS[day.weekday()], [])
    return [(_local_instant(day, _minutes(s, allow_24=False), tz), _local_instant(day, _minutes(e, allow_24=True), tz))
            for s, e in spans]


def is_within_opening_hours(opening_hours: dict | None, start: datetime, end: datetime, *, tz=None) -> bool:
    """True when [start, end) lies inside one stretch of opening hours (touching intervals join,
    also across midnight, so a 24-hour space can host a multi-day pilot)."""
    if opening_hours is None:
        return True
    tz = tz or local_tz()
    first = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    intervals = []
    day = first
    while day <= last:
        intervals.extend(open_intervals(opening_hours, day, tz=tz))
        day += timedelta(days=1)
    merged: list[list[datetime]] = []
    for s, e in sorted(intervals):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return any(s <= start and end <= e for s, e in merged)
