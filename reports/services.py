"""Utilisation and co-creation reports, aggregated in SQL.

What counts (also in the README and the OpenAPI description):

* **Bookings** count as use while ``pending`` or ``confirmed``; ``cancelled`` and ``rejected``
  count nothing. Hours are the booking's real ``start``-``end`` time (not the cleaning buffer)
  inside the period, clipped at the period's local midnights; a booking across a DST change counts
  the hours that really passed.
* **Sessions**: bookings with any time inside the row's period (a booking across a bucket boundary
  is a session in both buckets).
* **Space utilisation**: booked hours / opening hours in the period (weekly opening hours of
  ``spaces/hours.py``; no opening hours = open around the clock; less the closures of the space
  and of the whole workshop).
* **Equipment**: unit-days of reservations that are ``pending``, ``confirmed``, ``checked_out`` or
  ``returned`` (quantity × reserved days inside the period) / unit-days available (units not
  retired today × days in the period).
* **Share**: the row's hours (or unit-days) / the total of all rows in the same period.
* **Organisation contacts** see their own organisation's bookings and reservations only.
* **Sector pairs** (``by=sector_pair``): a *session* is one booking; the organisations that took
  part in it come from :data:`PARTICIPATION_SOURCES`. Today the data model holds exactly one
  organisation per booking (the booking's own; equipment reserved for a booking always carries
  the booking's organisation), so every session has one sector and the cross-sector cells are
  zero until a source of further participants (projects, registrations) registers itself with
  :func:`register_participation_source`. The report still counts, per sector, the distinct
  organisations and their sessions and hours.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import combinations_with_replacement
import json

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from flask_babel import gettext as _

from accounts.forms import KIND_LABELS
from accounts.models import Organisation, OrganisationKind
from accounts.permissions import is_staff
from booking.labels import PURPOSE_LABELS
from booking.models import ACTIVE_BOOKING_STATUSES, Booking, EquipmentReservation, ReservationStatus
from reports.periods import Bucket, Period, check_bucket_count
from reports.sql import bucket_table, clipped_seconds, epoch, epoch_seconds, greatest, least
from samskap.errors import PermissionDenied, ValidationFailed
from samskap.extensions import db
from samskap.periods import overlaps_clause, ranges_overlap
from samskap.timeutil import local_tz
from spaces.hours import open_intervals
from spaces.models import EquipmentType, EquipmentUnit, Space, UnitStatus

BOOKING_DIMENSIONS = ("space", "organisation", "organisation_kind", "purpose")
DIMENSIONS = BOOKING_DIMENSIONS + ("equipment_type", "sector_pair")
TIME_DIMENSIONS = ("day", "week", "month", "year")
COUNTED_RESERVATIONS = (ReservationStatus.PENDING, ReservationStatus.CONFIRMED, ReservationStatus.CHECKED_OUT,
                        ReservationStatus.RETURNED)
SECTORS = tuple(kind.value for kind in OrganisationKind)


# --- who may see what -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """The bookings a report may count: everything, or one organisation's."""

    organisation_id: int | None = None


def report_scope(actor, organisation_id: int | None = None) -> Scope:
    """Staff and administrators see every organisation (and may narrow to one); an organisation's
    contacts see their own organisation only; everyone else is refused."""
    if is_staff(actor):
        if organisation_id is not None and db.session.get(Organisation, organisation_id) is None:
            raise ValidationFailed({"organisation_id": _("No such organisation.")})
        return Scope(organisation_id)
    if actor is not None and getattr(actor, "is_authenticated", False) and actor.is_org_contact:
        if organisation_id not in (None, actor.organisation_id):
            raise PermissionDenied(_("You can see reports for your own organisation only."))
        return Scope(actor.organisation_id)
    raise PermissionDenied(_("Reports are for workshop staff and organisation contacts."))


def can_view_reports(user) -> bool:
    return is_staff(user) or bool(getattr(user, "is_authenticated", False) and user.is_org_contact)


# --- participation (sector pairs) -------------------------------------------------------------------

def _booking_organisations(sessions):
    """The booking's own organisation."""
    return sa.select(sessions.c.id.label("booking_id"), sessions.c.organisation_id.label("organisation_id"))


