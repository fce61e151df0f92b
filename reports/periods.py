"""Report periods: local calendar dates in, UTC instants out.

A report covers whole local days, ``from`` to ``to`` inclusive, in the site's time zone
(Europe/Oslo). Each day, week, month or year of it is a *bucket* with the UTC instants of its
local midnights, so a bucket that holds a DST change is 23 or 25 real hours long, and a
booking's hours are counted as real elapsed time (arithmetic on UTC instants).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from samskap.errors import ValidationFailed
from samskap.timeutil import MAX_YEAR, MIN_YEAR, local_day_bounds

GROUPINGS = ("day", "week", "month", "year")
GROUPING_LABELS = {"day": _l("Day"), "week": _l("Week"), "month": _l("Month"), "year": _l("Year")}
MAX_DAYS = 3700  # ten years and some leap days
MAX_BUCKETS = 1200  # e.g. three years by day


@dataclass(frozen=True)
class Bucket:
    key: str  # "2026-10-25", "2026-W43", "2026-10", "2026"
    first_day: date
    last_day: date  # inclusive
    start: datetime  # UTC instant of local midnight at the start of first_day
    end: datetime  # UTC instant of local midnight after last_day

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date  # inclusive

    @property
    def start(self) -> datetime:
        return local_day_bounds(self.first_day)[0]

    @property
    def end(self) -> datetime:
        return local_day_bounds(self.last_day)[1]

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def days_iter(self):
        day = self.first_day
        while day <= self.last_day:
            yield day
            day += timedelta(days=1)

    def buckets(self, grouping: str | None) -> list[Bucket]:
        """The period cut into local days, ISO weeks (Monday first), months or years; the first and
        last bucket are cut to the period. ``None``: the whole period as one bucket."""
        if grouping is None:
            return [self._bucket("all", self.first_day, self.last_day)]
        buckets = []
        day = self.first_day
        while day <= self.last_day:
            if grouping == "day":
                key, last = day.isoformat(), day
            elif grouping == "week":
                iso = day.isocalendar()
                key, last = f"{iso.year}-W{iso.week:02d}", day + timedelta(days=6 - day.weekday())
            elif grouping == "month":
                key = f"{day.year}-{day.month:02d}"
                last = (date(day.year + (day.month == 12), day.month % 12 + 1, 1) - timedelta(days=1))
            elif grouping == "year":
                key, last = str(day.year), date(day.year, 12, 31)
            else:
                raise ValueError(grouping)
            last = min(last, self.last_day)
            buckets.append(self._bucket(key, day, last))
            day = last + timedelta(days=1)
        return buckets

    @staticmethod
    def _bucket(key: str, first: date, last: date) -> Bucket:
        return Bucket(key, first, last, local_day_bounds(first)[0], local_day_bounds(last)[1])


def parse_day(value, field: str) -> date:
    if value is None or str(value).strip() == "":
        raise ValidationFailed({field: _("'%(field)s' is required: a date as YYYY-MM-DD.", field=field)})
    text = str(value).strip()
    try:
        if len(text) != 10:
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed({field: _("'%(value)s' is not a date as YYYY-MM-DD.", value=text[:40])}) from None
    if not MIN_YEAR <= day.year <= MAX_YEAR - 1:
        raise ValidationFailed({field: _("Choose a date in the years %(first)d–%(last)d.", first=MIN_YEAR,
                                          last=MAX_YEAR - 1)})
    return day


def parse_period(first, last) -> Period:
    """``from`` and ``to`` (inclusive) as local dates; 422 naming the field when either is bad."""
    errors = {}
    days = {}
    for field, value in (("from", first), ("to", last)):
        try:
            days[field] = parse_day(value, field)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed(errors)
    if days["to"] < days["from"]:
        raise ValidationFailed({"to": _("'to' must not be before 'from'.")})
    period = Period(days["from"], days["to"])
    if period.days > MAX_DAYS:
        raise ValidationFailed({"to": _("A report covers at most %(n)d days.", n=MAX_DAYS)})
    return period


def parse_grouping(value) -> str | None:
    if value is None or value == "":
        return None
    if value not in GROUPINGS:
        raise ValidationFailed({"group": _("'group' must be one of: %(choices)s.", choices=", ".join(GROUPINGS))})
    return value


def check_bucket_count(period: Period, grouping: str | None) -> None:
    approximate = {None: 1, "day": period.days, "week": period.days // 7 + 2, "month": period.days // 28 + 2,
                   "year": period.days // 365 + 2}[grouping]
    if approximate > MAX_BUCKETS:
        raise ValidationFailed({"group": _("Grouping by %(group)s gives more than %(n)d rows for this period; "
                                            "choose a shorter period or a coarser grouping.", group=grouping,
                                            n=MAX_BUCKETS)})
