"""Booking a space, once or as a series (:func:`book_space`), with what goes along: the
organisation's fair use (quotas and the waitlist's holds, :mod:`booking.fairuse`, checked after
the clash check and before writing) and the equipment reserved with each booking."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _

from accounts.models import Organisation
from booking.models import Booking, BookingSeries, BookingStatus
from booking.notifications import bookings as notifications
from booking.permissions import can_decide
from booking.recurrence import Recurrence, expand
from booking.services.cleaning import _aware, _clean_details
from booking.services.conflicts import _check_self_overlap, _conflict_message, find_clashes
from booking.services.rules import (_booking_organisation, _booking_project, _check_bookable_by, _check_override,
                                    _get_space, _hours_text, _period_problems)
from booking.services.text import iso
from booking.services.writes import _new_booking, _record_creation, _write_guarded, _write_one
from samskap import audit
from samskap.errors import Conflict, ValidationFailed
from samskap.extensions import db
from samskap.i18n import local_datetime_text
from samskap.metrics import counts_bookings
from samskap.timeutil import local_tz, utcnow
from spaces.hours import is_within_opening_hours
from spaces.models import Space


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
