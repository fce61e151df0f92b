"""Booking use cases: book, change, cancel, approve and reject; conflicts, availability and
suggestions. Browser pages and the JSON API both call these, so every rule lives here.

Services take the acting user explicitly, validate every rule, add and flush, record the
audit entry and raise domain errors with messages meant for people; the caller commits.

No double booking: the service looks for clashes first (to answer with a friendly
:class:`Conflict` naming them), and the database has the last word. On PostgreSQL the
exclusion constraint ``ex_bookings_no_overlap`` refuses an overlapping active booking
even when two requests pass the check at the same moment; its violation (SQLSTATE
23P01) is caught around the flush, inside a SAVEPOINT so the session stays usable, and
becomes the same Conflict. A single new booking (the common case) is written instead with
``INSERT ... ON CONFLICT ON CONSTRAINT ex_bookings_no_overlap DO NOTHING``: the same
constraint decides, its refusal returns no row, and no savepoint is needed (see
:func:`_write_one`). On SQLite every transaction starts with ``BEGIN IMMEDIATE``
(see :mod:`samskap.database`), so check-then-insert is serialised.

One overlap predicate, half-open: ``start < other_blocked_until and other_start < blocked_until``.

Fair use (:mod:`booking.fairuse`): after the clash check and before writing, a new or moved
booking meets its organisation's quotas and the waitlist's holds (one query when none apply);
a cancellation, rejection or move hands the freed period to the waitlist in the same transaction.
"""
from __future__ import annotations

import enum
import functools
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import format_time, gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import lazyload, make_transient_to_detached

from accounts.models import Organisation
from booking.notifications import bookings as notifications
from booking.models import ACTIVE_BOOKING_STATUSES, Booking, BookingSeries, BookingStatus, Purpose, Visibility
from booking.permissions import (can_book_for_other_organisations, can_decide, can_manage, can_override_opening_hours,
                                 can_view_details, details_visible_clause)
from booking.recurrence import Recurrence, expand
from samskap import audit
from samskap.ids import MAX_ID  # noqa: F401 (re-exported for booking.api/views)
from samskap.database import is_collision, is_exclusion_violation
from samskap.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from samskap.extensions import db
from samskap.i18n import date_text, duration_text, local_datetime_text
from samskap.metrics import counts_bookings
from samskap.timeutil import LocalTimeError, UTC, local_to_utc, local_tz, to_local, utcnow
from spaces.hours import is_within_opening_hours
from spaces.models import WEEKDAYS, Closure, Space

__all__ = [
    "BookingRequest", "BookingResult", "Recurrence", "approve_booking", "blocking_rows", "book_space", "busy_periods",
    "busy_periods_by_space",
    "cancel_booking", "find_clashes", "find_conflicts", "free_spaces", "reject_booking", "suggest_free_slots",
    "update_booking",
]

TITLE_MAX = 200
DESCRIPTION_MAX = 5000
REASON_MAX = 500
SCOPES = ("this", "following", "series")
OVERLAP_CONSTRAINT = "ex_bookings_no_overlap"
SUGGESTION_STEP = timedelta(minutes=15)
SUGGESTION_HORIZON = timedelta(days=14)
# Nothing can be booked further ahead than this, whatever the space allows: keeps every date
# (plus buffers, local time, feeds) far from the limits of datetime. Equipment uses the same.
HORIZON_YEARS = 10
BOOKING_HORIZON = timedelta(days=366 * HORIZON_YEARS)
NUL = "\x00"
AUDITED_FIELDS = ("title", "description", "purpose", "visibility", "attendees", "start", "end", "space_id",
                  "status", "sequence")

STATUS_LABELS = {
    BookingStatus.PENDING: _l("pending approval"),
    BookingStatus.CONFIRMED: _l("confirmed"),
    BookingStatus.REJECTED: _l("rejected"),
    BookingStatus.CANCELLED: _l("cancelled"),
    BookingStatus.NO_SHOW: _l("released (not checked in)"),
}
PURPOSE_LABELS = {
    Purpose.MEETING: _l("Meeting"),
    Purpose.CO_CREATION: _l("Co-creation workshop"),
    Purpose.PILOT_TEST: _l("Pilot test"),
    Purpose.TRAINING: _l("Training"),
    Purpose.EVENT: _l("Event"),
}
VISIBILITY_LABELS = {
    Visibility.PRIVATE: _l("Private (others see only “busy”)"),
    Visibility.PARTNERS: _l("Shared with partners"),
    Visibility.PUBLIC: _l("Public event"),
}


@dataclass
class BookingRequest:
    space_id: int
    title: str
    start: datetime                # aware; UTC or any offset
    end: datetime                  # aware
    attendees: int = 1
    purpose: str = "meeting"       # Purpose value
    visibility: str = "private"    # Visibility value
    description: str = ""
    organisation_id: int | None = None     # staff/admin may book on behalf of any organisation
    recurrence: Recurrence | None = None
    skip_conflicts: bool = False           # series: skip clashing dates instead of failing whole
    override_opening_hours: bool = False   # staff/admin only; audited; never overrides a conflict
    override_quota: bool = False           # staff/admin only; audited: book past the organisation's quota
    equipment: list = field(default_factory=list)  # [{"equipment_id", "quantity"}] reserved for each occurrence
    project_id: int | None = None          # a project the organisation is a partner of (booking.projects)


@dataclass
class BookingResult:
    bookings: list            # created Booking rows (one, or the series' occurrences)
    series: object | None     # BookingSeries or None
    skipped: list[dict] = field(default_factory=list)  # {"start","end","reason"} (+ "conflicts")


# --- small helpers ---------------------------------------------------------------------------

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




def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_id(value) -> bool:
    return _is_int(value) and 1 <= value <= MAX_ID


def _add(errors: dict, key: str, message: str) -> None:
    errors[key] = f"{errors[key]} {message}" if key in errors else message


def _aware(value, name: str, errors: dict) -> datetime | None:
    if not isinstance(value, datetime):
        errors[name] = _("Give a date and time.")
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        errors[name] = _("Give the time with a time zone offset, such as +01:00 or Z.")
        return None
    return value.astimezone(UTC).replace(microsecond=0)


def _enum(enum_cls, value, name: str, errors: dict, labels: dict):
    if isinstance(value, enum_cls):
        return value
    try:
        return enum_cls(value.strip() if isinstance(value, str) else value)
    except ValueError:
        errors[name] = _("'%(value)s' is not a valid choice; choose one of: %(choices)s.", value=value,
                         choices=", ".join(member.value for member in labels))
        return None


def _clean_details(values: dict, errors: dict) -> dict:
    """Validate the descriptive fields present in ``values``."""
    clean = {}
    if "title" in values:
        title = values["title"].strip() if isinstance(values["title"], str) else ""
        if not title:
            errors["title"] = _("Give the booking a title.")
        elif NUL in title:
            errors["title"] = _("The text contains a character that is not allowed.")
        elif len(title) > TITLE_MAX:
            errors["title"] = _("The title can be at most %(n)d characters long.", n=TITLE_MAX)
        clean["title"] = title
    if "description" in values:
        description = values["description"] if values["description"] is not None else ""
        if not isinstance(description, str):
            errors["description"] = _("The description must be text.")
        elif len(description) > DESCRIPTION_MAX:
            errors["description"] = _("The description can be at most %(n)d characters long.", n=DESCRIPTION_MAX)
        elif NUL in description:
            errors["description"] = _("The text contains a character that is not allowed.")
        else:
            clean["description"] = description.strip()
    if "purpose" in values:
        clean["purpose"] = _enum(Purpose, values["purpose"], "purpose", errors, PURPOSE_LABELS)
    if "visibility" in values:
        clean["visibility"] = _enum(Visibility, values["visibility"], "visibility", errors, VISIBILITY_LABELS)
    if "attendees" in values:
        attendees = values["attendees"]
        if not _is_int(attendees) or attendees < 1:
            errors["attendees"] = _("The number of attendees must be a whole number of at least 1.")
        clean["attendees"] = attendees
    return clean


