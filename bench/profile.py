"""Profile one request of a benchmark scenario in-process (pyinstrument), against a seeded
benchmark database, and show the SQL it sends:

    .venv/bin/pip install pyinstrument      # a tool, not a dependency of the app
    .venv/bin/python bench/profile.py --database samskap_bench_full day_view
    .venv/bin/python bench/profile.py --database samskap_bench_full --sql feed

Scenarios: availability, day_view, feed, feed_304, create, conflict. The request is sent
``--repeat`` times (the first one warms up and is not profiled). With ``--sql`` it prints every
statement of the last request with its time, so a query can be taken to
``EXPLAIN (ANALYZE, BUFFERS)``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date, datetime, time as dtime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OSLO = ZoneInfo("Europe/Oslo")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", choices=["availability", "day_view", "feed", "feed_304", "create", "conflict"])
    parser.add_argument("--database", default="samskap_bench_small")
    parser.add_argument("--server-url", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--day", help="the bench day (YYYY-MM-DD); default: 30 days from today")
    parser.add_argument("--plain", action="store_true", help="time only (no profiler), e.g. with --repeat 20")
    parser.add_argument("--sql", action="store_true", help="print the statements of the last request")
    parser.add_argument("--no-feed-cache", action="store_true",
                        help="build every feed from scratch: no cached feed and no cached event text")
    args = parser.parse_args(argv)
    if args.no_feed_cache:
        os.environ["SAMSKAP_FEED_CACHE_BYTES"] = "0"
    os.environ.update({"DATABASE_URL": f"{args.server_url}/{args.database}", "SECRET_KEY": "bench-profile",
                       "RATELIMIT_ENABLED": "false"})

    import sqlalchemy as sa
    from pyinstrument import Profiler

    from booking.models import Feed
    from samskap import create_app
    from samskap.extensions import db

    app = create_app()
    client = app.test_client()
    with app.app_context():
        feed_count = db.session.scalar(sa.select(sa.func.count(Feed.id)))
    # bench/seed.py puts the 400 day-view bookings 30 days after the day it ran.
    day = date.fromisoformat(args.day) if args.day else datetime.now(OSLO).date() + timedelta(days=30)
    # The seed's tokens (bench/seed.py): member token 01 and the staff account (user 2).
    member = {"Authorization": "Bearer sk_bench_token_01_" + "x" * 20}
    if args.scenario == "day_view":  # the only page scenario; a session would also win over API tokens
        with client.session_transaction() as session:
            session["_user_id"], session["_fresh"] = "2:1", True
    feed_path = "/feeds/bench-feed-token-" + "f" * 30 + ".ics"
    day_start = datetime.combine(day, dtime(0), tzinfo=OSLO)
    counter = iter(range(10**6))

    def request():
        if args.no_feed_cache:
            from booking.feeds.calendar import clear_text_cache
            clear_text_cache()
        if args.scenario == "availability":
            query = urlencode({"start": day_start.isoformat(), "end": (day_start + timedelta(days=1)).isoformat()})
            return client.get(f"/api/v1/availability?{query}", headers=member)
        if args.scenario == "day_view":
            return client.get(f"/day?date={day.isoformat()}&kind=bench-day")
        if args.scenario in ("feed", "feed_304"):
            headers = {"If-None-Match": etag[0]} if args.scenario == "feed_304" and etag[0] else {}
            return client.get(feed_path, headers=headers)
        n = next(counter)
        if args.scenario == "create":
            start = datetime.combine(date.today() + timedelta(days=950 + n // 150), dtime(8), tzinfo=OSLO)
            body = {"space_id": 51 + n % 150, "title": "Profile", "start": start.isoformat(),
                    "end": (start + timedelta(minutes=30)).isoformat(), "attendees": 2, "purpose": "meeting",
                    "visibility": "private"}
        else:
            start = datetime.combine(day, dtime(8), tzinfo=OSLO)
            body = {"space_id": 1, "title": "Clash", "start": start.isoformat(),
                    "end": (start + timedelta(hours=1)).isoformat()}
        return client.post("/api/v1/bookings", json=body, headers=member)

    etag = [None]
    if feed_count == 0 and args.scenario.startswith("feed"):
        raise SystemExit("no feed in this database")
    first = request()
    etag[0] = first.headers.get("ETag")
    print(f"warm-up: {first.status_code}, {len(first.data)} bytes, {first.headers.get('Server-Timing')}")
    statements: list[tuple[float, str]] = []
    profiler = Profiler(interval=0.0005)
    for k in range(max(1, args.repeat - 1)):
        last = k == args.repeat - 2
        if last and args.sql:
            with app.app_context():
                engine = db.engine
            started: dict = {}

            @sa.event.listens_for(engine, "before_cursor_execute")
            def _before(conn, cursor, statement, params, context, many):
                started[id(cursor)] = time.perf_counter()

            @sa.event.listens_for(engine, "after_cursor_execute")
            def _after(conn, cursor, statement, params, context, many):
                statements.append(((time.perf_counter() - started.pop(id(cursor), time.perf_counter())) * 1000,
                                   statement if not params else f"{statement}\n  -- {params!r}"[:2000]))
        if not args.plain:
            profiler.start()
        response = request()
        if not args.plain:
            profiler.stop()
        print(f"request {k + 1}: {response.status_code}, {len(response.data)} bytes, "
              f"{response.headers.get('Server-Timing')}")
    if not args.plain:
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    if args.sql:
        print(f"{len(statements)} statements, {sum(t for t, _s in statements):.1f} ms in the database driver")
        for elapsed, statement in statements:
            print(f"--- {elapsed:.2f} ms\n{statement}")
    print(json.dumps({"scenario": args.scenario, "day": day.isoformat()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
