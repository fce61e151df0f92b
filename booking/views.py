"""The booking pages: day and week grids, the booking form, a booking's page with edit and
cancel, my and my organisation's bookings, the approvals queue and the public events list.

Views load what the user may see (404 otherwise), ask booking.permissions, call one
service and render; the booking rules themselves live in booking.services.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_babel import get_locale
from flask_login import current_user, login_required

from accounts.models import Organisation
from accounts.permissions import can_choose_any_organisation, staff_required
from booking import extras, field_forms, grid
from booking import services
from booking.equipment import permissions as equipment_permissions
from booking.equipment import services as equipment_services
from booking.forms import (LENGTH_CHOICES, ApproveForm, BookingForm, CancelForm, EditBookingForm, RejectForm, booking_form_with_equipment, equipment_fields,
                           equipment_type_id, iso_week)
from booking.labels import (PURPOSE_LABELS, VISIBILITY_LABELS, label, reservation_status_label,
                            status_label)
from booking.models import ACTIVE_BOOKING_STATUSES, Booking, BookingStatus, EquipmentReservation, Visibility
from booking.permissions import (can_book_for_other_organisations, can_decide, can_manage, can_view_details,
                                 details_visible_clause, manageable_clause)
from booking.services import MAX_ID, BookingRequest, Recurrence
from samskap.ids import parse_count, parse_id
from samskap.errors import Conflict, DomainError, ValidationFailed
from samskap.extensions import db, login_manager
from samskap.i18n import local_datetime_text
from samskap.timeutil import parse_aware_iso, to_local, utcnow
from samskap.web import apply_errors, flash_success
from spaces.models import EquipmentType, Space
from spaces.models import SpaceKind
from spaces.permissions import can_book, reservable_types_clause

bookings_bp = Blueprint("bookings", __name__)

MIN_YEAR, MAX_YEAR = 2000, 2100
LIST_LIMIT = 200


class BadQuery(DomainError):
    """A query-string value the page cannot use: 400 with a message saying what to send."""

    status = 400
    code = "bad_request"


# --- query-string parsing -------------------------------------------------------------------

def _date_arg(name: str) -> date | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise BadQuery(_("'%(value)s' is not a date. Use the form YYYY-MM-DD, for example 2026-03-10.",
                         value=text[:40])) from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise BadQuery(_("Choose a date between the years %(first)d and %(last)d.", first=MIN_YEAR, last=MAX_YEAR))
    return value


_WEEK = re.compile(r"^(\d{4})-W(\d{1,2})$")


def _week_arg() -> date | None:
    """The Monday of ``?week=YYYY-Www`` (ISO week)."""
    text = request.args.get("week", "").strip()
    if not text:
        return None
    match = _WEEK.match(text.upper())
    monday = None
    if match and MIN_YEAR <= int(match.group(1)) <= MAX_YEAR:
        try:
            monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
        except ValueError:
            monday = None
    if monday is None:
        raise BadQuery(_("'%(value)s' is not a week. Use the ISO form YYYY-Www, for example 2026-W11.",
                         value=text[:40]))
    return monday


def _get(model, object_id: int):
    """The row with that id, or None; ids beyond the 32-bit range cannot exist (and would
    overflow the query)."""
    return db.session.get(model, object_id) if 1 <= object_id <= MAX_ID else None


def _today() -> date:
    return to_local(utcnow()).date()


def _active_spaces(kind: SpaceKind | None = None) -> list[Space]:
    query = sa.select(Space).where(Space.active.is_(True)).order_by(Space.name)
    if kind is not None:
        query = query.where(Space.kind_id == kind.id)
    return list(db.session.scalars(query))


def _kind_arg(kinds: list[SpaceKind]) -> SpaceKind | None:
    """The space kind of ``?kind=<code>`` (empty: every kind)."""
    code = request.args.get("kind", "").strip()
    if not code:
        return None
    for kind in kinds:
        if kind.code == code.lower():
            return kind
    raise BadQuery(_("Unknown kind of space '%(kind)s'. Choose one from the list.", kind=code[:40]))


@bookings_bp.app_context_processor
def booking_labels():
    return {
        "purpose_label": lambda value: label(PURPOSE_LABELS, value),
        "visibility_label": lambda value: label(VISIBILITY_LABELS, value),
        "status_label": status_label,
    }


# --- calendars ------------------------------------------------------------------------------

@bookings_bp.get("/day")
@login_required
def day_view():
    day = _date_arg("date") or _today()
    kinds = list(db.session.scalars(sa.select(SpaceKind).order_by(SpaceKind.id)))
    kind = _kind_arg(kinds)
    spaces = _active_spaces(kind)
    slots, rows = grid.day_grid(spaces, day, current_user, utcnow())
    bookable = {space.id for space in services.bookable_spaces(current_user)}
    locale = str(get_locale() or "nb")
    return render_template("bookings/day.html", day=day, slots=slots, rows=rows, bookable=bookable,
                           previous_day=day - timedelta(days=1), next_day=day + timedelta(days=1),
                           today=_today(), kind=kind.code if kind else None,
                           kinds=[(k.code, k.label(locale)) for k in kinds])


@bookings_bp.get("/booking/spaces/<int:space_id>/week")
@login_required
def week_view(space_id: int):
    space = _get(Space, space_id)
    if space is None or not space.active:
        abort(404)
    monday = _week_arg()
    picked = _date_arg("date")  # "show the week of" a date: people pick days, not ISO week numbers
    if monday is None and picked is not None:
        monday = picked - timedelta(days=picked.weekday())
    if monday is None:
        today = _today()
        monday = today - timedelta(days=today.weekday())
    days, times, rows = grid.week_grid(space, monday, current_user, utcnow())
    bookable = can_book(current_user, space)
    week_year, week_number, _weekday = monday.isocalendar()
    today = _today()
    week_date = picked if picked is not None else (today if monday <= today < monday + timedelta(days=7) else monday)
    return render_template("bookings/week.html", space=space, days=days, times=times, rows=rows, bookable=bookable,
                           week_date=week_date,
                           week=iso_week(monday), week_number=week_number, week_year=week_year, previous_week=iso_week(monday - timedelta(days=7)),
                           next_week=iso_week(monday + timedelta(days=7)), today=_today())


# --- lists ----------------------------------------------------------------------------------

@bookings_bp.get("/events")
def events():
    """Public events: reachable without signing in; signed-in users also see the events open to
    partners for registration (booking.registrations)."""
    from booking.registrations.services import partners_event_ids

    now = utcnow()
    upcoming = db.session.scalars(
        sa.select(Booking)
        .where(sa.or_(Booking.visibility == Visibility.PUBLIC, Booking.id.in_(partners_event_ids(current_user))),
               Booking.status.in_(ACTIVE_BOOKING_STATUSES),
               Booking.end > now)
        .order_by(Booking.start)
        .limit(LIST_LIMIT)
    ).all()
    return render_template("bookings/events.html", events=upcoming)


@bookings_bp.get("/bookings/mine")
@login_required
def mine():
    now = utcnow()
    base = sa.select(Booking).where(Booking.organiser_id == current_user.id)
    upcoming = db.session.scalars(base.where(Booking.end > now).order_by(Booking.start).limit(LIST_LIMIT)).all()
    past = db.session.scalars(base.where(Booking.end <= now).order_by(Booking.start.desc()).limit(LIST_LIMIT)).all()
    return render_template("bookings/mine.html", upcoming=upcoming, past=past)


@bookings_bp.get("/bookings/organisation")
@login_required
def organisation_bookings():
    """The organisation's upcoming bookings the user may see; staff may pick any organisation."""
    user = current_user._get_current_object()
    organisations = []
    organisation = user.organisation
    if can_choose_any_organisation(user):  # staff and administrators see every organisation's bookings
        organisations = db.session.scalars(sa.select(Organisation).order_by(Organisation.name)).all()
        chosen = request.args.get("organisation", "").strip()
        if chosen:
            if not (chosen.isascii() and chosen.isdigit()):
                raise BadQuery(_("Choose an organisation from the list."))
            chosen_id = parse_id(chosen)  # None for a number no row can have: "not found" below
            organisation = _get(Organisation, chosen_id) if chosen_id else None
            if organisation is None:
                abort(404)
    show_past = request.args.get("when") == "past"
    now = utcnow()
    query = sa.select(Booking).where(Booking.organisation_id == organisation.id, details_visible_clause(user))
    if show_past:
        query = query.where(Booking.end <= now).order_by(Booking.start.desc())
    else:
        query = query.where(Booking.end > now).order_by(Booking.start)
    bookings = db.session.scalars(query.limit(LIST_LIMIT)).all()
    manageable = set(db.session.scalars(
        sa.select(Booking.id).where(Booking.id.in_([b.id for b in bookings]), manageable_clause(user))))
    return render_template("bookings/organisation.html", bookings=bookings, organisation=organisation,
                           organisations=organisations, manageable=manageable, show_past=show_past)


