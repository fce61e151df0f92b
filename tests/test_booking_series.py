"""Recurring bookings: wall-clock expansion across DST, all-or-nothing, skipping, scope of changes."""
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from booking.models import Booking, BookingSeries, BookingStatus
from booking.recurrence import Recurrence
from booking.services import book_space, cancel_booking, update_booking
from samskap.errors import Conflict, ValidationFailed
from samskap.extensions import db
from samskap.timeutil import to_local
from spaces.models import Closure
from tests.booking_helpers import UTC, clock, oslo, request_for  # noqa: F401 (clock is a fixture)
from tests.conftest import BOTH
from tests.factories import make_space, make_user


def en_user(**fields):
    return make_user(locale="en", **fields)


def book_series(user, space, start, end, recurrence, **fields):
    result = book_space(user, request_for(space, start, end, recurrence=recurrence, **fields))
    db.session.commit()
    return result


def count_bookings():
    return db.session.scalar(sa.select(sa.func.count(Booking.id)))


def test_weekly_series_across_spring_change_keeps_local_wall_clock_time(app, clock):
    # Mondays 09:00-10:30 in Oslo from 16 March 2026; the clocks go forward on 29 March.
    result = book_series(en_user(), make_space(), oslo(2026, 3, 16, 9), oslo(2026, 3, 16, 10, 30),
                         Recurrence(freq="weekly", count=4))
    starts = [b.start for b in result.bookings]
    assert starts == [datetime(2026, 3, 16, 8, 0, tzinfo=UTC), datetime(2026, 3, 23, 8, 0, tzinfo=UTC),
                      datetime(2026, 3, 30, 7, 0, tzinfo=UTC), datetime(2026, 4, 6, 7, 0, tzinfo=UTC)]
    assert all(b.end - b.start == timedelta(minutes=90) for b in result.bookings)
    assert all(b.original_start == b.start and b.series_id == result.series.id for b in result.bookings)
    series = db.session.get(BookingSeries, result.series.id)
    assert series.rrule == "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO;COUNT=4"
    assert (series.tzid, series.dtstart_local) == ("Europe/Oslo", "2026-03-16T09:00:00")


def test_weekly_series_across_autumn_change_keeps_local_wall_clock_time(app, clock):
    clock.now = datetime(2026, 10, 1, 8, tzinfo=UTC)
    result = book_series(en_user(), make_space(), oslo(2026, 10, 19, 9), oslo(2026, 10, 19, 10),
                         Recurrence(freq="weekly", count=2))
    assert [b.start for b in result.bookings] == [datetime(2026, 10, 19, 7, 0, tzinfo=UTC),
                                                  datetime(2026, 10, 26, 8, 0, tzinfo=UTC)]


def test_weekly_series_on_chosen_weekdays_until_a_date(app, clock):
    result = book_series(en_user(), make_space(), oslo(2026, 3, 9, 14), oslo(2026, 3, 9, 15),
                         Recurrence(freq="weekly", byday=["WE", "MO"], until=date(2026, 3, 18)))
    assert [to_local(b.start).date() for b in result.bookings] == [
        date(2026, 3, 9), date(2026, 3, 11), date(2026, 3, 16), date(2026, 3, 18)]
    assert {to_local(b.start).hour for b in result.bookings} == {14}
    assert result.series.rrule == "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE;UNTIL=20260318T225959Z"


def test_daily_and_monthly_series_with_interval(app, clock):
    daily = book_series(en_user(), make_space(), oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10),
                        Recurrence(freq="daily", interval=2, count=3))
    assert [b.start for b in daily.bookings] == [oslo(2026, 3, 10, 9), oslo(2026, 3, 12, 9), oslo(2026, 3, 14, 9)]
    monthly = book_series(en_user(), make_space(), oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10),
                          Recurrence(freq="monthly", count=3))
    assert [b.start for b in monthly.bookings] == [oslo(2026, 3, 10, 9), oslo(2026, 4, 10, 9), oslo(2026, 5, 10, 9)]


