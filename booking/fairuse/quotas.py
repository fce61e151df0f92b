"""Quotas: how much of the shared rooms one organisation may hold.

A quota limits one organisation (``organisation_id``) or each organisation of a kind
(``organisation_kind``; every company has the limit for itself), in one space, in every space
of a kind, or everywhere; with ``max_hours`` per period and/or ``max_active`` bookings not yet
over at once.

Periods are counted in the site's time zone (Europe/Oslo): a **week** runs from Monday 00:00
to the next Monday 00:00, a **month** is the calendar month, and a **term** is a half-year,
1 January to 1 July or 1 July to 1 January. A booking's hours count in the period(s) it
overlaps, split at the boundary. Only pending and confirmed bookings count: cancelled,
rejected and released no-shows do not.

Concurrency: two requests that each fit a limit must not pass it together. On PostgreSQL each
booking request takes a transaction-scoped advisory lock per (quota, organisation) before it
counts, in a fixed order, so the second request counts after the first has committed (or rolled
back). SQLite serialises writers already (``BEGIN IMMEDIATE``, see :mod:`samskap.database`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import format_decimal, gettext as _
from flask_babel import lazy_gettext as _l

from accounts.models import Organisation, OrganisationKind
from accounts.permissions import is_admin, is_staff
from booking.fairuse.models import Quota, QuotaPeriod
from booking.models import ACTIVE_BOOKING_STATUSES, Booking
from samskap import audit
from samskap.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from samskap.extensions import db
from samskap.ids import MAX_ID
from samskap.periods import overlaps_clause
from samskap.timeutil import UTC, local_tz
from spaces.models import Space, SpaceKind

MAX_HOURS_LIMIT = Decimal("10000")
MAX_ACTIVE_LIMIT = 10000
QUOTA_FIELDS = ("organisation_id", "organisation_kind", "space_id", "space_kind", "period", "max_hours", "max_active")
# Namespace of the advisory locks taken here (another area's locks use other keys).
LOCK_NAMESPACE = "samskap.quota"

PERIOD_LABELS = {
    QuotaPeriod.WEEK: _l("per week"),
    QuotaPeriod.MONTH: _l("per month"),
    QuotaPeriod.TERM: _l("per term (January–June or July–December)"),
}


class QuotaExceeded(Conflict):
    code = "quota_exceeded"


# --- periods -----------------------------------------------------------------------------------

def period_bounds(period: QuotaPeriod, moment: datetime) -> tuple[datetime, datetime]:
    """The UTC bounds ``[start, end)`` of the local week, month or term holding ``moment``."""
    tz = local_tz()
    day = moment.astimezone(tz).date()
    if period == QuotaPeriod.WEEK:
        first = day - timedelta(days=day.weekday())
        after = first + timedelta(days=7)
    elif period == QuotaPeriod.MONTH:
        first = day.replace(day=1)
        after = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    else:
        first = date(day.year, 1 if day.month <= 6 else 7, 1)
        after = date(day.year, 7, 1) if day.month <= 6 else date(day.year + 1, 1, 1)
    return (datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC),
            datetime.combine(after, time(0), tzinfo=tz).astimezone(UTC))


def _pieces(period: QuotaPeriod, start: datetime, end: datetime):
    """``[start, end)`` split at the period boundaries: ``(period_start, hours)`` pieces."""
    pieces = []
    cursor = start
    while cursor < end:
        bucket_start, bucket_end = period_bounds(period, cursor)
        piece_end = min(end, bucket_end)
        pieces.append((bucket_start, bucket_end, Decimal((piece_end - cursor).total_seconds()) / 3600))
        cursor = piece_end
    return pieces


# --- which quotas, and what is used -----------------------------------------------------------

def binding_clause(organisation: Organisation, space: Space):
    """SQL condition: the quotas that bind ``organisation`` when it books ``space``."""
    return sa.and_(
        sa.or_(Quota.organisation_id == organisation.id, Quota.organisation_kind == organisation.kind),
        sa.or_(Quota.space_id.is_(None), Quota.space_id == space.id),
        sa.or_(Quota.space_kind_id.is_(None), Quota.space_kind_id == space.kind_id))


def applicable_quotas(organisation: Organisation, space: Space) -> list[Quota]:
    """The quotas that bind ``organisation`` when it books ``space`` (one indexed query)."""
    return list(db.session.scalars(sa.select(Quota).where(binding_clause(organisation, space)).order_by(Quota.id)))


def _counted(quota: Quota, organisation_id: int, exclude_ids=()):
    """SQL condition: the organisation's bookings that count against ``quota``."""
    clauses = [Booking.organisation_id == organisation_id, Booking.status.in_(ACTIVE_BOOKING_STATUSES)]
    if quota.space_id is not None:
        clauses.append(Booking.space_id == quota.space_id)
    elif quota.space_kind_id is not None:
        clauses.append(Booking.space_id.in_(sa.select(Space.id).where(Space.kind_id == quota.space_kind_id)))
    exclude_ids = [i for i in exclude_ids if i is not None]
    if exclude_ids:
        clauses.append(Booking.id.not_in(exclude_ids))
    return sa.and_(*clauses)