# --- one booking ----------------------------------------------------------------------------

def _visible_booking(booking_id: int) -> Booking:
    """The booking if the user may see its details; anonymous users are sent to sign in,
    everyone else gets 404 (whether or not it exists)."""
    booking = _get(Booking, booking_id)
    if booking is not None and can_view_details(current_user, booking):
        return booking
    if not current_user.is_authenticated:
        abort(login_manager.unauthorized())
    abort(404)


def _manageable_booking(booking_id: int) -> Booking:
    booking = _visible_booking(booking_id)
    if not can_manage(current_user, booking):
        abort(403)
    return booking


@bookings_bp.get("/bookings/<int:booking_id>")
def booking_page(booking_id: int):
    booking = _visible_booking(booking_id)
    user = current_user
    from booking.daily import closures_during
    from booking.projects.services import project_link

    return render_template("bookings/detail.html", booking=booking, equipment=_equipment_of(booking),
                           **extras.shown(booking, user, str(get_locale() or "nb")),
                           project=project_link(user, booking),
                           closures=closures_during(booking),
                           equipment_status_label=reservation_status_label,
                           may_manage=booking.is_active and can_manage(user, booking),
                           may_decide=booking.status == BookingStatus.PENDING and can_decide(user))


def _equipment_of(booking: Booking) -> list[tuple[EquipmentReservation, list]]:
    """The booking's equipment reservations the user may see, each with its units."""
    if not current_user.is_authenticated:
        return []
    reservations = db.session.scalars(
        sa.select(EquipmentReservation)
        .where(EquipmentReservation.booking_id == booking.id, equipment_permissions.visible_clause(current_user))
        .order_by(EquipmentReservation.id)
    ).all()
    return [(r, equipment_services.allocated_units(r)) for r in reservations]


