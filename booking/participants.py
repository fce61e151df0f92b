"""Who is in the room: the organisations taking part in a booking beyond the booker's, and the
named participants (users, or guests by email with an optional name).

Participants are invited: each named person gets the booking's calendar invitation
(``METHOD:REQUEST``, the feeds' UID) through the outbox, an update when the booking changes, and
a cancellation (``METHOD:CANCEL``) when it is cancelled or rejected or when they are taken off the
list (:mod:`booking.notifications.participants`).

Privacy: the members of a participating organisation, and each named participant, see the
booking's details as its own organisation does (:func:`booking.permissions.can_view_details`
asks :func:`participating_booking_ids`); they cannot change it.

The API shape, on ``POST``/``PATCH /api/v1/bookings`` and in every booking read::

    "participants": {"organisation_ids": [3, 7],
                     "people": [{"user_id": 5}, {"email": "kari@example.no", "name": "Kari"}]}

On ``PATCH`` each key given replaces that list; a key left out keeps it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from accounts.models import Organisation, User
from booking.models import Booking
from samskap import audit
from samskap.errors import ValidationFailed
from samskap.extensions import db
from samskap.ids import MAX_ID
from samskap.models import created_at_column

MAX_PEOPLE = 200
MAX_ORGANISATIONS = 50
MAX_NAME = 200
PERSON_KEYS = ("user_id", "email", "name")
KEYS = ("organisation_ids", "people")
_CACHE = "samskap.participating_booking_ids"


class BookingParticipantOrganisation(db.Model):
    """An organisation taking part in a booking besides the booker's."""

    __tablename__ = "booking_participant_organisations"

    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), primary_key=True, index=True)

    organisation = relationship("Organisation", lazy="joined")