def _clean_reason(reason, *, required: bool) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if reason is not None and not isinstance(reason, str):
        raise ValidationFailed({"reason": _("The reason must be text.")})
    if required and not text:
        raise ValidationFailed({"reason": _("Give a reason.")})
    if len(text) > REASON_MAX:
        raise ValidationFailed({"reason": _("The reason can be at most %(n)d characters long.", n=REASON_MAX)})
    if NUL in text:
        raise ValidationFailed({"reason": _("The text contains a character that is not allowed.")})
    return text


def _get_space(space_id, errors: dict) -> Space | None:
    if isinstance(space_id, Space):
        space = space_id
    elif not _is_int(space_id):
        errors["space_id"] = _("Choose a space.")
        return None
    else:
        space = db.session.get(Space, space_id) if _is_id(space_id) else None
    if space is None:
        errors["space_id"] = _("There is no space with id %(id)s.", id=space_id)
    elif not space.active:
        errors["space_id"] = _("%(space)s is not open for booking.", space=space.name)
    return space


def _booking_organisation(actor, organisation_id) -> Organisation:
    if organisation_id is None or organisation_id == actor.organisation_id:
        return actor.organisation
    if not can_book_for_other_organisations(actor):
        raise PermissionDenied(_("You can only book for your own organisation."))
    organisation = db.session.get(Organisation, organisation_id) if _is_id(organisation_id) else None
    if organisation is None or not organisation.active:
        raise ValidationFailed({"organisation_id": _("Choose an existing, active organisation.")})
    return organisation


def _booking_project(project_id, organisation: Organisation):
    from booking.projects.services import check_booking_project

    return check_booking_project(project_id, organisation)


def _check_bookable_by(actor, space: Space, organisation: Organisation) -> None:
    if organisation.kind.value in (space.bookable_by or []):
        return
    if can_book_for_other_organisations(actor):
        raise ValidationFailed({"organisation_id": _(
            "%(space)s cannot be booked for %(organisation)s: it is open to other kinds of organisation.",
            space=space.name, organisation=organisation.name)})
    raise PermissionDenied(_("%(space)s cannot be booked by your organisation.", space=space.name))


def _check_override(actor, requested: bool) -> bool:
    if requested and not can_override_opening_hours(actor):
        raise PermissionDenied(_("Only staff can book outside opening hours."))
    return bool(requested)


def _hours_text(space: Space, moment: datetime) -> str:
    if space.opening_hours is None:
        return _("open around the clock")
    spans = space.opening_hours.get(WEEKDAYS[moment.astimezone(local_tz()).weekday()], [])
    if not spans:
        return _("closed that day")
    return ", ".join(f"{s}–{e}" for s, e in spans)


def _rounded_duration(minutes: float) -> str:
    """An asked length in whole days from two days up (a year is not read in hours), exact below."""
    if minutes >= 2 * 24 * 60:
        return duration_text(round(minutes / (24 * 60)) * 24 * 60)
    return duration_text(round(minutes))


def _period_problems(space: Space, start: datetime, end: datetime, *, now: datetime,
                     check_hours: bool = True) -> dict[str, str]:
    """The space's rules for a period, as field errors (empty when the period is allowed)."""
    errors: dict[str, str] = {}
    if end <= start:
        errors["end"] = _("The end must be after the start.")
        return errors
    horizon = now + BOOKING_HORIZON
    minutes = (end - start).total_seconds() / 60
    too_long = bool(space.max_minutes and minutes > space.max_minutes)
    if start >= horizon:
        # Checked first and alone: further rules would do date arithmetic on absurd dates.
        errors["start"] = _("Bookings can start at most %(n)d years ahead (until %(date)s).", n=HORIZON_YEARS,
                            date=date_text(horizon.astimezone(local_tz()).date()))
        return errors
    if end > horizon and not too_long:
        errors["end"] = _("Bookings can reach at most %(n)d years ahead (until %(date)s).", n=HORIZON_YEARS,
                          date=date_text(horizon.astimezone(local_tz()).date()))
        return errors
    if start < now:
        errors["start"] = _("The start is in the past.")
    elif space.max_days_ahead is not None:
        tz = local_tz()
        last_day = now.astimezone(tz).date() + timedelta(days=space.max_days_ahead)
        if start.astimezone(tz).date() > last_day:
            errors["start"] = _("%(space)s can be booked at most %(n)d days ahead: the last day to start is "
                                "%(date)s.", space=space.name, n=space.max_days_ahead, date=date_text(last_day))
    if space.min_minutes and minutes < space.min_minutes:
        _add(errors, "end", _("A booking of %(space)s must last at least %(length)s.",
                              space=space.name, length=duration_text(space.min_minutes)))
    if too_long:
        _add(errors, "end", _("A booking of %(space)s can last at most %(length)s; this one would last %(asked)s.",
                              space=space.name, length=duration_text(space.max_minutes),
                              asked=_rounded_duration(minutes)))
    if end > horizon:  # too long (said above); opening hours over years of days are not worth walking
        return errors
    if check_hours and not is_within_opening_hours(space.opening_hours, start, end):
        _add(errors, "start", _("%(space)s is not open for the whole of that time (opening hours that day: "
                                "%(hours)s).", space=space.name, hours=_hours_text(space, start)))
    return errors


# --- conflicts -------------------------------------------------------------------------------

def blocked_overlaps(start: datetime, end: datetime):
    """SQL condition: active bookings whose blocked period ``[start, blocked_until)`` overlaps
    ``[start, end)``, the question of the availability and grid queries.

    On PostgreSQL it is written as a range overlap with the active statuses as literals, the form
    the GiST index ``ix_bookings_blocked_period`` (migration 0002) serves from the window alone;
    two comparisons would walk every earlier booking. Elsewhere, and for an empty window, the
    plain comparisons (the same answer: half-open ranges overlap exactly when each starts before
    the other ends).
    """
    if start < end and db.session.get_bind().dialect.name == "postgresql":
        statuses = [sa.literal_column(f"'{status.value}'") for status in ACTIVE_BOOKING_STATUSES]
        window = sa.func.tstzrange(sa.literal(start, Booking.start.type), sa.literal(end, Booking.start.type),
                                   sa.literal_column("'[)'"))
        period = sa.func.tstzrange(Booking.start, Booking.blocked_until, sa.literal_column("'[)'"))
        return sa.and_(Booking.status.in_(statuses), period.op("&&")(window))
    return sa.and_(Booking.status.in_(ACTIVE_BOOKING_STATUSES), Booking.start < end, Booking.blocked_until > start)


def find_conflicts(space_id: int, start: datetime, blocked_until: datetime, exclude_ids=()) -> list:
    """Active bookings of the space whose blocked period overlaps ``[start, blocked_until)``.

    Loaded without joining their space and organisation: the callers have the space already,
    and a booking's organisation is looked at only when it is the viewer's own (loaded with
    the viewer)."""
    query = sa.select(Booking).options(lazyload(Booking.space), lazyload(Booking.organisation)).where(
        Booking.space_id == space_id,
        Booking.status.in_(ACTIVE_BOOKING_STATUSES),
        Booking.start < blocked_until,
        Booking.blocked_until > start,
    )
    exclude_ids = [i for i in exclude_ids if i is not None]
    if exclude_ids:
        query = query.where(Booking.id.not_in(exclude_ids))
    return list(db.session.scalars(query.order_by(Booking.start)))


