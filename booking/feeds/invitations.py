"""Calendar invitations (iTIP, RFC 5546) attached to booking mail, built by the same code as the
calendar feeds (calendar.py), so that a person who both subscribes to a feed and receives mail
sees one event, not two:

* the same UID as in the feeds: ``booking-{id}@host`` for a single booking, ``series-{id}@host``
  for a series written as one VEVENT with RRULE/EXDATE (and the same fallback to one event per
  occurrence when the feed cannot write the series that way);
* the same SEQUENCE (the booking's stored counter; a series' master carries the sum of its rows');
* ``METHOD:REQUEST`` to create or update; one changed occurrence of a series is sent alone, with
  its ``RECURRENCE-ID``; ``METHOD:CANCEL`` with ``STATUS:CANCELLED`` to remove a booking, the
  whole series, or (with RECURRENCE-ID) the occurrences cancelled;
* ``ORGANIZER`` (the workshop's sender address, never the recipient's) and the recipient as
  ``ATTENDEE``.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from icalendar import Event, vCalAddress, vText

from accounts.models import Organisation
from booking.feeds.calendar import (PRODID, FeedOrigin, _booking_event, _booking_fields, _fill, _ical_line,
                                    _new_calendar, _series_events, _stamp, booking_event_text, booking_link,
                                    compact_vtimezone)
from booking.feeds.services import FeedBooking, FeedSeries, SeriesRows, ShownBooking, _feed_booking_columns
from booking.models import Booking, BookingSeries, BookingStatus
from samskap.extensions import db
from samskap.timeutil import UTC

REQUEST, CANCEL = "REQUEST", "CANCEL"


@dataclass(frozen=True)
class Party:
    email: str
    name: str


def _row(booking: Booking) -> FeedBooking:
    row = FeedBooking.of(booking)
    if row.status == BookingStatus.REJECTED:  # a rejected booking leaves the feeds: for a calendar, cancelled
        row = row._replace(status=BookingStatus.CANCELLED)
    return row


def _series_rows(series_id: int) -> SeriesRows | None:
    """Every row of the series, shown as the organiser's own feeds show them (rejected rows left out)."""
    from spaces.models import Space

    series = db.session.execute(
        sa.select(BookingSeries.id, BookingSeries.rrule, BookingSeries.tzid, BookingSeries.dtstart_local,
                  BookingSeries.created_at, BookingSeries.updated_at).where(BookingSeries.id == series_id)).first()
    if series is None:
        return None
    rows = tuple(FeedBooking._make(row) for row in db.session.execute(
        sa.select(*_feed_booking_columns())
        .join(Space, Space.id == Booking.space_id).join(Organisation, Organisation.id == Booking.organisation_id)
        .where(Booking.series_id == series_id).order_by(Booking.start, Booking.id)))
    shown = tuple(ShownBooking(row, True) for row in rows if row.status != BookingStatus.REJECTED)
    return SeriesRows(series=FeedSeries._make(series), rows=rows, shown=shown)


def _cancelled_occurrence(master: Event, row: FeedBooking, tz, site: FeedOrigin) -> Event:
    """A CANCEL for one occurrence of a series: the series' UID with that occurrence's RECURRENCE-ID."""
    shown = ShownBooking(row._replace(status=BookingStatus.CANCELLED), True)
    event = Event()
    event.add("uid", str(master["uid"]))
    _stamp(event, row.updated_at, row.created_at)
    event.add("sequence", int(master["sequence"]))
    event.add("recurrence-id", row.original_start.astimezone(tz))
    event.add("dtstart", row.start.astimezone(UTC))
    event.add("dtend", row.end.astimezone(UTC))
    _fill(event, _booking_fields(shown, site), booking_link(row.id, site))
    return event


def _party_line(name: str, party: Party, params: dict) -> str:
    address = vCalAddress(f"mailto:{party.email}")
    address.params.update({"CN": vText(party.name), **params})
    return _ical_line(f"{name}{_params_text(address)}:{address.to_ical().decode('utf-8')}")


