"""Build the iCalendar (RFC 5545) text of a feed, so that Google Calendar, Outlook, Apple
Calendar and Thunderbird show exactly the occurrences the database holds.

The rules (each learnt from how those clients read feeds; tests/test_feeds_*.py hold them):

* Single bookings in UTC: nothing ambiguous, no VTIMEZONE needed.
* A recurring series is one master VEVENT (``DTSTART;TZID=…`` + RRULE), EXDATE for every
  occurrence the feed must not show (cancelled, rejected, moved out of the feed's scope,
  skipped when the series was made), and a ``RECURRENCE-ID`` override for every occurrence
  that differs from the master (moved, retitled, another status). The VTIMEZONE is written
  here in its compact form (one STANDARD and one DAYLIGHT block from 1970 with yearly rules),
  which Outlook reads correctly; icalendar's ``add_missing_timezones()`` writes RDATE lists.
* A series is written the same way whenever the feed is fetched, so its UID never changes
  (a changed UID duplicates the event in every subscriber's calendar): when any of its
  occurrences is in the feed's window, the master carries the series' complete rule, with
  EXDATEs and overrides computed from *all* its rows, even where the rule runs outside the
  window. Only a series that cannot be expressed exactly that way, for reasons that do not
  depend on the date (an occurrence has no ``original_start``, an instance falls in a DST
  gap or overlap, another zone or one without a compact form…), becomes one VEVENT per
  occurrence in the window, each with its own UID in UTC: correctness over elegance.
* Stable UIDs (``booking-{id}@host``, ``series-{id}@host``, ``reservation-{id}@host``);
  DTSTAMP and LAST-MODIFIED from the rows' updated time and nothing from the clock, so equal
  data gives equal bytes (and equal ETags).
"""
from __future__ import annotations

import calendar as pycalendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule as RRule, rrulestr
from flask_babel import get_locale, gettext as _
from icalendar import (Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vDuration, vRecur,
                       vText)

from booking.feeds.cache import BoundedCache
from booking.feeds.services import FeedBooking, FeedContents, SeriesRows, ShownBooking, ShownReservation, FeedPeriod
from booking.labels import PURPOSE_LABELS, label
from booking.models import Booking, BookingStatus, ReservationStatus
from samskap.timeutil import UTC

PRODID = "-//Samskap//Samskap calendar feeds//EN"
REFRESH = timedelta(hours=1)
# A rule with more instances than this (an endless one, say) is written occurrence by occurrence.
MAX_SERIES_INSTANCES = 1000
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

BOOKING_STATUS = {
    BookingStatus.PENDING: "TENTATIVE",
    BookingStatus.CONFIRMED: "CONFIRMED",
    BookingStatus.CANCELLED: "CANCELLED",
    BookingStatus.NO_SHOW: "CANCELLED",  # released: the room is free again, as for a cancellation
}
RESERVATION_STATUS = {
    ReservationStatus.PENDING: "TENTATIVE",
    ReservationStatus.CONFIRMED: "CONFIRMED",
    ReservationStatus.CHECKED_OUT: "CONFIRMED",
    ReservationStatus.RETURNED: "CONFIRMED",
    ReservationStatus.CANCELLED: "CANCELLED",
}


@dataclass(frozen=True)
class FeedOrigin:
    """Where the feed comes from: the host in UIDs, the base of links back, the address."""

    host: str
    base_url: str
    address: str
    tzid: str  # X-WR-TIMEZONE; series in another zone are written occurrence by occurrence


# --- the calendar ------------------------------------------------------------------------------

