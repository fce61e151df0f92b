"""What surviving faults costs, measured against the local PostgreSQL (issue 23):

    .venv/bin/python bench/faults.py            # ~1 minute; prints a Markdown table

1. ``pool_pre_ping``: a checkout with one query, with and without the ping (per checkout; the
   app checks out one connection per request).
2. Recovery: after every connection of the database is terminated, how long the next checkout
   takes (pre-ping finds the dead connection and opens a new one), against a normal checkout.
3. ``Idempotency-Key``: ``POST /api/v1/bookings`` in-process, without and with the header.

It creates the database ``samskap_bench_faults`` (dropping an old one), migrates it and drops it at
the end. Figures are medians of rounds, in microseconds or milliseconds as labelled.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

NAME = "samskap_bench_faults"


def checkout_cost(url: str, pre_ping: bool, n: int) -> float:
    """Microseconds per checkout-and-query."""
    engine = sa.create_engine(url, pool_pre_ping=pre_ping, pool_size=1)
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    started = time.perf_counter()
    for _ in range(n):
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed / n * 1e6


def recovery_cost(url: str, admin) -> tuple[float, float]:
    """(ms for a normal checkout, ms for the first checkout after every connection was terminated)."""
    engine = sa.create_engine(url, pool_pre_ping=True, pool_size=2)
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    started = time.perf_counter()
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    normal = (time.perf_counter() - started) * 1000
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                             "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": NAME})
    started = time.perf_counter()
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    recovered = (time.perf_counter() - started) * 1000
    engine.dispose()
    return normal, recovered


def booking_costs(url: str, n: int) -> tuple[float, float]:
    """(ms per create without the header, ms per create with a new Idempotency-Key each)."""
    os.environ.update({"DATABASE_URL": url, "SECRET_KEY": "bench-faults", "RATELIMIT_ENABLED": "false"})
    from accounts import services as account_services
    from accounts.models import Organisation, OrganisationKind, Role, User
    from samskap import create_app
    from samskap.extensions import db
    from spaces.models import Space, SpaceKind

    app = create_app()
    with app.app_context():
        org = Organisation(name="Bench kommune", kind=OrganisationKind.MUNICIPALITY)
        kind = SpaceKind(code="bench-room", name_nb="Rom", name_en="Room")
        db.session.add_all([org, kind])
        db.session.flush()
        user = User(email="bench@example.test", name="Bench", organisation_id=org.id, role=Role.MEMBER,
                    password_hash="x")
        spaces = [Space(name=f"Bench {i}", slug=f"bench-{i}", kind_id=kind.id, capacity=10,
                        bookable_by=["municipality"], opening_hours=None, buffer_minutes=0) for i in range(2)]
        db.session.add_all([user, *spaces])
        db.session.flush()
        _, secret = account_services.create_api_token(None, user)
        db.session.commit()
        space_ids = [space.id for space in spaces]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    first = (datetime.now(timezone.utc) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    times: dict[bool, list[float]] = {False: [], True: []}
    statements: dict[bool, list[int]] = {False: [], True: []}
    sent = [0]

    def count(*_args):
        sent[0] += 1

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    for i in range(n + 10):  # alternating, so that the machine's load drifts into both alike
        for index, keyed in enumerate((False, True)):
            start = first + timedelta(hours=i)
            body = {"space_id": space_ids[index], "title": "Bench", "start": start.isoformat(),
                    "end": (start + timedelta(hours=1)).isoformat()}
            extra = {"Idempotency-Key": str(uuid.uuid4())} if keyed else {}
            began, sent[0] = time.perf_counter(), 0
            response = client.post("/api/v1/bookings", json=body, headers={**headers, **extra})
            statements[keyed].append(sent[0])
            if response.status_code != 201:
                raise SystemExit(f"create answered {response.status_code}: {response.get_data(as_text=True)}")
            if i >= 10:  # the first ten warm up
                times[keyed].append((time.perf_counter() - began) * 1000)
    sa.event.remove(engine, "before_cursor_execute", count)
    results = [statistics.median(times[False]), statistics.median(times[True]),
               statistics.mean(statements[False]),
               statistics.mean(statements[True])]
    with app.app_context():
        db.engine.dispose()
    return tuple(results)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                               "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--checkouts", type=int, default=2000)
    parser.add_argument("--creates", type=int, default=200)
    args = parser.parse_args(argv)

    server = sa.make_url(args.server_url)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{NAME}"')
    url = server.set(database=NAME).render_as_string(hide_password=False)
    try:
        os.environ.update({"DATABASE_URL": url, "SECRET_KEY": "bench-faults"})
        from flask_migrate import upgrade

        from samskap import create_app

        migrate_app = create_app()
        with migrate_app.app_context():
            upgrade()
            from samskap.extensions import db

            db.engine.dispose()

        with_ping, without = [], []
        for _ in range(args.rounds):  # alternating, so that the machine's load drifts into both alike
            with_ping.append(checkout_cost(url, True, args.checkouts))
            without.append(checkout_cost(url, False, args.checkouts))
        recoveries = [recovery_cost(url, admin) for _ in range(args.rounds)]
        plain, keyed, plain_statements, keyed_statements = booking_costs(url, args.creates)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
        admin.dispose()

    ping, no_ping = statistics.median(with_ping), statistics.median(without)
    print(f"Load average (1 min): {os.getloadavg()[0]:.2f}; {args.rounds} rounds, medians\n")
    print("| what | without | with | cost |")
    print("| --- | --- | --- | --- |")
    print(f"| checkout + one query, `pool_pre_ping` ({args.checkouts} per round) | {no_ping:.0f} µs | {ping:.0f} µs "
          f"| {ping - no_ping:+.0f} µs per request |")
    normal = statistics.median(r[0] for r in recoveries)
    recovered = statistics.median(r[1] for r in recoveries)
    print(f"| first checkout after every connection was terminated | {normal:.2f} ms (normal) | {recovered:.2f} ms "
          f"| {recovered - normal:+.2f} ms, once per dead pooled connection |")
    print(f"| `POST /api/v1/bookings` in-process ({args.creates} creates), `Idempotency-Key` | {plain:.2f} ms | "
          f"{keyed:.2f} ms | {keyed - plain:+.2f} ms per keyed create |")
    print(f"| statements per create (mean; a ping counts as none) | {plain_statements:.2f} | {keyed_statements:.2f} | "
          f"{keyed_statements - plain_statements:+.2f} per keyed create |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
