"""Registration for events: opening it on a booking, registering, confirming by the email link,
cancelling (which promotes the first on the waitlist), the organiser's list and attendance.

Capacity is decided by the database: every change that can take or free a place locks the
booking's ``registration_settings`` row (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite every
transaction begins with ``BEGIN IMMEDIATE``, which serialises writers) and counts the confirmed
places only after holding it, so two requests for the last place are decided one after the other.

Services take the acting user explicitly (``None`` or an anonymous user for someone not signed
in), flush, and leave the commit to the request. Messages go to the outbox in the same
transaction (:mod:`booking.registrations.notices`).
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from accounts.services import normalise_email
from booking.models import Booking, Visibility
from booking.permissions import can_manage, can_view_details
from booking.registrations import notices
from booking.registrations.models import Audience, Registration, RegistrationSettings, RegistrationStatus
from samskap import audit
from samskap.database import is_unique_violation
from samskap.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from samskap.extensions import db
from samskap.ids import MAX_ID
from samskap.timeutil import parse_aware_iso, utcnow

MAX_CAPACITY = 10000
NAME_MAX = 200
ORGANISATION_MAX = 200
NEEDS_MAX = 2000
SETTINGS_FIELDS = ("capacity", "closes_at", "audience")
REGISTRATION_FIELDS = ("name", "email", "organisation", "needs")
LOCALES = ("nb", "en")
LIVE = (RegistrationStatus.PENDING, RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)


def signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- registration settings on a booking ---------------------------------------------------------

@dataclass(frozen=True)
class SettingsInput:
    capacity: int
    closes_at: datetime
    audience: Audience


def settings_of(booking_id: int) -> RegistrationSettings | None:
    return db.session.get(RegistrationSettings, booking_id)


def settings_json(settings: RegistrationSettings | None) -> dict | None:
    if settings is None:
        return None
    return {"capacity": settings.capacity, "closes_at": settings.closes_at.isoformat(),
            "audience": settings.audience.value, **place_counts(settings.booking_id)}


def parse_settings(value, *, end: datetime | None, visibility, current: RegistrationSettings | None = None,
                   prefix: str = "registration.") -> SettingsInput:
    """Check a ``registration`` object (API or form) against the booking it will belong to:
    ``end`` and ``visibility`` are the booking's values after the change. Missing fields keep
    ``current``'s values. Raises ValidationFailed with ``registration.<field>`` keys."""
    errors: dict[str, str] = {}
    if not isinstance(value, dict):
        raise ValidationFailed({prefix.rstrip("."): _("Give the registration as an object with capacity, "
                                                      "closes_at and audience.")})
    for key in value:
        if key not in SETTINGS_FIELDS:
            errors[prefix + str(key)[:50]] = _("Unknown field.")
    capacity = value.get("capacity", current.capacity if current else None)
    if not (isinstance(capacity, int) and not isinstance(capacity, bool) and 1 <= capacity <= MAX_CAPACITY):
        errors[prefix + "capacity"] = _("The number of places must be a whole number from 1 to %(n)d.",
                                        n=MAX_CAPACITY)
    closes_at = current.closes_at if current is not None else None
    if "closes_at" in value or current is None:
        raw = value.get("closes_at")
        closes_at = None
        if isinstance(raw, datetime):
            closes_at = raw if raw.tzinfo is not None else None
        elif isinstance(raw, str) and raw:
            try:
                closes_at = parse_aware_iso(raw)
            except ValueError:
                closes_at = None
        if closes_at is None:
            errors[prefix + "closes_at"] = _("Give the time registration closes as an ISO 8601 date-time with an "
                                             "offset, such as 2026-03-16T09:00+01:00.")
    if closes_at is not None and end is not None and closes_at >= end:
        errors[prefix + "closes_at"] = _("Registration must close before the event ends.")
    default_audience = Audience.PUBLIC if _visibility(visibility) == Visibility.PUBLIC else Audience.PARTNERS
    raw_audience = value.get("audience", current.audience.value if current else default_audience.value)
    known = {member.value: member for member in Audience}
    audience = known.get(raw_audience) if isinstance(raw_audience, str) else None
    if audience is None:
        errors[prefix + "audience"] = _("Choose who may register: public or partners.")
    elif audience == Audience.PUBLIC and _visibility(visibility) != Visibility.PUBLIC:
        errors[prefix + "audience"] = _("Anyone may register only for a public event: make the booking public, "
                                        "or open registration to partners only.")
    elif _visibility(visibility) == Visibility.PRIVATE:
        errors[prefix + "audience"] = _("A private booking cannot take registrations: make it visible to partners "
                                        "or the public.")
    if errors:
        raise ValidationFailed(errors)
    return SettingsInput(capacity=capacity, closes_at=closes_at, audience=audience)


