"""Opening-hours rules and the booking visibility rules that every list and feed shares."""
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from booking.models import Booking, Visibility
from booking.permissions import can_manage, can_view_details, details_visible_clause, manageable_clause
from samskap.errors import ValidationFailed
from samskap.extensions import db
from samskap.timeutil import local_to_utc
from spaces.hours import is_within_opening_hours, open_intervals, parse_opening_hours
from tests.factories import make_booking, make_org, make_space, make_user

UTC = timezone.utc
WEEKDAY_HOURS = {"mon": [["08:00", "16:00"]], "tue": [["08:00", "12:00"], ["13:00", "24:00"]],
                 "wed": [["00:00", "10:00"]]}


@pytest.mark.parametrize("bad", [
    "08-16", {"monday": [["08:00", "16:00"]]}, {"mon": "08:00-16:00"}, {"mon": [["08:00"]]},
    {"mon": [["8am", "16:00"]]}, {"mon": [["16:00", "08:00"]]}, {"mon": [["08:00", "08:00"]]},
    {"mon": [["08:00", "12:00"], ["11:00", "14:00"]]}, {"mon": [["24:00", "24:00"]]}, {"mon": [["08:00", "24:30"]]},
])
def test_bad_opening_hours_are_refused(app, bad):
    with pytest.raises(ValidationFailed) as info:
        parse_opening_hours(bad)
    assert "opening_hours" in info.value.fields


def test_opening_hours_are_normalised(app):
    assert parse_opening_hours({"fri": [["13:00", "15:00"], ["08:00", "12:00"]], "sat": []}) == \
        {"fri": [["08:00", "12:00"], ["13:00", "15:00"]]}
    assert parse_opening_hours(None) is None


def test_within_opening_hours_in_local_time(app):
    monday = date(2026, 11, 30)
    inside = (local_to_utc(monday, datetime.min.time().replace(hour=8)), local_to_utc(monday, datetime.min.time().replace(hour=16)))
    assert is_within_opening_hours(WEEKDAY_HOURS, *inside)
    assert not is_within_opening_hours(WEEKDAY_HOURS, inside[0] - timedelta(minutes=1), inside[1])
    tuesday_lunch = local_to_utc(date(2026, 12, 1), datetime.min.time().replace(hour=11, minute=30))
    assert not is_within_opening_hours(WEEKDAY_HOURS, tuesday_lunch, tuesday_lunch + timedelta(hours=1))
    # Tuesday 13:00-24:00 joins Wednesday 00:00-10:00 across midnight.
    overnight = local_to_utc(date(2026, 12, 1), datetime.min.time().replace(hour=20))
    assert is_within_opening_hours(WEEKDAY_HOURS, overnight, overnight + timedelta(hours=12))
    assert not is_within_opening_hours(WEEKDAY_HOURS, overnight, overnight + timedelta(hours=15))
    sunday = local_to_utc(date(2026, 12, 6), datetime.min.time().replace(hour=10))
    assert not is_within_opening_hours(WEEKDAY_HOURS, sunday, sunday + timedelta(hours=1))
    assert is_within_opening_hours(None, sunday, sunday + timedelta(days=10))


def test_open_intervals_follow_dst(app):
    hours = {"sun": [["08:00", "16:00"]]}
    (summer_start, _), = open_intervals(hours, date(2026, 3, 29))
    (winter_start, _), = open_intervals(hours, date(2026, 3, 22))
    assert summer_start.hour == 6 and winter_start.hour == 7


@pytest.fixture
def world(app):
    home = make_org(kind="municipality")
    other = make_org(kind="hospital")
    private_org = make_org(kind="company", members_share_bookings=False)
    users = {
        "organiser": make_user(home), "colleague": make_user(home), "outsider": make_user(other),
        "staff": make_user(role="staff"), "contact": make_user(private_org, is_org_contact=True),
        "plain": make_user(private_org),
    }
    space = make_space()
    bookings = {}
    start = datetime(2027, 2, 1, 8, tzinfo=UTC)
    for i, visibility in enumerate(Visibility):
        bookings[visibility.value] = make_booking(space=space, user=users["organiser"], visibility=visibility,
                                                  start=start + timedelta(hours=2 * i))
    bookings["closed-org"] = make_booking(space=space, user=users["contact"], start=start + timedelta(hours=8))
    bookings["closed-org-plain"] = make_booking(space=space, user=users["plain"], start=start + timedelta(hours=10))
    return users, bookings


EXPECTED_VIEW = {
    # who: bookings whose details they see
    "anonymous": {"public"},
    "organiser": {"public", "partners", "private"},
    "colleague": {"public", "partners", "private"},
    "outsider": {"public", "partners"},
    "staff": {"public", "partners", "private", "closed-org", "closed-org-plain"},
    "contact": {"public", "partners", "closed-org", "closed-org-plain"},
    "plain": {"public", "partners", "closed-org-plain"},
}


@pytest.mark.parametrize("who", list(EXPECTED_VIEW))
def test_detail_and_list_visibility_agree(world, who):
    from flask_login import AnonymousUserMixin
    users, bookings = world
    user = users.get(who) or AnonymousUserMixin()
    by_rule = {name for name, b in bookings.items() if can_view_details(user, b)}
    ids = set(db.session.scalars(sa.select(Booking.id).where(details_visible_clause(user))))
    by_query = {name for name, b in bookings.items() if b.id in ids}
    assert by_rule == by_query == EXPECTED_VIEW[who]


@pytest.mark.parametrize("who,expected", [
    ("organiser", {"public", "partners", "private"}), ("colleague", {"public", "partners", "private"}),
    ("outsider", set()), ("contact", {"closed-org", "closed-org-plain"}), ("plain", {"closed-org-plain"}),
])
def test_manage_rule_and_query_agree(world, who, expected):
    users, bookings = world
    user = users[who]
    ids = set(db.session.scalars(sa.select(Booking.id).where(manageable_clause(user))))
    assert {n for n, b in bookings.items() if can_manage(user, b)} == {n for n, b in bookings.items() if b.id in ids} == expected
