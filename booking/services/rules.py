"""The space's rules for a booking: which space and organisation, who may book it, opening
hours, minimum and maximum length, how far ahead, and the horizon nothing may pass.
:func:`_period_problems` answers them for one period as field errors."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _

from accounts.models import Organisation
from booking.permissions import can_book_for_other_organisations, can_override_opening_hours
from booking.services.cleaning import _add, _is_id, _is_int
from samskap.errors import PermissionDenied, ValidationFailed
from samskap.extensions import db
from samskap.i18n import date_text, duration_text
from samskap.timeutil import local_tz
from spaces.hours import is_within_opening_hours
from spaces.models import WEEKDAYS, Space
from spaces.permissions import can_book, open_to

# Nothing can be booked further ahead than this, whatever the space allows: keeps every date
# (plus buffers, local time, feeds) far from the limits of datetime. Equipment uses the same.
HORIZON_YEARS = 10
BOOKING_HORIZON = timedelta(days=366 * HORIZON_YEARS)


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
    if not can_book(actor, space):
        raise PermissionDenied(_("%(space)s cannot be booked by your organisation.", space=space.name))
    if not open_to(space, organisation):
        raise ValidationFailed({"organisation_id": _(
            "%(space)s cannot be booked for %(organisation)s: it is open to other kinds of organisation.",
            space=space.name, organisation=organisation.name)})


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