def _visibility(value):
    try:
        return Visibility(value.value if isinstance(value, Visibility) else value)
    except ValueError:
        return None


def check_still_valid(booking: Booking) -> None:
    """After a change of the booking (time, visibility): its registration must still fit it."""
    current = settings_of(booking.id)
    if current is not None:
        parse_settings({}, end=booking.end, visibility=booking.visibility, current=current)


def open_registration(actor, booking: Booking, wanted: SettingsInput) -> RegistrationSettings:
    """Open registration on ``booking``, or change its places, closing time or audience. More
    places promote people from the waitlist at once; fewer never take a place away."""
    if not can_manage(actor, booking):
        raise PermissionDenied(_("Only the organiser or the workshop staff can open registration."))
    if not booking.is_active:
        raise Conflict(_("A cancelled or rejected booking cannot take registrations."), code="not_active")
    settings = _locked_settings(booking.id)
    if settings is None:
        settings = RegistrationSettings(booking_id=booking.id, capacity=wanted.capacity,
                                        closes_at=wanted.closes_at, audience=wanted.audience)
        db.session.add(settings)
        db.session.flush()
        audit.record(actor, "registration.open", booking, object_type="bookings",
                     changes={"capacity": [None, wanted.capacity], "closes_at": [None, wanted.closes_at],
                              "audience": [None, wanted.audience.value]})
        return settings
    before = {"capacity": settings.capacity, "closes_at": settings.closes_at, "audience": settings.audience.value}
    settings.capacity, settings.closes_at, settings.audience = wanted.capacity, wanted.closes_at, wanted.audience
    after = {"capacity": settings.capacity, "closes_at": settings.closes_at, "audience": settings.audience.value}
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changes:
        audit.record(actor, "registration.change", booking, object_type="bookings", changes=changes)
    _fill_places(settings)
    db.session.flush()
    return settings


# --- registering ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RegistrationInput:
    name: str
    email: str
    organisation: str = ""
    needs: str = ""
    locale: str = "nb"


def parse_registration(data: dict, actor=None, *, locale: str = "nb") -> RegistrationInput:
    """Check a registration's fields (API body or form). A signed-in user's name and address are
    used when not given."""
    errors: dict[str, str] = {}
    for key in data:
        if key not in REGISTRATION_FIELDS:
            errors[str(key)[:50]] = _("Unknown field.")
    name = data.get("name")
    if name in (None, "") and signed_in(actor):
        name = actor.name
    if not isinstance(name, str) or not name.strip():
        errors["name"] = _("Enter your name.")
    elif len(name.strip()) > NAME_MAX:
        errors["name"] = _("The name can be at most %(n)d characters long.", n=NAME_MAX)
    email = data.get("email")
    if email in (None, "") and signed_in(actor):
        email = actor.email
    if not isinstance(email, str):
        errors["email"] = _("Enter an email address.")
        email = ""
    else:
        try:
            email = normalise_email(email)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    texts = {}
    for key, limit in (("organisation", ORGANISATION_MAX), ("needs", NEEDS_MAX)):
        value = data.get(key)
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors[key] = _("'%(field)s' must be text.", field=key)
        elif len(value.strip()) > limit:
            errors[key] = _("This can be at most %(n)d characters long.", n=limit)
        texts[key] = value.strip() if isinstance(value, str) else ""
    for key in REGISTRATION_FIELDS:
        if isinstance(data.get(key), str) and "\x00" in data[key]:
            errors[key] = _("This text holds characters that cannot be stored.")
    if errors:
        raise ValidationFailed(errors)
    if signed_in(actor) and getattr(actor, "locale", None) in LOCALES:
        locale = actor.locale  # their emails in the language they chose
    return RegistrationInput(name=name.strip(), email=email, organisation=texts["organisation"],
                             needs=texts["needs"], locale=locale if locale in LOCALES else "nb")


