"""Calendar feeds: create, list and revoke them, resolve a feed's secret token, and
collect what a feed shows.

A feed's URL carries a secret made by ``secrets.token_urlsafe(32)`` (256 bits); only
its SHA-256 is stored, so a lost URL cannot be shown again: the owner creates a new
feed. What a feed shows is decided at every fetch with the owner's *current* role and
organisation (booking/permissions.py), so a role change or a move to another
organisation takes effect at the next refresh.
"""
from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from accounts.models import Organisation, User, hash_token
from booking.equipment.permissions import can_view as can_view_reservation
from booking.models import (Booking, BookingSeries, BookingStatus, EquipmentReservation, Feed, FeedScope,
                            Purpose, ReservationStatus)
from booking.permissions import can_view_details, details_visible_clause, sees_every_booking
from samskap import audit
from samskap.ids import MAX_ID  # noqa: F401 (re-exported for booking.api/views)
from samskap.ids import parse_id
from samskap.errors import NotFound, PermissionDenied, ValidationFailed
from samskap.extensions import db
from samskap.timeutil import UTC, local_tz, utcnow

# The window a feed covers, so its cost grows with the window and not with all history.
PAST_DAYS = 90
FUTURE_MONTHS = 18
# Cancelled bookings stay (STATUS:CANCELLED) this long after cancellation, so that
# subscribed calendars learn of the cancellation instead of keeping a stale event.
CANCELLED_KEPT_DAYS = 30
MAX_ACTIVE_FEEDS = 25
NAME_MAX = 100
# last_used_at is written at most this often: a write per fetch would turn reads into lock traffic.
TOUCH_INTERVAL = timedelta(hours=1)

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{20,128}")
# Hashed and looked up in place of a malformed token, so every bad token costs the same work.
_DECOY_TOKEN = "x" * 43


# --- creating, listing and revoking ------------------------------------------------------

def _parse_scope(value) -> FeedScope | None:
    if isinstance(value, FeedScope):
        return value
    try:
        return FeedScope(str(value).strip().lower())
    except ValueError:
        return None


def create_feed(actor: User, scope, *, space_id=None, equipment_type_id=None, project_id=None,
                name: str = "") -> tuple[Feed, str]:
    """Create a feed for ``actor``; returns the row and the secret token (never stored)."""
    from spaces.services import visible_equipment_type, visible_space

    errors: dict[str, str] = {}
    parsed = _parse_scope(scope)
    if parsed is None:
        errors["scope"] = _("Choose what the feed shows: %(scopes)s.",
                            scopes=", ".join(s.value for s in FeedScope))
    elif parsed == FeedScope.ALL and not sees_every_booking(actor):
        raise PermissionDenied(_("Only workshop staff can subscribe to every booking."))
    target_space = target_type = None
    if parsed == FeedScope.SPACE:
        # Only what the actor may look at: an inactive space or type is "not there" (except for admins).
        sid = parse_id(space_id)
        target_space = visible_space(actor, space_id=sid) if sid is not None else None
        if target_space is None:
            errors["space_id"] = _("Choose an existing space.")
    if parsed == FeedScope.EQUIPMENT:
        tid = parse_id(equipment_type_id)
        target_type = visible_equipment_type(actor, tid) if tid is not None else None
        if target_type is None:
            errors["equipment_id"] = _("Choose an existing equipment type.")
    target_project = _feed_project(actor, project_id) if parsed == FeedScope.PROJECT else None
    if parsed == FeedScope.PROJECT and target_project is None:
        # Staff, and members of the project's partner organisations; for anyone else the
        # project is not there (as GET /api/v1/projects/{id} answers 404).
        errors["project_id"] = _("Choose a project your organisation takes part in.")
    clean_name = name.strip() if isinstance(name, str) else ""
    if name is not None and not isinstance(name, str):
        errors["name"] = _("The name must be text.")
    elif len(clean_name) > NAME_MAX:
        errors["name"] = _("The name can be at most %(n)d characters long.", n=NAME_MAX)
    if errors:
        raise ValidationFailed(errors)
    active = db.session.scalar(
        sa.select(sa.func.count(Feed.id)).where(Feed.owner_id == actor.id, Feed.revoked_at.is_(None))
    )
    if active >= MAX_ACTIVE_FEEDS:
        raise ValidationFailed({"scope": _("You have %(n)d active feeds, the most allowed. Revoke one first.",
                                           n=MAX_ACTIVE_FEEDS)})
    token = secrets.token_urlsafe(32)
    feed = Feed(token_hash=hash_token(token), owner_id=actor.id, scope=parsed, name=clean_name,
                space_id=target_space.id if target_space else None,
                equipment_type_id=target_type.id if target_type else None,
                project_id=target_project.id if target_project else None)
    db.session.add(feed)
    db.session.flush()
    audit.record(actor, "feed.create", feed, changes={
        "scope": [None, parsed.value], "space_id": [None, feed.space_id],
        "equipment_type_id": [None, feed.equipment_type_id], "project_id": [None, feed.project_id],
        "name": [None, clean_name]})
    return feed, token