def _in_repeated_hour(instant: datetime, tz: ZoneInfo) -> bool:
    local = instant.astimezone(tz)
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def _zone_known(tzid: str) -> bool:
    try:
        ZoneInfo(tzid)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _times_agree_with(events: list[Event], tzid: str) -> bool:
    """Whether every UTC time of ``events`` has one unambiguous local time in ``tzid``.

    Some readers (Python's x-wr-timezone, used by recurring-ical-events) rewrite UTC times
    into the X-WR-TIMEZONE zone and lose which of the two 02:30s of the October change was
    meant. A feed with such a time leaves X-WR-TIMEZONE out rather than be misread."""
    values = (event.decoded(name) for event in events for name in ("dtstart", "dtend"))
    return _utc_times_agree_with([v for v in values if v.tzinfo is not None and v.utcoffset() == timedelta(0)], tzid)


def _utc_times_agree_with(instants, tzid: str) -> bool:
    """:func:`_times_agree_with` for UTC instants."""
    if not _zone_known(tzid):
        return False
    tz = ZoneInfo(tzid)
    return not any(_in_repeated_hour(instant, tz) for instant in instants)


def _new_calendar(title: str, site: FeedOrigin, *, x_wr_timezone: bool, subscription: bool,
                  description: str | None = None) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", vText(title))
    cal.add("name", vText(title))
    if description:
        cal.add("x-wr-caldesc", vText(description))
        cal.add("description", vText(description))
    if x_wr_timezone:
        cal.add("x-wr-timezone", vText(site.tzid))
    if subscription:
        # icalendar omits VALUE=DURATION on REFRESH-INTERVAL and mis-writes a bare
        # timedelta for X-PUBLISHED-TTL: set both explicitly.
        cal.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", vDuration(REFRESH))
    return cal


@dataclass(frozen=True)
class CalendarEntry:
    """Events sharing a UID (one event, or a series' master with its overrides) as text."""

    start: datetime  # the first DTSTART, in UTC: entries are written in order of (start, uid)
    uid: str
    text: bytes
    repeated_hour: bool  # a UTC time falls in the repeated autumn hour of the site's zone


def _as_entry(events: list[Event], site: FeedOrigin) -> CalendarEntry:
    first = events[0]
    return CalendarEntry(start=first.decoded("dtstart").astimezone(UTC), uid=str(first["uid"]),
                 text=b"".join(event.to_ical() for event in events),
                 repeated_hour=not _times_agree_with(events, site.tzid))


def _locale() -> str:
    return str(get_locale())


# Text of bookings and series, cached under everything it is made from (the rows' values, the site
# and the language), so a cached text can never be stale: a feed of thousands of events is rebuilt
# in a fraction of the time it takes to write them all. Bounded by an estimate of what each entry
# holds, its text and its key (descriptions can be long, and a series' key holds all its rows):
# about 1 kB for a typical booking (4.8 MB measured for 5,577 events), ~30,000 events a process.
TEXTS = BoundedCache(max_bytes=32 * 1024 * 1024)


def _row_bytes(booking: FeedBooking) -> int:
    """What a booking's values hold in memory, roughly: the tuple, its times and its text."""
    text = (booking.title, booking.description, booking.space_name, booking.space_location, booking.organisation_name)
    return 400 + sum(len(value) for value in text if value)


def _single_entry(shown: ShownBooking, site: FeedOrigin, locale: str) -> CalendarEntry:
    key = ("single", shown, site, locale)
    found = TEXTS.get(key)
    if found is not None:
        return found
    booking = shown.booking
    start, end = booking.start.astimezone(UTC), booking.end.astimezone(UTC)
    entry = CalendarEntry(start=start, uid=f"booking-{booking.id}@{site.host}", text=booking_event_text(shown, site),
                  repeated_hour=not _utc_times_agree_with((start, end), site.tzid))
    TEXTS.put(key, entry, len(entry.text) + _row_bytes(booking))
    return entry


def _series_entry(series_rows: SeriesRows, site: FeedOrigin,
                  locale: str) -> tuple[CalendarEntry, tuple[int, int]] | None:
    key = ("series", series_rows, site, locale)
    found = TEXTS.get(key)
    if found is not None:
        return found[0]  # (result,): a series that cannot be one master is remembered as (None,)
    written = _series_events(series_rows, site)
    result = None
    if written is not None:
        events, years = written
        result = (_as_entry(events, site), years)
    size = (len(result[0].text) if result else 0) + sum(_row_bytes(row) for row in series_rows.rows) + 200
    TEXTS.put(key, (result,), size)
    return result