def open_event(actor, booking_id: int) -> tuple[Booking, RegistrationSettings]:
    """The event and its registration settings if ``actor`` may see and register for it (404
    otherwise: a partners-only event does not exist for someone not signed in)."""
    settings = db.session.get(RegistrationSettings, booking_id) if 1 <= booking_id <= MAX_ID else None
    if settings is None or not may_see_event(actor, settings):
        raise NotFound(_("No such event takes registrations."))
    return settings.booking, settings


def may_see_event(actor, settings: RegistrationSettings) -> bool:
    booking = settings.booking
    if settings.audience == Audience.PUBLIC and booking.visibility == Visibility.PUBLIC:
        return can_view_details(actor, booking)
    return signed_in(actor) and can_view_details(actor, booking)


def is_open(settings: RegistrationSettings, now: datetime | None = None) -> bool:
    now = now or utcnow()
    booking = settings.booking
    return booking.is_active and now < settings.closes_at and now < booking.end


def registers_self(actor, wanted: RegistrationInput) -> bool:
    """A signed-in person registering their own address: they get their place at once. Anyone
    registering another address (signed in or not) goes through that address's email link, so
    nobody registers someone else, and the answer never tells whether the address is registered."""
    return signed_in(actor) and (actor.email or "").casefold() == wanted.email.casefold()


def register(actor, booking_id: int, wanted: RegistrationInput) -> tuple[Registration, str]:
    """Register for an event. Signed in with their own address: a place (``confirmed``) or the
    waitlist at once. Otherwise (anonymous registration: public events only; or a signed-in person
    registering another address): ``pending_confirmation`` until the email link is used, so nobody
    can register someone else; the place is decided then. Returns the registration and the secret
    token of the registrant's link (only its hash is stored)."""
    direct = registers_self(actor, wanted)
    booking, _settings = open_event(actor, booking_id)
    settings = _locked_settings(booking.id)
    db.session.refresh(booking, ["status"])  # as it is now that we hold the lock (a cancellation takes it too)
    if not is_open(settings):
        raise Conflict(_("Registration for this event is closed."), code="registration_closed")
    existing = db.session.scalar(sa.select(Registration).where(
        Registration.booking_id == booking.id, Registration.email == wanted.email,
        Registration.status.in_(LIVE)))
    token = secrets.token_urlsafe(32)
    if existing is not None:
        if existing.status == RegistrationStatus.PENDING and not direct:
            # They lost the first email, or never got it: a new link (the old one stops working).
            existing.token_hash = hash_token(token)
            existing.locale = wanted.locale
            notices.confirm_link(existing, token)
            db.session.flush()
            return existing, token
        if not direct:
            # Anyone can type an address: the answer must not tell whether it is registered
            # (the caller answers as for a new registration, see anonymous_answer). The
            # address's owner hears of it, with a fresh link to their registration.
            notices.already_registered(existing)
            db.session.flush()
            return existing, token
        if existing.status == RegistrationStatus.PENDING:
            # Their own address, still waiting for its email link (typed in before they signed in,
            # or by someone else): being signed in proves the address, so the place is decided now.
            return _place_own(actor, settings, existing, wanted, token), token
        # Their own address, with a place or on the waitlist: they are told so, with that registration.
        raise AlreadyRegistered(existing)
    registration = Registration(booking_id=booking.id, name=wanted.name, email=wanted.email,
                                organisation=wanted.organisation, needs=wanted.needs, locale=wanted.locale,
                                token_hash=hash_token(token),
                                user_id=actor.id if direct else None,
                                status=RegistrationStatus.PENDING)
    if direct:
        _take_place(settings, registration)
    _write(registration)
    audit.record(actor if signed_in(actor) else None, "registration.create", registration,
                 changes={"booking_id": booking.id, "status": registration.status.value})
    if registration.status == RegistrationStatus.PENDING:
        notices.confirm_link(registration, token)
    else:
        notices.placed(registration, token)
    return registration, token