class BookingParticipant(db.Model):
    """A named participant: a user of Samskap, or a guest known by email (and perhaps a name)."""

    __tablename__ = "booking_participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)  # guests only; lower-case
    name: Mapped[str] = mapped_column(sa.String(MAX_NAME), nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()

    user = relationship("User", lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("(user_id IS NULL) <> (email IS NULL)", name="user_or_email"),
        sa.UniqueConstraint("booking_id", "user_id", name="uq_booking_participants_booking_id_user_id"),
        sa.UniqueConstraint("booking_id", "email", name="uq_booking_participants_booking_id_email"),
    )

    @property
    def key(self) -> tuple:
        return ("user", self.user_id) if self.user_id is not None else ("email", self.email)

    @property
    def address(self) -> str:
        return self.user.email if self.user is not None else self.email

    @property
    def display_name(self) -> str:
        return self.user.name if self.user is not None else (self.name or self.email)


# --- input ---------------------------------------------------------------------------------------

@dataclass
class PersonRequest:
    user: User | None = None
    email: str | None = None
    name: str = ""

    @property
    def key(self) -> tuple:
        return ("user", self.user.id) if self.user is not None else ("email", self.email)


@dataclass
class ParticipantsRequest:
    """Checked input: ``None`` for a list not given (PATCH keeps it)."""

    organisations: list[Organisation] | None = None
    people: list[PersonRequest] | None = None
    given: set = field(default_factory=set)


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def _may_name_user(actor, user: User, organisation_ids: set[int], known: frozenset = frozenset()) -> bool:
    """Anyone may invite by email; by user id only people of the booker's organisation or of the
    participating ones (staff: anyone), or those the booking names already, so a member cannot
    look up strangers' names by id."""
    from accounts.permissions import is_staff

    return (is_staff(actor) or user.organisation_id == actor.organisation_id or user.organisation_id in organisation_ids
            or user.id in known)


def parse_participants(actor, value, *, prefix: str = "participants",
                       booking: Booking | None = None) -> ParticipantsRequest | None:
    """Check the ``participants`` object of the API (or the form's, shaped alike); ValidationFailed
    with one message per bad entry (``participants.people[2].email``). Duplicates are dropped."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationFailed({prefix: _("'participants' must be an object with organisation_ids and people.")})
    errors: dict[str, str] = {}
    for key in value:
        if key not in KEYS:
            errors[f"{prefix}.{key}"] = _("Unknown field.")
    result = ParticipantsRequest(given={key for key in KEYS if key in value})
    organisation_ids: set[int] = set()
    if "organisation_ids" in value:
        raw = value["organisation_ids"]
        if not isinstance(raw, list) or not all(_is_id(i) for i in raw):
            errors[f"{prefix}.organisation_ids"] = _("Give the organisations as a list of their ids.")
        elif len(set(raw)) > MAX_ORGANISATIONS:
            errors[f"{prefix}.organisation_ids"] = _("At most %(n)d organisations.", n=MAX_ORGANISATIONS)
        else:
            wanted = list(dict.fromkeys(raw))
            found = {o.id: o for o in db.session.scalars(
                sa.select(Organisation).where(Organisation.id.in_(wanted), Organisation.active.is_(True)))}
            for index, organisation_id in enumerate(raw):
                if organisation_id not in found:
                    errors[f"{prefix}.organisation_ids[{index}]"] = _("There is no organisation with id %(id)s.",
                                                                      id=organisation_id)
            result.organisations = [found[i] for i in wanted if i in found]
            organisation_ids = set(found)
    if "people" in value:
        known = frozenset(p.user_id for p in people_of(booking) if p.user_id) if booking is not None else frozenset()
        result.people = _parse_people(actor, value["people"], organisation_ids, errors, prefix, known)
    if errors:
        raise ValidationFailed(errors)
    return result


def _parse_people(actor, raw, organisation_ids: set[int], errors: dict, prefix: str,
                  known: frozenset = frozenset()) -> list[PersonRequest]:
    from accounts.services import normalise_email

    if not isinstance(raw, list):
        errors[f"{prefix}.people"] = _("Give the people as a list of {user_id} or {email, name} objects.")
        return []
    if len(raw) > MAX_PEOPLE:
        errors[f"{prefix}.people"] = _("At most %(n)d participants.", n=MAX_PEOPLE)
        return []
    user_ids = [item["user_id"] for item in raw if isinstance(item, dict) and _is_id(item.get("user_id"))]
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(user_ids),
                                                                      User.active.is_(True)))} if user_ids else {}
    people: dict[tuple, PersonRequest] = {}
    for index, item in enumerate(raw):
        where = f"{prefix}.people[{index}]"
        if not isinstance(item, dict):
            errors[where] = _("Each person is an object: {\"user_id\": 5} or {\"email\": \"…\", \"name\": \"…\"}.")
            continue
        unknown = [key for key in item if key not in PERSON_KEYS]
        if unknown:
            errors[f"{where}.{unknown[0]}"] = _("Unknown field.")
            continue
        if ("user_id" in item) == ("email" in item):
            errors[where] = _("Give either user_id or email.")
            continue
        name = item.get("name", "")
        if not isinstance(name, str) or len(name.strip()) > MAX_NAME:
            errors[f"{where}.name"] = _("The name must be text of at most %(n)d characters.", n=MAX_NAME)
            continue
        if "user_id" in item:
            user = users.get(item["user_id"]) if _is_id(item["user_id"]) else None
            if user is None or not _may_name_user(actor, user, organisation_ids, known):
                errors[f"{where}.user_id"] = _("There is no user with id %(id)s you can invite; invite them by "
                                               "email instead.", id=str(item["user_id"])[:20])
                continue
            person = PersonRequest(user=user)
        else:
            if not isinstance(item["email"], str):
                errors[f"{where}.email"] = _("Give the email address as text.")
                continue
            try:
                email = normalise_email(item["email"])
            except ValidationFailed as exc:
                errors[f"{where}.email"] = exc.fields["email"]
                continue
            person = PersonRequest(email=email, name=name.strip())
        people.setdefault(person.key, person)
    # A guest whose address is that of a user named too is the same person.
    user_addresses = {p.user.email.lower() for p in people.values() if p.user is not None}
    return [p for p in people.values() if p.user is not None or p.email not in user_addresses]


# --- applying -----------------------------------------------------------------------------------

@dataclass
class ParticipantChange:
    added: list = field(default_factory=list)     # (booking, BookingParticipant)
    removed: list = field(default_factory=list)   # (booking, BookingParticipant) taken off the list


def apply_participants(actor, bookings: list[Booking], request: ParticipantsRequest | None, *,
                       notify_all: bool = False) -> ParticipantChange:
    """Make each booking's participants what ``request`` says (lists not given stay), record the
    change in the audit log and tell the people added (invitation) and removed (cancellation).
    ``notify_all``: a new booking, whose every named participant is invited."""
    change = ParticipantChange()
    if request is None or not bookings:
        return change
    for booking in bookings:
        before = participants_json(booking)
        if request.organisations is not None:
            wanted = {o.id for o in request.organisations if o.id != booking.organisation_id}
            current = {p.organisation_id: p for p in organisations_of(booking)}
            for organisation_id, row in current.items():
                if organisation_id not in wanted:
                    db.session.delete(row)
            for organisation_id in sorted(wanted - set(current)):
                db.session.add(BookingParticipantOrganisation(booking_id=booking.id, organisation_id=organisation_id))
        if request.people is not None:
            current_people = {p.key: p for p in people_of(booking)}
            organiser_email = (booking.organiser.email or "").lower()
            wanted_people = {p.key: p for p in request.people  # the organiser has their own messages
                             if not (p.user is not None and p.user.id == booking.organiser_id)
                             and p.email != organiser_email}
            for key, row in current_people.items():
                if key not in wanted_people:
                    change.removed.append((booking, row))
                    db.session.delete(row)
                elif row.user_id is None and wanted_people[key].name and wanted_people[key].name != row.name:
                    row.name = wanted_people[key].name
            for key, person in wanted_people.items():
                if key not in current_people:
                    row = BookingParticipant(booking_id=booking.id, user_id=person.user.id if person.user else None,
                                             user=person.user, email=person.email, name=person.name)
                    db.session.add(row)
                    change.added.append((booking, row))
        db.session.flush()
        after = participants_json(booking)
        if after != before:
            audit.record(actor, "booking.participants", booking,
                         changes={"participants": [_audit_text(before), _audit_text(after)]})
    forget_participations()
    from booking.notifications.participants import participants_added, participants_removed

    participants_added(actor, change.added, new_booking=notify_all)
    participants_removed(actor, change.removed)
    return change


def _audit_text(value: dict) -> str:
    people = [p.get("email") or p.get("name") or f"#{p.get('user_id')}" for p in value["people"]]
    return "; ".join([*(str(i) for i in value["organisation_ids"]), *people])


# --- reading ------------------------------------------------------------------------------------

def organisations_of(booking: Booking) -> list[BookingParticipantOrganisation]:
    return list(db.session.scalars(sa.select(BookingParticipantOrganisation)
                                   .where(BookingParticipantOrganisation.booking_id == booking.id)
                                   .order_by(BookingParticipantOrganisation.organisation_id)))


def people_of(booking_or_ids) -> list[BookingParticipant]:
    ids = [booking_or_ids.id] if isinstance(booking_or_ids, Booking) else list(booking_or_ids)
    return list(db.session.scalars(sa.select(BookingParticipant).where(BookingParticipant.booking_id.in_(ids))
                                   .order_by(BookingParticipant.booking_id, BookingParticipant.id)))


def people_by_booking(ids) -> dict[int, list[tuple]]:
    """The named participants of many bookings in one query, by booking id: ``(user_id, user's
    name, name, email)`` columns only, as :func:`participants_json` reads them (a page of the API's
    list would spend most of its time building objects it only reads four values of)."""
    found: dict[int, list[tuple]] = {}
    rows = db.session.execute(
        sa.select(BookingParticipant.booking_id, BookingParticipant.user_id, User.name, BookingParticipant.name,
                  BookingParticipant.email)
        .outerjoin(User, User.id == BookingParticipant.user_id)
        .where(BookingParticipant.booking_id.in_(list(ids)))
        .order_by(BookingParticipant.booking_id, BookingParticipant.id))
    for booking_id, *person in rows:
        found.setdefault(booking_id, []).append(tuple(person))
    return found


def organisations_by_booking(ids) -> dict[int, list[tuple]]:
    """The participating organisations of many bookings in one query, by booking id: ``(id, name)``."""
    found: dict[int, list[tuple]] = {}
    rows = db.session.execute(
        sa.select(BookingParticipantOrganisation.booking_id, Organisation.id, Organisation.name)
        .join(Organisation, Organisation.id == BookingParticipantOrganisation.organisation_id)
        .where(BookingParticipantOrganisation.booking_id.in_(list(ids)))
        .order_by(BookingParticipantOrganisation.booking_id, BookingParticipantOrganisation.organisation_id))
    for booking_id, *organisation in rows:
        found.setdefault(booking_id, []).append(tuple(organisation))
    return found


def participants_json(booking: Booking, *, with_addresses: bool = True, people_rows=None,
                      organisation_rows=None) -> dict:
    """The booking's ``participants`` as the API returns them. Guests' addresses only
    ``with_addresses`` (for those who may change the booking): everyone who sees the details sees
    who takes part, not how to reach them. ``people_rows`` and ``organisation_rows``: what
    :func:`people_by_booking` and :func:`organisations_by_booking` read, when the caller has it
    (a page of bookings, or a booking made in this request with none)."""
    if people_rows is None:
        people_rows = [(p.user_id, p.user.name if p.user else None, p.name, p.email) for p in people_of(booking)]
    if organisation_rows is None:
        organisation_rows = [(p.organisation.id, p.organisation.name) for p in organisations_of(booking)]
    people = []
    for user_id, user_name, name, email in people_rows:
        if user_id is not None:
            people.append({"user_id": user_id, "name": user_name if user_name is not None else "", "email": None})
        else:
            people.append({"user_id": None, "name": name if (name or not with_addresses) else "",
                           "email": email if with_addresses else None})
    return {"organisation_ids": [organisation_id for organisation_id, _name in organisation_rows],
            "organisations": [{"id": organisation_id, "name": name} for organisation_id, name in organisation_rows],
            "people": people}


def participating_organisations(sessions):
    """(booking_id, organisation_id) of the organisations taking part in each of ``sessions`` (a
    subquery of bookings with ``id``): a participation source of the sector report (reports)."""
    return (sa.select(sessions.c.id.label("booking_id"),
                      BookingParticipantOrganisation.organisation_id.label("organisation_id"))
            .select_from(sessions)
            .join(BookingParticipantOrganisation, BookingParticipantOrganisation.booking_id == sessions.c.id))


# --- privacy ------------------------------------------------------------------------------------

def _signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def participation_clause(user):
    """SQL condition: bookings ``user``'s organisation takes part in, or ``user`` is named in."""
    conditions = [Booking.id.in_(sa.select(BookingParticipant.booking_id).where(
        sa.or_(BookingParticipant.user_id == user.id, BookingParticipant.email == (user.email or "").lower())))]
    if user.organisation_id is not None:
        conditions.append(Booking.id.in_(sa.select(BookingParticipantOrganisation.booking_id).where(
            BookingParticipantOrganisation.organisation_id == user.organisation_id)))
    return sa.or_(*conditions)


def participating_booking_ids(user) -> frozenset[int]:
    """The bookings ``user`` takes part in (by organisation or by name): read once per unit of work
    and forgotten at its end or when participants change."""
    if not _signed_in(user):
        return frozenset()
    cache = db.session.info.setdefault(_CACHE, {})
    key = (user.id, user.organisation_id)
    if key not in cache:
        org = (sa.select(BookingParticipantOrganisation.booking_id)
               .where(BookingParticipantOrganisation.organisation_id == user.organisation_id))
        named = sa.select(BookingParticipant.booking_id).where(
            sa.or_(BookingParticipant.user_id == user.id, BookingParticipant.email == (user.email or "").lower()))
        cache[key] = frozenset(db.session.scalars(sa.union(org, named)))
    return cache[key]


def forget_participations(session=None) -> None:
    (session or db.session).info.pop(_CACHE, None)


@sa.event.listens_for(Session, "after_commit")
@sa.event.listens_for(Session, "after_rollback")
def _forget_at_end(session) -> None:
    session.info.pop(_CACHE, None)