# Each source is a function taking the sessions being counted (a subquery of bookings with ``id`` and
# ``organisation_id``) and returning a SELECT of (booking_id, organisation_id) for them: who took part
# in a session. Projects' partner organisations or event registrations add theirs with
# register_participation_source(); the sector report takes the UNION of all.
PARTICIPATION_SOURCES = [_booking_organisations]


def _project_partners(sessions):
    """Every partner organisation of the project a session was booked for (booking.projects)."""
    from booking.projects.models import ProjectOrganisation

    return (sa.select(sessions.c.id.label("booking_id"), ProjectOrganisation.organisation_id.label("organisation_id"))
            .select_from(sessions)
            .join(Booking, Booking.id == sessions.c.id)
            .join(ProjectOrganisation, ProjectOrganisation.project_id == Booking.project_id))


def register_participation_source(source) -> None:
    if source not in PARTICIPATION_SOURCES:
        PARTICIPATION_SOURCES.append(source)


def participation(sessions, name: str = "participation", *, cte: bool = False):
    selects = [source(sessions) for source in PARTICIPATION_SOURCES]
    query = selects[0] if len(selects) == 1 else sa.union(*selects)
    return query.cte(name) if cte else query.subquery(name)


# --- results ---------------------------------------------------------------------------------------

@dataclass
class Row:
    key: str
    label: str
    amount: float  # hours, or unit-days for equipment
    sessions: int
    share: float = 0.0
    period: str | None = None
    capacity: float | None = None  # opening hours, or unit-days available
    utilisation: float | None = None


@dataclass
class Report:
    by: str
    group: str | None
    period: Period
    unit: str  # "hours" or "unit_days"
    rows: list[Row]
    buckets: list[Bucket]
    extra: dict = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(r.amount for r in self.rows)

    @property
    def total_sessions(self) -> int:
        return sum(r.sessions for r in self.rows)


# --- bookings --------------------------------------------------------------------------------------

def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _room_to_aggregate() -> None:
    """A year of bookings is a few hundred thousand rows: let PostgreSQL hash and sort them in memory
    (for this transaction only) rather than spilling to disk at the default 4 MB."""
    if _postgresql():
        db.session.execute(sa.text("SET LOCAL work_mem = '64MB'"))


def active_between(start: datetime, end: datetime) -> list:
    """Pending or confirmed bookings with time inside [start, end). On PostgreSQL the same overlap is
    also asked of the GiST index on ``tstzrange(start, blocked_until)`` (migration 0002, partial on
    these two statuses, written as literals so the planner can match the index's predicate): the
    database then reads the period's bookings only, not the whole history."""
    statuses = ", ".join(f"'{status.value}'" for status in ACTIVE_BOOKING_STATUSES)  # 'pending', 'confirmed'
    conditions = [sa.text(f"bookings.status IN ({statuses})"), overlaps_clause(Booking.start, Booking.end, start, end)]
    if _postgresql():
        conditions.append(ranges_overlap(Booking.start, Booking.blocked_until, start, end))
    return conditions


def _active_in(period: Period) -> list:
    return active_between(period.start, period.end)


def _counted_bookings(period: Period, scope: Scope):
    conditions = _active_in(period)
    if scope.organisation_id is not None:
        conditions.append(Booking.organisation_id == scope.organisation_id)
    return conditions


def _longest_booking_seconds(period: Period, scope: Scope) -> float:
    longest = db.session.scalar(sa.select(sa.func.max(epoch_seconds(Booking.end) - epoch_seconds(Booking.start)))
                                .where(*_counted_bookings(period, scope)))
    return float(longest or 0) + 1.0


def _buckets_for(period: Period, grouping: str | None, scope: Scope):
    buckets = period.buckets(grouping)
    # With several buckets each bucket must find its bookings by an index. PostgreSQL asks the GiST
    # index on the blocked period (see _bucket_overlap); SQLite scans ``start`` from the bucket's
    # start minus the longest counted booking. With one bucket the period condition alone finds them.
    reach = _longest_booking_seconds(period, scope) if len(buckets) > 1 and not _postgresql() else None
    return buckets, bucket_table(buckets, lower_bound_seconds=reach or 0.0), reach is not None