class AlreadyRegistered(Conflict):
    """A signed-in person registering their own address again (409 ``already_registered``): the
    answer names their registration (``registration``), which only concerns themselves. Never
    raised for another address, whose answer must not tell whether it is registered."""

    def __init__(self, registration: Registration):
        super().__init__(_("You are already registered for this event."), code="already_registered")
        self.registration = registration


def _place_own(actor, settings: RegistrationSettings, registration: Registration, wanted: RegistrationInput,
               token: str) -> Registration:
    """A pending registration of the signed-in ``actor``'s own address takes a place (or the
    waitlist) now, with what they give; the earlier link stops working."""
    registration.name, registration.organisation = wanted.name, wanted.organisation
    registration.needs, registration.locale = wanted.needs, wanted.locale
    registration.user_id = actor.id
    registration.token_hash = hash_token(token)
    return _confirm(actor, settings, registration, token)


def anonymous_answer(booking_id: int, wanted: RegistrationInput) -> dict:
    """What someone not signed in is told after registering: always "check your email", built
    from what they sent, so that an address already registered gets the very same answer as a
    new one (no id, no status of an earlier registration)."""
    return {"booking_id": booking_id, "status": RegistrationStatus.PENDING.value, "name": wanted.name,
            "email": wanted.email}


def _write(registration: Registration) -> None:
    try:
        with db.session.begin_nested():
            db.session.add(registration)
            db.session.flush()
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise Conflict(_("%(email)s is already registered for this event.", email=registration.email),
                           code="already_registered") from None
        raise


def registration_by_token(token: str) -> Registration:
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise NotFound(_("This link is not valid. It may have been replaced by a newer one."))
    registration = db.session.scalar(sa.select(Registration).where(Registration.token_hash == hash_token(token)))
    if registration is None:
        raise NotFound(_("This link is not valid. It may have been replaced by a newer one."))
    return registration


def confirm_by_token(token: str) -> Registration:
    """The registrant used their email link: a pending registration takes a place or joins the
    waitlist now. Using the link again changes nothing."""
    registration = registration_by_token(token)
    if registration.status != RegistrationStatus.PENDING:
        return registration
    settings = _locked_settings(registration.booking_id)
    db.session.refresh(registration)
    if registration.status != RegistrationStatus.PENDING:
        return registration
    if not is_open(settings):
        raise Conflict(_("Registration for this event is closed."), code="registration_closed")
    return _confirm(None, settings, registration, token)


def _confirm(actor, settings: RegistrationSettings, registration: Registration, token: str) -> Registration:
    """A pending registration takes a place (or the waitlist): audited, and the registrant told."""
    _take_place(settings, registration)
    audit.record(actor, "registration.confirm", registration, changes={"status": [
        RegistrationStatus.PENDING.value, registration.status.value]})
    db.session.flush()
    notices.placed(registration, token)
    return registration


def cancel(actor, registration: Registration, *, by_registrant: bool = False) -> Registration | None:
    """Cancel a registration (the registrant through their link, or the organiser or staff). A
    confirmed place goes at once to the first on the waitlist, who is told by email; that
    person's registration is returned (None when nobody moved up)."""
    if not by_registrant and not can_manage(actor, registration.booking):
        raise PermissionDenied(_("Only the organiser or the workshop staff can cancel registrations."))
    settings = _locked_settings(registration.booking_id)
    db.session.refresh(registration)
    if registration.status == RegistrationStatus.CANCELLED:
        return None
    had_place = registration.status == RegistrationStatus.CONFIRMED
    before = registration.status.value
    registration.status = RegistrationStatus.CANCELLED
    registration.cancelled_at = utcnow()
    audit.record(actor if signed_in(actor) else None, "registration.cancel", registration,
                 changes={"status": [before, RegistrationStatus.CANCELLED.value]})
    notices.cancelled(registration, had_place=had_place, by_registrant=by_registrant)
    db.session.flush()
    promoted = _fill_places(settings) if had_place and settings is not None else []
    return promoted[0] if promoted else None