def clear_text_cache() -> None:
    """Forget every cached event text (benchmarks and tests of a cold build)."""
    TEXTS.clear()


@lru_cache(maxsize=64)
def _vtimezone_text(tzid: str, first_year: int, last_year: int) -> bytes | None:
    zone = compact_vtimezone(tzid, first_year, last_year)
    return zone.to_ical() if zone is not None else None


def build_feed(contents: FeedContents, site: FeedOrigin) -> bytes:
    """The feed's exact bytes (CRLF lines, folded at 75 octets, UTF-8)."""
    locale = _locale()
    entries: list[CalendarEntry] = [_single_entry(shown, site, locale) for shown in contents.singles]
    masters: dict[str, list[tuple[SeriesRows, CalendarEntry, tuple[int, int]]]] = {}
    for series_rows in contents.series:
        written = _series_entry(series_rows, site, locale)
        if written is None:
            entries.extend(_single_entry(shown, site, locale)
                           for shown in _shown_in_window(series_rows, contents.window))
        else:
            entry, years = written
            masters.setdefault(series_rows.series.tzid, []).append((series_rows, entry, years))
    zones: dict[str, bytes] = {}
    for tzid, written_series in masters.items():
        # One VTIMEZONE per zone must hold for every year any of its series spans.
        zone = _vtimezone_text(tzid, min(years[0] for *_rest, years in written_series),
                               max(years[1] for *_rest, years in written_series))
        if zone is None:  # the zone's rules changed between those years: no compact form fits all
            for series_rows, _entry, _years in written_series:
                entries.extend(_single_entry(shown, site, locale)
                              for shown in _shown_in_window(series_rows, contents.window))
            continue
        zones[tzid] = zone
        entries.extend(entry for _series_rows, entry, _years in written_series)
    for shown in contents.reservations:
        entries.append(_as_entry([_reservation_event(shown, site)], site))
    entries.sort(key=lambda e: (e.start, e.uid))
    cal = _new_calendar(f"Samskap – {contents.title}", site, subscription=True, description=contents.description,
                        x_wr_timezone=_zone_known(site.tzid) and not any(e.repeated_hour for e in entries))
    # The calendar's own lines, then its components: what Calendar.to_ical() writes for a
    # calendar holding them, without building and serialising thousands of events again.
    head = cal.to_ical()
    if not head.endswith(CALENDAR_END):
        raise AssertionError("unexpected calendar serialisation")
    return b"".join([head[:-len(CALENDAR_END)], *(zones[tzid] for tzid in sorted(zones)),
                     *(entry.text for entry in entries), CALENDAR_END])


CALENDAR_END = b"END:VCALENDAR\r\n"


def build_single(booking: Booking, site: FeedOrigin) -> bytes:
    """One booking as a calendar file to download and add (a viewer who may see it)."""
    event = _booking_event(ShownBooking(FeedBooking.of(booking), True), site)
    cal = _new_calendar(booking.title, site, subscription=False, x_wr_timezone=_times_agree_with([event], site.tzid))
    cal.add_component(event)
    return cal.to_ical()


def _shown_in_window(series_rows: SeriesRows, window: FeedPeriod) -> list[ShownBooking]:
    """A series written occurrence by occurrence shows, like single bookings, its rows in the window."""
    return [shown for shown in series_rows.shown if window.contains(shown.booking.start)]


# --- one booking -----------------------------------------------------------------------------

def _location(space_name: str, space_location: str, site: FeedOrigin) -> str:
    name = f"{space_name} ({space_location})" if space_location else space_name
    return f"{name}, {site.address}" if site.address else name


def booking_link(booking_id: int, site: FeedOrigin) -> str:
    return f"{site.base_url}/bookings/{booking_id}"