def _bucket_overlap(k, bounded: bool) -> list:
    """Join condition: the booking has time inside bucket ``k``."""
    conditions = [overlaps_clause(Booking.start, Booking.end, k.c.start_at, k.c.end_at)]
    if bounded:
        conditions.append(Booking.start >= k.c.low_at)
    elif _postgresql():
        conditions.append(ranges_overlap(Booking.start, Booking.blocked_until, k.c.start_at, k.c.end_at))
    return conditions


def _dimension(by: str):
    """(key, label) expressions and the joins they need."""
    if by == "space":
        return Space.id, Space.name, [Space]
    if by == "organisation":
        return Organisation.id, Organisation.name, [Organisation]
    if by == "organisation_kind":
        return Organisation.kind, None, [Organisation]
    if by == "purpose":
        return Booking.purpose, None, []
    if by == "all":
        return sa.literal("all"), None, []
    raise ValueError(by)


_TRUNC_STEP = {"day": "1 day", "week": "1 week", "month": "1 month", "year": "1 year"}


def _natural_start(bucket: Bucket, grouping: str) -> datetime:
    first = bucket.first_day
    if grouping == "week":
        first -= timedelta(days=first.weekday())
    elif grouping == "month":
        first = first.replace(day=1)
    elif grouping == "year":
        first = first.replace(month=1, day=1)
    return datetime.combine(first, datetime.min.time())


def _local_buckets_of_each_booking(grouping: str, k):
    """PostgreSQL: each booking's local days (weeks, months, years), from ``date_trunc`` of its start
    in local time to its last instant, joined to the bucket table on their local start. One pass
    over the period's bookings instead of one index probe per bucket; clipping to the bucket's UTC
    bounds still gives real hours on DST days."""
    tz = local_tz().key
    local_start = sa.func.date_trunc(grouping, sa.func.timezone(tz, Booking.start))
    local_last = sa.func.timezone(tz, Booking.end - sa.text("interval '1 microsecond'"))
    series = (sa.func.generate_series(local_start, local_last, sa.text(f"interval '{_TRUNC_STEP[grouping]}'"))
              .table_valued("local_start").render_derived(name="local_buckets"))  # a function in FROM is lateral
    return series, k.c.natural == series.c.local_start


def booked_seconds(period: Period, by: str, grouping: str | None, scope: Scope):
    """Rows (bucket index, key, label, seconds, sessions) for bookings."""
    buckets = period.buckets(grouping)
    key, label, joins = _dimension(by)
    if grouping is not None and _postgresql():
        k = bucket_table(buckets, natural_starts=[_natural_start(b, grouping) for b in buckets])
        series, on_bucket = _local_buckets_of_each_booking(grouping, k)
        query = sa.select().select_from(Booking).join(series, sa.true()).join(k, on_bucket)
    else:
        buckets, k, bounded = _buckets_for(period, grouping, scope)
        query = sa.select().select_from(Booking).join(k, sa.and_(*_bucket_overlap(k, bounded)))
    columns = [k.c.idx, key.label("key"), (label if label is not None else sa.null()).label("label"),
               sa.func.sum(clipped_seconds(Booking.start, Booking.end, k)).label("seconds"),
               sa.func.count().label("sessions")]  # one row per (bucket, booking)
    query = query.add_columns(*columns)
    for table in joins:
        if table is Space:
            query = query.join(Space, Space.id == Booking.space_id)
        elif table is Organisation:
            query = query.join(Organisation, Organisation.id == Booking.organisation_id)
    query = query.where(*_counted_bookings(period, scope)).group_by(*(c for c in (k.c.idx, key, label)
                                                                      if c is not None))
    return buckets, db.session.execute(query).all()


def _key_text(value) -> str:
    return str(getattr(value, "value", value))


def _label_for(by: str, key: str, label) -> str:
    if by == "organisation_kind":
        return str(KIND_LABELS.get(key, key))
    if by == "purpose":
        return str(PURPOSE_LABELS.get(key, key))
    if by == "all":
        return _("All spaces")
    return str(label)