def test_occurrence_in_the_spring_forward_gap_is_skipped_and_reported_when_skipping(app, clock):
    result = book_series(en_user(), make_space(), oslo(2026, 3, 28, 2, 30), oslo(2026, 3, 28, 3, 30),
                         Recurrence(freq="daily", count=3), skip_conflicts=True)
    assert [b.start for b in result.bookings] == [oslo(2026, 3, 28, 2, 30), oslo(2026, 3, 30, 2, 30)]
    assert result.skipped == [{"start": "2026-03-29T02:30", "end": None, "reason": "nonexistent_time",
                               "message": "2026-03-29 02:30 does not exist: the clocks go forward then."}]


@BOTH
def test_series_is_created_whole_or_not_at_all_naming_every_conflicting_date(app, clock):
    space, user = make_space(), en_user()
    book_space(user, request_for(space, oslo(2026, 3, 23, 9), oslo(2026, 3, 23, 10)))
    book_space(user, request_for(space, oslo(2026, 4, 6, 9, 30), oslo(2026, 4, 6, 11)))
    db.session.commit()
    with pytest.raises(Conflict) as info:
        book_series(user, space, oslo(2026, 3, 16, 9), oslo(2026, 3, 16, 10), Recurrence(freq="weekly", count=5))
    assert info.value.details["dates"] == ["2026-03-23", "2026-04-06"]
    assert "2026-03-23, 2026-04-06" in info.value.message
    assert [c["occurrence_start"] for c in info.value.details["conflicts"]] == [
        "2026-03-23T08:00:00Z", "2026-04-06T07:00:00Z"]
    db.session.rollback()
    assert count_bookings() == 2
    assert db.session.scalar(sa.select(sa.func.count(BookingSeries.id))) == 0


@BOTH
def test_series_with_skip_conflicts_books_the_free_dates_and_reports_the_rest(app, clock):
    space, user = make_space(), en_user()
    db.session.add(Closure(space_id=None, start=oslo(2026, 3, 30, 0), end=oslo(2026, 3, 31, 0), reason="Easter"))
    book_space(user, request_for(space, oslo(2026, 3, 23, 9), oslo(2026, 3, 23, 10)))
    db.session.commit()
    result = book_series(user, space, oslo(2026, 3, 16, 9), oslo(2026, 3, 16, 10), Recurrence(freq="weekly", count=4),
                         skip_conflicts=True)
    assert [b.start for b in result.bookings] == [oslo(2026, 3, 16, 9), oslo(2026, 4, 6, 9)]
    assert [(s["start"], s["reason"]) for s in result.skipped] == [
        ("2026-03-23T08:00:00Z", "booking"), ("2026-03-30T07:00:00Z", "closure")]
    assert count_bookings() == 3


def test_series_dates_outside_opening_hours_count_as_clashes(app, clock):
    space = make_space(opening_hours={d: [["08:00", "16:00"]] for d in ("mon", "tue", "wed", "thu", "fri")})
    with pytest.raises(Conflict) as info:
        book_series(en_user(), space, oslo(2026, 3, 12, 9), oslo(2026, 3, 12, 10), Recurrence(freq="daily", count=4))
    assert info.value.details["dates"] == ["2026-03-14", "2026-03-15"]
    assert {c["reason"] for c in info.value.details["conflicts"]} == {"closed"}


def test_series_beyond_days_ahead_window_is_refused(app, clock):
    space = make_space(max_days_ahead=20)
    with pytest.raises(ValidationFailed) as info:
        book_series(en_user(), space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10), Recurrence(freq="weekly", count=4))
    assert "2026-03-24: " in info.value.fields["recurrence"] and "20 days ahead" in info.value.fields["recurrence"]
    assert count_bookings() == 0