def _has_cancellable_equipment(booking: Booking) -> bool:
    """Whether cancelling this booking (or, for a series, any of its occurrences) could
    cancel equipment too: only then does the cancel form ask about it."""
    query = sa.select(EquipmentReservation.id).where(
        EquipmentReservation.status.in_(equipment_services.CANCELLABLE_STATUSES))
    if booking.series_id is not None:
        query = query.join(Booking, Booking.id == EquipmentReservation.booking_id).where(
            Booking.series_id == booking.series_id)
    else:
        query = query.where(EquipmentReservation.booking_id == booking.id)
    return db.session.scalar(query.limit(1)) is not None


# --- booking form -----------------------------------------------------------------------------

# Service field names -> form fields, so a service's message lands next to the right input.
FIELD_MAP = {
    "space_id": "space", "start": "start_time", "end": "end_time", "organisation_id": "organisation",
    "recurrence": "repeat", "recurrence.freq": "repeat", "recurrence.interval": "interval",
    "recurrence.count": "count", "recurrence.until": "until", "recurrence.byday": "byday",
    "project_id": "project",
}


def _local_datetime_arg(name: str):
    """A local wall-clock date-time from the query string (``2026-03-10T09:00``), naive."""
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadQuery(_("'%(value)s' is not a date and time. Use the form YYYY-MM-DDTHH:MM, "
                         "for example 2026-03-10T09:00.", value=text[:40])) from None
    # The year first: converting a time near year 1 or 9999 to local time would overflow.
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise BadQuery(_("Choose a date between the years %(first)d and %(last)d.", first=MIN_YEAR, last=MAX_YEAR))
    if value.tzinfo is not None:
        value = to_local(value).replace(tzinfo=None)
    return value