def _feed_project(viewer: User, project_id):
    """The project ``viewer`` may subscribe to (see :func:`project_feed_allowed`), or None."""
    from booking.projects.models import Project

    pid = parse_id(project_id)
    project = db.session.get(Project, pid) if pid is not None else None
    return project if project is not None and project_feed_allowed(viewer, project.id) else None


def project_feed_allowed(owner: User, project_id: int | None) -> bool:
    """A project feed works for staff and for members of the project's partner organisations,
    asked at every fetch: an organisation that leaves the project loses its feeds with it."""
    from booking.permissions import partner_project_ids

    return project_id is not None and (sees_every_booking(owner) or project_id in partner_project_ids(owner))


def list_feeds(owner: User) -> list[Feed]:
    """The owner's feeds that still work, newest first."""
    return list(db.session.scalars(
        sa.select(Feed).where(Feed.owner_id == owner.id, Feed.revoked_at.is_(None))
        .order_by(Feed.created_at.desc(), Feed.id.desc())
    ))


def revoke_feed(actor: User, feed_id) -> Feed:
    """Revoke one of the actor's own feeds; its URL answers 404 from now on.

    Someone else's feed, a revoked one and a nonexistent one all answer the same 404."""
    fid = parse_id(feed_id)
    feed = None
    if fid is not None:
        feed = db.session.scalar(sa.select(Feed).where(Feed.id == fid, Feed.owner_id == actor.id,
                                                       Feed.revoked_at.is_(None)))
    if feed is None:
        raise NotFound(_("No such feed."))
    feed.revoked_at = utcnow()
    db.session.flush()
    audit.record(actor, "feed.revoke", feed, changes={"revoked_at": [None, feed.revoked_at]},
                 summary=f"feed {feed.id} ({feed.scope.value})")
    return feed


# --- resolving a token -----------------------------------------------------------------------

def feed_for_token(token: str, now: datetime) -> Feed | None:
    """The live feed this token opens, or None.

    Unknown, malformed and revoked tokens, a deactivated owner and a scope the owner may no
    longer use all give None after the same work: hash, one indexed lookup, a constant-time
    comparison. ``last_used_at`` is touched at most hourly; the caller commits when dirty.
    """
    well_formed = isinstance(token, str) and TOKEN_PATTERN.fullmatch(token) is not None
    digest = hash_token(token if well_formed else _DECOY_TOKEN)
    feed = db.session.scalar(sa.select(Feed).where(Feed.token_hash == digest))
    stored = feed.token_hash if feed is not None else "0" * 64
    matches = hmac.compare_digest(stored, digest)
    if not (well_formed and matches and feed is not None):
        return None
    owner = feed.owner
    usable = (feed.revoked_at is None and owner.is_active and owner.organisation.active
              and (feed.scope != FeedScope.ALL or sees_every_booking(owner))
              and (feed.scope != FeedScope.PROJECT or project_feed_allowed(owner, feed.project_id)))
    if not usable:
        return None
    if feed.last_used_at is None or now - feed.last_used_at >= TOUCH_INTERVAL:
        feed.last_used_at = now
    return feed