@pytest.mark.parametrize("recurrence, field", [
    (Recurrence(freq="hourly", count=3), "recurrence.freq"),
    (Recurrence(freq="weekly", interval=0, count=3), "recurrence.interval"),
    (Recurrence(freq="weekly", interval=53, count=3), "recurrence.interval"),
    (Recurrence(freq="weekly"), "recurrence.count"),
    (Recurrence(freq="weekly", count=3, until=date(2026, 4, 1)), "recurrence.count"),
    (Recurrence(freq="weekly", count=201), "recurrence.count"),
    (Recurrence(freq="weekly", byday=["XX"], count=3), "recurrence.byday"),
    (Recurrence(freq="daily", byday=["MO"], count=3), "recurrence.byday"),
    (Recurrence(freq="daily", until=date(2026, 3, 1)), "recurrence.until"),
    (Recurrence(freq="daily", until=date(2027, 3, 1)), "recurrence"),
])
def test_bad_repeat_rules_are_field_errors(app, clock, recurrence, field):
    with pytest.raises(ValidationFailed) as info:
        book_series(en_user(), make_space(), oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10), recurrence)
    assert field in info.value.fields
    assert count_bookings() == 0


def test_too_many_occurrences_say_so(app, clock):
    with pytest.raises(ValidationFailed) as info:
        book_series(en_user(), make_space(), oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10),
                    Recurrence(freq="daily", until=date(2027, 3, 1)))
    assert "at most 200 occurrences" in info.value.fields["recurrence"]


def _weekly(user, space, count=4):
    return book_series(user, space, oslo(2026, 3, 16, 9), oslo(2026, 3, 16, 10),
                       Recurrence(freq="weekly", count=count)).bookings


def test_cancel_this_following_or_whole_series(app, clock):
    space, user = make_space(), en_user()
    first, second, third, fourth = _weekly(user, space)
    assert [b.id for b in cancel_booking(user, second, scope="this")] == [second.id]
    assert [b.id for b in cancel_booking(user, third, scope="following")] == [third.id, fourth.id]
    assert [b.id for b in cancel_booking(user, first, scope="series")] == [first.id]
    db.session.commit()
    assert all(b.status == BookingStatus.CANCELLED and b.sequence == 1 for b in (first, second, third, fourth))


def test_moving_following_occurrences_keeps_wall_clock_time_across_dst(app, clock):
    space, user = make_space(), en_user()
    bookings = _weekly(user, space)
    changed = update_booking(user, bookings[1], {"start": oslo(2026, 3, 23, 11), "end": oslo(2026, 3, 23, 12)},
                             scope="following")
    db.session.commit()
    assert [b.id for b in changed] == [b.id for b in bookings[1:]]
    assert [b.start for b in bookings] == [oslo(2026, 3, 16, 9), oslo(2026, 3, 23, 11), oslo(2026, 3, 30, 11),
                                           oslo(2026, 4, 6, 11)]
    assert [b.sequence for b in bookings] == [0, 1, 1, 1]
    assert bookings[2].original_start == oslo(2026, 3, 30, 9)  # the rule's date stays known (RECURRENCE-ID)


def test_renaming_the_whole_series(app, clock):
    space, user = make_space(), en_user()
    bookings = _weekly(user, space, count=3)
    update_booking(user, bookings[2], {"title": "Living-lab pilot"}, scope="series")
    assert {b.title for b in bookings} == {"Living-lab pilot"}
    assert [b.sequence for b in bookings] == [0, 0, 0]


def test_moving_a_series_onto_a_booking_is_a_conflict(app, clock):
    space, user = make_space(), en_user()
    bookings = _weekly(user, space, count=3)
    book_space(user, request_for(space, oslo(2026, 3, 30, 13), oslo(2026, 3, 30, 14)))
    with pytest.raises(Conflict) as info:
        update_booking(user, bookings[0], {"start": oslo(2026, 3, 16, 13)}, scope="series")
    assert info.value.details["conflicts"][0]["occurrence_start"] == "2026-03-30T07:00:00Z"


def test_bad_scope_is_a_field_error(app, clock):
    user = en_user()
    booking = _weekly(user, make_space(), count=2)[0]
    with pytest.raises(ValidationFailed) as info:
        cancel_booking(user, booking, scope="everything")
    assert "scope" in info.value.fields