def bookings_cancelled(actor, bookings, reason: str = "") -> int:
    """The bookings are cancelled (or rejected), in this transaction: every live registration for
    them is cancelled too, and each registrant is told (those who held a place with METHOD:CANCEL
    for their invitation). Nobody moves up from a waitlist. Returns how many were cancelled."""
    ids = [booking.id for booking in bookings]
    # Taking the settings' locks waits for registrations in flight and makes later ones see the
    # booking cancelled (register() reads its status after taking the lock).
    db.session.execute(sa.select(RegistrationSettings.booking_id).where(RegistrationSettings.booking_id.in_(ids))
                       .with_for_update(of=RegistrationSettings))
    live = list(db.session.scalars(sa.select(Registration).where(Registration.booking_id.in_(ids),
                                                                 Registration.status.in_(LIVE))
                                   .order_by(Registration.booking_id, Registration.id)
                                   .execution_options(populate_existing=True)))
    if not live:
        return 0
    now = utcnow()
    told = []
    for registration in live:
        before = registration.status
        told.append((registration, before == RegistrationStatus.CONFIRMED))
        registration.status = RegistrationStatus.CANCELLED
        registration.cancelled_at = now
        audit.record(actor, "registration.cancel", registration,
                     changes={"status": [before.value, RegistrationStatus.CANCELLED.value]},
                     summary="booking cancelled")
    notices.event_cancelled(told, reason=reason)
    db.session.flush()
    return len(live)


def bookings_moved(bookings) -> int:
    """The bookings have a new time or place (their SEQUENCE already raised): every live
    registrant is told, and those with a place get the updated invitation."""
    ids = [booking.id for booking in bookings]
    live = list(db.session.scalars(sa.select(Registration).where(Registration.booking_id.in_(ids),
                                                                 Registration.status.in_(LIVE))
                                   .order_by(Registration.booking_id, Registration.id)))
    if live:
        notices.event_moved(live)
    return len(live)


def _locked_settings(booking_id: int) -> RegistrationSettings | None:
    """The settings row, locked until the end of the transaction (the capacity's one door)."""
    return db.session.scalar(sa.select(RegistrationSettings).where(RegistrationSettings.booking_id == booking_id)
                             .with_for_update(of=RegistrationSettings).execution_options(populate_existing=True))


def confirmed_count(booking_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count(Registration.id)).where(
        Registration.booking_id == booking_id, Registration.status == RegistrationStatus.CONFIRMED))


def _take_place(settings: RegistrationSettings, registration: Registration) -> None:
    """Confirmed while places are left, else waitlisted (the caller holds the settings' lock)."""
    free = settings.capacity - confirmed_count(settings.booking_id)
    registration.status = RegistrationStatus.CONFIRMED if free > 0 else RegistrationStatus.WAITLISTED
    registration.queued_at = utcnow()


def _fill_places(settings: RegistrationSettings) -> list[Registration]:
    """Move people up from the waitlist, first come first served, while places are free; each is
    emailed (the caller holds the settings' lock)."""
    free = settings.capacity - confirmed_count(settings.booking_id)
    if free <= 0:
        return []
    waiting = list(db.session.scalars(
        sa.select(Registration).where(Registration.booking_id == settings.booking_id,
                                      Registration.status == RegistrationStatus.WAITLISTED)
        .order_by(Registration.queued_at, Registration.id).limit(free)))
    for registration in waiting:
        registration.status = RegistrationStatus.CONFIRMED
        audit.record(None, "registration.promote", registration, changes={"status": [
            RegistrationStatus.WAITLISTED.value, RegistrationStatus.CONFIRMED.value]})
        notices.promoted(registration)
    db.session.flush()
    return waiting


# --- the organiser's side -----------------------------------------------------------------------------