# --- what a feed shows -------------------------------------------------------------------------

@dataclass(frozen=True)
class FeedPeriod:
    """The period a feed covers. Anchored at local midnight so that the bytes (and the ETag)
    change at most once a day because of the passing of time."""

    start: datetime
    end: datetime
    anchor: datetime  # local midnight today, in UTC
    cancelled_since: datetime  # cancelled bookings older than this have been dropped

    @classmethod
    def around(cls, now: datetime) -> "FeedPeriod":
        tz = local_tz()
        today = now.astimezone(tz).date()
        anchor = datetime.combine(today, time(0), tzinfo=tz)
        return cls(start=(anchor - timedelta(days=PAST_DAYS)).astimezone(UTC),
                   end=(anchor + relativedelta(months=FUTURE_MONTHS)).astimezone(UTC),
                   anchor=anchor.astimezone(UTC),
                   cancelled_since=(anchor - timedelta(days=CANCELLED_KEPT_DAYS)).astimezone(UTC))

    def contains(self, start: datetime) -> bool:
        return self.start <= start < self.end


class FeedBooking(NamedTuple):
    """What a feed writes of a booking: plain values, loaded in one query together with its
    space's and organisation's names. Hashable, so the text of a booking can be cached under
    everything it is made from (calendar.py)."""

    id: int
    series_id: int | None
    original_start: datetime | None
    start: datetime
    end: datetime
    status: BookingStatus
    purpose: Purpose
    title: str
    description: str
    sequence: int
    created_at: datetime
    updated_at: datetime
    space_name: str
    space_location: str
    organisation_name: str

    @classmethod
    def of(cls, booking: Booking) -> "FeedBooking":
        return cls(booking.id, booking.series_id, booking.original_start, booking.start, booking.end,
                   booking.status, booking.purpose, booking.title, booking.description, booking.sequence,
                   booking.created_at, booking.updated_at, booking.space.name, booking.space.location,
                   booking.organisation.name)


def _feed_booking_columns():
    from spaces.models import Space

    return (Booking.id, Booking.series_id, Booking.original_start, Booking.start, Booking.end, Booking.status,
            Booking.purpose, Booking.title, Booking.description, Booking.sequence, Booking.created_at,
            Booking.updated_at, Space.name, Space.location, Organisation.name)


class ShownBooking(NamedTuple):
    booking: FeedBooking
    details: bool  # False: shown only as "Busy"


class FeedSeries(NamedTuple):
    id: int
    rrule: str
    tzid: str
    dtstart_local: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ShownReservation:
    reservation: EquipmentReservation
    details: bool


@dataclass(frozen=True)
class SeriesRows:
    """Every row of a series (whatever the feed shows), and which of them the feed shows.

    ``shown`` follows the feed's scope and status rules over the *whole* series, not only the
    window: a series in the feed is written the same way whenever it is fetched (one master
    event with its complete rule, so its UID never changes); only a series that cannot be
    written that way falls back to its rows inside the window (see calendar.py). Hashable: a
    series' text is cached under it."""

    series: FeedSeries
    rows: tuple[FeedBooking, ...]
    shown: tuple[ShownBooking, ...]  # in order of start and id


@dataclass
class FeedContents:
    title: str
    window: FeedPeriod
    singles: list[ShownBooking] = field(default_factory=list)
    series: list[SeriesRows] = field(default_factory=list)
    reservations: list[ShownReservation] = field(default_factory=list)
    watermark: datetime | None = None  # for Last-Modified; never moves backwards
    description: str | None = None     # the calendar's description (X-WR-CALDESC), when it has one