def _prefill_from_query() -> dict:
    """Initial values of the booking form from links in the grids and the suggestions."""
    data = {}
    space = request.args.get("space", "").strip()
    if space:
        if not (space.isascii() and space.isdigit()):
            raise BadQuery(_("Choose a space from the list."))
        data["space"] = parse_id(space) or 0  # 0: a number no space can have, so none is preselected
    start, end = _local_datetime_arg("start"), _local_datetime_arg("end")
    if start is None and request.args.get("date") and request.args.get("start_time"):
        # The front page's quick "book a room": a date, a start time and one of the common lengths.
        day = _date_arg("date")
        try:
            clock = datetime.strptime(request.args["start_time"].strip()[:5], "%H:%M").time()
        except ValueError:
            raise BadQuery(_("'%(value)s' is not a time. Use the form HH:MM, for example 09:30.",
                             value=request.args["start_time"][:40])) from None
        start = datetime.combine(day, clock)
        if request.args.get("length") in {value for value, _label in LENGTH_CHOICES if value}:
            end = start + timedelta(minutes=int(request.args["length"]))
    if start is not None:
        data["date"], data["start_time"] = start.date(), start.time()
    if end is not None:
        data["end_time"] = end.time()
        if start is not None and end.date() != start.date():
            data["end_date"] = end.date()
    if request.args.get("title"):
        data["title"] = request.args["title"][:200]
    if request.args.get("purpose") in PURPOSE_LABELS:
        data["purpose"] = request.args["purpose"]
    if request.args.get("visibility") in VISIBILITY_LABELS:
        data["visibility"] = request.args["visibility"]
    attendees = parse_count(request.args.get("attendees", ""), maximum=100_000)
    if attendees:
        data["attendees"] = attendees
    return data


def _space_choices(user, extra_id: int | None = None) -> list[tuple[int, str]]:
    """The spaces this user may book (the service's rule), plus the booking's current one."""
    spaces = services.bookable_spaces(user)
    choices = [(s.id, _("%(name)s (%(n)d people)", name=s.name, n=s.capacity)) for s in spaces]
    if extra_id is not None and extra_id not in {s.id for s in spaces}:
        space = db.session.get(Space, extra_id)
        if space is not None:
            choices.append((space.id, space.name))
    return choices


def _reservable_equipment(user) -> list[EquipmentType]:
    """Equipment types the user may reserve (staff: for any organisation; the service checks
    the one chosen)."""
    return list(db.session.scalars(
        sa.select(EquipmentType).where(reservable_types_clause(user)).order_by(EquipmentType.name)))


def _booking_form(user, data=None) -> BookingForm:
    equipment_types = _reservable_equipment(user)
    spaces = services.bookable_spaces(user)
    form_class = field_forms.with_extras(booking_form_with_equipment(equipment_types),
                                         field_forms.offered_definitions(spaces), str(get_locale() or "nb"))
    form = form_class(data=data)
    form.equipment_types = {t.id: t for t in equipment_types}
    form.space.choices = [(0, _("Choose a space"))] + _space_choices(user)
    form.space_kinds = {s.id: s.kind_id for s in spaces}
    field_forms.set_organisation_choices(form, user)
    if can_book_for_other_organisations(user):
        organisations = db.session.scalars(
            sa.select(Organisation).where(Organisation.active.is_(True)).order_by(Organisation.name)).all()
        form.organisation.choices = [(o.id, o.name) for o in organisations]
        if form.organisation.data is None:
            form.organisation.data = user.organisation_id
    else:
        del form.organisation
        del form.override_opening_hours
        del form.override_quota
    _project_choices(form, None if can_book_for_other_organisations(user) else user.organisation_id)
    return form


