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
    return render_template("booking/home_member.html", bookings=daily.next_bookings(user, now),
                           loans=daily.next_loans(user, now), spaces=spaces, today=_today(),
                           lengths=[c for c in LENGTH_CHOICES if c[0]],
                           reservation_title=equipment_services.reservation_title,
                           loan_status=equipment_services.display_status_label)


register_home_page(member_home, order=50)


@bookings_bp.get("/today")
@login_required
@staff_required
def day_sheet():
    """Today at the workshop (or ``?date=``), printable as the day sheet."""
    day = _date_arg("date") or _today()
    sheet = daily.day_sheet(day, utcnow())
    return render_template("booking/day_sheet.html", sheet=sheet, day=day, today=_today(),
                           previous_day=day - timedelta(days=1), next_day=day + timedelta(days=1),
                           reservation_title=equipment_services.reservation_title,
                           loan_status=equipment_services.display_status_label)
