"""Equipment messages: reservation confirmed or rejected, ready for pick-up, due back tomorrow,
overdue (to the borrower, and a daily list to staff), returned with the condition note."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from accounts.models import User
from booking.models import EquipmentReservation, ReservationStatus
from booking.notifications import (Notice, already_sent, approvers, organisation_copy, period, person, render, send,
                                   site, when)
from samskap.extensions import db
from samskap.timeutil import local_tz


def _facts(reservation: EquipmentReservation) -> list[tuple[str, str]]:
    facts = [(_("Equipment"), f"{reservation.quantity} × {reservation.equipment_type.name}"),
             (_("Period"), period(reservation.start, reservation.end)),
             (_("Organisation"), reservation.organisation.name)]
    tags = sorted(a.unit.asset_tag for a in reservation.allocations if a.active)
    if tags:
        facts.append((_("Units"), ", ".join(tags)))
    if reservation.purpose:
        facts.append((_("Purpose"), reservation.purpose))
    return facts


def _link(reservation: EquipmentReservation) -> str:
    return f"{site().base_url}/equipment-reservations/{reservation.id}"


def _greeting(recipient) -> str:
    return _("Hello %(name)s,", name=recipient.name)


def _to_borrower(reservation: EquipmentReservation, kind: str, build, *, dedupe_key=None, user: User | None = None):
    borrower = person(user or reservation.user)
    recipients = [borrower]
    copy = organisation_copy(reservation.organisation, borrower.locale, besides=(borrower.email,))
    if copy is not None:
        recipients.append(copy)
    return [render(r, kind, lambda r=r: build(r), reference=f"reservation:{reservation.id}",
                   dedupe_key=f"{dedupe_key}:{i}" if dedupe_key else None)
            for i, r in enumerate(recipients)]


# --- on changes -------------------------------------------------------------------------------

def reservation_made(actor: User, reservation: EquipmentReservation) -> None:
    """A reservation on its own (not with a booking, whose mail covers it) confirmed at once."""
    if reservation.booking_id is not None or reservation.status != ReservationStatus.CONFIRMED:
        return
    _confirmed(actor, reservation)


def reservation_decided(actor: User, reservation: EquipmentReservation) -> None:
    if reservation.status == ReservationStatus.CONFIRMED:
        _confirmed(actor, reservation)
        return

    def build(recipient):
        return Notice(subject=_("Equipment reservation rejected: %(equipment)s", equipment=reservation.equipment_type.name),
                      heading=_("Your equipment reservation was not approved"),
                      paragraphs=[_greeting(recipient), _("%(name)s rejected the reservation.", name=actor.name),
                                  _("Reason: %(reason)s", reason=reservation.decision_reason)],
                      facts=_facts(reservation), link=_link(reservation), link_label=_("Open the reservation"))

    send(_to_borrower(reservation, "equipment.rejected", build))


def _confirmed(actor: User, reservation: EquipmentReservation) -> None:
    def build(recipient):
        return Notice(subject=_("Equipment reserved: %(equipment)s", equipment=reservation.equipment_type.name),
                      heading=_("Your equipment reservation is confirmed"),
                      paragraphs=[_greeting(recipient), _("Collect the equipment from the workshop's desk when the "
                                                          "loan starts; we will tell you when it is ready.")],
                      facts=_facts(reservation), link=_link(reservation), link_label=_("Open the reservation"))

    send(_to_borrower(reservation, "equipment.confirmed", build))


def reservation_returned(actor: User, reservation: EquipmentReservation) -> None:
    def build(recipient):
        paragraphs = [_greeting(recipient), _("The equipment was returned on %(when)s and received by %(name)s.",
                                              when=when(reservation.returned_at), name=actor.name)]
        paragraphs.append(_("Condition noted on return: %(note)s", note=reservation.return_note)
                          if reservation.return_note else _("No remarks on its condition were noted on return."))
        return Notice(subject=_("Equipment returned: %(equipment)s", equipment=reservation.equipment_type.name),
                      heading=_("Thank you, the equipment is returned"), paragraphs=paragraphs,
                      facts=_facts(reservation), link=_link(reservation), link_label=_("Open the reservation"))

    send(_to_borrower(reservation, "equipment.returned", build))


# --- scheduled --------------------------------------------------------------------------------

READY_AHEAD = timedelta(hours=12)
DUE_AHEAD = timedelta(hours=24)


def _reservations(*conditions) -> list[EquipmentReservation]:
    return list(db.session.scalars(
        sa.select(EquipmentReservation).options(selectinload(EquipmentReservation.allocations),
                                                selectinload(EquipmentReservation.user))
        .where(*conditions).order_by(EquipmentReservation.start, EquipmentReservation.id).limit(500)))


def send_ready_for_pickup(now: datetime) -> int:
    """Confirmed reservations starting within 12 hours: the units are set aside, come and collect them."""
    rows = _reservations(EquipmentReservation.status == ReservationStatus.CONFIRMED,
                         EquipmentReservation.start <= now + READY_AHEAD,
                         EquipmentReservation.end > now)
    return _send_once(rows, "equipment.ready", lambda r: f"ready:reservation:{r.id}:{r.start.isoformat()}",
                      lambda reservation: lambda recipient: Notice(
                          subject=_("Ready for pick-up: %(equipment)s", equipment=reservation.equipment_type.name),
                          heading=_("Your equipment is ready for pick-up"),
                          paragraphs=[_greeting(recipient),
                                      _("The units are set aside for you from %(when)s. Collect them at the "
                                        "workshop's desk.", when=when(reservation.start))],
                          facts=_facts(reservation), link=_link(reservation), link_label=_("Open the reservation")))


def send_due_reminders(now: datetime) -> int:
    """Loans that end within a day: bring the equipment back (borrowers who want reminders)."""
    rows = [r for r in _reservations(EquipmentReservation.status == ReservationStatus.CHECKED_OUT,
                                     EquipmentReservation.end > now, EquipmentReservation.end <= now + DUE_AHEAD)
            if r.user.notify_reminders]
    return _send_once(rows, "equipment.due", lambda r: f"due:reservation:{r.id}:{r.end.isoformat()}",
                      lambda reservation: lambda recipient: Notice(
                          subject=_("Due back %(when)s: %(equipment)s", when=when(reservation.end),
                                    equipment=reservation.equipment_type.name),
                          heading=_("Your loan ends soon"),
                          paragraphs=[_greeting(recipient), _("Please return the equipment by %(when)s.",
                                                              when=when(reservation.end))],
                          facts=_facts(reservation), link=_link(reservation), link_label=_("Open the reservation")))


def send_overdue(now: datetime) -> int:
    """Once a day: each borrower of an overdue loan, and staff a list of them all."""
    rows = _reservations(EquipmentReservation.status == ReservationStatus.CHECKED_OUT,
                         EquipmentReservation.end < now)
    if not rows:
        return 0
    day = now.astimezone(local_tz()).date().isoformat()
    sent = _send_once(rows, "equipment.overdue", lambda r: f"overdue:reservation:{r.id}:{day}",
                      lambda reservation: lambda recipient: Notice(
                          subject=_("Overdue: %(equipment)s", equipment=reservation.equipment_type.name),
                          heading=_("Your loan is overdue"),
                          paragraphs=[_greeting(recipient),
                                      _("The loan ended %(when)s. Please return the equipment as soon as possible, "
                                        "or contact the workshop.", when=when(reservation.end))],
                          facts=_facts(reservation), link=_link(reservation), link_label=_("Open the reservation")))
    staff = approvers()
    keys = {f"overdue-staff:{u.id}:{day}" for u in staff}
    done = already_sent(keys) if keys else set()
    outgoing = []
    for user in staff:
        key = f"overdue-staff:{user.id}:{day}"
        if key in done:
            continue
        recipient = person(user)

        def build(recipient=recipient):
            return Notice(subject=_("Overdue equipment loans: %(num)d", num=len(rows)),
                          heading=_("Equipment not returned in time"), paragraphs=[_greeting(recipient)],
                          items=[{"text": f"{r.quantity} × {r.equipment_type.name} – {r.organisation.name} "
                                          f"({r.user.name}), {when(r.end)}", "link": _link(r)} for r in rows],
                          link=f"{site().base_url}/equipment-reservations/desk", link_label=_("Open the desk"))
        outgoing.append(render(recipient, "equipment.overdue_staff", build, dedupe_key=key))
    send(outgoing)
    return sent + len(outgoing)


def _send_once(rows, kind: str, key_of, builder) -> int:
    if not rows:
        return 0
    keys = {f"{key_of(r)}:0" for r in rows}
    done = already_sent(keys)
    outgoing = []
    for reservation in rows:
        if f"{key_of(reservation)}:0" in done:
            continue
        outgoing += _to_borrower(reservation, kind, builder(reservation), dedupe_key=key_of(reservation))
    send(outgoing)
    return len(outgoing)