def _closures(space_id: int, start: datetime, end: datetime) -> list:
    return list(db.session.scalars(
        sa.select(Closure)
        .where(sa.or_(Closure.space_id.is_(None), Closure.space_id == space_id),
               Closure.start < end, Closure.end > start)
        .order_by(Closure.start)))


class _ClashingBooking:
    """What :func:`booking.permissions.can_view_details` reads of a clashing booking, from one
    row of :func:`find_clashes`; its organisation is read only if the rule asks for it (which it
    does only for the viewer's own, already loaded with the viewer)."""

    __slots__ = ("visibility", "status", "organiser_id", "organisation_id", "project_id")

    def __init__(self, row):
        self.visibility, self.status = row.visibility, row.status
        self.organiser_id, self.organisation_id = row.organiser_id, row.organisation_id
        self.project_id = row.project_id

    @property
    def organisation(self) -> Organisation:
        return db.session.get(Organisation, self.organisation_id)


@functools.cache
def _clash_query(as_ranges: bool):
    """Built once (building it costs more than running it): closures overlapping
    ``[:start, :end)`` of the space or the whole workshop, then the active bookings of the space
    overlapping ``[:start, :blocked_until)``, not counting ``:exclude_ids``, each in time order.

    ``as_ranges`` (PostgreSQL, non-empty window): the bookings' overlap as the range overlap of
    the exclusion constraint ``ex_bookings_no_overlap``, with the active statuses as literals
    (its partial index's predicate), so that its GiST index on (space, period) answers it. The two
    comparisons otherwise walk the space's index entries of every earlier booking: ~0.2 ms with
    5,000 bookings in a space (the full-size bench), against ~0.03 ms.
    """
    if as_ranges:
        statuses = [sa.literal_column(f"'{status.value}'") for status in ACTIVE_BOOKING_STATUSES]
        window = sa.func.tstzrange(sa.bindparam("start", type_=Booking.start.type),
                                   sa.bindparam("blocked_until", type_=Booking.start.type), sa.literal_column("'[)'"))
        period = sa.func.tstzrange(Booking.start, Booking.blocked_until, sa.literal_column("'[)'"))
        overlapping = sa.and_(Booking.status.in_(statuses), period.op("&&")(window))
    else:
        overlapping = sa.and_(Booking.status.in_(ACTIVE_BOOKING_STATUSES),
                              Booking.start < sa.bindparam("blocked_until"),
                              Booking.blocked_until > sa.bindparam("start"))
    bookings = (sa.select(sa.literal_column("1", sa.Integer).label("kind"), Booking.start, Booking.end,
                          Booking.blocked_until, Booking.id, Booking.title, Booking.visibility, Booking.status,
                          Booking.organiser_id, Booking.organisation_id, Booking.project_id)
                .where(Booking.space_id == sa.bindparam("space_id"), overlapping,
                       Booking.id.not_in(sa.bindparam("exclude_ids", expanding=True))))
    closures = (sa.select(sa.literal_column("0", sa.Integer), Closure.start, Closure.end, Closure.end,
                          sa.null(), Closure.reason, sa.null(), sa.null(), sa.null(), sa.null(), sa.null())
                .where(sa.or_(Closure.space_id.is_(None), Closure.space_id == sa.bindparam("space_id")),
                       Closure.start < sa.bindparam("end"), Closure.end > sa.bindparam("start")))
    both = sa.union_all(bookings, closures).subquery()
    return sa.select(both).order_by(both.c.kind, both.c.start, both.c.id)


def find_clashes(viewer, space: Space, start: datetime, end: datetime, exclude_ids=()) -> list[dict]:
    """What stops booking ``space`` for ``[start, end)``, as the conflicts a reply lists: the
    closures (of the space or the whole workshop) overlapping the period itself, then the active
    bookings of the space overlapping it plus the space's buffer, each in time order; a booking
    whose details ``viewer`` may not see (:func:`can_view_details`) is named "Busy", without its id.

    One statement for both, of only the columns the reply needs: this is the check every booking
    request makes before writing (the database's exclusion constraint has the last word).
    """
    blocked_until = end + timedelta(minutes=space.buffer_minutes or 0)
    as_ranges = start < blocked_until and db.session.get_bind().dialect.name == "postgresql"
    rows = db.session.execute(_clash_query(as_ranges), {
        "space_id": space.id, "start": start, "end": end, "blocked_until": blocked_until,
        "exclude_ids": [i for i in exclude_ids if i is not None]})
    found = []
    for row in rows:
        if row.kind == 0:
            found.append({"start": iso(row.start), "end": iso(row.end), "booking_id": None, "title": row.title,
                          "reason": "closure"})
            continue
        visible = can_view_details(viewer, _ClashingBooking(row))
        found.append({"start": iso(row.start), "end": iso(row.end), "blocked_until": iso(row.blocked_until),
                      "booking_id": row.id if visible else None, "title": row.title if visible else _("Busy"),
                      "reason": "booking"})
    return found


def _conflict_message(space: Space, clashes: list[dict], start: datetime | None = None,
                      end: datetime | None = None) -> str:
    """The message of a refusal. When the asked period ``[start, end)`` touches no booking
    itself but only the preparation time kept after one (before or after the asked period),
    the message says so: "already booked" would contradict the free time the user sees."""
    closures = [c for c in clashes if c["reason"] == "closure"]
    if closures:
        return _("%(space)s is closed at that time: %(reason)s.", space=space.name, reason=closures[0]["title"])
    periods = ", ".join(_period_for_people(datetime.fromisoformat(c["start"]), datetime.fromisoformat(c["end"]))
                        for c in clashes)
    if space.buffer_minutes and start is not None and end is not None and not any(
            start < datetime.fromisoformat(c["end"]) and datetime.fromisoformat(c["start"]) < end
            for c in clashes if c.get("reason") == "booking"):
        return _("%(space)s is booked %(periods)s and needs %(n)d minutes' preparation after each booking, so the "
                 "time you chose is not free. Choose a time that leaves %(n)d minutes after the booking before it, "
                 "and ends %(n)d minutes before the next one.", space=space.name, periods=periods,
                 n=space.buffer_minutes)
    return _("%(space)s is already booked at that time (%(periods)s).", space=space.name, periods=periods)


def _self_overlaps(space: Space, periods) -> list[tuple]:
    """Pairs ``(earlier, later)`` of planned ``(start, end)`` periods of one series where the
    later one starts before the earlier one's blocked period (end plus the space's buffer)
    is over. Sorted by start, each start is compared with the furthest blocked end so far."""
    buffer = timedelta(minutes=space.buffer_minutes or 0)
    pairs, furthest = [], None
    for period in sorted(periods, key=lambda p: p[0]):
        if furthest is not None and period[0] < furthest[1] + buffer:
            pairs.append((furthest, period))
        if furthest is None or period[1] > furthest[1]:
            furthest = period
    return pairs


def _check_self_overlap(space: Space, periods) -> None:
    """Refuse planned occurrences of a series that would overlap each other (checked before
    anything is written: the database would refuse them too, but could not say why)."""
    pairs = _self_overlaps(space, periods)
    if not pairs:
        return
    buffer = timedelta(minutes=space.buffer_minutes or 0)
    dates = [f"{to_local(later[0]):%Y-%m-%d}" for _earlier, later in pairs]
    shown = ", ".join(_("%(first)s and %(second)s", first=_period_text(*earlier), second=_period_text(*later))
                      for earlier, later in pairs[:5])
    if buffer:
        message = _("The bookings of the series would overlap each other: %(pairs)s. Each booking, plus "
                    "%(n)d minutes of preparation time in %(space)s, must end before the next one starts; make "
                    "the bookings shorter or repeat them less often.", pairs=shown, n=space.buffer_minutes,
                    space=space.name)
    else:
        message = _("The bookings of the series would overlap each other: %(pairs)s. Each booking must end "
                    "before the next one starts; make the bookings shorter or repeat them less often.",
                    pairs=shown)
    conflicts = [{"start": iso(earlier[0]), "end": iso(earlier[1]), "blocked_until": iso(earlier[1] + buffer),
                  "booking_id": None, "title": _("Another booking of this series"),
                  "reason": "series_self_overlap", "occurrence_start": iso(later[0])}
                 for earlier, later in pairs]
    raise Conflict(message, code="series_self_overlap",
                   details={"reason": "series_self_overlap", "conflicts": conflicts, "dates": dates})


