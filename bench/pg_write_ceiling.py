"""How many bookings a second PostgreSQL itself takes, without the app: the ceiling the app tier
meets however many hosts it has (docs/scaling.md).

    .venv/bin/python bench/pg_write_ceiling.py [--seconds 10] [--clients 1,4,8]

Creates ``samskap_ceiling_<pid>`` on the local server (``BENCH_DATABASE_URL`` or
``postgresql://postgres@127.0.0.1:5432/postgres``), migrates it with the app's migrations, adds
200 spaces, then runs ``pgbench`` with the app's own single-booking statement (``INSERT ... ON
CONFLICT ON CONSTRAINT ex_bookings_no_overlap DO NOTHING``: the exclusion constraint's GiST
index decides) at random times over two years, each transaction one booking, as the app commits
them. Twice: as deployed (the feed-generation trigger moves one of its 64 counter rows per
commit, migrations 0004 and 0017) and with that trigger disabled, to show what the counter costs.
The database is dropped at the end.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

INSERT = """\\set space random(1, 200)
\\set slot random(0, 17520)
INSERT INTO bookings (space_id, organiser_id, organisation_id, title, description, purpose, start, "end",
  blocked_until, attendees, visibility, status, sequence, opening_hours_overridden, decision_reason,
  cancel_reason, created_at, updated_at)
SELECT s.id, :user_id, :org_id, 'Ceiling', '', 'meeting', t, t + interval '1 hour', t + interval '1 hour', 1,
  'private', 'confirmed', 0, false, '', '', now(), now()
FROM spaces s, (SELECT timestamptz '2027-01-01 08:00+00' + :slot * interval '1 hour' AS t) AS slot
WHERE s.id = :space
ON CONFLICT ON CONSTRAINT ex_bookings_no_overlap DO NOTHING;
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", default="1,4,8")
    args = parser.parse_args()
    server = sa.make_url(os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    server = server.set(drivername="postgresql+psycopg")
    name = f"samskap_ceiling_{os.getpid()}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = server.set(database=name)
    try:
        user_id, org_id = _prepare(url.render_as_string(hide_password=False))
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        rows = []
        for trigger in ("on", "off"):
            with engine.connect() as conn:
                conn.exec_driver_sql("DELETE FROM bookings")
                action = "ENABLE" if trigger == "on" else "DISABLE"
                conn.exec_driver_sql(f"ALTER TABLE bookings {action} TRIGGER tr_bookings_feed_generation")
                conn.exec_driver_sql("VACUUM ANALYZE bookings")
            for clients in (int(c) for c in args.clients.split(",")):
                tps = _pgbench(url, clients, args.seconds, user_id, org_id)
                with engine.connect() as conn:
                    count = conn.exec_driver_sql("SELECT count(*) FROM bookings").scalar()
                rows.append((trigger, clients, tps, count))
                print(f"feed-generation trigger {trigger}, {clients} clients: {tps:.0f} bookings/s "
                      f"({count} rows in the table)", flush=True)
        engine.dispose()
        load = os.getloadavg()[0]
        print(f"\nload average (1 min) at the end: {load:.1f}; cores: {os.cpu_count()}")
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _prepare(url: str) -> tuple[int, int]:
    from flask_migrate import upgrade

    from samskap import create_app
    from samskap.extensions import db

    app = create_app({"TESTING": True, "SECRET_KEY": "ceiling", "SQLALCHEMY_DATABASE_URI": url,
                      "SAMSKAP_FAST_PASSWORD_HASH": True})
    with app.app_context():
        upgrade()
        from accounts.models import Organisation, OrganisationKind, Role, User
        from spaces.models import Space, SpaceKind

        org = Organisation(name="Ceiling", kind=OrganisationKind.HOST)
        kind = SpaceKind(code="lab", name_nb="Lab", name_en="Lab")
        db.session.add_all([org, kind])
        db.session.flush()
        user = User(email="ceiling@example.test", name="Ceiling", organisation_id=org.id, role=Role.ADMIN,
                    password_hash="x")
        db.session.add(user)
        db.session.add_all([Space(name=f"Lab {n}", slug=f"lab-{n}", kind_id=kind.id, capacity=10,
                                  bookable_by=["host"], opening_hours=None, buffer_minutes=0)
                            for n in range(1, 201)])
        db.session.commit()
        ids = (user.id, org.id)
        db.session.remove()
        db.engine.dispose()
    return ids


def _pgbench(url: sa.URL, clients: int, seconds: int, user_id: int, org_id: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(INSERT)
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    done = subprocess.run(
        ["pgbench", "-n", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres",
         "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds), "-f", script.name,
         "-D", f"user_id={user_id}", "-D", f"org_id={org_id}", url.database],
        capture_output=True, text=True, env=env, check=True)
    os.unlink(script.name)
    match = re.search(r"tps = ([0-9.]+)", done.stdout)
    return float(match.group(1))


if __name__ == "__main__":
    main()
