"""Fair-use pages: check in from the booking page or the room's QR code, the printable QR
page per space, and the waitlist (join from the booking form, list, leave).

Views load what the user may see (404 otherwise), call one service and redirect or render;
the rules live in :mod:`booking.fairuse.checkin`, ``waitlist`` and ``quotas``.
"""
from __future__ import annotations

import segno
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from accounts.forms import ConfirmForm
from accounts.permissions import is_staff, staff_required
from booking.fairuse import checkin, quotas, waitlist
from booking.fairuse.notices import link
from booking.models import Booking
from booking.permissions import can_view_details
from samskap.errors import DomainError
from samskap.extensions import db
from samskap.ids import parse_id
from samskap.timeutil import parse_aware_iso, utcnow
from samskap.web import flash_success
from spaces.models import Space

fairuse_bp = Blueprint("fairuse", __name__)


@fairuse_bp.app_context_processor
def fair_use_helpers():
    def usage():
        """The signed-in user's organisation against its quotas, this period."""
        if not current_user.is_authenticated:
            return []
        return quotas.usage_for(current_user.organisation, utcnow())

    def check_in_state(booking: Booking) -> dict:
        now = utcnow()
        return {"deadline": checkin.check_in_deadline(booking), "checked_in_at": booking.checked_in_at,
                "may_check_in": (booking.checked_in_at is None and checkin.is_open(booking, now)
                                 and checkin.can_check_in(current_user, booking))}

    return {"fair_use_usage": usage, "check_in_state": check_in_state, "hours_text": quotas.hours_text}


def _space(space_id: int) -> Space:
    space = db.session.get(Space, space_id) if parse_id(space_id) else None
    if space is None or not space.active:
        abort(404)
    return space


# --- check-in ----------------------------------------------------------------------------------

@fairuse_bp.post("/bookings/<int:booking_id>/check-in")
@login_required
def check_in(booking_id: int):
    booking = db.session.get(Booking, booking_id) if parse_id(booking_id) else None
    if booking is None or not can_view_details(current_user, booking):
        abort(404)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        checkin.check_in(current_user, booking)
    except DomainError as exc:
        db.session.rollback()
        if exc.status in (403, 404):
            abort(exc.status)
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash_success(_("Checked in. Welcome!"))
    back = request.form.get("back")
    if back == "space":
        return redirect(url_for("fairuse.space_check_in", space_id=booking.space_id), 303)
    return redirect(url_for("bookings.booking_page", booking_id=booking.id), 303)


@fairuse_bp.get("/spaces/<int:space_id>/check-in")
@login_required
def space_check_in(space_id: int):
    """Where the room's QR code leads: the bookings one may check in there now."""
    space = _space(space_id)
    now = utcnow()
    current = [b for b in checkin.current_bookings(space, now) if can_view_details(current_user, b)]
    return render_template("fairuse/space_check_in.html", space=space, bookings=current,
                           may_check_in=lambda b: b.checked_in_at is None and checkin.can_check_in(current_user, b),
                           form=ConfirmForm(), may_print=is_staff(current_user))


@fairuse_bp.get("/spaces/<int:space_id>/check-in-code")
@staff_required
def check_in_code(space_id: int):
    """A printable page for the room's door: a QR code leading to check-in in that room."""
    space = _space(space_id)
    target = link("fairuse.space_check_in", space_id=space.id)
    svg = segno.make(target, error="m").svg_inline(scale=8, border=2, omitsize=True, title=_("Check in: %(space)s",
                                                                                  space=space.name))
    return render_template("fairuse/check_in_code.html", space=space, target=target, qr=Markup(svg))


# --- waitlist ----------------------------------------------------------------------------------

@fairuse_bp.get("/waitlist")
@login_required
def waitlist_page():
    entries = waitlist.entries_of(current_user, utcnow())
    return render_template("fairuse/waitlist.html", entries=entries, form=ConfirmForm(),
                           position=waitlist.position)


@fairuse_bp.post("/waitlist")
@login_required
def join_waitlist():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    space_id = parse_id(request.form.get("space_id", ""))
    try:
        start = parse_aware_iso(request.form.get("start", ""))
        end = parse_aware_iso(request.form.get("end", ""))
    except ValueError:
        abort(400)
    try:
        waitlist.join_waitlist(current_user, space_id, start, end, auto_book=request.form.get("auto_book") == "y",
                               title=request.form.get("title", "")[:200])
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("fairuse.waitlist_page"), 303)
    db.session.commit()
    flash_success(_("You are on the waitlist. We will email you if the time frees up."))
    return redirect(url_for("fairuse.waitlist_page"), 303)


@fairuse_bp.post("/waitlist/<int:entry_id>/leave")
@login_required
def leave_waitlist(entry_id: int):
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        entry = waitlist.own_entry(current_user, entry_id)
    except DomainError:
        abort(404)
    waitlist.leave_waitlist(current_user, entry)
    db.session.commit()
    flash_success(_("You have left the waitlist."))
    return redirect(url_for("fairuse.waitlist_page"), 303)
