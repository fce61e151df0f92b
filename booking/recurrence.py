"""Recurring bookings: check a repeat rule, write it as an RFC 5545 RRULE, and expand it.

Expansion happens in local wall-clock time (Europe/Oslo by default): a series at 09:00
stays at 09:00 after the clocks change, so its UTC instants move by an hour. Each
occurrence's wall-clock start and end are turned into UTC with
:func:`samskap.timeutil.local_to_utc`; an occurrence whose start or end falls into the
spring-forward gap does not exist and is reported separately instead of being shifted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil import rrule as du
from flask_babel import gettext as _

from samskap.errors import ValidationFailed
from samskap.timeutil import UTC, LocalTimeError, local_to_utc

WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
FREQUENCIES = {"daily": du.DAILY, "weekly": du.WEEKLY, "monthly": du.MONTHLY}
MAX_OCCURRENCES = 200
MAX_INTERVAL = 52


@dataclass
class Recurrence:
    freq: str                      # "daily" | "weekly" | "monthly"
    interval: int = 1              # every N days/weeks/months (1..52)
    count: int | None = None       # number of occurrences (1..200) ...
    until: date | None = None      # ... or last local date (exactly one of count/until)
    byday: list[str] = field(default_factory=list)   # weekly: ["MO","WE"]; empty = start's weekday


@dataclass
class Occurrence:
    start: datetime        # UTC
    end: datetime          # UTC
    local_start: datetime  # naive local wall-clock time (the series' own clock)


@dataclass
class Expansion:
    rrule: str                     # "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE;COUNT=10"
    dtstart_local: datetime        # naive local start of the first occurrence
    occurrences: list[Occurrence]
    nonexistent: list[datetime] = field(default_factory=list)  # naive local starts in the DST gap


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_recurrence(recurrence: Recurrence) -> list[str]:
    """Validate the rule's own shape; returns the normalised weekday codes.

    Raises ValidationFailed with fields named ``recurrence.<part>``.
    """
    errors: dict[str, str] = {}
    freq = recurrence.freq.strip().lower() if isinstance(recurrence.freq, str) else recurrence.freq
    if freq not in FREQUENCIES:
        errors["recurrence.freq"] = _("Choose how often the booking repeats: daily, weekly or monthly.")
    if not _is_int(recurrence.interval) or not 1 <= recurrence.interval <= MAX_INTERVAL:
        errors["recurrence.interval"] = _("The repeat interval must be a whole number from 1 to %(n)d.",
                                          n=MAX_INTERVAL)
    if (recurrence.count is None) == (recurrence.until is None):
        errors["recurrence.count"] = _("Say either how many times the booking repeats or until which date, "
                                       "not both.")
    elif recurrence.count is not None and (not _is_int(recurrence.count)
                                           or not 1 <= recurrence.count <= MAX_OCCURRENCES):
        errors["recurrence.count"] = _("The number of occurrences must be from 1 to %(n)d.", n=MAX_OCCURRENCES)
    elif recurrence.until is not None and (not isinstance(recurrence.until, date)
                                           or isinstance(recurrence.until, datetime)):
        errors["recurrence.until"] = _("The last date must be a date (YYYY-MM-DD).")
    days: list[str] = []
    raw_days = recurrence.byday or []
    if not isinstance(raw_days, (list, tuple)):
        errors["recurrence.byday"] = _("Weekdays must be a list such as [\"MO\", \"WE\"].")
    else:
        for day in raw_days:
            code = day.strip().upper() if isinstance(day, str) else None
            if code not in WEEKDAY_CODES:
                errors["recurrence.byday"] = _("Unknown weekday '%(day)s'; use MO, TU, WE, TH, FR, SA or SU.",
                                               day=day)
                break
            if code not in days:
                days.append(code)
        if days and freq != "weekly":
            errors["recurrence.byday"] = _("Weekdays can only be chosen for a weekly repeat.")
    if errors:
        raise ValidationFailed(errors)
    recurrence.freq = freq
    return sorted(days, key=WEEKDAY_CODES.index)


def expand(recurrence: Recurrence, start: datetime, end: datetime, tz: ZoneInfo) -> Expansion:
    """All occurrences of ``recurrence`` for a first booking from ``start`` to ``end``.

    The first booking's local date and wall-clock times anchor the series; with weekdays
    chosen, the series starts on the first chosen weekday on or after that date.
    """
    days = check_recurrence(recurrence)
    local_start = start.astimezone(tz).replace(tzinfo=None)
    local_end = end.astimezone(tz).replace(tzinfo=None)
    wall_length = local_end - local_start
    if recurrence.freq == "weekly" and not days:
        days = [WEEKDAY_CODES[local_start.weekday()]]

    until_local = None
    if recurrence.until is not None:
        if recurrence.until < local_start.date():
            raise ValidationFailed({"recurrence.until": _("The last date cannot be before the first booking.")})
        until_local = datetime.combine(recurrence.until, time(23, 59, 59))
    rule = du.rrule(
        FREQUENCIES[recurrence.freq],
        dtstart=local_start,
        interval=recurrence.interval,
        count=recurrence.count,
        until=until_local,
        byweekday=[WEEKDAY_CODES.index(d) for d in days] or None,
    )
    starts = []
    for moment in rule:
        starts.append(moment)
        if len(starts) > MAX_OCCURRENCES:
            raise ValidationFailed({"recurrence": _("A series can have at most %(n)d occurrences; choose an "
                                                    "earlier last date or fewer repeats.", n=MAX_OCCURRENCES)})
    if not starts:
        raise ValidationFailed({"recurrence": _("This repeat rule gives no dates at all.")})

    occurrences, nonexistent = [], []
    for moment in starts:
        occ_end = moment + wall_length
        try:
            occurrences.append(Occurrence(start=local_to_utc(moment.date(), moment.time(), tz=tz),
                                          end=local_to_utc(occ_end.date(), occ_end.time(), tz=tz),
                                          local_start=moment))
        except LocalTimeError:
            nonexistent.append(moment)

    parts = [f"FREQ={recurrence.freq.upper()}", f"INTERVAL={recurrence.interval}"]
    if days:
        parts.append("BYDAY=" + ",".join(days))
    if recurrence.count is not None:
        parts.append(f"COUNT={recurrence.count}")
    else:
        # RFC 5545: with a TZID-anchored DTSTART, UNTIL is given in UTC.
        last_instant = datetime.combine(recurrence.until + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        last_instant -= timedelta(seconds=1)
        parts.append("UNTIL=" + last_instant.strftime("%Y%m%dT%H%M%SZ"))
    return Expansion(rrule=";".join(parts), dtstart_local=starts[0], occurrences=occurrences,
                     nonexistent=nonexistent)