def _project_choices(form, organisation_id: int | None) -> None:
    """The approved projects the organisation is a partner of (for staff, who book for any
    organisation: every approved project; the service checks the organisation chosen)."""
    from booking.projects.services import bookable_projects

    projects = bookable_projects(organisation_id)
    form.project.choices = [(0, _("No project"))] + [(p.id, p.name) for p in projects]


def _recurrence(form: BookingForm) -> Recurrence | None:
    if form.repeat.data == "none":
        return None
    by_count = form.repeat_end.data == "count"
    return Recurrence(freq=form.repeat.data, interval=form.interval.data or 1,
                      count=form.count.data if by_count else None,
                      until=None if by_count else form.until.data,
                      byday=list(form.byday.data or []) if form.repeat.data == "weekly" else [])


def _conflicts(error: Conflict) -> list[dict]:
    """The clashing periods of a Conflict, with their times as datetimes for the template."""
    shown = []
    for item in error.details.get("conflicts", []):
        entry = dict(item)
        for key in ("start", "end"):
            try:
                entry[key] = parse_aware_iso(item.get(key))
            except ValueError:
                entry[key] = None
        shown.append(entry)
    return shown


def _form_link(space_id: int, start, end, form: BookingForm) -> str:
    return url_for("bookings.new_booking", space=space_id, start=_localiso(start), end=_localiso(end),
                   title=form.title.data or None, purpose=form.purpose.data, visibility=form.visibility.data,
                   attendees=form.attendees.data or None)


@bookings_bp.route("/bookings/new", methods=["GET", "POST"])
@login_required
def new_booking():
    user = current_user._get_current_object()
    form = _booking_form(user, _prefill_from_query() if request.method == "GET" else None)
    conflict = None
    status = 200
    if form.validate_on_submit() and (period := form.period()) is not None:
        start, end = period
        wanted_equipment = [f for f in equipment_fields(form) if f.data]
        booking_request = BookingRequest(
            space_id=form.space.data, title=form.title.data.strip(), start=start, end=end,
            attendees=form.attendees.data, purpose=form.purpose.data, visibility=form.visibility.data,
            description=(form.description.data or "").strip(),
            organisation_id=form.organisation.data if "organisation" in form else None,
            recurrence=_recurrence(form), skip_conflicts=bool(form.skip_conflicts.data),
            override_opening_hours=bool(form.override_opening_hours.data) if "override_opening_hours" in form else False,
            override_quota=bool(form.override_quota.data) if "override_quota" in form else False,
            equipment=[{"equipment_id": equipment_type_id(f), "quantity": f.data} for f in wanted_equipment],
            project_id=form.project.data or None,
        )
        extra_errors: dict = {}
        more = extras.check_new(user, field_forms.extras_data(form, form.space.data), extra_errors)
        try:
            if extra_errors:  # checked before anything is written
                raise ValidationFailed(extra_errors)
            result = services.book_space(user, booking_request)
            extras.apply(user, result.bookings, more, new=True)
        except Conflict as exc:
            db.session.rollback()
            if "free_now" in exc.details:  # too few equipment units; the space itself is free
                _equipment_shortage(form, exc)
            else:
                conflict = _conflict_help(user, exc, form, start, end)
            status = exc.status
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc, {**FIELD_MAP, **_equipment_field_map(wanted_equipment),
                                     **field_forms.error_map(form, form.space.data)})
            status = exc.status
        else:
            db.session.commit()
            _flash_booked(result, user)
            return redirect(url_for("bookings.booking_page", booking_id=result.bookings[0].id), 303)
    elif request.method == "POST":
        status = 422
    equipment = [(f, form.equipment_types[equipment_type_id(f)]) for f in equipment_fields(form)]
    return render_template("bookings/form.html", form=form, conflict=conflict, equipment=equipment,
                           field_groups=field_forms.groups(form)), status


def _equipment_field_map(wanted: list) -> dict:
    """The service names equipment problems by position in the list sent (``equipment[0].quantity``)."""
    names = {}
    for index, f in enumerate(wanted):
        names[f"equipment[{index}].quantity"] = names[f"equipment[{index}].equipment_id"] = f.name
        names[f"equipment[{index}]"] = f.name
    return names


