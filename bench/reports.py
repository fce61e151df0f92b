"""Time the reports against a seeded benchmark database (issue 20: a yearly report over 1 M bookings
answers in under 2 s on PostgreSQL).

    .venv/bin/python bench/run.py --sizes full ...   # or: prepare a database as run.py does, then
    .venv/bin/python bench/reports.py --database-url postgresql://postgres@127.0.0.1:5432/samskap_bench_full

Each report is requested through the app (Flask's test client with a bearer token of a staff user: the
whole request, SQL, Python and JSON/CSV/XLSX), ``--rounds`` times after one warm-up; the table gives
the median and the slowest round of the wall-clock time, and the median CPU time the request cost:
this process's CPU plus that of its one PostgreSQL backend (read from /proc; parallel query is off,
so the backend does all of the database's work). On a shared, busy machine the wall-clock time
mostly measures waiting for a core; the CPU time is what the request needs of an idle one.
A staff user and token of the script's own are added to the database.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASES = [
    ("by=space", {"by": "space"}),
    ("by=organisation_kind", {"by": "organisation_kind"}),
    ("by=organisation", {"by": "organisation"}),
    ("by=purpose", {"by": "purpose"}),
    ("by=equipment_type", {"by": "equipment_type"}),
    ("by=sector_pair", {"by": "sector_pair"}),
    ("by=month", {"by": "month"}),
    ("by=week", {"by": "week"}),
    ("by=day", {"by": "day"}),
    ("by=organisation_kind&group=month", {"by": "organisation_kind", "group": "month"}),
    ("by=space&group=month", {"by": "space", "group": "month"}),
    ("by=organisation&format=csv", {"by": "organisation", "format": "csv"}),
    ("by=organisation&format=xlsx", {"by": "organisation", "format": "xlsx"}),
]


def cpu_seconds(backend_pid: int) -> float:
    """CPU used so far by this process and by the PostgreSQL backend serving it."""
    fields = Path(f"/proc/{backend_pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return time.process_time() + (int(fields[11]) + int(fields[12])) / ticks


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--year", type=int, default=None, help="default: last year")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    import sqlalchemy as sa

    from accounts.models import Organisation, OrganisationKind, Role, User
    from accounts.services import create_api_token
    from booking.models import Booking
    from samskap import create_app
    from samskap.extensions import db
    from samskap.timeutil import local_day_bounds, utcnow

    url = args.database_url.replace("postgresql://", "postgresql+psycopg://")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0, "connect_args": {
                          "options": "-c max_parallel_workers_per_gather=0"}}})
    year = args.year or utcnow().year - 1
    with app.app_context():
        host = db.session.scalar(sa.select(Organisation).where(Organisation.kind == OrganisationKind.HOST).limit(1))
        email = "reports-bench@samskap.test"
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is None:
            user = User(email=email, name="Reports bench", organisation_id=host.id, role=Role.STAFF, locale="en")
            db.session.add(user)
            db.session.flush()
        _token, secret = create_api_token(None, user)
        db.session.commit()
        backend = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
        total = db.session.scalar(sa.select(sa.func.count(Booking.id)))
        first, _ignored = local_day_bounds(date(year, 1, 1))
        _ignored, last = local_day_bounds(date(year, 12, 31))
        in_year = db.session.scalar(sa.select(sa.func.count(Booking.id)).where(Booking.start >= first,
                                                                                 Booking.start < last))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    period = {"from": f"{year}-01-01", "to": f"{year}-12-31"}
    print(f"Database: {total:,} bookings, {in_year:,} of them starting in {year}; {args.rounds} rounds after a warm-up.\n")
    print("| report (API, the year " + str(year) + ") | median | slowest | CPU (median) | rows |")
    print("| --- | ---: | ---: | ---: | ---: |")
    slowest_all = 0.0
    for name, query in CASES:
        times, cpu = [], []
        rows = "–"
        for attempt in range(args.rounds + 1):
            started, cpu_started = time.perf_counter(), cpu_seconds(backend)
            response = client.get("/api/v1/reports/utilisation", query_string={**period, **query}, headers=headers)
            elapsed = time.perf_counter() - started
            if attempt:
                cpu.append(cpu_seconds(backend) - cpu_started)
            if response.status_code != 200:
                raise SystemExit(f"{name}: {response.status_code} {response.get_data(as_text=True)[:300]}")
            if attempt:
                times.append(elapsed)
            if response.is_json:
                rows = len(response.get_json()["rows"])
        slowest_all = max(slowest_all, max(times))
        print(f"| `{name}` | {statistics.median(times) * 1000:,.0f} ms | {max(times) * 1000:,.0f} ms | "
              f"{statistics.median(cpu) * 1000:,.0f} ms | {rows} |")
    for name, path in (("behaviour", "/api/v1/reports/behaviour"),):
        times, cpu = [], []
        for attempt in range(args.rounds + 1):
            started, cpu_started = time.perf_counter(), cpu_seconds(backend)
            response = client.get(path, query_string=period, headers=headers)
            if attempt:
                times.append(time.perf_counter() - started)
                cpu.append(cpu_seconds(backend) - cpu_started)
        slowest_all = max(slowest_all, max(times))
        print(f"| `{name}` | {statistics.median(times) * 1000:,.0f} ms | {max(times) * 1000:,.0f} ms | "
              f"{statistics.median(cpu) * 1000:,.0f} ms | – |")
    with app.test_request_context(), app.app_context():
        from flask_login import login_user

        from reports import services
        from reports.periods import parse_period

        staff = db.session.scalar(sa.select(User).where(User.email == email))
        login_user(staff)
        times, cpu = [], []
        for attempt in range(args.rounds + 1):
            started, cpu_started = time.perf_counter(), cpu_seconds(backend)
            services.heat_map(staff, parse_period(period["from"], period["to"]))
            db.session.rollback()
            if attempt:
                times.append(time.perf_counter() - started)
                cpu.append(cpu_seconds(backend) - cpu_started)
        print(f"| heat map (service, weekday × hour) | {statistics.median(times) * 1000:,.0f} ms | "
              f"{max(times) * 1000:,.0f} ms | {statistics.median(cpu) * 1000:,.0f} ms | 7 × 24 |")
    print(f"\nSlowest API round: {slowest_all * 1000:,.0f} ms (target: under 2,000 ms); load average at the end: "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