def _status_shown(window: FeedPeriod):
    """Rejected bookings never show; cancelled ones only for a while after cancellation."""
    cancelled_at = sa.func.coalesce(Booking.cancelled_at, Booking.updated_at)
    return sa.or_(Booking.status.in_((BookingStatus.PENDING, BookingStatus.CONFIRMED)),
                  sa.and_(Booking.status.in_((BookingStatus.CANCELLED, BookingStatus.NO_SHOW)),
                          cancelled_at >= window.cancelled_since))


def _booking_scope(feed: Feed | None):
    """SQL condition for the bookings a feed covers (before privacy masking)."""
    if feed is None or feed.scope == FeedScope.PUBLIC:  # the public events, once confirmed
        return sa.and_(details_visible_clause(None), Booking.status != BookingStatus.PENDING)
    owner = feed.owner
    if feed.scope == FeedScope.MINE:
        return Booking.organiser_id == owner.id
    if feed.scope == FeedScope.ORGANISATION:
        return Booking.organisation_id == owner.organisation_id
    if feed.scope == FeedScope.SPACE:
        return Booking.space_id == feed.space_id
    if feed.scope == FeedScope.PROJECT:
        return Booking.project_id == feed.project_id
    if feed.scope == FeedScope.ALL:
        return sa.true()
    return sa.false()


def _watermark(*candidates) -> datetime | None:
    values = [v for v in candidates if v is not None]
    return max(values) if values else None


def _bookings_watermark() -> datetime | None:
    # Over the whole table (an index lookup on ix_bookings_updated_at), not only over the rows
    # in scope: a booking moved to another space or made private leaves a feed's scope, and a
    # per-scope maximum would then move backwards and leave clients on a stale 304.
    return db.session.scalar(sa.select(sa.func.max(Booking.updated_at)))


def _series_watermark(contents: "FeedContents") -> datetime | None:
    # The series shown are loaded already; a series leaving the feed takes its rows along,
    # which moves the bookings' watermark.
    return _watermark(*(s.series.updated_at for s in contents.series))


def _places_watermark() -> datetime | None:
    """The latest change to what feeds name besides their own rows: spaces, equipment types,
    equipment units (asset tags) and organisations (any organisation's name, as in the staff
    "all" feed), and projects (whose partners see their bookings: a change of partners moves
    the project's ``updated_at``). One statement of aggregates over small tables, so a 304
    stays cheap."""
    from booking.projects.models import Project
    from spaces.models import EquipmentType, EquipmentUnit, Space

    latest = [sa.select(sa.func.max(model.updated_at)).scalar_subquery()
              for model in (Space, EquipmentType, EquipmentUnit, Organisation, Project)]
    return _watermark(*db.session.execute(sa.select(*latest)).one())


def feed_contents(feed: Feed, now: datetime) -> FeedContents:
    """What ``feed`` shows now, masked for its owner's current rights."""
    window = FeedPeriod.around(now)
    owner = feed.owner
    contents = FeedContents(title=feed_title(feed), window=window)
    if feed.scope == FeedScope.EQUIPMENT:
        _collect_reservations(contents, feed)
        # Over every reservation of the type (a reservation never changes its type), so the
        # watermark also moves when one leaves the window's statuses.
        extra = db.session.scalar(sa.select(sa.func.max(EquipmentReservation.updated_at))
                                  .where(EquipmentReservation.equipment_type_id == feed.equipment_type_id))
        # The location comes from a linked booking.
        extra = _watermark(extra, _bookings_watermark())
    else:
        # A "public" feed shows exactly what /feeds/public.ics shows: masked as for anyone.
        viewer = None if feed.scope == FeedScope.PUBLIC else owner
        _collect_bookings(contents, _booking_scope(feed), viewer, window)
        extra = _watermark(_bookings_watermark(), _series_watermark(contents))
        if _reservation_scope(feed) is not None:  # the owner's or organisation's equipment too
            _collect_reservations(contents, feed)
            # Over the whole table, like the bookings': a reservation leaving the scope moves it.
            extra = _watermark(extra, db.session.scalar(sa.select(sa.func.max(EquipmentReservation.updated_at))))
    contents.watermark = _watermark(extra, _places_watermark(), owner.updated_at, owner.organisation.updated_at,
                                    feed.created_at, window.anchor)
    return contents


