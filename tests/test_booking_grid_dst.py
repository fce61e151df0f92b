"""The week grid on the night the clocks go back: rows are wall-clock times, so the row
02:00 on 25 October 2026 stands for two real hours; a booking in either is shown."""
from datetime import date, datetime, timezone

from booking import grid
from tests.factories import make_booking, make_space, make_user

UTC = timezone.utc
MONDAY = date(2026, 10, 19)
SUNDAY = 6  # column of Sunday 25 October
BEFORE = datetime(2026, 10, 1, tzinfo=UTC)


def sunday_night(rows, times):
    """(HH:MM, state) of the Sunday column up to 04:00 (the grid starts at the first booking's
    hour), cells spanning rows counted once."""
    return [(f"{t:%H:%M}", row[SUNDAY].state) for t, row in zip(times, rows)
            if row[SUNDAY] is not None and t.hour < 4]


def test_week_grid_shows_a_booking_in_the_repeated_autumn_hour_as_booked(app):
    user = make_user(role="staff")
    space = make_space()
    # 01:00Z-02:00Z is 02:00-03:00 CET: the *second* 02:00-03:00 of that night.
    booking = make_booking(space=space, user=user, start=datetime(2026, 10, 25, 1, 0, tzinfo=UTC), minutes=60,
                           title="Night pilot")
    days, times, rows = grid.week_grid(space, MONDAY, user, BEFORE)
    assert days[SUNDAY] == date(2026, 10, 25)
    assert sunday_night(rows, times) == [("02:00", "booked"), ("03:00", "free"), ("03:30", "free")]
    cell = next(row[SUNDAY] for t, row in zip(times, rows) if t.hour == 2 and t.minute == 0)
    assert (cell.booking, cell.label, cell.span) == (booking, "Night pilot", 2)


def test_week_grid_shows_a_booking_in_the_first_autumn_hour_too(app):
    user = make_user(role="staff")
    space = make_space()
    make_booking(space=space, user=user, start=datetime(2026, 10, 25, 0, 0, tzinfo=UTC), minutes=30)  # 02:00 CEST
    days, times, rows = grid.week_grid(space, MONDAY, user, BEFORE)
    assert sunday_night(rows, times)[:2] == [("02:00", "booked"), ("02:30", "free")]


def test_the_other_days_of_that_week_are_unaffected(app):
    user = make_user(role="staff")
    space = make_space()
    make_booking(space=space, user=user, start=datetime(2026, 10, 25, 1, 0, tzinfo=UTC), minutes=60)
    days, times, rows = grid.week_grid(space, MONDAY, user, BEFORE)
    saturday = [(f"{t:%H:%M}", row[5].state) for t, row in zip(times, rows) if t.hour < 4]
    assert saturday == [("02:00", "free"), ("02:30", "free"), ("03:00", "free"), ("03:30", "free")]
    # Saturday's 02:00 is 00:00Z (CEST); Monday after the change would be CET.
    slot = next(row[5] for t, row in zip(times, rows) if t.hour == 2 and t.minute == 0)
    assert slot.start == datetime(2026, 10, 24, 0, 0, tzinfo=UTC)