def _write_guarded(viewer, space: Space, periods, apply) -> None:
    """Run ``apply`` (which adds or changes rows) and flush, inside a SAVEPOINT; the
    database's overlap refusal becomes a Conflict and the session stays usable.

    ``periods`` are the (start, end, exclude_ids) to report clashes for if the database
    refuses: another request committed an overlapping booking after our own check.
    The changes are made inside the savepoint on purpose: ``begin_nested()`` flushes
    pending changes before it starts, which would put them outside the savepoint.
    """
    try:
        with db.session.begin_nested():
            apply()
            db.session.flush()
    except DBAPIError as exc:
        # A collision: two requests wrote overlapping bookings at the same moment and each waited
        # in the constraint's check for the other (PostgreSQL ends one); it clashes like a refusal.
        if not (is_exclusion_violation(exc, OVERLAP_CONSTRAINT) or is_collision(exc)):
            raise
        raise _refused(viewer, space, periods) from None


def _refused(viewer, space: Space, periods) -> Conflict:
    """The Conflict for periods the database refused after our own check had passed them."""
    clashes = []
    for start, end, exclude_ids in periods:
        clashes += find_clashes(viewer, space, start, end, exclude_ids)
    message = _conflict_message(space, clashes) if clashes else _(
        "%(space)s was booked by someone else at the same moment; choose another time.", space=space.name)
    return Conflict(message, details={"conflicts": clashes})


@functools.cache
def _insert_unless_overlapping(messages: bool = False):
    """One statement that writes a booking, its "booking.create" audit entry and (``messages``) the
    outbox rows of its notifications, unless the exclusion constraint refuses the booking::

        WITH inserted AS (INSERT INTO bookings ... ON CONFLICT ON CONSTRAINT ex_bookings_no_overlap
                          DO NOTHING RETURNING *),
             audited AS (INSERT INTO audit_log ... SELECT ..., inserted.id, ... FROM inserted),
             outboxed AS (INSERT INTO outbox_messages ... SELECT message.kind, ...,
                          concat('booking:', inserted.id), jsonb_set(message.payload, ..., inserted.id)
                          FROM inserted JOIN json_populate_recordset(NULL::outbox_messages, :outbox_rows)
                          AS message ON true)
        SELECT * FROM inserted

    The constraint still decides; its refusal returns no row (and writes no audit entry and no
    message: both select FROM inserted) instead of raising. Every column is a bound parameter
    (see :func:`_column_values`); the outbox rows, made beforehand by
    :func:`booking.notifications.bookings.booking_made_rows`, are one JSON parameter, but for the
    new booking's id, which they take from ``inserted``: the reference and, in the payload,
    ``booking.id`` and ``booking_ids``. Built once (with and without messages), since building it
    costs more than running it.
    """
    from sqlalchemy.dialects.postgresql import JSONB, insert

    bookings, log = Booking.__table__, audit.AuditEntry.__table__
    inserted = (insert(bookings)
                .values({c.key: sa.bindparam(c.key, type_=c.type) for c in bookings.c if not c.primary_key})
                .on_conflict_do_nothing(constraint=OVERLAP_CONSTRAINT)
                .returning(*bookings.c)
                .cte("inserted"))
    entry = [c for c in log.c if not c.primary_key]
    audited = (sa.insert(log)
               .from_select([c.key for c in entry],
                            sa.select(*[inserted.c.id if c.key == "object_id"
                                        else sa.bindparam(f"audit_{c.key}", type_=c.type) for c in entry]))
               .cte("audited"))
    statement = sa.select(inserted).add_cte(audited)
    if not messages:
        return statement
    from samskap.mail import OutboxMessage

    outbox = OutboxMessage.__table__
    columns = [c for c in outbox.c if not c.primary_key]
    # The rows come as ONE parameter, a JSON array that PostgreSQL reads into outbox_messages' row type
    # (forty bound parameters cost the request more than the round trip this statement saves).
    message = (sa.func.json_populate_recordset(sa.literal_column("NULL::outbox_messages"),
                                               sa.cast(sa.bindparam("outbox_rows", type_=sa.Text), sa.JSON))
               .table_valued(*[sa.column(c.key, c.type) for c in columns]).alias("message"))

    def value(column: sa.Column):
        if column.key == "reference":
            return sa.func.concat(sa.literal_column("'booking:'"), inserted.c.id)
        if column.key == "payload":
            payload = sa.cast(message.c.payload, JSONB)
            payload = sa.func.jsonb_set(payload, sa.literal_column("'{booking,id}'::text[]"),
                                        sa.func.to_jsonb(inserted.c.id))
            payload = sa.func.jsonb_set(payload, sa.literal_column("'{booking_ids}'::text[]"),
                                        sa.func.jsonb_build_array(inserted.c.id))
            return sa.cast(payload, sa.JSON)
        return message.c[column.key]

    outboxed = (sa.insert(outbox)
                .from_select([c.key for c in columns],
                             sa.select(*[value(c) for c in columns]).select_from(sa.join(inserted, message, sa.true())))
                .cte("outboxed"))
    return statement.add_cte(outboxed)