def feed_cache_key(feed: Feed) -> tuple:
    """What a feed's text depends on besides the rows the feed generation covers: the feed
    itself and its owner's rights, organisation and language (users and feeds move no
    generation). The window and the site are added by the caller."""
    owner = feed.owner
    return (feed.id, feed.scope, feed.space_id, feed.equipment_type_id, feed.project_id, feed.name, feed.created_at,
            owner.id, owner.role, owner.organisation_id, owner.is_org_contact, owner.locale, owner.updated_at)


def public_contents(now: datetime) -> FeedContents:
    """The public events, for anyone, without a token."""
    window = FeedPeriod.around(now)
    contents = FeedContents(title=_("Public events"), window=window,
                            description=_("Public events at the health innovation workshop: seminars, open days "
                                          "and courses. Everyone is welcome."))
    _collect_bookings(contents, _booking_scope(None), None, window)
    contents.watermark = _watermark(_bookings_watermark(), _series_watermark(contents), _places_watermark(),
                                    window.anchor)
    return contents


def _collect_bookings(contents: FeedContents, scope_clause, viewer, window: FeedPeriod) -> None:
    from spaces.models import Space

    # Plain columns, not ORM objects: a feed has thousands of rows, and loading them as objects
    # cost more than writing their text (which calendar.py caches). Whether the viewer sees a
    # row's details is decided by details_visible_clause, the list form of can_view_details.
    details = sa.case((details_visible_clause(viewer), True), else_=False).label("details")

    def select(*extra):
        return (sa.select(*_feed_booking_columns(), *extra)
                .join(Space, Space.id == Booking.space_id)
                .join(Organisation, Organisation.id == Booking.organisation_id))

    # Bounded by the window on ``start`` so the indexes on (…, start) serve the query.
    rows = db.session.execute(
        select(details)
        .where(scope_clause, Booking.start >= window.start, Booking.start < window.end, _status_shown(window))
        .order_by(Booking.start, Booking.id)
    ).all()
    series_ids = sorted({row.series_id for row in rows if row.series_id is not None})
    contents.singles = [ShownBooking(FeedBooking._make(row[:-1]), bool(row.details))
                        for row in rows if row.series_id is None]
    if not series_ids:
        return
    series = {s.id: s for s in db.session.execute(
        sa.select(BookingSeries.id, BookingSeries.rrule, BookingSeries.tzid, BookingSeries.dtstart_local,
                  BookingSeries.created_at, BookingSeries.updated_at).where(BookingSeries.id.in_(series_ids)))}
    # Every row of those series in one query (a series has at most a few hundred), each with
    # whether the feed shows it by the same rules as above except the window.
    in_feed = sa.case((sa.and_(scope_clause, _status_shown(window)), True), else_=False).label("in_feed")
    by_series: dict[int, tuple[list, list]] = {sid: ([], []) for sid in series_ids}
    for row in db.session.execute(select(details, in_feed).where(Booking.series_id.in_(series_ids))
                                  .order_by(Booking.start, Booking.id)):
        booking = FeedBooking._make(row[:-2])
        all_rows, shown = by_series[booking.series_id]
        all_rows.append(booking)
        if row.in_feed:
            shown.append(ShownBooking(booking, bool(row.details)))
    contents.series = [SeriesRows(series=FeedSeries._make(series[sid]), rows=tuple(by_series[sid][0]),
                                  shown=tuple(by_series[sid][1])) for sid in series_ids]