def _booking_fields(shown: ShownBooking, site: FeedOrigin) -> dict:
    """What an occurrence looks like, apart from its times and its link back."""
    booking = shown.booking
    fields = {
        "status": BOOKING_STATUS[booking.status],
        "location": _location(booking.space_name, booking.space_location, site),
    }
    if not shown.details:  # another organisation's private booking: only that the slot is busy
        fields["summary"] = _("Busy")
        return fields
    lines = []
    if booking.description:
        lines += [booking.description.strip(), ""]
    lines.append(_("Organisation: %(name)s", name=booking.organisation_name))
    lines.append(_("Purpose: %(purpose)s", purpose=label(PURPOSE_LABELS, booking.purpose)))
    if booking.status == BookingStatus.PENDING:
        lines.append(_("Awaiting approval by the workshop."))
    elif booking.status == BookingStatus.CANCELLED:
        lines.append(_("Cancelled."))
    elif booking.status == BookingStatus.NO_SHOW:
        lines.append(_("Released: nobody checked in."))
    fields.update(summary=booking.title, description="\n".join(lines), organisation=booking.organisation_name)
    return fields


def _fill(event: Event, fields: dict, link: str | None) -> None:
    event.add("summary", vText(fields["summary"]))
    event.add("location", vText(fields["location"]))
    event.add("status", fields["status"])
    if "description" in fields:
        description = fields["description"] + (f"\n\n{link}" if link else "")
        event.add("description", vText(description))
        if link:
            event.add("url", link)
        event.add("x-samskap-organisation", vText(fields["organisation"]))


def _stamp(event: Event, updated: datetime, created: datetime | None = None) -> None:
    event.add("dtstamp", updated.astimezone(UTC))
    event.add("last-modified", updated.astimezone(UTC))
    if created is not None:
        event.add("created", created.astimezone(UTC))


def _booking_event(shown: ShownBooking, site: FeedOrigin) -> Event:
    booking = shown.booking
    event = Event()
    event.add("uid", f"booking-{booking.id}@{site.host}")
    _stamp(event, booking.updated_at, booking.created_at)
    event.add("sequence", booking.sequence)
    event.add("dtstart", booking.start.astimezone(UTC))
    event.add("dtend", booking.end.astimezone(UTC))
    _fill(event, _booking_fields(shown, site), booking_link(booking.id, site) if shown.details else None)
    return event


# Single bookings are most of every feed, and building and writing each through icalendar was
# most of a feed's build time (bench/RESULTS.md); booking_event_text writes the same bytes
# directly (tests/test_feeds_text.py holds it to icalendar's output for random text, folding and
# escaping included).

def _ical_text(value: str) -> str:
    """A TEXT value escaped exactly as icalendar 7 escapes it (RFC 5545 3.3.11), which also drops
    one leading byte-order mark (it decodes each value as utf-8-sig)."""
    escaped = (value.replace(r"\N", "\n").replace("\\", "\\\\").replace(";", r"\;").replace(",", r"\,")
               .replace("\r\n", r"\n").replace("\n", r"\n").replace("\r", r"\n"))
    return escaped[1:] if escaped.startswith("\ufeff") else escaped


def _ical_line(line: str) -> str:
    """One content line, folded as icalendar 7 folds it (75 octets; a backslash or caret is not
    left at the end of a folded line), with its CRLF."""
    if len(line) < 75 and line.isascii():
        return line + "\r\n"
    parts: list[str] = []
    current: list[str] = []
    count = 0
    for char in line:
        size = len(char.encode("utf-8"))
        if current and count + size >= 75:
            if len(current) > 1 and current[-1] in "\\^":
                carried = current.pop()
                parts.append("".join(current))
                current, count = [carried], len(carried.encode("utf-8"))
            else:
                parts.append("".join(current))
                current, count = [], 0
        current.append(char)
        count += size
    if current:
        parts.append("".join(current))
    return "\r\n ".join(parts) + "\r\n"


