"""Changing a booking after it is made: moving or editing it (or the following occurrences
of its series, or the whole series), cancelling it, and staff approving or rejecting a pending
one. A cancellation, rejection or move hands the freed period to the waitlist in the same
transaction; equipment reserved with a booking follows it or is cancelled with it."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from booking.models import ACTIVE_BOOKING_STATUSES, Booking, BookingStatus
from booking.notifications import bookings as notifications
from booking.permissions import can_decide, can_manage, can_view_details
from booking.labels import status_phrase
from booking.services.cleaning import _add, _aware, _clean_details, _clean_reason
from booking.services.conflicts import _check_self_overlap, _conflict_message, find_clashes
from booking.services.create import _after_fair_use, _check_fair_use
from booking.services.rules import (_booking_project, _check_bookable_by, _check_override, _get_space,
                                    _period_problems)
from booking.services.text import _local_text, _period_text, iso
from booking.services.writes import AUDITED_FIELDS, _write_guarded
from samskap import audit
from samskap.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from samskap.extensions import db
from samskap.timeutil import LocalTimeError, local_to_utc, local_tz, to_local, utcnow
from spaces.hours import is_within_opening_hours

SCOPES = ("this", "following", "series")
UPDATABLE = ("title", "description", "purpose", "visibility", "attendees", "start", "end", "space_id",
             "override_opening_hours", "override_quota", "project_id")
UPDATE_AUDITED_FIELDS = AUDITED_FIELDS + ("project_id",)  # a change of project is recorded too


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
                      status=status_phrase(booking.status)), code="not_active")


def _local_naive(value: datetime) -> datetime:
    return value.astimezone(local_tz()).replace(tzinfo=None)


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
        if moving or space_changed:
            from booking.registrations.services import bookings_moved

            bookings_moved(changed_targets)
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
    _registrations_cancelled(actor, targets, reason)
    _periods_freed(targets, now)
    return targets


def _registrations_cancelled(actor, bookings, reason: str) -> None:
    """People registered for a cancelled or rejected event are told, and their registrations end."""
    from booking.registrations.services import bookings_cancelled

    bookings_cancelled(actor, bookings, reason)


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
    _registrations_cancelled(actor, [booking], reason)
    _periods_freed([booking], utcnow())


def _decide(actor, booking: Booking, status: BookingStatus, reason: str, action: str) -> None:
    _require_decide(actor, booking)
    if booking.status != BookingStatus.PENDING:
        raise Conflict(_("Only pending bookings can be decided; this one is %(status)s.",
                         status=status_phrase(booking.status)), code="not_pending")
    booking.status = status
    booking.decided_by_id = actor.id
    booking.decided_at = utcnow()
    booking.decision_reason = reason
    booking.sequence += 1
    db.session.flush()
    audit.record(actor, action, booking, changes={"status": [BookingStatus.PENDING, status]}, summary=reason or None)