def _reservation_scope(feed: Feed):
    """Which equipment reservations a feed shows: those of one type (an equipment feed), the
    owner's own (mine), the owner's organisation's (organisation) or one project's, made for it
    or with its bookings (project); none for other feeds."""
    if feed.scope == FeedScope.EQUIPMENT:
        return EquipmentReservation.equipment_type_id == feed.equipment_type_id
    if feed.scope == FeedScope.PROJECT:
        return sa.or_(EquipmentReservation.project_id == feed.project_id,
                      EquipmentReservation.booking_id.in_(sa.select(Booking.id)
                                                          .where(Booking.project_id == feed.project_id)))
    if feed.scope == FeedScope.MINE:
        return EquipmentReservation.user_id == feed.owner.id
    if feed.scope == FeedScope.ORGANISATION:
        return EquipmentReservation.organisation_id == feed.owner.organisation_id
    return None


def _collect_reservations(contents: FeedContents, feed: Feed) -> None:
    """The reservations a feed shows, each masked as :func:`can_view_reservation` says for the
    feed's owner (the same rule as the reservation pages)."""
    window = contents.window
    scope = _reservation_scope(feed)
    if scope is None:
        return
    cancelled_recently = sa.and_(EquipmentReservation.status == ReservationStatus.CANCELLED,
                                 EquipmentReservation.updated_at >= window.cancelled_since)
    rows = db.session.scalars(
        sa.select(EquipmentReservation)
        .options(selectinload(EquipmentReservation.allocations), selectinload(EquipmentReservation.booking))
        .where(scope,
               EquipmentReservation.start >= window.start, EquipmentReservation.start < window.end,
               sa.or_(EquipmentReservation.status.not_in((ReservationStatus.REJECTED, ReservationStatus.CANCELLED)),
                      cancelled_recently))
        .order_by(EquipmentReservation.start, EquipmentReservation.id)
    ).all()
    contents.reservations = [ShownReservation(r, can_view_reservation(feed.owner, r)) for r in rows]


def feed_title(feed: Feed) -> str:
    """The calendar's name in subscribers' calendar lists."""
    if feed.name:
        return feed.name
    if feed.scope == FeedScope.MINE:
        return _("My bookings")
    if feed.scope == FeedScope.ORGANISATION:
        return _("Bookings of %(organisation)s", organisation=feed.owner.organisation.name)
    if feed.scope == FeedScope.SPACE:
        return feed.space.name if feed.space else _("Space")
    if feed.scope == FeedScope.EQUIPMENT:
        return feed.equipment_type.name if feed.equipment_type else _("Equipment")
    if feed.scope == FeedScope.PROJECT:
        return feed.project.name if feed.project else _("Project")
    if feed.scope == FeedScope.PUBLIC:
        return _("Public events")
    return _("All bookings")


def scope_label(feed: Feed) -> str:
    """What the feed covers, for the feeds page and the API."""
    if feed.scope == FeedScope.MINE:
        return _("My bookings")
    if feed.scope == FeedScope.ORGANISATION:
        return _("My organisation's bookings")
    if feed.scope == FeedScope.SPACE:
        return _("Space: %(name)s", name=feed.space.name if feed.space else "?")
    if feed.scope == FeedScope.EQUIPMENT:
        return _("Equipment: %(name)s", name=feed.equipment_type.name if feed.equipment_type else "?")
    if feed.scope == FeedScope.PROJECT:
        return _("Project: %(name)s", name=feed.project.name if feed.project else "?")
    if feed.scope == FeedScope.PUBLIC:
        return _("Public events")
    return _("All bookings")


# --- one booking as a calendar file ------------------------------------------------------------

def booking_for_download(viewer: User, booking_id: int) -> Booking:
    """A booking the viewer may see, for ``/bookings/<id>.ics``; 404 otherwise (also when rejected)."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.status == BookingStatus.REJECTED or not can_view_details(viewer, booking):
        raise NotFound(_("No such booking."))
    return booking

