"""Front pages of the daily work: the members' start page (their next bookings and loans and a
quick "book a room") and the staff's printable day sheet, "today at the workshop".

Registered with the core's front page (:mod:`samskap.home`) and on the bookings blueprint;
imported at the end of :mod:`booking.views`."""
from __future__ import annotations

from datetime import timedelta

from flask import render_template
from flask_login import login_required

from accounts.permissions import is_staff, staff_required
from booking import daily, services
from booking.equipment import services as equipment_services
from booking.forms import LENGTH_CHOICES
from booking.labels import reservation_status_label
from booking.views import _date_arg, _today, bookings_bp
from samskap.home import register_home_page
from samskap.timeutil import utcnow


def member_home(user):
    """Members start at their own next bookings and loans; staff and administrators have their
    own front page (the staff dashboard), so this answers None for them."""
    if is_staff(user):
        return None
    now = utcnow()
    spaces = services.bookable_spaces(user)
    return render_template("bookings/home_member.html", bookings=daily.next_bookings(user, now),
                           loans=daily.next_loans(user, now), spaces=spaces, today=_today(),
                           lengths=[c for c in LENGTH_CHOICES if c[0]],
                           reservation_title=equipment_services.reservation_title,
                           loan_status=reservation_status_label)


register_home_page(member_home, order=50)


@bookings_bp.get("/today")
@login_required
@staff_required
def day_sheet():
    """Today at the workshop (or ``?date=``), printable as the day sheet."""
    day = _date_arg("date") or _today()
    sheet = daily.day_sheet(day, utcnow())
    from flask_babel import get_locale

    from booking.fields import shown_values_by_booking

    return render_template("bookings/day_sheet.html", sheet=sheet, day=day, today=_today(),
                           setup=shown_values_by_booking(sheet.bookings, str(get_locale() or "nb")),
                           previous_day=day - timedelta(days=1), next_day=day + timedelta(days=1),
                           reservation_title=equipment_services.reservation_title,
                           loan_status=reservation_status_label)


def _register_audit_names():
    """How the audit log names bookings, series, equipment reservations and feeds, and reads
    their values (a booking made reads "… booked Mjøsa for Gjøvik kommune, 3 Dec 10:00–11:00")."""
    import sqlalchemy as sa
    from flask import url_for
    from sqlalchemy.orm import selectinload

    from booking.labels import PURPOSE_LABELS, VISIBILITY_LABELS, label, status_label
    from booking.models import Booking, EquipmentReservation, Feed
    from booking.services.text import _period_for_people
    from samskap.audit_text import ObjectRef, register_audit_object, register_audit_value
    from samskap.extensions import db

    def bookings(ids):
        refs = {}
        for b in db.session.scalars(sa.select(Booking).where(Booking.id.in_(ids))):
            refs[b.id] = ObjectRef(b.title, url_for("bookings.booking_page", booking_id=b.id), {
                "space": b.space.name, "organisation": b.organisation.name,
                "when": _period_for_people(b.start, b.end)})
        return refs

    def series(ids):
        refs = {}
        for b in db.session.scalars(sa.select(Booking).where(Booking.series_id.in_(ids)).order_by(Booking.start)):
            refs.setdefault(b.series_id, ObjectRef(b.title, url_for("bookings.booking_page", booking_id=b.id)))
        return refs

    def reservations(ids):
        found = db.session.scalars(sa.select(EquipmentReservation)
                                   .options(selectinload(EquipmentReservation.allocations))
                                   .where(EquipmentReservation.id.in_(ids)))
        return {r.id: ObjectRef(equipment_services.reservation_title(r),
                                url_for("equipment_reservations.detail", reservation_id=r.id)) for r in found}

    def feeds(ids):
        rows = db.session.execute(sa.select(Feed.id, Feed.name).where(Feed.id.in_(ids)))
        return {i: ObjectRef(name or f"#{i}", url_for("feeds.index")) for i, name in rows}

    register_audit_object("bookings", bookings)
    register_audit_object("booking_series", series)
    register_audit_object("equipment_reservations", reservations)
    register_audit_object("feeds", feeds)
    register_audit_value("status", status_label, object_type="bookings")
    register_audit_value("status", reservation_status_label,
                         object_type="equipment_reservations")
    register_audit_value("purpose", lambda value: label(PURPOSE_LABELS, value))
    register_audit_value("visibility", lambda value: label(VISIBILITY_LABELS, value))


_register_audit_names()