# --- opening hours -----------------------------------------------------------------------------------

def opening_seconds_by_space(period: Period, space_ids=None) -> dict[int, dict[date, float]]:
    """Per space, per local day of the period: seconds open (weekly opening hours, less the closures
    of the space and of the whole workshop). Spaces with the same hours share one computation."""
    query = sa.select(Space.id, Space.opening_hours, Space.active)
    rows = db.session.execute(query).all()
    tz = local_tz()
    intervals: dict[str, dict[date, list]] = {}
    open_seconds: dict[str, dict[date, float]] = {}
    closures = _closures_by_space(period)
    result = {}
    for space_id, hours, active in rows:
        if space_ids is not None and space_id not in space_ids:
            continue
        if space_ids is None and not active:
            continue
        marker = json.dumps(hours, sort_keys=True)
        if marker not in intervals:
            intervals[marker] = {day: open_intervals(hours, day, tz=tz) for day in period.days_iter()}
            open_seconds[marker] = {day: sum((e - s).total_seconds() for s, e in spans)
                                    for day, spans in intervals[marker].items()}
        shut = _merged(closures.get(None, []) + closures.get(space_id, []))
        if not shut:  # the common case: the shared figures as they are
            result[space_id] = open_seconds[marker]
            continue
        result[space_id] = {day: sum((e - s).total_seconds() - _overlap_seconds(s, e, shut) for s, e in spans)
                            for day, spans in intervals[marker].items()}
    return result


def _closures_by_space(period: Period) -> dict[int | None, list[tuple[datetime, datetime]]]:
    from spaces.models import Closure

    found: dict[int | None, list] = defaultdict(list)
    for space_id, start, end in db.session.execute(
            sa.select(Closure.space_id, Closure.start, Closure.end)
            .where(overlaps_clause(Closure.start, Closure.end, period.start, period.end))):
        found[space_id].append((start, end))
    return found


