"""How people book: cancellations and how late, lead time, approvals and how long they waited.

Counts bookings whose start lies in the period (local days), in one SQL statement, including the
no-shows: bookings released because nobody checked in (booking/fairuse).
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from booking.models import Booking, BookingStatus
from reports.periods import Period
from reports.services import report_scope
from reports.sql import epoch_seconds
from samskap.extensions import db

HOUR = 3600.0
DAY = 86400.0


@dataclass
class Behaviour:
    period: Period
    bookings: int
    cancelled: int
    cancelled_after_start: int
    cancelled_within_day: int  # less than 24 h before the start
    cancelled_within_week: int  # 1-7 days before
    cancelled_earlier: int  # more than 7 days before
    cancel_notice_hours_avg: float | None
    lead_within_day: int
    lead_within_week: int
    lead_within_month: int
    lead_longer: int
    lead_hours_avg: float | None
    decided: int
    approved: int
    rejected: int
    waiting_hours_avg: float | None
    waiting_hours_max: float | None
    pending: int
    no_shows: int


def behaviour(actor, period: Period, organisation_id: int | None = None) -> Behaviour:
    scope = report_scope(actor, organisation_id)
    start, created = epoch_seconds(Booking.start), epoch_seconds(Booking.created_at)
    notice = start - epoch_seconds(Booking.cancelled_at)
    lead = start - created
    waiting = epoch_seconds(Booking.decided_at) - created
    is_cancelled = Booking.status == BookingStatus.CANCELLED
    has_cancel_time = sa.and_(is_cancelled, Booking.cancelled_at.is_not(None))

    def count_if(*conditions):
        return sa.func.coalesce(sa.func.sum(sa.case((sa.and_(*conditions), 1), else_=0)), 0)

    query = sa.select(
        sa.func.count(Booking.id),
        count_if(is_cancelled),
        count_if(has_cancel_time, notice < 0),
        count_if(has_cancel_time, notice >= 0, notice < DAY),
        count_if(has_cancel_time, notice >= DAY, notice < 7 * DAY),
        count_if(has_cancel_time, notice >= 7 * DAY),
        sa.func.avg(sa.case((has_cancel_time, notice), else_=None)),
        count_if(lead < DAY),
        count_if(lead >= DAY, lead < 7 * DAY),
        count_if(lead >= 7 * DAY, lead < 30 * DAY),
        count_if(lead >= 30 * DAY),
        sa.func.avg(lead),
        count_if(Booking.decided_at.is_not(None)),
        count_if(Booking.decided_at.is_not(None), Booking.status != BookingStatus.REJECTED),
        count_if(Booking.decided_at.is_not(None), Booking.status == BookingStatus.REJECTED),
        sa.func.avg(sa.case((Booking.decided_at.is_not(None), waiting), else_=None)),
        sa.func.max(sa.case((Booking.decided_at.is_not(None), waiting), else_=None)),
        count_if(Booking.status == BookingStatus.PENDING),
        count_if(Booking.status == BookingStatus.NO_SHOW),
    ).where(Booking.start >= period.start, Booking.start < period.end)
    if scope.organisation_id is not None:
        query = query.where(Booking.organisation_id == scope.organisation_id)
    row = db.session.execute(query).one()

    def hours(value):
        return None if value is None else float(value) / HOUR

    return Behaviour(period, int(row[0]), *(int(v) for v in row[1:6]), hours(row[6]), *(int(v) for v in row[7:11]),
                     hours(row[11]), *(int(v) for v in row[12:15]), hours(row[15]), hours(row[16]), int(row[17]), int(row[18]))


def behaviour_json(result: Behaviour) -> dict:
    def r(value):
        return None if value is None else round(value, 2)

    return {
        "from": result.period.first_day.isoformat(),
        "to": result.period.last_day.isoformat(),
        "bookings": result.bookings,
        "cancellations": {
            "count": result.cancelled,
            "after_start": result.cancelled_after_start,
            "less_than_a_day_before": result.cancelled_within_day,
            "one_to_seven_days_before": result.cancelled_within_week,
            "more_than_seven_days_before": result.cancelled_earlier,
            "average_notice_hours": r(result.cancel_notice_hours_avg),
        },
        "lead_time": {
            "less_than_a_day": result.lead_within_day,
            "one_to_seven_days": result.lead_within_week,
            "seven_to_thirty_days": result.lead_within_month,
            "more_than_thirty_days": result.lead_longer,
            "average_hours": r(result.lead_hours_avg),
        },
        "approvals": {
            "decided": result.decided,
            "approved": result.approved,
            "rejected": result.rejected,
            "still_pending": result.pending,
            "average_wait_hours": r(result.waiting_hours_avg),
            "longest_wait_hours": r(result.waiting_hours_max),
        },
        "no_shows": result.no_shows,
    }
