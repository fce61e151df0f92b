"""Attendance at events with registration: per event, places, people registered (holding a place),
on the waitlist, and who came as marked at the door; with the period's totals.

Counts events (bookings that take registrations, not cancelled or rejected) whose start lies in
the period, in one SQL statement.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from booking.models import ACTIVE_BOOKING_STATUSES, Booking
from booking.registrations.models import Registration, RegistrationSettings, RegistrationStatus
from reports.periods import Period
from reports.services import report_scope
from samskap.extensions import db
from spaces.models import Space


@dataclass
class EventAttendance:
    booking_id: int
    title: str
    space: str
    start: datetime
    capacity: int
    registered: int  # holding a place
    waitlisted: int
    attended: int
    absent: int  # marked as not come
    unmarked: int

    @property
    def rate(self) -> float | None:
        """Came, of those marked (None when nobody was marked)."""
        marked = self.attended + self.absent
        return self.attended / marked if marked else None


@dataclass
class Attendance:
    period: Period
    events: list[EventAttendance] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(event, name) for event in self.events)

    @property
    def rate(self) -> float | None:
        marked = self.total("attended") + self.total("absent")
        return self.total("attended") / marked if marked else None


def attendance(actor, period: Period, organisation_id: int | None = None) -> Attendance:
    scope = report_scope(actor, organisation_id)
    confirmed = Registration.status == RegistrationStatus.CONFIRMED

    def count_if(*conditions):
        return sa.func.coalesce(sa.func.sum(sa.case((sa.and_(*conditions), 1), else_=0)), 0)

    query = (sa.select(Booking.id, Booking.title, Space.name, Booking.start, RegistrationSettings.capacity,
                       count_if(confirmed), count_if(Registration.status == RegistrationStatus.WAITLISTED),
                       count_if(confirmed, Registration.attended.is_(True)),
                       count_if(confirmed, Registration.attended.is_(False)),
                       count_if(confirmed, Registration.attended.is_(None)))
             .select_from(RegistrationSettings)
             .join(Booking, Booking.id == RegistrationSettings.booking_id)
             .join(Space, Space.id == Booking.space_id)
             .outerjoin(Registration, Registration.booking_id == Booking.id)
             .where(Booking.start >= period.start, Booking.start < period.end,
                    Booking.status.in_(ACTIVE_BOOKING_STATUSES))
             .group_by(Booking.id, Booking.title, Space.name, Booking.start, RegistrationSettings.capacity)
             .order_by(Booking.start, Booking.id))
    if scope.organisation_id is not None:
        query = query.where(Booking.organisation_id == scope.organisation_id)
    return Attendance(period, [EventAttendance(row[0], row[1], row[2], row[3], int(row[4]),
                                               *(int(v) for v in row[5:10]))
                               for row in db.session.execute(query)])


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def attendance_json(result: Attendance) -> dict:
    return {
        "events": len(result.events),
        "places": result.total("capacity"),
        "registered": result.total("registered"),
        "waitlisted": result.total("waitlisted"),
        "attended": result.total("attended"),
        "absent": result.total("absent"),
        "unmarked": result.total("unmarked"),
        "attendance_rate": _rate(result.rate),
        "by_event": [{"booking_id": e.booking_id, "title": e.title, "space": e.space, "start": e.start.isoformat(),
                      "capacity": e.capacity, "registered": e.registered, "waitlisted": e.waitlisted,
                      "attended": e.attended, "absent": e.absent, "unmarked": e.unmarked,
                      "attendance_rate": _rate(e.rate)} for e in result.events],
    }


EVENT_COLUMNS = ("booking_id", "title", "space", "start", "capacity", "registered", "waitlisted", "attended",
                 "absent", "unmarked", "attendance_rate")


def attendance_csv(result: Attendance) -> bytes:
    """One row per event, the JSON's field names as the header (UTF-8 with BOM, formula-safe)."""
    from samskap.csvfile import csv_bytes

    rows = attendance_json(result)["by_event"]
    return csv_bytes(list(EVENT_COLUMNS), [[row[name] for name in EVENT_COLUMNS] for row in rows])
