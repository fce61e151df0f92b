"""Seed a PostgreSQL database with a realistic, reproducible data set for the benchmarks.

    python bench/seed.py --database-url postgresql://postgres@127.0.0.1:5432/samskap_bench --scale 1.0

Two parts:
* **History** that scales with ``--scale`` (1.0 = 500 organisations, 5,000 users,
  1,000,000 bookings over five years incl. recurring series, 100,000 equipment
  reservations; 0.01 = one hundredth). It is what a workshop accumulates.
* **Scenario data** that is the same at every scale, so the same requests can be
  timed against small and large history: 200 spaces (50 of them of kind
  "bench-day" with 400 bookings on the bench day), 50 equipment types with
  1,000 units, an organisation with 5,000 events in its feed window, one fully
  booked slot for the conflict scenario, API tokens and a feed token. History
  leaves the bench day and the feed's organisation alone, so those windows hold
  the same rows at every scale.

Rows are written with COPY; the migrations' constraints (including the
exclusion constraints) are in place while loading, so the data is valid by
construction. Prints a JSON description of the scenario data on stdout.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time as clock
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OSLO = ZoneInfo("Europe/Oslo")
UTC = timezone.utc
KINDS = ["municipality", "hospital", "company", "academia"]
ALL_KINDS = KINDS + ["host"]
PURPOSES = ["meeting", "co-creation workshop", "pilot test", "training", "event"]
VISIBILITIES = ["private", "private", "partners", "public"]
# Background bookings use these local slots (start, end); scenario bookings use 16:00-17:00.
SLOTS = [(time(8), time(10)), (time(10, 30), time(12)), (time(12, 30), time(14)), (time(14, 30), time(15, 45))]
FEED_SLOT = (time(16), time(17))
N_SPACES = 200
N_DAY_SPACES = 50
N_TYPES = 50
N_UNITS = 1000
FEED_EVENTS = 5000
BENCH_PASSWORD = "bench-password-1"


def utc(day: date, clock_time: time) -> datetime:
    return datetime.combine(day, clock_time, tzinfo=OSLO).astimezone(UTC)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Loader:
    def __init__(self, conn):
        self.conn = conn

    def copy(self, table: str, columns: list[str], rows) -> int:
        count = 0
        cols = ", ".join(f'"{c}"' for c in columns)
        with self.conn.cursor() as cur:
            with cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        return count


def seed(url: str, scale: float, today: date, rng_seed: int = 20261123) -> dict:
    rng = random.Random(rng_seed)
    now = datetime.now(UTC)
    n_orgs = max(5, round(500 * scale))
    n_users = max(20, round(5000 * scale))
    n_bookings = round(1_000_000 * scale)
    n_reservations = round(100_000 * scale)
    history_start = today - timedelta(days=4 * 365)
    history_end = today + timedelta(days=365)
    days = (history_end - history_start).days
    bench_day = today + timedelta(days=30)
    info: dict = {"scale": scale, "today": today.isoformat(), "bench_day": bench_day.isoformat()}
    started = clock.monotonic()

    with psycopg.connect(url) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT EXISTS (SELECT 1 FROM organisations)")
            if cur.fetchone()[0]:
                raise SystemExit("bench/seed.py: the database is not empty; seed a freshly migrated database")
        load = Loader(conn)
        # --- organisations and users (scaled) -------------------------------------------------
        orgs = [(1, "Helseinn (bench host)", "host")] + [
            (i, f"Bench org {i:04d}", KINDS[i % 4]) for i in range(2, n_orgs + 1)]
        feed_org_id = 2  # a municipality: the organisation whose feed has 5,000 events
        load.copy("organisations", ["id", "name", "kind", "members_share_bookings", "active", "created_at",
                                    "updated_at"],
                  ((i, name, kind, True, True, now, now) for i, name, kind in orgs))
        from argon2 import PasswordHasher

        password_hash = PasswordHasher().hash(BENCH_PASSWORD)  # one hash shared by every bench user
        users = []
        for i in range(1, n_users + 1):
            org_id = 1 if i <= 3 else 2 + (i % (n_orgs - 1))
            role = "admin" if i == 1 else "staff" if i <= 3 else "member"
            users.append((i, f"bench{i}@bench.test", f"Bench user {i}", password_hash, org_id, role))
        load.copy("users", ["id", "email", "name", "password_hash", "organisation_id", "role", "is_org_contact",
                            "locale", "active", "session_version", "created_at", "updated_at"],
                  ((i, e, n, h, o, r, False, "nb", True, 1, now, now) for i, e, n, h, o, r in users))
        members_by_org: dict[int, list[int]] = {}
        for i, _e, _n, _h, o, r in users:
            members_by_org.setdefault(o, []).append(i)
        org_kind = {i: kind for i, _n, kind in orgs}
        other_orgs = [i for i, _n, _k in orgs if i not in (1, feed_org_id)]

        # --- API tokens: 16 members of different organisations + one staff ------------------
        tokens = {}
        token_rows = []
        partner_users = [u for u in users if u[5] == "member"][:16]
        for n, (uid, *_rest) in enumerate(partner_users + [users[1]], start=1):
            secret = f"sk_bench_token_{n:02d}_{'x' * 20}"
            tokens.setdefault("members" if n <= len(partner_users) else "staff", []).append(secret)
            token_rows.append((n, uid, "bench", sha(secret), secret[:10], now))
        load.copy("api_tokens", ["id", "user_id", "name", "token_hash", "prefix", "created_at"], token_rows)
        info["tokens"] = tokens
        info["staff_email"], info["password"] = users[1][1], BENCH_PASSWORD

        # --- spaces (fixed) ------------------------------------------------------------------
        # Migration 0005 ships the standard kinds; the bench's spaces use its own two, with fixed ids.
        load.conn.execute("DELETE FROM space_kinds")
        load.copy("space_kinds", ["id", "code", "name_nb", "name_en"],
                  [(1, "meeting-room", "Møterom", "Meeting room"), (2, "bench-day", "Benkrom", "Bench room")])
        hours = json.dumps({d: [["07:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
        load.copy("spaces", ["id", "name", "slug", "kind_id", "capacity", "description", "location", "opening_hours",
                             "bookable_by", "requires_approval", "max_days_ahead", "buffer_minutes", "active",
                             "created_at", "updated_at"],
                  ((i, f"Bench space {i:03d}", f"bench-{i:03d}", 2 if i <= N_DAY_SPACES else 1, 20, "", "",
                    hours, json.dumps(ALL_KINDS), False, 1000, 15 if i > N_DAY_SPACES else 0, True, now, now)
                   for i in range(1, N_SPACES + 1)))
        info["day_view_kind"] = "bench-day"

        # --- bookings ------------------------------------------------------------------------
        booking_cols = ["id", "space_id", "organiser_id", "organisation_id", "title", "description", "purpose",
                        "start", "end", "blocked_until", "attendees", "visibility", "status", "series_id",
                        "original_start", "sequence", "opening_hours_overridden", "decision_reason",
                        "cancel_reason", "created_at", "updated_at"]
        next_id = [1]
        series_rows = []

        def booking_row(space_id, organiser, org_id, start, end, buffer, series_id=None, status=None, title=None):
            bid = next_id[0]
            next_id[0] += 1
            status = status or ("cancelled" if rng.random() < 0.05 else "confirmed")
            stamp = min(start, now) - timedelta(days=rng.randint(1, 60))
            return (bid, space_id, organiser, org_id, title or f"Bench booking {bid}", "", rng.choice(PURPOSES),
                    start, end, end + timedelta(minutes=buffer), rng.randint(1, 20), rng.choice(VISIBILITIES),
                    status, series_id, start if series_id else None, 0, False, "", "", stamp, stamp)

        def random_organiser():
            # Never the feed's organisation: its feed window holds the scenario's 5,000 events and
            # nothing else, at both sizes, so the full/small ratio compares equal windows.
            org_id = rng.choice(other_orgs)
            members = members_by_org.get(org_id) or members_by_org[1]
            return rng.choice(members), org_id

        def scenario_rows():
            # 400 bookings on the bench day: 8 one-hour bookings in each bench-day space.
            for space_id in range(1, N_DAY_SPACES + 1):
                for hour in range(8, 16):
                    organiser, org_id = random_organiser()
                    yield booking_row(space_id, organiser, org_id, utc(bench_day, time(hour)),
                                      utc(bench_day, time(hour + 1)), 0, status="confirmed")
            # 5,000 events of one organisation inside its feed window, in the 16:00-17:00 slot.
            window_days = list(range(-80, 540))
            slots = [(d, s) for d in window_days for s in range(N_DAY_SPACES + 1, N_SPACES + 1)]
            picked = rng.sample(slots, FEED_EVENTS)
            members = members_by_org[feed_org_id]
            for offset, space_id in picked:
                day = today + timedelta(days=offset)
                yield booking_row(space_id, rng.choice(members), feed_org_id, utc(day, FEED_SLOT[0]),
                                  utc(day, FEED_SLOT[1]), 15)

        def history_rows():
            if n_bookings == 0:
                return
            history_spaces = list(range(N_DAY_SPACES + 1, N_SPACES + 1)) + list(range(1, N_DAY_SPACES + 1))
            per_space = n_bookings // len(history_spaces)
            extra = n_bookings - per_space * len(history_spaces)
            for index, space_id in enumerate(history_spaces):
                want = per_space + (1 if index < extra else 0)
                buffer = 0 if space_id <= N_DAY_SPACES else 15
                taken: set[tuple[int, int]] = set()
                made = 0
                # About 10 % in weekly series of 10 occurrences (slot 0, one weekday); at least one
                # series per space, so that the 1/100 size has series too.
                n_series = max(1, want // 100) if want >= 20 else 0
                for _ in range(n_series):
                    first = rng.randrange(0, days - 70)
                    if any((first + 7 * k, 0) in taken for k in range(10)):
                        continue
                    series_id = len(series_rows) + 1
                    first_day = history_start + timedelta(days=first)
                    series_rows.append((series_id, "FREQ=WEEKLY;COUNT=10", "Europe/Oslo",
                                        f"{first_day.isoformat()}T08:00:00", now, now))
                    organiser, org_id = random_organiser()
                    for k in range(10):
                        day = first_day + timedelta(days=7 * k)
                        if day == bench_day:
                            continue
                        taken.add((first + 7 * k, 0))
                        made += 1
                        yield booking_row(space_id, organiser, org_id, utc(day, SLOTS[0][0]), utc(day, SLOTS[0][1]),
                                          buffer, series_id=series_id)
                attempts = 0
                while made < want and attempts < want * 20:
                    attempts += 1
                    d, s = rng.randrange(days), rng.randrange(len(SLOTS))
                    day = history_start + timedelta(days=d)
                    if (d, s) in taken or day == bench_day:
                        continue
                    taken.add((d, s))
                    made += 1
                    organiser, org_id = random_organiser()
                    yield booking_row(space_id, organiser, org_id, utc(day, SLOTS[s][0]), utc(day, SLOTS[s][1]), buffer)

        scenario = list(scenario_rows())
        # The conflict scenario targets the first bench-day booking's slot.
        info["conflict_slot"] = {"space_id": 1, "start": scenario[0][7].isoformat(), "end": scenario[0][8].isoformat()}
        history = list(history_rows())
        load.copy("booking_series", ["id", "rrule", "tzid", "dtstart_local", "created_at", "updated_at"], series_rows)
        load.copy("bookings", booking_cols, scenario + history)
        info["bookings"] = len(scenario) + len(history)
        info["series"] = len(series_rows)

        # --- equipment (fixed types and units; scaled reservations) ---------------------------
        categories = ["sensor_kit", "welfare_technology", "vr", "measurement_device", "robot"]
        load.copy("equipment_types", ["id", "name", "category", "description", "max_loan_days", "turnaround_hours",
                                      "bookable_by", "requires_approval", "active", "created_at", "updated_at"],
                  ((i, f"Bench equipment {i:02d}", categories[i % 5], "", 28, 24, json.dumps(ALL_KINDS), False, True,
                    now, now) for i in range(1, N_TYPES + 1)))
        units_per_type = N_UNITS // N_TYPES
        load.copy("equipment_units", ["id", "equipment_type_id", "asset_tag", "serial", "status", "status_note",
                                      "created_at", "updated_at"],
                  ((u, 1 + (u - 1) // units_per_type, f"BENCH-{u:05d}", f"SN{u:07d}", "available", "", now, now)
                   for u in range(1, N_UNITS + 1)))
        reservations, allocations = [], []
        per_unit = n_reservations // N_UNITS if n_reservations >= N_UNITS else 0
        remainder = n_reservations - per_unit * N_UNITS
        rid = 0
        for unit in range(1, N_UNITS + 1):
            count = per_unit + (1 if unit <= remainder else 0)
            if count == 0:
                continue
            span = days / count
            for k in range(count):
                rid += 1
                # Spread over the unit's share of the five years (at 1/100 size, one loan per unit
                # anywhere in them), leaving room for the loan and its turnaround.
                day = history_start + timedelta(days=int(k * span) + rng.randrange(max(1, int(span) - 16)))
                start = utc(day, time(9))
                end = start + timedelta(days=max(1, min(14, int(span) - 2)))
                organiser, org_id = random_organiser()
                past = end < now
                status = "returned" if past else "confirmed"
                reservations.append((rid, 1 + (unit - 1) // units_per_type, 1, org_id, organiser, start, end, "",
                                     status, 0, "", "", "", "", now, now))
                allocations.append((rid, rid, unit, start, end + timedelta(hours=24), True))
        load.copy("equipment_reservations", ["id", "equipment_type_id", "quantity", "organisation_id", "user_id",
                                             "start", "end", "purpose", "status", "sequence", "checkout_note",
                                             "return_note", "decision_reason", "cancel_reason", "created_at",
                                             "updated_at"], reservations)
        load.copy("equipment_allocations", ["id", "reservation_id", "unit_id", "start", "blocked_until", "active"],
                  allocations)
        info["equipment_reservations"] = len(reservations)

        # --- the organisation feed ---------------------------------------------------------
        feed_secret = "bench-feed-token-" + "f" * 30
        load.copy("feeds", ["id", "token_hash", "owner_id", "scope", "name", "created_at"],
                  [(1, sha(feed_secret), members_by_org[feed_org_id][0], "organisation", "bench", now)])
        info["feed_token"] = feed_secret
        info["feed_org_id"] = feed_org_id

        # Move identity sequences past the explicit ids.
        with conn.cursor() as cur:
            for table in ("organisations", "users", "api_tokens", "space_kinds", "spaces", "booking_series",
                          "bookings", "equipment_types", "equipment_units", "equipment_reservations",
                          "equipment_allocations", "feeds"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"COALESCE((SELECT MAX(id) FROM \"{table}\"), 1))")
        conn.commit()
        with conn.cursor() as cur:
            conn.autocommit = True
            cur.execute("VACUUM ANALYZE")
    info["seconds"] = round(clock.monotonic() - started, 1)
    return info


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="an EMPTY, migrated PostgreSQL database")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = full size, 0.01 = one hundredth")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1.0:
        parser.error("--scale must be in (0, 1]")
    url = args.database_url.replace("postgresql+psycopg://", "postgresql://")
    info = seed(url, args.scale, datetime.now(OSLO).date())
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
