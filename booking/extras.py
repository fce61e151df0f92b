"""What a booking carries besides its own columns: its participants (:mod:`booking.participants`)
and the extra fields of its space's kind (:mod:`booking.fields`). The API and the booking pages
check both before the booking service writes anything (so bad input never leaves a half-made
booking) and store them after it, in the same transaction.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from booking.fields import apply_fields, clean_fields, fields_json
from booking.models import Booking
from booking.participants import ParticipantsRequest, apply_participants, parse_participants, participants_json
from samskap.errors import ValidationFailed
from samskap.extensions import db
from samskap.ids import MAX_ID
from spaces.booking_fields import BookingFieldDefinition
from spaces.models import Space


@dataclass
class Extras:
    participants: ParticipantsRequest | None = None
    fields: dict | None = None   # {code: value} to store; None: leave as it is
    # The space the fields were checked against. Held for the request: the session's identity map
    # keeps objects only while something refers to them, and the booking service loads the same
    # space by id next, which then costs no second query.
    space: Space | None = None


def _space(space_id) -> Space | None:
    if not isinstance(space_id, int) or isinstance(space_id, bool) or not 1 <= space_id <= MAX_ID:
        return None
    return db.session.get(Space, space_id)


def _space_with_fields(space_id) -> tuple[Space | None, bool]:
    """The space, and whether its kind has any active booking field, in one statement: most kinds
    have none, and then a booking that gives no ``fields`` has nothing to check."""
    if not isinstance(space_id, int) or isinstance(space_id, bool) or not 1 <= space_id <= MAX_ID:
        return None, False
    has_fields = sa.exists().where(BookingFieldDefinition.space_kind_id == Space.kind_id,
                                   BookingFieldDefinition.active.is_(True))
    row = db.session.execute(sa.select(Space, has_fields).where(Space.id == space_id)).first()
    return (row[0], bool(row[1])) if row is not None else (None, False)


def check_new(actor, data: dict, errors: dict) -> Extras:
    """``participants`` and ``fields`` of a new booking; problems go into ``errors``. The fields are
    checked against the kind of ``data["space_id"]`` (an unknown space is the service's to report)."""
    extras = Extras()
    try:
        extras.participants = parse_participants(actor, data.get("participants"))
    except ValidationFailed as exc:
        errors.update(exc.fields)
    space, has_fields = _space_with_fields(data.get("space_id"))
    extras.space = space
    if space is not None and (data.get("fields") is not None or has_fields):
        try:
            # A new booking has no values to replace: none to store is nothing to do (None).
            extras.fields = clean_fields(space, data.get("fields")) or None
        except ValidationFailed as exc:
            errors.update(exc.fields)
    return extras


def check_change(actor, booking: Booking, data: dict) -> Extras:
    """``participants`` and ``fields`` of a change. Required fields are checked when ``fields`` is
    given or the booking moves to a space of another kind (whose fields it must then fill in)."""
    errors: dict[str, str] = {}
    extras = Extras()
    try:
        extras.participants = parse_participants(actor, data.get("participants"), booking=booking)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    space = _space(data["space_id"]) if "space_id" in data else booking.space
    if space is not None and ("fields" in data or space.kind_id != booking.space.kind_id):
        given = {} if data.get("fields") is None else data["fields"]
        try:
            extras.fields = clean_fields(space, given, current=fields_json(booking))
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed(errors)
    return extras


def apply(actor, bookings: list[Booking], extras: Extras, *, new: bool) -> None:
    apply_fields(actor, bookings, extras.fields)
    apply_participants(actor, bookings, extras.participants, notify_all=new)


def extras_json(booking: Booking, viewer, *, made_with: Extras | None = None) -> dict:
    """``participants`` and ``fields`` of ``booking``. ``made_with``: the extras a booking made in
    this request was stored with; when it was given neither, it has none (no other transaction
    can add rows to a booking not yet committed), and the answer is given without reading."""
    from booking.permissions import can_manage

    if made_with is not None and made_with.participants is None and made_with.fields is None:
        return {"participants": participants_json(booking, people_rows=[], organisation_rows=[]), "fields": {}}
    return {"participants": participants_json(booking, with_addresses=can_manage(viewer, booking)),
            "fields": fields_json(booking)}


def extras_json_by_booking(bookings, viewer, *, made_with: Extras | None = None) -> dict[int, dict]:
    """:func:`extras_json` for a page of bookings ``viewer`` may see the details of, in three queries
    whatever the page's length (participants, participating organisations, field values), by the
    same serialisers and the same rule for guests' addresses (:func:`booking.permissions.can_manage`).
    ``made_with``: as for :func:`extras_json` (a series made in this request)."""
    from booking.fields import values_by_booking
    from booking.participants import organisations_by_booking, people_by_booking
    from booking.permissions import can_manage

    ids = [b.id for b in bookings]
    if not ids:
        return {}
    if made_with is not None and made_with.participants is None and made_with.fields is None:
        return {b.id: extras_json(b, viewer, made_with=made_with) for b in bookings}
    people, organisations, values = people_by_booking(ids), organisations_by_booking(ids), values_by_booking(ids)
    # The user itself, not flask_login's proxy: asking the proxy costs a lookup each time, per booking.
    viewer = viewer._get_current_object() if hasattr(viewer, "_get_current_object") else viewer
    return {b.id: {"participants": participants_json(b, with_addresses=can_manage(viewer, b),
                                                     people_rows=people.get(b.id, []),
                                                     organisation_rows=organisations.get(b.id, [])),
                   "fields": values.get(b.id, {})}
            for b in bookings}


def shown(booking: Booking, viewer, locale: str) -> dict:
    """What the booking's page shows of its participants and field values."""
    from booking.fields import shown_values
    from booking.participants import organisations_of, people_of
    from booking.permissions import can_manage

    return {"setup": shown_values(booking, locale),
            "participant_organisations": [p.organisation for p in organisations_of(booking)],
            "participants": people_of(booking),
            "show_addresses": can_manage(viewer, booking)}


def _register_audit_text() -> None:
    from flask_babel import lazy_gettext as _l

    from samskap.audit_text import ACTIONS

    ACTIONS.setdefault("booking.participants", (_l("Participants changed"),
                                                _l("%(actor)s changed who takes part in %(object)s")))
    ACTIONS.setdefault("booking.fields", (_l("Room details changed"),
                                          _l("%(actor)s changed the room details of %(object)s")))


_register_audit_text()


def changes_anything(booking: Booking, extras: Extras) -> bool:
    """Whether storing ``extras`` would change the booking (the edit page says "nothing changed")."""
    from booking.participants import organisations_of, people_of

    if extras.fields is not None and extras.fields != fields_json(booking):
        return True
    wanted = extras.participants
    if wanted is None:
        return False
    if wanted.organisations is not None:
        current = {p.organisation_id for p in organisations_of(booking)}
        if {o.id for o in wanted.organisations if o.id != booking.organisation_id} != current:
            return True
    if wanted.people is not None:
        organiser = (booking.organiser.email or "").lower()
        keys = {p.key for p in wanted.people
                if not (p.user is not None and p.user.id == booking.organiser_id) and p.email != organiser}
        if keys != {p.key for p in people_of(booking)}:
            return True
    return False
