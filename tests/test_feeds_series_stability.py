"""A recurring series keeps its representation in a feed for its whole life: fetched months apart,
while the feed's window clips it at the end, holds it whole, or clips it at the start, it is the
same master event with the same UID (a changed UID duplicates it in every subscriber's calendar),
and both ical.js and the icalendar package still expand it to exactly the rows in the database."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from booking.feeds import services
from booking.models import BookingStatus
from samskap.extensions import db
from tests.conftest import BOTH
from tests.factories import make_series, make_user
from tests.feeds_ics import expand_both, timeline
from tests.sql_count import counted_statements

UTC = timezone.utc
FROM = datetime(2026, 1, 1, tzinfo=UTC)
UNTIL = datetime(2030, 1, 1, tzinfo=UTC)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fetch_at(client, monkeypatch, token: str, now: datetime) -> bytes:
    monkeypatch.setattr("booking.feeds.views.feed_clock", lambda: now)
    response = client.get(f"/feeds/{token}.ics")
    assert response.status_code == 200, response.data
    return response.data


@BOTH
def test_series_is_the_same_master_event_whenever_the_feed_is_fetched(client, monkeypatch, tmp_path):
    user = make_user(locale="en")
    # Weekly on Mondays at 10:00 Oslo time for 80 weeks, across four DST changes.
    series = make_series(user=user, dtstart_local="2027-01-04T10:00:00", rrule="FREQ=WEEKLY;COUNT=80",
                         title="Pilot steering group")
    rows = series.occurrences
    rows[2].status, rows[2].cancelled_at, rows[2].sequence = BookingStatus.CANCELLED, utc(2026, 10, 30), 1
    rows[40].start, rows[40].end = rows[40].start + timedelta(hours=2), rows[40].end + timedelta(hours=2)
    rows[40].blocked_until, rows[40].sequence = rows[40].end, 1
    rows[60].title, rows[60].sequence = "Steering group with the hospital", 1
    db.session.commit()
    _feed, token = services.create_feed(user, "mine")
    db.session.commit()

    # The window runs 90 days back and 18 months ahead: at these times it clips the series at its
    # end (its last rows are more than 18 months ahead), holds it whole, and clips it at its start.
    bodies = [fetch_at(client, monkeypatch, token, now)
              for now in (utc(2026, 11, 1, 10), utc(2027, 3, 1, 10), utc(2027, 12, 1, 10))]
    window = services.FeedPeriod.around(utc(2026, 11, 1, 10))
    assert rows[0].start >= window.start and rows[-1].start >= window.end
    window = services.FeedPeriod.around(utc(2027, 12, 1, 10))
    assert rows[0].start < window.start

    assert bodies[0] == bodies[1] == bodies[2]
    body = bodies[0]
    assert body.count(b"BEGIN:VEVENT") == 3  # the master and the two changed occurrences
    assert b"RRULE:FREQ=WEEKLY;COUNT=80" in body
    expected = sorted((r.start, r.end, "CONFIRMED") for r in rows if r.status != BookingStatus.CANCELLED)
    found = expand_both(body, FROM, UNTIL, tmp_path)
    assert timeline(found) == expected
    assert {o.uid for o in found} == {f"series-{series.id}@samskap.test"}
    assert [o.summary for o in found].count("Steering group with the hospital") == 1


def test_series_written_row_by_row_keeps_each_rows_uid_as_time_passes(client, monkeypatch, tmp_path):
    user = make_user()
    # 02:30 does not exist on 2027-03-28: this series is always written occurrence by occurrence.
    series = make_series(user=user, dtstart_local="2027-03-20T02:30:00", rrule="FREQ=DAILY;COUNT=14")
    _feed, token = services.create_feed(user, "mine")
    db.session.commit()
    early = fetch_at(client, monkeypatch, token, utc(2026, 11, 1, 10))
    late = fetch_at(client, monkeypatch, token, utc(2027, 6, 25, 10))  # the window starts on 2027-03-27
    assert b"RRULE" not in early and b"series-" not in early
    uids = {f"booking-{r.id}@samskap.test" for r in series.occurrences}
    assert {o.uid for o in expand_both(early, FROM, UNTIL, tmp_path)} == uids
    later = expand_both(late, FROM, UNTIL, tmp_path)
    assert {o.uid for o in later} < uids and [o.start for o in later] == [
        r.start for r in series.occurrences if r.start >= services.FeedPeriod.around(utc(2027, 6, 25, 10)).start]


def test_feed_reads_all_series_rows_in_one_query_whatever_the_number_of_series(client, monkeypatch):
    user = make_user()
    _feed, token = services.create_feed(user, "mine")
    db.session.commit()
    monkeypatch.setattr("booking.feeds.views.feed_clock", lambda: utc(2026, 11, 1, 10))
    # Every fetch builds the feed (a cached one would answer in a fixed number of statements).
    monkeypatch.setitem(client.application.config, "SAMSKAP_FEED_CACHE_BYTES", 0)

    def statements() -> int:
        with counted_statements() as count:
            assert client.get(f"/feeds/{token}.ics").status_code == 200
        return count[0]

    make_series(user=user, dtstart_local="2027-01-04T10:00:00", rrule="FREQ=WEEKLY;COUNT=10")
    statements()  # the first fetch also records when the feed was last used
    with_one = statements()
    for month in range(2, 8):
        make_series(user=user, dtstart_local=f"2027-{month:02d}-01T12:00:00", rrule="FREQ=DAILY;COUNT=5")
    assert statements() == with_one
