"""The ``localtime`` filter gives Babel's "HH:mm" in the site's zone, across DST changes."""
from datetime import datetime, time, timedelta, timezone

from flask_babel import format_time


def test_localtime_is_babels_hh_mm_in_the_site_zone(app):
    localtime = app.jinja_env.filters["localtime"]
    start = datetime(2026, 3, 28, 20, 0, tzinfo=timezone.utc)  # around the spring change
    instants = [start + timedelta(minutes=25 * k) for k in range(300)]
    autumn = datetime(2026, 10, 24, 20, 0, tzinfo=timezone.utc)
    instants += [autumn + timedelta(minutes=25 * k) for k in range(300)]
    with app.test_request_context():
        for instant in instants:
            assert localtime(instant) == format_time(instant, "HH:mm")
        assert localtime(datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc)) == "03:30"  # summer time
        assert localtime(time(7, 5)) == "07:05" and localtime(None) == ""