def _utc_text(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def booking_event_text(shown: ShownBooking, site: FeedOrigin) -> bytes:
    """The bytes ``_booking_event(shown, site).to_ical()`` gives: its properties in icalendar's
    order (SUMMARY, DTSTART, DTEND, DTSTAMP, UID, SEQUENCE, then the rest by name)."""
    booking = shown.booking
    fields = _booking_fields(shown, site)
    updated = _utc_text(booking.updated_at)
    lines = [
        "BEGIN:VEVENT\r\n",
        _ical_line("SUMMARY:" + _ical_text(fields["summary"])),
        f"DTSTART:{_utc_text(booking.start)}\r\n",
        f"DTEND:{_utc_text(booking.end)}\r\n",
        f"DTSTAMP:{updated}\r\n",
        _ical_line("UID:" + _ical_text(f"booking-{booking.id}@{site.host}")),
        f"SEQUENCE:{booking.sequence}\r\n",
        f"CREATED:{_utc_text(booking.created_at)}\r\n",
    ]
    link = booking_link(booking.id, site) if shown.details else None
    if "description" in fields:
        lines.append(_ical_line("DESCRIPTION:" + _ical_text(fields["description"] + (f"\n\n{link}" if link else ""))))
    lines += [f"LAST-MODIFIED:{updated}\r\n",
              _ical_line("LOCATION:" + _ical_text(fields["location"])),
              _ical_line("STATUS:" + _ical_text(fields["status"]))]
    if "description" in fields:
        if link:
            lines.append(_ical_line("URL:" + link))
        lines.append(_ical_line("X-SAMSKAP-ORGANISATION:" + _ical_text(fields["organisation"])))
    lines.append("END:VEVENT\r\n")
    return "".join(lines).encode("utf-8")


# --- one equipment reservation ----------------------------------------------------------------

def _reservation_event(shown: ShownReservation, site: FeedOrigin) -> Event:
    reservation = shown.reservation
    kind = reservation.equipment_type.name
    event = Event()
    event.add("uid", f"reservation-{reservation.id}@{site.host}")
    _stamp(event, reservation.updated_at, reservation.created_at)
    event.add("sequence", reservation.sequence)
    event.add("dtstart", reservation.start.astimezone(UTC))
    event.add("dtend", reservation.end.astimezone(UTC))
    event.add("status", RESERVATION_STATUS[reservation.status])
    linked = reservation.booking
    location = _location(linked.space.name, linked.space.location, site) if linked is not None else site.address
    if location:
        event.add("location", vText(location))
    if not shown.details:
        event.add("summary", vText(_("Reserved: %(quantity)d × %(equipment)s",
                                     quantity=reservation.quantity, equipment=kind)))
        return event
    summary = f"{reservation.quantity} × {kind}"
    if reservation.purpose:
        summary += f": {reservation.purpose}"
    event.add("summary", vText(summary))
    lines = [_("Organisation: %(name)s", name=reservation.organisation.name)]
    tags = sorted(a.unit.asset_tag for a in reservation.allocations if a.active)
    if tags:
        lines.append(_("Units: %(tags)s", tags=", ".join(tags)))
    if reservation.status == ReservationStatus.PENDING:
        lines.append(_("Awaiting approval by the workshop."))
    link = f"{site.base_url}/equipment-reservations/{reservation.id}"
    lines += ["", link]
    event.add("description", vText("\n".join(lines)))
    event.add("url", link)
    event.add("x-samskap-organisation", vText(reservation.organisation.name))
    return event


# --- recurring series --------------------------------------------------------------------------

def _local_instant(naive: datetime, tz: ZoneInfo) -> datetime | None:
    """``naive`` wall-clock time in ``tz`` as UTC, or None when it falls in the spring gap
    or the repeated autumn hour (clients would disagree on it)."""
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        return None
    instant = first.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != naive:
        return None
    return instant


def _series_events(series_rows: SeriesRows, site: FeedOrigin) -> tuple[list[Event], tuple[int, int]] | None:
    """The master VEVENT and its overrides, with the first and last year the series spans (which
    its VTIMEZONE must cover); None when the rule cannot say it exactly.

    Nothing here depends on the feed's window or the time of the fetch: the master carries the
    complete rule and the EXDATEs and overrides of every row of the series."""
    series = series_rows.series
    if series.tzid != site.tzid:
        return None  # X-WR-TIMEZONE must agree with every event
    try:
        tz = ZoneInfo(series.tzid)
        start_naive = datetime.fromisoformat(series.dtstart_local)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return None
    if start_naive.tzinfo is not None:
        return None
    rule_text = series.rrule.strip()
    if rule_text.upper().startswith("RRULE:"):
        rule_text = rule_text[6:]
    try:
        # An aware DTSTART, so that a UTC UNTIL (RFC 5545 with TZID) is read as clients read it.
        rule = rrulestr(rule_text, dtstart=start_naive.replace(tzinfo=tz))
    except (ValueError, TypeError):
        return None
    if not isinstance(rule, RRule):
        return None

    # Every instance the rule gives, inside the feed's window or not.
    instances: dict[datetime, datetime] = {}  # UTC instant -> local wall-clock time (aware)
    for moment in rule:
        naive = moment.replace(tzinfo=None)
        instant = _local_instant(naive, tz)
        if instant is None or len(instances) >= MAX_SERIES_INSTANCES:
            return None
        instances[instant] = naive.replace(tzinfo=tz)
    if not instances or next(iter(instances.values())).replace(tzinfo=None) != start_naive:
        return None  # DTSTART must be the rule's first instance
    locals_ = list(instances.values())
    years = (locals_[0].year, locals_[-1].year)
    if compact_vtimezone(series.tzid, *years) is None:
        return None

    # Each row belongs to exactly one instance.
    shown = series_rows.shown
    shown_ids = {s.booking.id for s in shown}
    rows_by_instance: dict[datetime, FeedBooking] = {}
    for row in series_rows.rows:
        if row.original_start is None or row.original_start in rows_by_instance:
            return None
        if row.original_start not in instances:
            if row.id in shown_ids:
                return None  # a shown row the rule does not produce
            continue
        rows_by_instance[row.original_start] = row

    live = [s for s in shown if s.booking.status not in (BookingStatus.CANCELLED, BookingStatus.NO_SHOW)]
    # A cancelled occurrence becomes an EXDATE; a wholly cancelled series stays as one
    # cancelled master for a while so that clients remove it.
    displayed = live or shown
    if not displayed:
        return None
    template = displayed[0]
    template_fields = _booking_fields(template, site)
    duration = template.booking.end - template.booking.start
    displayed_ids = {s.booking.id: s for s in displayed}

    for local in instances.values():
        end_local = (local.astimezone(UTC) + duration).astimezone(tz)
        if end_local.utcoffset() != local.utcoffset():
            return None  # an instance spanning a DST change: clients compute its end differently

    master = Event()
    uid = f"series-{series.id}@{site.host}"
    sequence = sum(row.sequence for row in series_rows.rows)
    updated = max([row.updated_at for row in series_rows.rows] + [series.updated_at])
    master.add("uid", uid)
    _stamp(master, updated, series.created_at)
    master.add("sequence", sequence)
    first_local = next(iter(instances.values()))
    master.add("dtstart", first_local)
    master.add("dtend", (first_local.astimezone(UTC) + duration).astimezone(tz))
    master.add("rrule", vRecur.from_ical(rule_text))
    _fill(master, template_fields, booking_link(template.booking.id, site) if template.details else None)

    exdates: list[datetime] = []
    overrides: list[Event] = []
    for instant, local in instances.items():
        row = rows_by_instance.get(instant)
        shown_row = displayed_ids.get(row.id) if row is not None else None
        if shown_row is None:
            exdates.append(local)
            continue
        fields = _booking_fields(shown_row, site)
        if fields == template_fields and row.start == instant and row.end - row.start == duration:
            continue
        override = Event()
        override.add("uid", uid)
        _stamp(override, row.updated_at, row.created_at)
        override.add("sequence", sequence)
        override.add("recurrence-id", local)
        override.add("dtstart", row.start.astimezone(UTC))
        override.add("dtend", row.end.astimezone(UTC))
        _fill(override, fields, booking_link(row.id, site) if shown_row.details else None)
        overrides.append(override)
    if exdates:
        master.add("exdate", exdates)
    return [master, *overrides], years


# --- the compact VTIMEZONE ---------------------------------------------------------------------

def _transitions(tz: ZoneInfo, year: int) -> list[tuple[datetime, timedelta, timedelta, str]]:
    """(UTC instant, offset before, offset after, name after) of each change in ``year``."""
    found = []
    t = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    before = t.astimezone(tz).utcoffset()
    while t < end:
        nxt = t + timedelta(days=1)
        after = nxt.astimezone(tz).utcoffset()
        if after != before:
            lo, hi = t, nxt
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(second=0, microsecond=0)
                if mid <= lo:
                    mid = lo + timedelta(minutes=1)
                if mid.astimezone(tz).utcoffset() == before:
                    lo = mid
                else:
                    hi = mid
            found.append((hi, before, after, hi.astimezone(tz).tzname()))
        before = after
        t = nxt
    return found


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    days = pycalendar.monthrange(year, month)[1]
    candidates = [date(year, month, d) for d in range(1, days + 1) if date(year, month, d).weekday() == weekday]
    return candidates[nth - 1] if nth > 0 else candidates[nth]


@lru_cache(maxsize=32)
def compact_vtimezone(tzid: str, first_year: int, last_year: int) -> Timezone | None:
    """A VTIMEZONE with one STANDARD and one DAYLIGHT block from 1970 and yearly rules,
    checked against the tz database for every year from ``first_year`` to ``last_year``;
    None when the zone's rules do not fit that form in those years."""
    try:
        tz = ZoneInfo(tzid)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    years = range(first_year - 1, last_year + 2)
    per_year = {year: _transitions(tz, year) for year in years}
    zone = Timezone()
    zone.add("tzid", tzid)
    if all(not changes for changes in per_year.values()):
        offset = datetime(first_year, 6, 1, tzinfo=UTC).astimezone(tz)
        block = TimezoneStandard()
        block.add("dtstart", datetime(1970, 1, 1))
        block.add("tzoffsetfrom", offset.utcoffset())
        block.add("tzoffsetto", offset.utcoffset())
        block.add("tzname", offset.tzname())
        zone.add_component(block)
        return zone
    reference = per_year[first_year]
    if len(reference) != 2:
        return None
    rules = []
    for instant, before, after, name in reference:
        local = (instant + before).replace(tzinfo=None)  # wall-clock time just before the change
        last = local.day + 7 > pycalendar.monthrange(local.year, local.month)[1]
        nth = -1 if last else (local.day - 1) // 7 + 1
        rules.append((local.month, local.weekday(), nth, local.time(), before, after, name))
    for year in years:  # the rule must give every real change in every year we care about
        expected = sorted((datetime.combine(_nth_weekday(year, m, wd, nth), clock) - before, before, after)
                          for m, wd, nth, clock, before, after, _name in rules)
        actual = sorted((instant.replace(tzinfo=None), before, after) for instant, before, after, _n in per_year[year])
        if expected != actual:
            return None
    for month, weekday, nth, clock, before, after, name in sorted(rules, key=lambda r: r[5]):
        block = TimezoneDaylight() if after > before else TimezoneStandard()
        block.add("dtstart", datetime.combine(_nth_weekday(1970, month, weekday, nth), clock))
        block.add("tzoffsetfrom", before)
        block.add("tzoffsetto", after)
        block.add("tzname", name)
        block.add("rrule", {"FREQ": "YEARLY", "BYMONTH": month, "BYDAY": f"{nth}{WEEKDAY_CODES[weekday]}"})
        zone.add_component(block)
    return zone