def _hours_used(quota: Quota, organisation_id: int, start: datetime, end: datetime, exclude_ids=()) -> dict:
    """Hours booked per period (keyed by the period's start) between ``start`` and ``end``."""
    used: dict[datetime, Decimal] = {}
    rows = db.session.execute(sa.select(Booking.start, Booking.end).where(
        _counted(quota, organisation_id, exclude_ids), overlaps_clause(Booking.start, Booking.end, start, end)))
    for row_start, row_end in rows:
        for bucket_start, _bucket_end, hours in _pieces(quota.period, max(row_start, start), min(row_end, end)):
            used[bucket_start] = used.get(bucket_start, Decimal(0)) + hours
    return used


def _active_count(quota: Quota, organisation_id: int, now: datetime, exclude_ids=()) -> int:
    return db.session.scalar(sa.select(sa.func.count(Booking.id)).where(
        _counted(quota, organisation_id, exclude_ids), Booking.end > now)) or 0


def _lock(quotas: list[Quota], organisation_id: int) -> None:
    """Serialise the counting of concurrent bookings for the same (quota, organisation) on
    PostgreSQL; held until the transaction ends. Always taken in quota-id order (no deadlock)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for quota in sorted(quotas, key=lambda q: q.id):
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                           {"key": f"{LOCK_NAMESPACE}:{quota.id}:{organisation_id}"})


# --- words ---------------------------------------------------------------------------------------

def hours_text(value: Decimal | float) -> str:
    return format_decimal(Decimal(value).quantize(Decimal("0.01")), format="#,##0.##")


def where_text(quota: Quota, locale: str | None = None) -> str:
    if quota.space is not None:
        return quota.space.name
    if quota.space_kind is not None:
        from flask_babel import get_locale

        return _("every %(kind)s", kind=quota.space_kind.label(locale or str(get_locale() or "nb")).lower())
    return _("every space")


def who_text(quota: Quota) -> str:
    if quota.organisation is not None:
        return quota.organisation.name
    from accounts.forms import KIND_LABELS

    return _("each organisation of the kind %(kind)s", kind=str(KIND_LABELS.get(quota.organisation_kind.value,
                                                                              quota.organisation_kind.value)))


def _period_name(quota: Quota, bucket_start: datetime) -> str:
    local = bucket_start.astimezone(local_tz()).date()
    if quota.period == QuotaPeriod.WEEK:
        return _("the week from %(day)s", day=local.isoformat())
    if quota.period == QuotaPeriod.MONTH:
        return _("the month %(month)s", month=f"{local:%Y-%m}")
    return _("the term from %(day)s", day=local.isoformat())


def _hours_message(organisation: Organisation, quota: Quota, bucket_start: datetime, used: Decimal,
                   requested: Decimal) -> str:
    remaining = max(Decimal(quota.max_hours) - used, Decimal(0))
    return _("Quota exceeded: %(organisation)s may book at most %(limit)s hours %(period)s in %(where)s. "
             "In %(when)s %(used)s hours are already booked, so %(remaining)s hours remain; this needs "
             "%(requested)s.", organisation=organisation.name, limit=hours_text(quota.max_hours),
             period=str(PERIOD_LABELS[quota.period]), where=where_text(quota), when=_period_name(quota, bucket_start),
             used=hours_text(used), remaining=hours_text(remaining), requested=hours_text(requested))


def _active_message(organisation: Organisation, quota: Quota, used: int, requested: int) -> str:
    return _("Quota exceeded: %(organisation)s may hold at most %(limit)d bookings not yet over at once in "
             "%(where)s. It holds %(used)d, so %(remaining)d remain; this needs %(requested)d.",
             organisation=organisation.name, limit=quota.max_active, where=where_text(quota), used=used,
             remaining=max(quota.max_active - used, 0), requested=requested)


# --- enforcement -------------------------------------------------------------------------------

@dataclass
class QuotaCheck:
    """What :func:`enforce_quotas` decided: periods to skip (a series with skip_conflicts) and
    the overridden limits (staff), to be audited on the bookings written."""

    skipped: dict[int, str] = field(default_factory=dict)   # index of the period -> message
    overridden: list[str] = field(default_factory=list)


def enforce_quotas(actor, organisation: Organisation, space: Space, periods: list[tuple[datetime, datetime]], *,
                   now: datetime, exclude_ids=(), override: bool = False, skip: bool = False,
                   quotas: list[Quota] | None = None) -> QuotaCheck:
    """Check the new ``periods`` of ``organisation`` in ``space`` against every quota that binds it.

    ``exclude_ids``: bookings being changed (their old periods do not count). ``override``: staff
    book past a limit (audited by the caller with :attr:`QuotaCheck.overridden`). ``skip``: a series
    that skips what it cannot book; the periods past a limit are returned in
    :attr:`QuotaCheck.skipped` (unless every period is). Otherwise raises :class:`QuotaExceeded`
    naming the limit, the use and what remains (and for a series, the dates that exceed).
    ``quotas``: the applicable quotas when the caller has read them already.
    """
    result = QuotaCheck()
    if override and not is_staff(actor):
        raise PermissionDenied(_("Only staff can book past a quota."))
    if not periods:
        return result
    if quotas is None:
        quotas = applicable_quotas(organisation, space)
    if not quotas:
        return result
    _lock(quotas, organisation.id)
    order = sorted(range(len(periods)), key=lambda i: periods[i][0])
    exceeding: dict[int, str] = {}
    audit_lines: list[str] = []   # in English, for the audit log of an override
    first_details: dict | None = None
    for quota in quotas:
        if quota.max_hours is not None:
            low = min(period_bounds(quota.period, periods[i][0])[0] for i in order)
            high = max(period_bounds(quota.period, periods[i][1] - timedelta(microseconds=1))[1] for i in order)
            used = _hours_used(quota, organisation.id, low, high, exclude_ids)
            limit = Decimal(quota.max_hours)
            for index in order:
                if skip and index in exceeding:
                    continue  # skipped for another quota: not booked
                start, end = periods[index]
                pieces = _pieces(quota.period, start, end)
                over = [(b, h) for b, _e, h in pieces if used.get(b, Decimal(0)) + h > limit]
                if over:
                    bucket, hours = over[0]
                    exceeding.setdefault(index, _hours_message(organisation, quota, bucket, used.get(bucket, 0),
                                                               hours))
                    if first_details is None:
                        first_details = {"quota_id": quota.id, "unit": "hours", "period": quota.period.value,
                                         "limit": float(limit), "used": float(used.get(bucket, 0)),
                                         "remaining": float(max(limit - used.get(bucket, 0), 0)),
                                         "requested": float(hours), "period_start": bucket.isoformat()}
                    audit_lines.append(f"quota {quota.id}: {float(used.get(bucket, 0)):g} + {float(hours):g} hours "
                                       f"> {float(limit):g} per {quota.period.value} from {bucket.astimezone(local_tz()):%Y-%m-%d}")
                    if skip:
                        continue  # not booked: later dates count without it
                for bucket, _e, hours in pieces:
                    used[bucket] = used.get(bucket, Decimal(0)) + hours
        if quota.max_active is not None:
            held = _active_count(quota, organisation.id, now, exclude_ids)
            for index in order:
                if periods[index][1] <= now or (skip and index in exceeding):
                    continue
                if held + 1 > quota.max_active:
                    exceeding.setdefault(index, _active_message(organisation, quota, held, 1))
                    if first_details is None:
                        first_details = {"quota_id": quota.id, "unit": "bookings", "period": None,
                                         "limit": quota.max_active, "used": held,
                                         "remaining": max(quota.max_active - held, 0), "requested": 1}
                    audit_lines.append(f"quota {quota.id}: {held} + 1 bookings > {quota.max_active} at once")
                    if skip:
                        continue
                held += 1
    if not exceeding:
        return result
    if override:
        result.overridden = audit_lines
        return result
    if skip and len(exceeding) < len(periods):
        result.skipped = exceeding
        return result
    tz = local_tz()
    dates = [f"{periods[i][0].astimezone(tz):%Y-%m-%d}" for i in sorted(exceeding, key=lambda i: periods[i][0])]
    message = exceeding[min(exceeding, key=lambda i: periods[i][0])]
    if len(periods) > 1:
        message = _("The series exceeds a quota on %(count)d dates: %(dates)s.", count=len(dates),
                    dates=", ".join(dates)) + " " + message
    raise QuotaExceeded(message, details={**(first_details or {}), "dates": dates, "conflicts": []})


# --- what the organisation has used (pages) -------------------------------------------------

def quotas_of(organisation: Organisation) -> list[Quota]:
    """Every quota that binds ``organisation``, in any space."""
    return list(db.session.scalars(sa.select(Quota).where(
        sa.or_(Quota.organisation_id == organisation.id, Quota.organisation_kind == organisation.kind))
        .order_by(Quota.id)))


def usage_for(organisation: Organisation, now: datetime) -> list[dict]:
    """The organisation's use against each of its quotas, for the current period:
    ``{"quota", "where", "period", "hours_used", "max_hours", "hours_remaining", "active",
    "max_active", "period_start", "period_end"}``."""
    rows = []
    for quota in quotas_of(organisation):
        start, end = period_bounds(quota.period, now)
        row = {"quota": quota, "where": where_text(quota), "period": str(PERIOD_LABELS[quota.period]),
               "period_start": start, "period_end": end, "max_hours": None, "hours_used": None,
               "hours_remaining": None, "max_active": quota.max_active, "active": None}
        if quota.max_hours is not None:
            used = _hours_used(quota, organisation.id, start, end).get(start, Decimal(0))
            row.update(max_hours=Decimal(quota.max_hours), hours_used=used,
                       hours_remaining=max(Decimal(quota.max_hours) - used, Decimal(0)))
        if quota.max_active is not None:
            row["active"] = _active_count(quota, organisation.id, now)
        rows.append(row)
    return rows


# --- administration ----------------------------------------------------------------------------

def require_admin(actor) -> None:
    if not is_admin(actor):
        raise PermissionDenied(_("Only administrators can manage quotas."))


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional_row_id(value, key: str, model, clean: dict, errors: dict, missing) -> None:
    """``clean[key]``: None, or the id of an existing ``model`` row; else ``errors[key]`` says so."""
    if value is None:
        clean[key] = None
    elif not _is_int(value) or not 1 <= value <= MAX_ID or db.session.get(model, value) is None:
        errors[key] = missing(value)
    else:
        clean[key] = value


def _clean(data: dict, quota: Quota | None) -> dict:
    """Validated quota fields from ``data`` (a JSON object or a form's data)."""
    errors: dict[str, str] = {}
    for key in data:
        if key not in QUOTA_FIELDS:
            errors[key] = _("Unknown field.")
    clean: dict = {}
    if "organisation_id" in data:
        _optional_row_id(data["organisation_id"], "organisation_id", Organisation, clean, errors,
                         lambda value: _("There is no organisation with id %(id)s.", id=value))
    if "organisation_kind" in data:
        value = data["organisation_kind"]
        if value is None or value == "":
            clean["organisation_kind"] = None
        else:
            try:
                clean["organisation_kind"] = OrganisationKind(value.strip().lower() if isinstance(value, str)
                                                              else value)
            except ValueError:
                errors["organisation_kind"] = _("Unknown organisation kind '%(kind)s'; choose from: %(kinds)s.",
                                                kind=value, kinds=", ".join(k.value for k in OrganisationKind))
    if "space_id" in data:
        _optional_row_id(data["space_id"], "space_id", Space, clean, errors,
                         lambda value: _("There is no space with id %(id)s.", id=value))
    if "space_kind" in data:
        value = data["space_kind"]
        if value is None or value == "":
            clean["space_kind_id"] = None
        else:
            from spaces.services import find_space_kind

            kind = find_space_kind(value) if isinstance(value, str) else None
            if kind is None:
                errors["space_kind"] = _("There is no kind of space '%(kind)s'.", kind=value)
            else:
                clean["space_kind_id"] = kind.id
    if "period" in data:
        try:
            clean["period"] = QuotaPeriod(data["period"])
        except ValueError:
            errors["period"] = _("Choose the period: week, month or term.")
    if "max_hours" in data:
        value = data["max_hours"]
        if value is None or value == "":
            clean["max_hours"] = None
        else:
            try:
                if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
                    raise InvalidOperation
                hours = Decimal(str(value))
                if not hours.is_finite() or hours <= 0 or hours > MAX_HOURS_LIMIT:
                    raise InvalidOperation
                clean["max_hours"] = hours.quantize(Decimal("0.01"))
                if clean["max_hours"] <= 0:
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                errors["max_hours"] = _("The hours must be a number above 0 and at most %(n)s.",
                                        n=int(MAX_HOURS_LIMIT))
    if "max_active" in data:
        value = data["max_active"]
        if value is None or value == "":
            clean["max_active"] = None
        elif not _is_int(value) or not 1 <= value <= MAX_ACTIVE_LIMIT:
            errors["max_active"] = _("The number of bookings must be a whole number from 1 to %(n)d.",
                                     n=MAX_ACTIVE_LIMIT)
        else:
            clean["max_active"] = value

    def final(name):
        return clean[name] if name in clean else (getattr(quota, name) if quota is not None else None)

    if not errors:
        if (final("organisation_id") is None) == (final("organisation_kind") is None):
            errors["organisation_id"] = _("Give either an organisation (organisation_id) or a kind of "
                                          "organisation (organisation_kind), not both.")
        if final("space_id") is not None and final("space_kind_id") is not None:
            errors["space_id"] = _("Give either a space (space_id) or a kind of space (space_kind), not both.")
        if final("max_hours") is None and final("max_active") is None:
            errors["max_hours"] = _("Give a limit: max_hours, max_active or both.")
    if errors:
        raise ValidationFailed(errors)
    return clean


AUDITED = ("organisation_id", "organisation_kind", "space_id", "space_kind_id", "period", "max_hours", "max_active")


def _audited(quota: Quota) -> dict:
    """The audited fields as plain values (the hours as a float: the audit log is JSON)."""
    values = audit.snapshot(quota, AUDITED)
    if values["max_hours"] is not None:
        values["max_hours"] = float(values["max_hours"])
    return values


def create_quota(actor, data: dict) -> Quota:
    """An administrator sets a limit (see the module's note for what each field means)."""
    require_admin(actor)
    clean = _clean(data, None)
    clean.setdefault("period", QuotaPeriod.WEEK)
    quota = Quota(**clean)
    db.session.add(quota)
    db.session.flush()
    audit.record(actor, "quota.create", quota, changes={k: [None, v] for k, v in _audited(quota).items()})
    return quota


def update_quota(actor, quota: Quota, data: dict) -> Quota:
    require_admin(actor)
    clean = _clean(data, quota)
    before = _audited(quota)
    for key, value in clean.items():
        setattr(quota, key, value)
    db.session.flush()
    after = _audited(quota)
    changes = {k: [before[k], after[k]] for k in AUDITED if before[k] != after[k]}
    if changes:
        audit.record(actor, "quota.update", quota, changes=changes)
    return quota


def delete_quota(actor, quota: Quota) -> None:
    require_admin(actor)
    audit.record(actor, "quota.delete", quota, changes={k: [v, None] for k, v in _audited(quota).items()})
    db.session.delete(quota)
    db.session.flush()


def get_quota(actor, quota_id: int) -> Quota:
    require_admin(actor)
    quota = db.session.get(Quota, quota_id) if 1 <= quota_id <= MAX_ID else None
    if quota is None:
        raise NotFound(_("No such quota."))
    return quota


def list_quotas(actor) -> list[Quota]:
    require_admin(actor)
    return list(db.session.scalars(sa.select(Quota).order_by(Quota.id)))


def quota_json(quota: Quota) -> dict:
    return {
        "id": quota.id,
        "organisation_id": quota.organisation_id,
        "organisation_kind": quota.organisation_kind.value if quota.organisation_kind else None,
        "space_id": quota.space_id,
        "space_kind": quota.space_kind.code if quota.space_kind else None,
        "period": quota.period.value,
        "max_hours": float(quota.max_hours) if quota.max_hours is not None else None,
        "max_active": quota.max_active,
    }