def _params_text(address: vCalAddress) -> str:
    text = address.params.to_ical().decode("utf-8")
    return f";{text}" if text else ""


def single_invitation(row: FeedBooking, site: FeedOrigin, method: str, organizer: Party, attendee: Party) -> bytes:
    """One booking (its feed values): the feed's own event text (``booking_event_text``, byte for
    byte what the feeds write), with ORGANIZER and ATTENDEE, in a calendar with METHOD."""
    if row.status == BookingStatus.REJECTED:  # a rejected booking leaves the feeds: for a calendar, cancelled
        row = row._replace(status=BookingStatus.CANCELLED)
    if method == CANCEL:
        row = row._replace(status=BookingStatus.CANCELLED)
    event = booking_event_text(ShownBooking(row, True), site).decode("utf-8")
    parties = (_party_line("ORGANIZER", organizer, {})
               + _party_line("ATTENDEE", attendee, {"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "ACCEPTED",
                                                    "RSVP": "FALSE"}))
    event = event[:-len("END:VEVENT\r\n")] + parties + "END:VEVENT\r\n"
    return ("BEGIN:VCALENDAR\r\n" + _ical_line(f"PRODID:{PRODID}") + "VERSION:2.0\r\nCALSCALE:GREGORIAN\r\n"
            f"METHOD:{method}\r\n" + event + "END:VCALENDAR\r\n").encode("utf-8")


def invitation(bookings: list[Booking], site: FeedOrigin, *, method: str, organizer: Party, attendee: Party,
               whole_series: bool = False) -> bytes:
    """The iCalendar text of an invitation about ``bookings`` (one booking, or occurrences of one
    series changed or cancelled together); ``whole_series`` sends the series' master with every
    override (creation, a change or reminder of the series as a whole)."""
    booking = bookings[0]
    if booking.series_id is None and len(bookings) == 1:
        return single_invitation(_row(booking), site, method, organizer, attendee)
    events: list[Event] = []
    zone = None
    series_rows = _series_rows(booking.series_id) if booking.series_id is not None else None
    written = _series_events(series_rows, site) if series_rows is not None else None
    if written is None:
        # A single booking, or a series the feeds write occurrence by occurrence: one event each.
        for item in bookings:
            row = _row(item)
            if method == CANCEL:
                row = row._replace(status=BookingStatus.CANCELLED)
            events.append(_booking_event(ShownBooking(row, True), site))
    else:
        series_events, years = written
        master = series_events[0]
        tzid = series_rows.series.tzid
        zone = compact_vtimezone(tzid, *years)
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(tzid)
        live = [r for r in series_rows.rows if r.status in (BookingStatus.PENDING, BookingStatus.CONFIRMED)]
        if method == CANCEL and live and not whole_series:
            by_id = {r.id: r for r in series_rows.rows}
            events = [_cancelled_occurrence(master, by_id[b.id], tz, site) for b in bookings
                      if b.id in by_id and by_id[b.id].original_start is not None]
        elif whole_series or len(bookings) > 1 or method == CANCEL:
            events = series_events
        else:
            wanted = booking.original_start.astimezone(tz) if booking.original_start else None
            events = [e for e in series_events[1:] if wanted is not None and e.decoded("recurrence-id") == wanted]
            events = events or series_events
    cal = _new_calendar(booking.title, site, x_wr_timezone=False, subscription=False)
    cal.add("method", method)
    if zone is not None:
        cal.add_component(zone)
    for event in events:
        organizer_address = vCalAddress(f"mailto:{organizer.email}")
        organizer_address.params["CN"] = vText(organizer.name)
        event.add("organizer", organizer_address)
        attendee_address = vCalAddress(f"mailto:{attendee.email}")
        attendee_address.params.update({"CN": vText(attendee.name), "ROLE": "REQ-PARTICIPANT",
                                        "PARTSTAT": "ACCEPTED", "RSVP": "FALSE"})
        event.add("attendee", attendee_address)
        cal.add_component(event)
    return cal.to_ical()