def _equipment_shortage(form: BookingForm, error: Conflict) -> None:
    """Put the equipment service's shortage message (how many are free, and from when
    enough are) next to the quantity of that type, or at the top when it names none."""
    field = getattr(form, f"equipment_{error.details.get('equipment_id')}", None)
    if field is not None:
        field.errors = list(field.errors or []) + [error.message]
    else:
        form.form_errors.append(error.message)


def _conflict_help(user, error: Conflict, form: BookingForm, start, end) -> dict:
    """What the form shows on a clash: the clashing periods, the nearest free slots in that
    space, and the spaces that are free at the asked time (both as links back to the form)."""
    space = db.session.get(Space, form.space.data)
    slots = services.suggest_free_slots(space, start, end, limit=3) if space is not None else []
    spaces = [s for s in services.free_spaces(user, start, end, attendees=form.attendees.data or 1)
              if space is None or s.id != space.id]
    return {
        "message": error.message,
        "conflicts": _conflicts(error),
        "slots": [{"start": s, "end": e, "url": _form_link(space.id, s, e, form)} for s, e in slots],
        "spaces": [{"space": s, "url": _form_link(s.id, start, end, form)} for s in spaces],
        "quota": error.code == "quota_exceeded",
        # Taken by another booking (not closed, not a quota): one may wait for it (booking.fairuse.waitlist).
        "waitlist": ({"space_id": space.id, "start": start.isoformat(), "end": end.isoformat(),
                      "title": form.title.data or ""}
                     if space is not None and form.repeat.data == "none" and error.code == "conflict"
                     and any(c.get("reason") == "booking" for c in error.details.get("conflicts", [])) else None),
    }


def _flash_booked(result, user) -> None:
    bookings = result.bookings
    pending = any(b.status == BookingStatus.PENDING for b in bookings)
    organisation = bookings[0].organisation
    if organisation.id != user.organisation_id:  # staff booking on behalf: say for whom
        if result.series is not None:
            message = (_("%(n)d bookings in the series for %(organisation)s are registered and pending approval.",
                         n=len(bookings), organisation=organisation.name) if pending
                       else _("%(n)d bookings in the series for %(organisation)s are confirmed.", n=len(bookings),
                              organisation=organisation.name))
        else:
            message = (_("The booking for %(organisation)s is registered and is pending approval.",
                         organisation=organisation.name) if pending
                       else _("The booking for %(organisation)s is confirmed.", organisation=organisation.name))
    elif result.series is not None:
        message = (_("%(n)d bookings in the series are registered and pending approval.", n=len(bookings))
                   if pending else _("%(n)d bookings in the series are confirmed.", n=len(bookings)))
    else:
        message = (_("Your booking is registered and is pending approval.") if pending
                   else _("Your booking is confirmed."))
    flash_success(message)
    if result.skipped:
        dates = "; ".join(_skipped_text(item) for item in result.skipped)
        flash(_("These dates were skipped: %(dates)s", dates=dates), "info")


def _skipped_text(item: dict) -> str:
    start = item.get("start")
    try:
        moment = parse_aware_iso(start) if isinstance(start, str) else start
    except ValueError:  # a wall-clock time that does not exist; the service explains it
        return str(item.get("message") or start)
    return local_datetime_text(moment, "medium") if moment else str(item.get("message", ""))


# --- change and cancel ---------------------------------------------------------------------