def _merged(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[list[datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:  # touching spans join too: a merge, not the overlap rule
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def _overlap_seconds(start: datetime, end: datetime, spans) -> float:
    return sum(max(0.0, (min(end, e) - max(start, s)).total_seconds()) for s, e in spans)


def _bucket_sum(per_day: dict[date, float], bucket: Bucket) -> float:
    total = 0.0
    day = bucket.first_day
    while day <= bucket.last_day:
        total += per_day.get(day, 0.0)
        day += timedelta(days=1)
    return total


# --- the reports -------------------------------------------------------------------------------------

def utilisation(actor, period: Period, by: str, grouping: str | None = None,
                organisation_id: int | None = None) -> Report:
    """The utilisation report: ``by`` a dimension (``space``, ``equipment_type``, ``organisation``,
    ``organisation_kind``, ``purpose``, ``sector_pair``) or over time (``day``, ``week``, ``month``,
    ``year``: all spaces together); ``grouping`` adds a period to each dimension row."""
    scope = report_scope(actor, organisation_id)
    if by in TIME_DIMENSIONS:
        if grouping not in (None, by):
            raise ValidationFailed({"group": _("'group' cannot be combined with a time 'by'.")})
        grouping, dimension = by, "all"
    elif by in DIMENSIONS:
        dimension = by
    else:
        raise ValidationFailed({"by": _("'by' must be one of: %(choices)s.",
                                        choices=", ".join(DIMENSIONS + TIME_DIMENSIONS))})
    check_bucket_count(period, grouping)
    _room_to_aggregate()
    if dimension == "equipment_type":
        return _equipment_report(period, grouping, scope)
    if dimension == "sector_pair":
        return _sector_report(period, grouping, scope)
    return _booking_report(period, by, dimension, grouping, scope)


def _booking_report(period: Period, by: str, dimension: str, grouping: str | None, scope: Scope) -> Report:
    buckets, rows = booked_seconds(period, dimension, grouping, scope)
    found = {}
    for idx, key, label, seconds, sessions in rows:
        key = _key_text(key)
        found[(idx, key)] = Row(key=key, label=_label_for(dimension, key, label), amount=(seconds or 0) / 3600,
                                sessions=sessions, period=buckets[idx].key if grouping else None)
    if dimension in ("space", "all"):
        opening = opening_seconds_by_space(period)
        if dimension == "space":
            # Every active space has a row, booked or not: an idle room is the news.
            for space_id, name in db.session.execute(sa.select(Space.id, Space.name).where(Space.active)):
                for idx, bucket in enumerate(buckets):
                    found.setdefault((idx, str(space_id)), Row(key=str(space_id), label=name, amount=0.0, sessions=0,
                                                               period=bucket.key if grouping else None))
            booked_ids = {int(key) for _idx, key in found}
            missing = booked_ids - set(opening)
            if missing:  # booked spaces since deactivated still have their hours
                opening.update(opening_seconds_by_space(period, missing))
        for (idx, key), row in found.items():
            if dimension == "space":
                capacity = _bucket_sum(opening.get(int(key), {}), buckets[idx])
            else:
                capacity = sum(_bucket_sum(days, buckets[idx]) for days in opening.values())
            row.capacity = capacity / 3600
            row.utilisation = (row.amount / row.capacity) if row.capacity else None
        if dimension == "all":
            for idx, bucket in enumerate(buckets):
                if (idx, "all") not in found:
                    capacity = sum(_bucket_sum(days, bucket) for days in opening.values()) / 3600
                    found[(idx, "all")] = Row(key="all", label=_("All spaces"), amount=0.0, sessions=0,
                                              period=bucket.key, capacity=capacity, utilisation=0.0 if capacity else None)
    if dimension == "organisation_kind":
        for idx, bucket in enumerate(buckets):
            for kind in SECTORS:
                found.setdefault((idx, kind), Row(key=kind, label=_label_for(dimension, kind, None), amount=0.0,
                                                  sessions=0, period=bucket.key if grouping else None))
    if dimension == "purpose":
        for idx, bucket in enumerate(buckets):
            for purpose in PURPOSE_LABELS:
                found.setdefault((idx, purpose), Row(key=purpose, label=_label_for(dimension, purpose, None),
                                                     amount=0.0, sessions=0, period=bucket.key if grouping else None))
    result = _ordered(found, dimension)
    _shares(result)
    return Report(by=by, group=grouping, period=period, unit="hours", rows=result, buckets=buckets)


def _ordered(found: dict, dimension: str) -> list[Row]:
    order = {"organisation_kind": list(SECTORS), "purpose": list(PURPOSE_LABELS)}.get(dimension)

    def sort_key(item):
        (idx, key), row = item
        if order is not None:
            return (idx, order.index(key) if key in order else len(order), "")
        return (idx, 0, row.label.casefold())

    return [row for _k, row in sorted(found.items(), key=sort_key)]


def _shares(rows: list[Row]) -> None:
    totals = defaultdict(float)
    for row in rows:
        totals[row.period] += row.amount
    for row in rows:
        row.share = row.amount / totals[row.period] if totals[row.period] else 0.0


def _equipment_report(period: Period, grouping: str | None, scope: Scope) -> Report:
    buckets = period.buckets(grouping)
    k = bucket_table(buckets)
    r = EquipmentReservation
    conditions = [r.status.in_(COUNTED_RESERVATIONS), overlaps_clause(r.start, r.end, period.start, period.end)]
    if scope.organisation_id is not None:
        conditions.append(r.organisation_id == scope.organisation_id)
    query = (sa.select(k.c.idx, EquipmentType.id, EquipmentType.name,
                       sa.func.sum(r.quantity * clipped_seconds(r.start, r.end, k)).label("seconds"),
                       sa.func.count())  # one row per (bucket, reservation)
             .select_from(r).join(k, overlaps_clause(r.start, r.end, k.c.start_at, k.c.end_at))
             .join(EquipmentType, EquipmentType.id == r.equipment_type_id)
             .where(*conditions).group_by(k.c.idx, EquipmentType.id, EquipmentType.name))
    found = {}
    for idx, type_id, name, seconds, sessions in db.session.execute(query):
        found[(idx, str(type_id))] = Row(key=str(type_id), label=name, amount=(seconds or 0) / 86400, sessions=sessions,
                                         period=buckets[idx].key if grouping else None)
    units = dict(db.session.execute(
        sa.select(EquipmentType.id, sa.func.count(EquipmentUnit.id))
        .select_from(EquipmentType).outerjoin(EquipmentUnit, sa.and_(EquipmentUnit.equipment_type_id == EquipmentType.id,
                                                                     EquipmentUnit.status != UnitStatus.RETIRED))
        .where(EquipmentType.active).group_by(EquipmentType.id)).all())
    names = dict(db.session.execute(sa.select(EquipmentType.id, EquipmentType.name).where(EquipmentType.active)).all())
    for type_id, name in names.items():
        for idx, bucket in enumerate(buckets):
            found.setdefault((idx, str(type_id)), Row(key=str(type_id), label=name, amount=0.0, sessions=0,
                                                      period=bucket.key if grouping else None))
    for (idx, key), row in found.items():
        row.capacity = units.get(int(key), 0) * buckets[idx].seconds / 86400
        row.utilisation = row.amount / row.capacity if row.capacity else None
    rows = _ordered(found, "equipment_type")
    _shares(rows)
    return Report(by="equipment_type", group=grouping, period=period, unit="unit_days", rows=rows, buckets=buckets)


def _sector_report(period: Period, grouping: str | None, scope: Scope) -> Report:
    """The co-creation matrix: for each pair of sectors (organisation kinds, a pair of the same
    kind meaning two different organisations of that kind), the sessions in which both took part
    and those sessions' hours. ``extra`` holds, per sector, its distinct organisations, sessions
    and hours, and the number of sessions with two or more sectors."""
    buckets, k, bounded = _buckets_for(period, grouping, scope)
    counted = sa.select(Booking.id, Booking.organisation_id, Booking.start, Booking.end).where(*_active_in(period))
    if scope.organisation_id is not None:  # the sessions the organisation took part in
        everyone = participation(counted.subquery("all_sessions"), "everyone")
        counted = counted.where(Booking.id.in_(sa.select(everyone.c.booking_id)
                                               .where(everyone.c.organisation_id == scope.organisation_id)))
    ses = counted.cte("sessions")
    join_on = [overlaps_clause(ses.c.start, ses.c.end, k.c.start_at, k.c.end_at)]
    if bounded:
        join_on.append(ses.c.start >= k.c.low_at)
    # Each session in each bucket, with its seconds there: computed once, read by every part below
    # (one statement, so the bookings are read once).
    timed = (sa.select(k.c.idx, ses.c.id.label("booking_id"),
                       clipped_seconds(ses.c.start, ses.c.end, k).label("seconds"))
             .select_from(ses).join(k, sa.and_(*join_on))).cte("timed")
    p = participation(ses, "p", cte=True)
    text = sa.String(32)
    # Only sessions with two or more organisations can pair sectors: the self-join reads those alone.
    several = (sa.select(p.c.booking_id).group_by(p.c.booking_id)
               .having(sa.func.count() >= 2).cte("several"))  # the UNION made (booking, organisation) distinct
    pm = (sa.select(p.c.booking_id, p.c.organisation_id).join(several, several.c.booking_id == p.c.booking_id)
          .cte("participants_of_several"))
    pm2 = pm.alias("pm2")
    o1, o2 = aliased(Organisation), aliased(Organisation)
    kind_a = sa.case((o1.kind <= o2.kind, o1.kind), else_=o2.kind)
    kind_b = sa.case((o1.kind <= o2.kind, o2.kind), else_=o1.kind)
    pairs = (sa.select(pm.c.booking_id, sa.cast(kind_a, text).label("kind_a"), sa.cast(kind_b, text).label("kind_b"))
             .distinct().select_from(pm).join(pm2, sa.and_(pm.c.booking_id == pm2.c.booking_id,
                                                            pm.c.organisation_id < pm2.c.organisation_id))
             .join(o1, o1.id == pm.c.organisation_id).join(o2, o2.id == pm2.c.organisation_id)).subquery("pairs")
    per_kind = (sa.select(p.c.booking_id, sa.cast(Organisation.kind, text).label("kind")).distinct()
                .select_from(p).join(Organisation, Organisation.id == p.c.organisation_id)).cte("per_kind")
    multi_sector = (sa.select(per_kind.c.booking_id).join(several, several.c.booking_id == per_kind.c.booking_id)
                    .group_by(per_kind.c.booking_id).having(sa.func.count() >= 2).subquery("multi_sector"))
    none = sa.null()
    parts = sa.union_all(
        sa.select(sa.literal("pair", text).label("part"), timed.c.idx, pairs.c.kind_a.label("a"),
                  pairs.c.kind_b.label("b"), sa.func.sum(timed.c.seconds).label("seconds"), sa.func.count().label("n"))
        .select_from(timed).join(pairs, pairs.c.booking_id == timed.c.booking_id)
        .group_by(timed.c.idx, pairs.c.kind_a, pairs.c.kind_b),
        # per sector: sessions and hours (a session counts once per sector) ...
        sa.select(sa.literal("kind", text), timed.c.idx, per_kind.c.kind, sa.cast(none, text),
                  sa.func.sum(timed.c.seconds), sa.func.count())
        .select_from(timed).join(per_kind, per_kind.c.booking_id == timed.c.booking_id)
        .group_by(timed.c.idx, per_kind.c.kind),
        # ... and its distinct organisations
        sa.select(sa.literal("organisations", text), timed.c.idx, sa.cast(Organisation.kind, text), sa.cast(none, text),
                  sa.cast(none, sa.Float()), sa.func.count(sa.distinct(Organisation.id)))
        .select_from(timed).join(p, p.c.booking_id == timed.c.booking_id)
        .join(Organisation, Organisation.id == p.c.organisation_id).group_by(timed.c.idx, Organisation.kind),
        # sessions in which two or more sectors took part
        sa.select(sa.literal("multi", text), timed.c.idx, sa.cast(none, text), sa.cast(none, text),
                  sa.cast(none, sa.Float()), sa.func.count())
        .select_from(timed).join(multi_sector, multi_sector.c.booking_id == timed.c.booking_id).group_by(timed.c.idx),
    )
    pair_rows, sector_rows, organisations, multi = [], [], {}, {}
    for part, idx, a, b, secs, n in db.session.execute(parts):
        if part == "pair":
            pair_rows.append((idx, a, b, secs, n))
        elif part == "kind":
            sector_rows.append((idx, a, n, secs))
        elif part == "organisations":
            organisations[(idx, a)] = n
        else:
            multi[idx] = n

    found = {}
    for idx, a, b, secs, sessions in pair_rows:
        a, b = sorted((_key_text(a), _key_text(b)), key=SECTORS.index)  # SQL orders the pair alphabetically
        found[(idx, f"{a}+{b}")] = Row(key=f"{a}+{b}", label=_pair_label(a, b), amount=(secs or 0) / 3600,
                                       sessions=sessions, period=buckets[idx].key if grouping else None)
    for idx, bucket in enumerate(buckets):
        for a, b in combinations_with_replacement(SECTORS, 2):
            found.setdefault((idx, f"{a}+{b}"), Row(key=f"{a}+{b}", label=_pair_label(a, b), amount=0.0, sessions=0,
                                                    period=bucket.key if grouping else None))
    order = [f"{a}+{b}" for a, b in combinations_with_replacement(SECTORS, 2)]
    rows = [row for _k, row in sorted(found.items(), key=lambda item: (item[0][0], order.index(item[0][1])))]
    _shares(rows)
    sectors = []
    for idx, kind, sessions, secs in sector_rows:
        kind = _key_text(kind)
        sectors.append({"period": buckets[idx].key if grouping else None, "key": kind,
                        "label": str(KIND_LABELS.get(kind, kind)), "organisations": organisations.get((idx, kind), 0),
                        "sessions": sessions, "hours": round((secs or 0) / 3600, 4)})
    extra = {"sectors": sorted(sectors, key=lambda s: (s["period"] or "", SECTORS.index(s["key"]))),
             "multi_sector_sessions": [{"period": buckets[idx].key if grouping else None, "sessions": multi.get(idx, 0)}
                                       for idx in range(len(buckets))],
             "counts": _("A session is one booking; its sectors are the kinds of the organisations taking part in it. "
                         "Today each booking has one organisation, so sessions across sectors appear once projects "
                         "or registrations add participants.")}
    return Report(by="sector_pair", group=grouping, period=period, unit="hours", rows=rows, buckets=buckets,
                  extra=extra)


def _pair_label(a: str, b: str) -> str:
    return f"{KIND_LABELS.get(a, a)} – {KIND_LABELS.get(b, b)}"


def heat_map(actor, period: Period, organisation_id: int | None = None) -> list[list[float]]:
    """Booked hours by local weekday (0 = Monday) and local hour of day, over the period.

    SQL sums each booking's seconds per local day and per hour slot counted from that day's
    local midnight; here each (day, slot) is named by its local weekday and hour, so on the day
    the clocks go back both 02:00 hours land on 02, and on the day they go forward nothing lands
    on 02."""
    scope = report_scope(actor, organisation_id)
    check_bucket_count(period, "day")
    _room_to_aggregate()
    if _postgresql():
        return _heat_map_postgresql(period, scope)
    buckets, k, bounded = _buckets_for(period, "day", scope)
    slots = sa.union_all(*[sa.select(sa.literal(o, sa.Integer()).label("o")) for o in range(25)]).cte("hour_slots")
    slot_start = k.c.s + slots.c.o * 3600.0
    slot_end = least(slot_start + 3600.0, k.c.e)
    start, end = epoch_seconds(Booking.start), epoch_seconds(Booking.end)
    join_on = _bucket_overlap(k, bounded)
    query = (sa.select(k.c.idx, slots.c.o, sa.func.sum(greatest(least(end, slot_end) - greatest(start, slot_start), 0.0)))
             .select_from(Booking).join(k, sa.and_(*join_on))
             .join(slots, sa.and_(overlaps_clause(slot_start, slot_end, start, end), slot_start < k.c.e))
             .where(*_counted_bookings(period, scope)).group_by(k.c.idx, slots.c.o))
    grid = [[0.0] * 24 for _ in range(7)]
    tz = local_tz()
    for idx, offset, seconds in db.session.execute(query):
        bucket = buckets[idx]
        instant = bucket.start + timedelta(hours=offset)
        if instant >= bucket.end:
            continue
        grid[bucket.first_day.weekday()][instant.astimezone(tz).hour] += (seconds or 0) / 3600
    return grid


def _heat_map_postgresql(period: Period, scope: Scope) -> list[list[float]]:
    """PostgreSQL: each booking's UTC hours (``generate_series``; the local zone's offsets are whole
    hours, so a UTC hour is a local hour), clipped to the booking and the period, grouped by the
    local weekday and hour of the slot: one pass over the period's bookings."""
    tz = local_tz().key
    slot = (sa.func.generate_series(sa.func.date_trunc("hour", Booking.start, "UTC"),
                                    Booking.end - sa.text("interval '1 microsecond'"), sa.text("interval '1 hour'"))
            .table_valued("slot_start").render_derived(name="hour_slots"))
    slot_start = epoch_seconds(slot.c.slot_start)
    seconds = greatest(least(epoch_seconds(Booking.end), slot_start + 3600.0, epoch(period.end))
                       - greatest(epoch_seconds(Booking.start), slot_start, epoch(period.start)), 0.0)
    local = sa.func.timezone(tz, slot.c.slot_start)
    weekday = sa.cast(sa.func.extract("isodow", local), sa.Integer()) - 1
    hour = sa.cast(sa.func.extract("hour", local), sa.Integer())
    query = (sa.select(weekday, hour, sa.func.sum(seconds)).select_from(Booking).join(slot, sa.true())
             .where(*_counted_bookings(period, scope)).group_by(weekday, hour))
    grid = [[0.0] * 24 for _ in range(7)]
    for day, hour_of_day, total in db.session.execute(query):
        grid[day][hour_of_day] += (total or 0) / 3600
    return grid