def _json_value(value):
    """The JSON form of the outbox rows' datetimes and enums (json_populate_recordset reads them back)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"not JSON: {type(value).__name__}")


def _column_values(table: sa.Table, values: dict) -> dict:
    """``values`` completed with the default of every other column (what an INSERT leaving them
    out would store: the scalar or callable ``default=``, else NULL), the primary key excepted."""
    complete = {}
    for column in table.c:
        if column.primary_key:
            continue
        if column.key in values:
            complete[column.key] = values[column.key]
        elif column.default is None:
            complete[column.key] = None
        elif column.default.is_callable:
            complete[column.key] = column.default.arg(None)
        else:
            complete[column.key] = column.default.arg
    return complete


def _write_one(actor, space: Space, organisation: Organisation, start: datetime, end: datetime,
               fields: dict) -> tuple[Booking, bool]:
    """Write one new booking and its audit entries; the database's overlap refusal becomes a
    Conflict. Returns the booking and whether its notifications (``booking_made``) were recorded
    with it.

    On PostgreSQL one statement (:func:`_insert_unless_overlapping`): no savepoint, no unit of
    work flush, and concurrent overlapping inserts wait for each other (speculative insertion)
    instead of deadlocking in the constraint check. The same statement writes the outbox rows of
    the booking's notifications (made beforehand from the values about to be stored), so recording
    them costs no round trip. The row it returns becomes the booking, persistent in the session as
    if loaded. Elsewhere (SQLite serialises writers) the flush of :func:`_write_guarded`, and the
    caller records the notifications.
    """
    booking = _new_booking(space, start, end, fields)
    if db.session.get_bind().dialect.name != "postgresql":
        _write_guarded(actor, space, [(start, end, ())], lambda: db.session.add(booking))
        _record_creation(actor, booking)
        return booking, False
    values = _column_values(Booking.__table__, {key: getattr(booking, key) for key in (
        *fields, "start", "end", "blocked_until", "sequence", "opening_hours_overridden")})
    entry = audit.entry_values(actor, "booking.create", object_type=Booking.__tablename__,
                               **_creation_details(booking))
    entry["at"] = utcnow()
    # The messages say what is about to be stored (the snapshot reads these attributes).
    booking.created_at, booking.updated_at = values["created_at"], values["updated_at"]
    booking.organisation = organisation
    messages = notifications.booking_made_rows(actor, booking)
    parameters = {**values, **{f"audit_{key}": value for key, value in entry.items()}}
    if messages:
        parameters["outbox_rows"] = json.dumps(messages, default=_json_value)
    row = db.session.execute(_insert_unless_overlapping(bool(messages)), parameters).first()
    if row is None:
        raise _refused(actor, space, [(start, end, ())])
    for attribute in Booking.__mapper__.column_attrs:
        setattr(booking, attribute.key, row._mapping[attribute.columns[0].key])
    make_transient_to_detached(booking)  # every attribute as loaded; nothing left to flush
    db.session.add(booking)
    _record_override(actor, booking)
    return booking, True


# --- booking ---------------------------------------------------------------------------------

@counts_bookings
def book_space(actor, request: BookingRequest) -> BookingResult:
    """Book a space once or as a series, enforcing every rule of the space.

    Raises ValidationFailed (field problems), PermissionDenied (the actor may not book
    this space, or for that organisation) or Conflict (``details["conflicts"]`` lists
    each clashing booking or closure; for a series each also names ``occurrence_start``).
    A space that requires approval gets a ``pending`` booking, which already holds the slot.
    """
    errors: dict[str, str] = {}
    space = _get_space(request.space_id, errors)
    details = _clean_details({"title": request.title, "description": request.description,
                              "purpose": request.purpose, "visibility": request.visibility,
                              "attendees": request.attendees}, errors)
    start = _aware(request.start, "start", errors)
    end = _aware(request.end, "end", errors)
    if errors:
        raise ValidationFailed(errors)
    organisation = _booking_organisation(actor, request.organisation_id)
    _check_bookable_by(actor, space, organisation)
    project = _booking_project(request.project_id, organisation)
    override = _check_override(actor, request.override_opening_hours)
    if details["attendees"] > space.capacity:
        errors["attendees"] = _("%(space)s holds at most %(n)d people.", space=space.name, n=space.capacity)
    errors.update(_period_problems(space, start, end, now=utcnow(), check_hours=not override))
    if errors:
        raise ValidationFailed(errors)

    # Staff and administrators are the ones who approve: their own bookings need no approval.
    needs_approval = space.requires_approval and not can_decide(actor)
    status = BookingStatus.PENDING if needs_approval else BookingStatus.CONFIRMED
    fields = dict(details, space_id=space.id, organiser_id=actor.id, organisation_id=organisation.id, status=status,
                  project_id=project.id if project is not None else None)
    if request.recurrence is not None:
        result = _book_series(actor, space, organisation, start, end, fields, request.recurrence,
                              request.skip_conflicts, override, override_quota=request.override_quota)
        notified = False
    else:
        clashes = find_clashes(actor, space, start, end)
        if clashes:
            raise Conflict(_conflict_message(space, clashes, start, end), details={"conflicts": clashes})
        fair = _check_fair_use(actor, organisation, space, [(start, end)], override=request.override_quota)
        booking, notified = _write_one(actor, space, organisation, start, end, fields)
        _after_fair_use(actor, [booking], fair)
        result = BookingResult(bookings=[booking], series=None, skipped=[])
    if request.equipment:
        _reserve_equipment_for(actor, result.bookings, request.equipment, now=utcnow())
    if not notified:  # on PostgreSQL a single booking's were written with it
        notifications.booking_made(actor, result.bookings, result.series)
    return result


def _check_fair_use(actor, organisation: Organisation, space: Space, periods, *, exclude_ids=(),
                    override=False, skip: bool = False):
    """The organisation's quotas and the waitlist's holds for these new periods
    (see :mod:`booking.fairuse.rules`)."""
    from booking.fairuse.rules import check_booking

    if not isinstance(override, bool):
        raise ValidationFailed({"override_quota": _("'%(field)s' must be true or false.", field="override_quota")})
    return check_booking(actor, organisation, space, list(periods), now=utcnow(), exclude_ids=exclude_ids,
                         override_quota=override, skip=skip)


def _after_fair_use(actor, bookings, check) -> None:
    if check is None:
        return
    from booking.fairuse.rules import after_booking

    after_booking(actor, bookings, check)


def _reserve_equipment_for(actor, bookings: list[Booking], items: list, *, now: datetime) -> None:
    """Reserve the same equipment for every booking made; any shortage fails the whole request
    (the caller's transaction is not committed), so a booking with equipment is made whole or
    not at all. For a series, the error names the occurrence that could not get its equipment."""
    from booking.equipment.services import reserve_for_booking

    for booking in bookings:
        try:
            reserve_for_booking(actor, booking, items, now=now)
        except Conflict as exc:
            if len(bookings) > 1:
                when = local_datetime_text(booking.start, "day")
                raise Conflict(_("Equipment for %(when)s: %(problem)s", when=when, problem=exc.message),
                               details={**exc.details, "occurrence_start": iso(booking.start)}, code=exc.code) from None
            raise


def _move_equipment_for(actor, moves: list[tuple], *, now: datetime) -> None:
    """Move the equipment reserved with each moved booking along with it (``moves``:
    ``(booking, old_start, old_end)``); all or nothing, and the error names the occurrence
    whose equipment could not follow."""
    from booking.equipment.services import move_for_booking

    for booking, old_start, old_end in moves:
        try:
            move_for_booking(actor, booking, old_start, old_end, now=now)
        except Conflict as exc:
            when = to_local(booking.start).strftime("%Y-%m-%d %H:%M")
            raise Conflict(_("The equipment reserved with the booking cannot be moved to %(when)s: %(problem)s",
                             when=when, problem=exc.message),
                           details={**exc.details, "occurrence_start": iso(booking.start)}, code=exc.code) from None


def _new_booking(space: Space, start: datetime, end: datetime, fields: dict, **extra) -> Booking:
    # ``space`` as well as ``space_id``: the reply names the space, and a booking that only knew
    # the id would read it again (flushing the pending audit entry on the way).
    booking = Booking(start=start, end=end, blocked_until=end + timedelta(minutes=space.buffer_minutes or 0),
                      sequence=0, space=space, **fields, **extra)
    booking.opening_hours_overridden = not is_within_opening_hours(space.opening_hours, start, end)
    return booking


def _creation_details(booking: Booking) -> dict:
    """The changes and summary of a booking's "booking.create" audit entry."""
    return {"changes": {k: [None, getattr(booking, k)] for k in AUDITED_FIELDS if k != "sequence"},
            "summary": f"{booking.title} ({booking.status.value})"}


def _record_creation(actor, booking: Booking) -> None:
    audit.record(actor, "booking.create", booking, **_creation_details(booking))
    _record_override(actor, booking)


def _record_override(actor, booking: Booking) -> None:
    if booking.opening_hours_overridden:
        audit.record(actor, "booking.override_opening_hours", booking,
                     summary=f"booked outside opening hours: {_period_text(booking.start, booking.end)}")


def _book_series(actor, space: Space, organisation: Organisation, start: datetime, end: datetime, fields: dict,
                 recurrence: Recurrence, skip_conflicts: bool, override: bool, *,
                 override_quota: bool = False) -> BookingResult:
    tz = local_tz()
    expansion = expand(recurrence, start, end, tz)
    _check_self_overlap(space, [(occurrence.start, occurrence.end) for occurrence in expansion.occurrences])
    now = utcnow()
    skipped: list[dict] = [
        {"start": moment.isoformat(timespec="minutes"), "end": None, "reason": "nonexistent_time",
         "message": _("%(time)s does not exist: the clocks go forward then.",
                      time=moment.strftime("%Y-%m-%d %H:%M"))}
        for moment in expansion.nonexistent]
    rule_breaks: list[str] = []
    all_clashes: list[dict] = []
    clashing_dates: list[str] = []
    free = []
    for occurrence in expansion.occurrences:
        problems = _period_problems(space, occurrence.start, occurrence.end, now=now, check_hours=False)
        if problems:
            rule_breaks.append(f"{occurrence.local_start:%Y-%m-%d}: " + " ".join(problems.values()))
            continue
        clashes = []
        if not override and not is_within_opening_hours(space.opening_hours, occurrence.start, occurrence.end):
            clashes.append({"start": iso(occurrence.start), "end": iso(occurrence.end), "booking_id": None,
                            "title": _("Closed (opening hours: %(hours)s)", hours=_hours_text(space, occurrence.start)),
                            "reason": "closed"})
        clashes += find_clashes(actor, space, occurrence.start, occurrence.end)
        if clashes:
            for clash in clashes:
                clash["occurrence_start"] = iso(occurrence.start)
            all_clashes += clashes
            clashing_dates.append(f"{occurrence.local_start:%Y-%m-%d}")
            skipped.append({"start": iso(occurrence.start), "end": iso(occurrence.end),
                            "reason": clashes[0]["reason"], "conflicts": clashes})
        else:
            free.append(occurrence)
    if rule_breaks:
        raise ValidationFailed({"recurrence": _("Some dates of the series break the rules of %(space)s: "
                                                "%(problems)s", space=space.name,
                                                problems="; ".join(rule_breaks[:5]))})
    if (all_clashes or expansion.nonexistent) and not skip_conflicts:
        # Whole or nothing unless the user chose to skip: a date whose time does not exist
        # (spring-forward gap) counts like a clash.
        parts = []
        if clashing_dates:
            parts.append(_("The series clashes on %(count)d dates: %(dates)s.", count=len(clashing_dates),
                           dates=", ".join(clashing_dates)))
        if expansion.nonexistent:
            parts.append(_("These times do not exist, because the clocks go forward then: %(times)s.",
                           times=", ".join(f"{moment:%Y-%m-%d %H:%M}" for moment in expansion.nonexistent)))
        parts.append(_("Choose another time, or skip those dates."))
        dates = sorted(clashing_dates + [f"{moment:%Y-%m-%d}" for moment in expansion.nonexistent])
        raise Conflict(" ".join(parts), details={
            "conflicts": all_clashes, "dates": dates,
            "nonexistent": [moment.isoformat(timespec="minutes") for moment in expansion.nonexistent]})
    if not free:
        raise Conflict(_("No date of the series is free."), details={"conflicts": all_clashes,
                                                                      "dates": clashing_dates})
    fair = _check_fair_use(actor, organisation, space, [(o.start, o.end) for o in free], override=override_quota,
                            skip=skip_conflicts)
    if fair.quota.skipped:
        for index, message in sorted(fair.quota.skipped.items()):
            skipped.append({"start": iso(free[index].start), "end": iso(free[index].end),
                            "reason": "quota_exceeded", "message": message})
        free = [o for index, o in enumerate(free) if index not in fair.quota.skipped]

    series = BookingSeries(rrule=expansion.rrule, tzid=tz.key, created_by_id=actor.id,
                           dtstart_local=expansion.dtstart_local.isoformat(timespec="seconds"))
    bookings = [_new_booking(space, occ.start, occ.end, fields, series=series, original_start=occ.start)
                for occ in free]
    _write_guarded(actor, space, [(b.start, b.end, ()) for b in bookings],
                   lambda: db.session.add_all([series, *bookings]))
    audit.record(actor, "booking_series.create", series,
                 summary=f"{fields['title']}: {series.rrule} from {series.dtstart_local} ({tz.key}), "
                         f"{len(bookings)} occurrences, {len(skipped)} skipped")
    for booking in bookings:
        _record_creation(actor, booking)
    _after_fair_use(actor, bookings, fair)
    return BookingResult(bookings=bookings, series=series, skipped=skipped)


# --- changing, cancelling, deciding ----------------------------------------------------------

def _require_manage(actor, booking: Booking) -> None:
    if can_manage(actor, booking):
        return
    if can_view_details(actor, booking):
        raise PermissionDenied(_("You cannot change this booking."))
    raise NotFound(_("No such booking."))


def _require_decide(actor, booking: Booking) -> None:
    if not can_view_details(actor, booking):
        raise NotFound(_("No such booking."))
    if not can_decide(actor):
        raise PermissionDenied(_("Only staff can approve or reject bookings."))


def _check_scope(scope) -> str:
    if scope not in SCOPES:
        raise ValidationFailed({"scope": _("Choose which bookings to change: this, following or series.")})
    return scope


def _scope_targets(booking: Booking, scope: str) -> list[Booking]:
    """The active bookings a change of ``booking`` reaches (always including ``booking``)."""
    if scope == "this" or booking.series_id is None:
        return [booking]
    query = sa.select(Booking).where(Booking.series_id == booking.series_id,
                                     Booking.status.in_(ACTIVE_BOOKING_STATUSES))
    if scope == "following":
        query = query.where(Booking.start >= booking.start)
    else:
        query = query.where(Booking.end > utcnow())
    targets = list(db.session.scalars(query.order_by(Booking.start)))
    if booking not in targets:
        targets.insert(0, booking)
    return targets


def _not_active(booking: Booking) -> Conflict:
    return Conflict(_("This booking is %(status)s and can no longer be changed.",
                      status=STATUS_LABELS[booking.status]), code="not_active")


def _local_naive(value: datetime) -> datetime:
    return value.astimezone(local_tz()).replace(tzinfo=None)


UPDATABLE = ("title", "description", "purpose", "visibility", "attendees", "start", "end", "space_id",
             "override_opening_hours", "override_quota", "project_id")
UPDATE_AUDITED_FIELDS = AUDITED_FIELDS + ("project_id",)  # a change of project is recorded too


def update_booking(actor, booking: Booking, changes: dict, scope: str = "this") -> list:
    """Change a booking, or with ``scope`` "following"/"series" the active occurrences of its
    series from this one on / all not yet over.

    A new time is applied to each occurrence in local wall-clock time (moving this one from
    09:00 to 10:00 moves the others to 10:00 too, across DST). Every rule is checked again
    for the new time or place, and the occurrences are compared with each other; moving
    bumps ``sequence``, and moving a booking of a space that requires approval (unless
    staff do it) makes it pending again. Equipment reserved with a moved booking (and not
    handed out) moves with it, or the whole change is refused (Conflict).
    """
    _require_manage(actor, booking)
    scope = _check_scope(scope)
    if not booking.is_active:
        raise _not_active(booking)
    unknown = [key for key in changes if key not in UPDATABLE]
    if unknown:
        raise ValidationFailed({key: _("'%(field)s' cannot be changed here.", field=key) for key in unknown})
    errors: dict[str, str] = {}
    details = _clean_details({k: v for k, v in changes.items() if k in ("title", "description", "purpose",
                                                                        "visibility", "attendees")}, errors)
    new_start = _aware(changes["start"], "start", errors) if "start" in changes else booking.start
    if "end" in changes:
        new_end = _aware(changes["end"], "end", errors)
    elif new_start is not None:
        new_end = new_start + (booking.end - booking.start)  # moving the start keeps the length
    else:
        new_end = None
    space = booking.space
    if "space_id" in changes and changes["space_id"] != booking.space_id:
        space = _get_space(changes["space_id"], errors)
    if errors:
        raise ValidationFailed(errors)
    if "project_id" in changes:  # null takes the booking out of its project
        project = _booking_project(changes["project_id"], booking.organisation)
        details["project_id"] = project.id if project is not None else None
    override = _check_override(actor, changes.get("override_opening_hours", False))
    moving = new_start != booking.start or new_end != booking.end
    space_changed = space.id != booking.space_id
    if space_changed:
        _check_bookable_by(actor, space, booking.organisation)

    targets = _scope_targets(booking, scope)
    target_ids = [t.id for t in targets]
    shift = _local_naive(new_start) - _local_naive(booking.start)
    wall_length = _local_naive(new_end) - _local_naive(new_start)
    now = utcnow()
    plans, clashes = [], []
    for target in targets:
        if target is booking or not moving:
            start, end = (new_start, new_end) if target is booking else (target.start, target.end)
        else:
            local_start = _local_naive(target.start) + shift
            local_end = local_start + wall_length
            try:
                start = local_to_utc(local_start.date(), local_start.time())
                end = local_to_utc(local_end.date(), local_end.time())
            except LocalTimeError:
                _add(errors, "start", _("%(time)s does not exist: the clocks go forward then.",
                                        time=local_start.strftime("%Y-%m-%d %H:%M")))
                continue
        attendees = details.get("attendees", target.attendees)
        if attendees > space.capacity:
            errors["attendees"] = _("%(space)s holds at most %(n)d people.", space=space.name, n=space.capacity)
        if moving or space_changed:
            problems = _period_problems(space, start, end, now=now, check_hours=not override)
            for key, message in problems.items():
                _add(errors, key, message if target is booking else f"{_local_text(start)}: {message}")
            found = find_clashes(actor, space, start, end, exclude_ids=target_ids)
            for clash in found:
                clash["occurrence_start"] = iso(target.start)
            clashes += found
        plans.append((target, start, end))
    if errors:
        raise ValidationFailed(errors)
    if moving or space_changed:
        _check_self_overlap(space, [(start, end) for _t, start, end in plans])
    if clashes:
        asked = plans[0][1:] if len(plans) == 1 else (None, None)
        raise Conflict(_conflict_message(space, clashes, *asked), details={"conflicts": clashes})
    fair = None
    if moving or space_changed:
        fair = _check_fair_use(actor, booking.organisation, space, [(start, end) for _t, start, end in plans],
                                exclude_ids=target_ids, override=changes.get("override_quota", False))

    before = {t.id: audit.snapshot(t, UPDATE_AUDITED_FIELDS) for t, _s, _e in plans}
    old_periods = [(t, t.start, t.end) for t, _s, _e in plans]
    vacated = [(t.space, t.start, t.blocked_until) for t, _s, _e in plans] if moving or space_changed else []

    def apply():
        if (moving or space_changed) and len(plans) > 1:
            # PostgreSQL checks the overlap constraint row by row: moving a series onto its
            # own later dates would briefly overlap an occurrence not moved yet. Take the
            # moving rows out of the constraint first (inside this savepoint), so the database
            # compares only the final periods; the checks above already compared them.
            statuses = {target.id: target.status for target, _s, _e in plans}
            for target, _s, _e in plans:
                target.status = BookingStatus.CANCELLED
            db.session.flush()
            for target, _s, _e in plans:
                target.status = statuses[target.id]
        for target, start, end in plans:
            for key, value in details.items():
                setattr(target, key, value)
            if moving or space_changed:
                target.start, target.end = start, end
                target.blocked_until = end + timedelta(minutes=space.buffer_minutes or 0)
                target.space = space
                target.opening_hours_overridden = not is_within_opening_hours(space.opening_hours, start, end)
                target.sequence += 1
                if space.requires_approval and not can_decide(actor) and target.status == BookingStatus.CONFIRMED:
                    target.status = BookingStatus.PENDING
                    target.decided_by_id, target.decided_at, target.decision_reason = None, None, ""
        if moving:
            # In the same savepoint: equipment that cannot follow undoes the move.
            db.session.flush()
            _move_equipment_for(actor, old_periods, now=now)

    _write_guarded(actor, space, [(start, end, target_ids) for _t, start, end in plans], apply)
    changed_targets = []
    for target, _start, _end in plans:
        changed = audit.diff(target, UPDATE_AUDITED_FIELDS, before[target.id])
        if changed:
            changed_targets.append(target)
            audit.record(actor, "booking.update", target, changes=changed, summary=f"scope={scope}")
            if target.opening_hours_overridden and ("start" in changed or "end" in changed or "space_id" in changed):
                audit.record(actor, "booking.override_opening_hours", target,
                             summary=f"moved outside opening hours: {_period_text(target.start, target.end)}")
    if changed_targets:
        notifications.booking_changed(actor, changed_targets, scope)
    _after_fair_use(actor, [t for t, _s, _e in plans], fair)
    if vacated:
        from booking.fairuse.waitlist import slot_freed

        for old_space, old_start, old_until in vacated:  # what the move left free goes to the waitlist
            if old_until > now:
                slot_freed(old_space, old_start, old_until, now=now)
    return [t for t, _s, _e in plans]


def cancel_booking(actor, booking: Booking, reason: str = "", scope: str = "this",
                   cancel_equipment: bool = True) -> list:
    """Cancel a booking (or the following / all not-yet-over occurrences of its series).

    The rows stay (status cancelled, who, when, why) so history, audit and feeds stay
    right; the slot is free at once. Bumps ``sequence``. Unless ``cancel_equipment`` is
    false, the equipment reserved with each cancelled booking (and not yet handed out)
    is cancelled too; otherwise it stays reserved on its own.
    """
    _require_manage(actor, booking)
    scope = _check_scope(scope)
    reason = _clean_reason(reason, required=False)
    if not booking.is_active:
        raise _not_active(booking)
    targets = _scope_targets(booking, scope)
    now = utcnow()
    for target in targets:
        previous = target.status
        target.status = BookingStatus.CANCELLED
        target.cancelled_by_id = actor.id
        target.cancelled_at = now
        target.cancel_reason = reason
        target.sequence += 1
        audit.record(actor, "booking.cancel", target, changes={"status": [previous, target.status]},
                     summary=reason or None)
    db.session.flush()
    if cancel_equipment:
        from booking.equipment.services import cancel_for_booking

        for target in targets:
            cancel_for_booking(actor, target, reason)
    notifications.booking_cancelled(actor, targets, reason, scope)
    _periods_freed(targets, now)
    return targets


def _periods_freed(bookings, now: datetime) -> None:
    """Tell the waitlist that these bookings' periods are free (in this transaction)."""
    from booking.fairuse.waitlist import slot_freed

    for booking in bookings:
        if booking.blocked_until > now:
            slot_freed(booking.space, booking.start, booking.blocked_until, now=now)


def approve_booking(actor, booking: Booking, reason: str = "") -> None:
    """Staff confirm a pending booking (which already held its slot)."""
    _require_decide(actor, booking)
    _decide(actor, booking, BookingStatus.CONFIRMED, _clean_reason(reason, required=False), "booking.approve")
    notifications.booking_decided(actor, booking)


def reject_booking(actor, booking: Booking, reason: str) -> None:
    """Staff reject a pending booking, saying why; the slot becomes free, and so does the
    equipment reserved with it (not yet handed out)."""
    from booking.equipment.services import cancel_for_booking

    _require_decide(actor, booking)
    reason = _clean_reason(reason, required=True)
    _decide(actor, booking, BookingStatus.REJECTED, reason, "booking.reject")
    cancel_for_booking(actor, booking, reason)
    notifications.booking_decided(actor, booking)
    _periods_freed([booking], utcnow())


def _decide(actor, booking: Booking, status: BookingStatus, reason: str, action: str) -> None:
    _require_decide(actor, booking)
    if booking.status != BookingStatus.PENDING:
        raise Conflict(_("Only pending bookings can be decided; this one is %(status)s.",
                         status=STATUS_LABELS[booking.status]), code="not_pending")
    booking.status = status
    booking.decided_by_id = actor.id
    booking.decided_at = utcnow()
    booking.decision_reason = reason
    booking.sequence += 1
    db.session.flush()
    audit.record(actor, action, booking, changes={"status": [BookingStatus.PENDING, status]}, summary=reason or None)


# --- availability ----------------------------------------------------------------------------

def blocking_rows(space: Space, start: datetime, end: datetime) -> tuple[list[Booking], list[Closure]]:
    """What makes the space unavailable in ``[start, end)``: its active bookings whose
    blocked period (the booking plus the space's preparation buffer) overlaps, in time order,
    and the closures of the space or of the whole workshop. The one query behind
    :func:`busy_periods` and the catalogue's week at a glance; callers mask details with
    :func:`booking.permissions.can_view_details`."""
    return find_conflicts(space.id, start, end), _closures(space.id, start, end)


def busy_periods(space: Space, start: datetime, end: datetime, viewer) -> list[dict]:
    """What makes the space unavailable between ``start`` and ``end``, in time order.

    Active bookings: ``{"start", "end", "blocked_until", "status", "booking_id", "title",
    "kind": "booking"}``, title "Busy" and booking_id None unless ``viewer`` may see the
    details. Closures: the same keys with ``status`` "closed", ``kind`` "closure" and the
    closure's reason as title.
    """
    bookings, closures = blocking_rows(space, start, end)
    periods = []
    for booking in bookings:
        visible = can_view_details(viewer, booking)
        periods.append({"start": booking.start, "end": booking.end, "blocked_until": booking.blocked_until,
                        "status": booking.status.value, "booking_id": booking.id if visible else None,
                        "title": booking.title if visible else _("Busy"), "kind": "booking"})
    for closure in closures:
        periods.append({"start": closure.start, "end": closure.end, "blocked_until": closure.end,
                        "status": "closed", "booking_id": None, "title": closure.reason, "kind": "closure"})
    return sorted(periods, key=lambda p: p["start"])


FEW_SPACES = 20


def busy_periods_by_space(space_ids, start: datetime, end: datetime, viewer) -> dict[int, list[dict]]:
    """:func:`busy_periods` for many spaces at once: ``{space_id: [period, ...]}`` with an entry
    (maybe empty) for every id asked for. One query for the bookings and one for the closures,
    however many spaces; the bookings' details are masked with
    :func:`booking.permissions.details_visible_clause` (the list form of ``can_view_details``)."""
    space_ids = list(dict.fromkeys(space_ids))
    periods: dict[int, list[dict]] = {space_id: [] for space_id in space_ids}
    if not space_ids:
        return periods
    query = (sa.select(Booking.id, Booking.space_id, Booking.start, Booking.end, Booking.blocked_until,
                       Booking.status, Booking.title, details_visible_clause(viewer).label("visible"))
             .where(blocked_overlaps(start, end))
             .order_by(Booking.start, Booking.id))
    if len(space_ids) <= FEW_SPACES:
        query = query.where(Booking.space_id.in_(space_ids))
    # For many spaces the window's bookings are read whatever their space and the others dropped
    # here: the period index answers a window at once, where a list of ids would be looked up in
    # the exclusion constraint's (space, period) index once per space.
    rows = db.session.execute(query)
    busy = _("Busy")
    for row in rows:
        if row.space_id not in periods:
            continue
        periods[row.space_id].append({
            "start": row.start, "end": row.end, "blocked_until": row.blocked_until, "status": row.status.value,
            "booking_id": row.id if row.visible else None, "title": row.title if row.visible else busy,
            "kind": "booking"})
    closures = sa.select(Closure).where(Closure.start < end, Closure.end > start).order_by(Closure.start)
    if len(space_ids) <= FEW_SPACES:
        closures = closures.where(sa.or_(Closure.space_id.is_(None), Closure.space_id.in_(space_ids)))
    for closure in db.session.scalars(closures):
        if closure.space_id is not None and closure.space_id not in periods:
            continue
        period = {"start": closure.start, "end": closure.end, "blocked_until": closure.end, "status": "closed",
                  "booking_id": None, "title": closure.reason, "kind": "closure"}
        for space_id in ([closure.space_id] if closure.space_id is not None else space_ids):
            periods[space_id].append(dict(period))
    for found in periods.values():
        found.sort(key=lambda p: p["start"])  # stable: bookings before closures at the same instant
    return periods


def _is_free(space: Space, start: datetime, end: datetime, bookings, closures, now: datetime) -> bool:
    if _period_problems(space, start, end, now=now):
        return False
    blocked_until = end + timedelta(minutes=space.buffer_minutes or 0)
    if any(c.start < end and start < c.end for c in closures):
        return False
    return not any(b.start < blocked_until and start < b.blocked_until for b in bookings)


def suggest_free_slots(space: Space, start: datetime, end: datetime, limit: int = 3) -> list[tuple]:
    """Up to ``limit`` free periods of the same length nearest to ``start`` (before or after
    it, in steps of 15 minutes, up to two weeks away, not overlapping each other) that obey
    the space's rules (opening hours, closures, buffer, length, days ahead), in time order."""
    length = end - start
    if length <= timedelta(0) or limit < 1:
        return []
    now = utcnow()
    low, high = start - SUGGESTION_HORIZON, start + SUGGESTION_HORIZON + length
    bookings = find_conflicts(space.id, low, high + timedelta(minutes=space.buffer_minutes or 0))
    closures = _closures(space.id, low, high)
    found = []
    steps = int(SUGGESTION_HORIZON / SUGGESTION_STEP)
    for k in range(steps + 1):
        for candidate in ((start,) if k == 0 else (start + k * SUGGESTION_STEP, start - k * SUGGESTION_STEP)):
            if candidate < now:
                continue
            # Suggestions do not overlap each other, so they are real alternatives.
            if any(candidate < e and s < candidate + length for s, e in found):
                continue
            if _is_free(space, candidate, candidate + length, bookings, closures, now):
                found.append((candidate, candidate + length))
                if len(found) >= limit:
                    return sorted(found)
    return sorted(found)


def bookable_spaces(actor) -> list[Space]:
    """Active spaces the actor may book (staff: all, since they book on behalf of anyone)."""
    spaces = db.session.scalars(sa.select(Space).where(Space.active.is_(True)).order_by(Space.name))
    if can_book_for_other_organisations(actor):
        return list(spaces)
    kind = actor.organisation.kind.value
    return [space for space in spaces if kind in (space.bookable_by or [])]


def free_spaces(actor, start: datetime, end: datetime, attendees: int = 1) -> list:
    """Active spaces the actor may book that are open and free for the whole period."""
    if end <= start:
        return []
    spaces = [s for s in bookable_spaces(actor) if s.capacity >= attendees]
    if not spaces:
        return []
    longest_buffer = timedelta(minutes=max(s.buffer_minutes or 0 for s in spaces))
    bookings = list(db.session.scalars(
        sa.select(Booking).where(Booking.space_id.in_([s.id for s in spaces]),
                                 blocked_overlaps(start, end + longest_buffer))))
    closures = list(db.session.scalars(
        sa.select(Closure).where(Closure.start < end, Closure.end > start)))
    now = utcnow()
    return [space for space in spaces
            if _is_free(space, start, end, [b for b in bookings if b.space_id == space.id],
                        [c for c in closures if c.space_id in (None, space.id)], now)]