def _edit_form(booking: Booking) -> EditBookingForm:
    data = None
    if request.method == "GET":
        local_start, local_end = to_local(booking.start), to_local(booking.end)
        data = {"space": booking.space_id, "title": booking.title, "purpose": booking.purpose.value,
                "date": local_start.date(), "start_time": local_start.time(), "end_time": local_end.time(),
                "end_date": local_end.date() if local_end.date() != local_start.date() else None,
                "attendees": booking.attendees, "visibility": booking.visibility.value,
                "description": booking.description, "scope": "this", "project": booking.project_id or 0}
    spaces = services.bookable_spaces(current_user)
    if booking.space not in spaces:
        spaces.append(booking.space)
    form = field_forms.with_extras(EditBookingForm, field_forms.offered_definitions(spaces),
                                   str(get_locale() or "nb"))(data=data)
    form.space.choices = _space_choices(current_user, extra_id=booking.space_id)
    form.space_kinds = {s.id: s.kind_id for s in spaces}
    field_forms.set_organisation_choices(form, booking.organisation)
    if request.method == "GET":
        field_forms.prefill(form, booking)
    _project_choices(form, booking.organisation_id)
    if booking.project_id and booking.project_id not in {c[0] for c in form.project.choices}:
        from booking.projects.models import Project

        # Keep what the booking names now (a project since completed, say) choosable.
        form.project.choices.append((booking.project_id, db.session.get(Project, booking.project_id).name))
    if booking.series_id is None:
        del form.scope
    return form


def _changes(form: EditBookingForm, booking: Booking, start, end) -> dict:
    """Only what the user changed, so that an untouched time is not re-checked or moved."""
    wanted = {"space_id": form.space.data, "title": form.title.data.strip(), "purpose": form.purpose.data,
              "visibility": form.visibility.data, "attendees": form.attendees.data,
              "description": (form.description.data or "").strip(), "start": start, "end": end,
              "project_id": form.project.data or None}
    current = {"space_id": booking.space_id, "title": booking.title, "purpose": booking.purpose.value,
               "visibility": booking.visibility.value, "attendees": booking.attendees,
               "description": booking.description, "start": booking.start, "end": booking.end,
               "project_id": booking.project_id}
    return {key: value for key, value in wanted.items() if value != current[key]}


@bookings_bp.route("/bookings/<int:booking_id>/edit", methods=["GET", "POST"])
@login_required
def edit_booking(booking_id: int):
    booking = _manageable_booking(booking_id)
    form = _edit_form(booking)
    conflicts = None
    status = 200
    if form.validate_on_submit() and (period := form.period()) is not None:
        changes = _changes(form, booking, *period)
        user = current_user._get_current_object()
        scope = form.scope.data if "scope" in form else "this"
        try:
            data = field_forms.extras_data(form, form.space.data, booking)
            if form.space.data == booking.space_id:
                data.pop("space_id")
            more = extras.check_change(user, booking, data)
            if not changes and not extras.changes_anything(booking, more):
                flash(_("Nothing was changed."), "info")
                return redirect(url_for("bookings.booking_page", booking_id=booking.id), 303)
            changed = services.update_booking(user, booking, changes, scope=scope)
            extras.apply(user, changed, more, new=False)
            from booking.registrations.services import check_still_valid

            check_still_valid(booking)  # an event taking registrations stays visible, and ends after they close
        except Conflict as exc:
            db.session.rollback()
            form.form_errors.append(exc.message)
            conflicts = _conflicts(exc)
            status = exc.status
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc, {**FIELD_MAP, **field_forms.error_map(form, form.space.data)})
            status = exc.status
        else:
            db.session.commit()
            flash_success(_("The booking is changed."))
            return redirect(_next_or(url_for("bookings.booking_page", booking_id=booking.id)), 303)
    elif request.method == "POST":
        status = 422
    return render_template("bookings/edit.html", form=form, booking=booking, conflicts=conflicts,
                           field_groups=field_forms.groups(form)), status


@bookings_bp.route("/bookings/<int:booking_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel_booking(booking_id: int):
    booking = _manageable_booking(booking_id)
    form = CancelForm()
    if booking.series_id is None:
        del form.scope
    if not _has_cancellable_equipment(booking):
        del form.cancel_equipment
    status = 200
    if form.validate_on_submit():
        scope = form.scope.data if "scope" in form else "this"
        cancel_equipment = bool(form.cancel_equipment.data) if "cancel_equipment" in form else True
        try:
            cancelled = services.cancel_booking(current_user._get_current_object(), booking,
                                                reason=form.reason.data.strip(), scope=scope,
                                                cancel_equipment=cancel_equipment)
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc)
            status = exc.status
        else:
            db.session.commit()
            flash_success(_("The booking is cancelled.") if len(cancelled) == 1
                          else _("%(n)d bookings are cancelled.", n=len(cancelled)))
            return redirect(_next_or(url_for("bookings.booking_page", booking_id=booking.id)), 303)
    elif request.method == "POST":
        status = 422
    else:  # a reason offered by the link (the closure page offers the closure's)
        form.reason.data = request.args.get("reason", "")[:500]
    return render_template("bookings/cancel.html", form=form, booking=booking), status