def may_manage_registrations(user, booking: Booking) -> bool:
    """See the list, export it, cancel and mark attendance: the organiser, their organisation's
    contacts (or members, when the organisation shares bookings), staff and administrators."""
    return can_manage(user, booking)


def managed_event(actor, booking_id: int) -> tuple[Booking, RegistrationSettings | None]:
    """Load and authorise: 404 when the booking is not visible to ``actor``, 403 when they may see
    it but not its registrations."""
    booking = db.session.get(Booking, booking_id) if 1 <= booking_id <= MAX_ID else None
    if booking is None or not can_view_details(actor, booking):
        raise NotFound(_("No such booking."))
    if not may_manage_registrations(actor, booking):
        raise PermissionDenied(_("Only the organiser or the workshop staff can see the registrations."))
    return booking, settings_of(booking.id)


def registration_of(booking: Booking, registration_id) -> Registration:
    registration = (db.session.get(Registration, registration_id)
                    if isinstance(registration_id, int) and 1 <= registration_id <= MAX_ID else None)
    if registration is None or registration.booking_id != booking.id:
        raise NotFound(_("No such registration."))
    return registration


def registrations_of(booking_id: int, statuses=None) -> list[Registration]:
    query = sa.select(Registration).where(Registration.booking_id == booking_id)
    if statuses:
        query = query.where(Registration.status.in_(list(statuses)))
    order = sa.case({s.value: i for i, s in enumerate((RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED,
                                                         RegistrationStatus.PENDING, RegistrationStatus.CANCELLED))},
                    value=Registration.status)
    return list(db.session.scalars(query.order_by(order, Registration.queued_at, Registration.id)))


def place_counts(booking_id: int) -> dict:
    rows = dict(db.session.execute(sa.select(Registration.status, sa.func.count(Registration.id))
                                   .where(Registration.booking_id == booking_id).group_by(Registration.status)).all())
    return {"confirmed": rows.get(RegistrationStatus.CONFIRMED, 0),
            "waitlisted": rows.get(RegistrationStatus.WAITLISTED, 0)}


def open_events_for(viewer, booking_ids) -> dict[int, dict]:
    """For the events page: each of these bookings that takes registrations, with its settings,
    the places left and whether registration is open now (two queries in all)."""
    ids = list(booking_ids)
    if not ids:
        return {}
    settings = list(db.session.scalars(sa.select(RegistrationSettings)
                                       .where(RegistrationSettings.booking_id.in_(ids))))
    if not settings:
        return {}
    counts = dict(db.session.execute(
        sa.select(Registration.booking_id, sa.func.count(Registration.id))
        .where(Registration.booking_id.in_([s.booking_id for s in settings]),
               Registration.status == RegistrationStatus.CONFIRMED).group_by(Registration.booking_id)).all())
    now = utcnow()
    return {s.booking_id: {"settings": s, "left": max(0, s.capacity - counts.get(s.booking_id, 0)),
                           "open": is_open(s, now)}
            for s in settings if may_see_event(viewer, s)}


def partners_event_ids(viewer) -> list[int]:
    """Upcoming partners-only events (shown on the events page to signed-in users only)."""
    if not signed_in(viewer):
        return []
    from booking.models import ACTIVE_BOOKING_STATUSES

    return list(db.session.scalars(
        sa.select(RegistrationSettings.booking_id).join(Booking, Booking.id == RegistrationSettings.booking_id)
        .where(RegistrationSettings.audience == Audience.PARTNERS, Booking.status.in_(ACTIVE_BOOKING_STATUSES),
               Booking.end > utcnow(), Booking.visibility != Visibility.PRIVATE)))


def mark_attendance(actor, registration: Registration, attended: bool | None) -> None:
    if not may_manage_registrations(actor, registration.booking):
        raise PermissionDenied(_("Only the organiser or the workshop staff can mark attendance."))
    if registration.status != RegistrationStatus.CONFIRMED:
        raise Conflict(_("Only people with a place can be marked as present."), code="not_confirmed")
    if registration.attended != attended:
        audit.record(actor, "registration.attendance", registration,
                     changes={"attended": [registration.attended, attended]})
        registration.attended = attended
    db.session.flush()
