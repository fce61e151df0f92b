"""The fair-use rules a new or moved booking must meet, checked by the booking service after
its own rules and clash check, just before it writes:

* the **quotas** of the booking's organisation (:mod:`booking.fairuse.quotas`);
* **waitlist holds**: a freed period offered to the first person on its waitlist is held for
  them until ``hold_until``; nobody else may book over it meanwhile (409 ``held_for_waitlist``).
  The holder's own booking takes the hold up (their entry becomes ``booked``).

Both are read in one statement (the holds as scalar subqueries next to the quotas), so a
booking that meets no quota and no hold costs one cheap query more than without fair use.
The check runs after the clash check on purpose: the hold is written in the same transaction
that frees the slot, so a clash check that saw the slot free (the freeing committed) is followed,
under READ COMMITTED, by this statement seeing the hold.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from booking.fairuse.models import Quota, WaitlistEntry, WaitlistStatus
from booking.fairuse.quotas import QuotaCheck, enforce_quotas
from samskap.errors import Conflict
from samskap.extensions import db
from samskap.i18n import local_datetime_text
from samskap.periods import overlaps, overlaps_clause


@dataclass
class FairUseCheck:
    quota: QuotaCheck = field(default_factory=QuotaCheck)
    own_hold: bool = False   # the actor holds a waitlist offer overlapping these periods


def _holds(space_id: int, low: datetime, high: datetime, now: datetime):
    return sa.and_(WaitlistEntry.space_id == space_id, WaitlistEntry.status == WaitlistStatus.OFFERED,
                   WaitlistEntry.hold_until > now, overlaps_clause(WaitlistEntry.start, WaitlistEntry.end, low, high))


@functools.cache
def _fair_use_query():
    """Built once (building it costs more than running it), with bound parameters: the holds of
    ``:space_id`` overlapping ``[:low, :high)`` still running at ``:now`` (others' earliest end
    and the actor's count) next to the quotas binding ``:organisation_id`` / ``:organisation_kind``
    in ``:space_id`` / ``:space_kind_id`` (none: one row with no quota)."""
    def holds():
        return sa.and_(WaitlistEntry.space_id == sa.bindparam("space_id"),
                       WaitlistEntry.status == WaitlistStatus.OFFERED,
                       WaitlistEntry.hold_until > sa.bindparam("now", type_=WaitlistEntry.hold_until.type),
                       overlaps_clause(WaitlistEntry.start, WaitlistEntry.end,
                                       sa.bindparam("low", type_=WaitlistEntry.end.type),
                                       sa.bindparam("high", type_=WaitlistEntry.start.type)))

    others = (sa.select(sa.func.min(WaitlistEntry.hold_until))
              .where(holds(), WaitlistEntry.user_id != sa.bindparam("actor_id")).scalar_subquery())
    own = (sa.select(sa.func.count(WaitlistEntry.id))
           .where(holds(), WaitlistEntry.user_id == sa.bindparam("actor_id")).scalar_subquery())
    binding = sa.and_(
        sa.or_(Quota.organisation_id == sa.bindparam("organisation_id"),
               Quota.organisation_kind == sa.bindparam("organisation_kind", type_=Quota.organisation_kind.type)),
        sa.or_(Quota.space_id.is_(None), Quota.space_id == sa.bindparam("space_id")),
        sa.or_(Quota.space_kind_id.is_(None), Quota.space_kind_id == sa.bindparam("space_kind_id")))
    one = sa.select(sa.literal(1).label("one")).subquery()
    return (sa.select(others.label("held_until"), own.label("own"), Quota)
            .select_from(one).outerjoin(Quota, binding).order_by(Quota.id))


def check_booking(actor, organisation, space, periods, *, now: datetime, exclude_ids=(), override_quota=False,
                  skip: bool = False) -> FairUseCheck:
    """Quotas and waitlist holds for new ``periods`` (``(start, end)``) of ``organisation`` in
    ``space``; raises Conflict (``held_for_waitlist``) or QuotaExceeded, or returns what the
    caller records after writing (overridden quotas, skipped dates, the actor's own hold)."""
    result = FairUseCheck()
    if not periods:
        return result
    low, high = min(p[0] for p in periods), max(p[1] for p in periods)
    rows = db.session.execute(_fair_use_query(), {
        "space_id": space.id, "space_kind_id": space.kind_id, "low": low, "high": high, "now": now,
        "actor_id": actor.id, "organisation_id": organisation.id, "organisation_kind": organisation.kind}).all()
    quotas = [row.Quota for row in rows if row.Quota is not None]
    held_until, result.own_hold = rows[0].held_until, bool(rows[0].own)
    if held_until is not None:
        _refuse_held(actor, space, periods, now, low, high)
    result.quota = enforce_quotas(actor, organisation, space, periods, now=now, exclude_ids=exclude_ids,
                                  override=override_quota, skip=skip, quotas=quotas)
    return result


def _refuse_held(actor, space, periods, now, low, high) -> None:
    """Refuse when a period overlaps someone else's hold (the span's hold may fall between them)."""
    holds = list(db.session.scalars(sa.select(WaitlistEntry).where(
        _holds(space.id, low, high, now), WaitlistEntry.user_id != actor.id).order_by(WaitlistEntry.hold_until)))
    for start, end in periods:
        for hold in holds:
            if overlaps(hold.start, hold.end, start, end):
                raise Conflict(_("%(space)s is held until %(until)s for the first person on its waitlist; "
                                 "if they do not book it by then, it is free again.", space=space.name,
                                 until=local_datetime_text(hold.hold_until, "day")),
                               code="held_for_waitlist",
                               details={"conflicts": [], "held_until": hold.hold_until.isoformat()})


def after_booking(actor, bookings, check: FairUseCheck) -> None:
    """Record what the check allowed: overridden quotas (audited) and a hold taken up."""
    from samskap import audit

    if check.quota.overridden:
        for booking in bookings:
            audit.record(actor, "booking.override_quota", booking, summary="; ".join(check.quota.overridden)[:500])
    if check.own_hold:
        from booking.fairuse.waitlist import hold_taken_up

        hold_taken_up(actor, bookings)