def _next_or(default: str) -> str:
    """Where to go after a change: back to the page that sent the user here (a path on this
    site only, such as the closure page listing the bookings it affects), or ``default``."""
    from samskap.security import safe_next_url

    return safe_next_url(request.values.get("next")) or default


# --- approvals -----------------------------------------------------------------------------

def _render_approvals(forms: dict | None = None, status: int = 200):
    forms = forms or {}
    pending = db.session.scalars(
        sa.select(Booking).where(Booking.status == BookingStatus.PENDING).order_by(Booking.start).limit(LIST_LIMIT)
    ).all()
    rows = [(b, forms.get(("approve", b.id)) or ApproveForm(prefix=f"approve-{b.id}"),
             forms.get(("reject", b.id)) or RejectForm(prefix=f"reject-{b.id}")) for b in pending]
    return render_template("bookings/approvals.html", rows=rows), status


@bookings_bp.get("/bookings/approvals")
@staff_required
def approvals():
    return _render_approvals()


def _pending_booking(booking_id: int) -> Booking:
    booking = _get(Booking, booking_id)
    if booking is None:
        abort(404)
    return booking


@bookings_bp.post("/bookings/<int:booking_id>/approve")
@staff_required
def approve_booking(booking_id: int):
    return _decide(booking_id, "approve", ApproveForm, services.approve_booking,
                   lambda title: _("“%(title)s” is approved.", title=title))


@bookings_bp.post("/bookings/<int:booking_id>/reject")
@staff_required
def reject_booking(booking_id: int):
    return _decide(booking_id, "reject", RejectForm, services.reject_booking,
                   lambda title: _("“%(title)s” is rejected.", title=title))


def _decide(booking_id: int, kind: str, form_class, decide, done_message):
    """Approve or reject from the queue: one service call; on a problem the queue is shown
    again with the message on that booking's form."""
    booking = _pending_booking(booking_id)
    form = form_class(prefix=f"{kind}-{booking.id}")
    if not form.validate_on_submit():
        return _render_approvals({(kind, booking.id): form}, 422)
    try:
        decide(current_user._get_current_object(), booking, reason=(form.reason.data or "").strip())
    except DomainError as exc:
        db.session.rollback()
        apply_errors(form, exc)
        return _render_approvals({(kind, booking.id): form}, exc.status)
    db.session.commit()
    flash_success(done_message(booking.title))
    return redirect(url_for("bookings.approvals"), 303)


# --- template helpers ------------------------------------------------------------------------

def _localiso(value) -> str:
    """Local wall-clock ``YYYY-MM-DDTHH:MM`` of an aware instant (for links to the form)."""
    return to_local(value).strftime("%Y-%m-%dT%H:%M")


@bookings_bp.app_template_filter("localiso")
def localiso_filter(value) -> str:
    return _localiso(value) if value is not None else ""


@bookings_bp.app_template_global("iso_week")
def iso_week_global(value) -> str:
    if isinstance(value, datetime):
        value = to_local(value).date()
    return iso_week(value)


def _register_navigation() -> None:
    from samskap.nav import register_nav

    register_nav("bookings.day_view", _l("Day view"), "user", 20)
    register_nav("bookings.mine", _l("My bookings"), "user", 30)
    register_nav("bookings.approvals", _l("Approvals"), "staff", 40)
    register_nav("bookings.events", _l("Public events"), "everyone", 60)


_register_navigation()


from booking import home as _home  # noqa: E402,F401  (the front pages' routes and registration)
