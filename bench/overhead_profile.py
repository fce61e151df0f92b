"""Where one request's time goes, through the WSGI app itself (no test client, no network), as
gunicorn runs it for bench/overhead.py: PostgreSQL, the rate limiter on Redis, no debug.

    .venv/bin/python bench/overhead_profile.py --seed          # once: seeds samskap_bench_profile
    .venv/bin/python bench/overhead_profile.py me conflict create --requests 300

For each scenario (``me``: ``GET /api/v1/me`` with a bearer token; ``conflict``: a booking for a
booked slot, 409; ``create``: a booking in a free slot each time, 201) it prints the median
wall-clock time of a request, the SQL statements and Redis commands one request sends, and a
table of CPU time per request by part of the stack (``cProfile`` over ``--requests`` requests,
cumulative time of the functions named in ``PARTS``; parts nest, so they do not add up to the
total). The environ of each request is built before its clock starts.
"""
from __future__ import annotations

import sys
from pathlib import Path

# bench/profile.py would shadow the standard library's profile module, which cProfile imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from datetime import date, datetime, time as dtime, timedelta  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = {"me": "200", "conflict": "409", "create": "201", "minimal": "200"}
sys.path.insert(0, str(ROOT))

OSLO = ZoneInfo("Europe/Oslo")
INFO = ROOT / "bench" / "results" / "overhead_profile_seed.json"

# (label, file name ending, function name): the parts of a request, outermost first.
PARTS = [
    ("whole request (Flask.wsgi_app)", "flask/app.py", "wsgi_app"),
    ("request context push/pop (session open)", "flask/ctx.py", "push"),
    ("before_request hooks, all", "flask/app.py", "preprocess_request"),
    ("  caller: Flask-Login + token lookup", "samskap/outages.py", "_load_caller"),
    ("    token lookup", "accounts/auth.py", "load_user_from_bearer"),
    ("    token query", "accounts/auth.py", "user_for_api_token"),
    ("  rate limiter check", "samskap/limits.py", "_check_request_limit"),
    ("  NUL / JSON depth guards", "samskap/security.py", "refuse_nul_characters"),
    ("view (dispatch_request)", "flask/app.py", "dispatch_request"),
    ("  booking service", "booking/services/create.py", "book_space"),
    ("    clash query and its rows", "booking/services/conflicts.py", "find_clashes"),
    ("    refusal message", "booking/services/conflicts.py", "_conflict_message"),
    ("after_request hooks, all", "flask/app.py", "process_response"),
    ("  security headers", "samskap/security.py", "set_security_headers"),
    ("  metrics observation", "samskap/ops.py", "_observe_request"),
    ("  request id / JSON log line", "samskap/logs.py", "_send_request_id"),
    ("  Server-Timing", "samskap/timing.py", "_server_timing"),
    ("  session save (Flask-Login cookie)", "flask/sessions.py", "save_session"),
    ("Babel locale selection", "samskap/i18n.py", "select_locale"),
    ("teardown: session remove", "samskap/outages.py", "_end_session"),
    ("pool checkout (incl. pre-ping)", "sqlalchemy/pool/base.py", "_checkout"),
    ("  pre-ping", "sqlalchemy/engine/default.py", "do_ping"),
    ("pool checkin (incl. reset)", "sqlalchemy/pool/base.py", "_finalize_fairy"),
    ("SQL execute (driver)", "sqlalchemy/engine/default.py", "do_execute"),
    ("Redis commands", "redis/client.py", "execute_command"),
    ("JSON encoding", "flask/json/provider.py", "dumps"),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", help="me, conflict, create (default: these three; none with "
                        "--seed), minimal (bench/minimal.py's GET /read, the floor)")
    parser.add_argument("--plain", action="store_true",
                        help="only warm up and send --requests requests (for instruction counts: run under "
                             "valgrind --tool=callgrind with two values of --requests and take the difference)")
    parser.add_argument("--no-limiter", action="store_true", help="RATELIMIT_ENABLED=false: the limiter's share")
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="samskap_bench_profile")
    parser.add_argument("--seed", action="store_true", help="drop, create and seed the database (small size)")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--limiter-storage", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--top", type=int, default=0, help="also print the top N functions by own time")
    args = parser.parse_args(argv)
    if set(args.scenarios) - set(EXPECTED):
        parser.error("scenarios are " + ", ".join(EXPECTED))
    if not args.scenarios and not args.seed:
        args.scenarios = ["me", "conflict", "create"]
    if args.seed:
        from bench.run import SIZES, prepare_database

        info = prepare_database(args.server_url, args.database, SIZES["small"])
        INFO.parent.mkdir(parents=True, exist_ok=True)
        INFO.write_text(json.dumps(info, default=str))
    if not args.scenarios:
        return 0
    if not INFO.exists():
        parser.error("seed first: --seed")
    info = json.loads(INFO.read_text())
    url = info["url"].replace("postgresql://", "postgresql+psycopg://")
    os.environ.update({"DATABASE_URL": url, "SECRET_KEY": "bench-profile",
                       "RATELIMIT_ENABLED": "false" if args.no_limiter else "true",
                       "RATELIMIT_STORAGE_URI": args.limiter_storage, "SAMSKAP_API_LIMIT": "1000000 per minute",
                       "SESSION_COOKIE_SECURE": "false"})
    import sqlalchemy as sa
    from werkzeug.test import EnvironBuilder

    from samskap import create_app
    from samskap.extensions import db

    app = create_app()
    with app.app_context():
        engine = db.engine
    statements = [0]
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
    token = info["tokens"]["members"][0]
    slot = info["conflict_slot"]
    today = date.fromisoformat(info["today"])
    counter = iter(range(10**7))
    run_id = int(time.time()) % 100000

    import bench.minimal as minimal

    def environ(scenario):
        headers = {"Authorization": f"Bearer {token}"}
        if scenario == "minimal":
            return EnvironBuilder("/read").get_environ()
        if scenario == "me":
            return EnvironBuilder("/api/v1/me", headers=headers).get_environ()
        if scenario == "conflict":
            body = {"space_id": slot["space_id"], "title": "Clash", "start": slot["start"], "end": slot["end"],
                    "attendees": 1}
        else:
            n = next(counter)
            start = datetime.combine(today + timedelta(days=400 + (run_id % 300) + n // 100), dtime(6),
                                     tzinfo=OSLO) + timedelta(minutes=(n % 100) * 5)
            body = {"space_id": 1 + (run_id + n) % 10 + 40, "title": "Profile", "start": start.isoformat(),
                    "end": (start + timedelta(minutes=5)).isoformat(), "attendees": 1, "purpose": "meeting",
                    "visibility": "private"}
        return EnvironBuilder("/api/v1/bookings", method="POST", json=body, headers=headers).get_environ()

    def call(env):
        status = []
        target = minimal.app if env["PATH_INFO"] == "/read" else app
        body = b"".join(target(env, lambda s, h, exc_info=None: status.append(s)))
        return status[0], body

    for scenario in args.scenarios:
        expected = EXPECTED[scenario]
        for _ in range(20):  # warm up
            status, body = call(environ(scenario))
        if not status.startswith(expected):
            print(f"{scenario}: {status} {body[:300]!r}")
            return 1
        if args.plain:
            envs = [environ(scenario) for _ in range(args.requests)]
            for env in envs:
                call(env)
            continue
        statements[0] = 0
        redis_before = _redis_commands(args.limiter_storage)
        status, _body = call(environ(scenario))
        per_request_sql = statements[0]
        # Less the measuring client's own SELECT and INFO; one EVALSHA counts twice (its script's INCRBY).
        redis_per_request = max(0, _redis_commands(args.limiter_storage) - redis_before - 2)
        times = []
        for _ in range(args.requests):
            env = environ(scenario)
            started = time.perf_counter()
            call(env)
            times.append((time.perf_counter() - started) * 1000)
        profile = cProfile.Profile(time.process_time)
        envs = [environ(scenario) for _ in range(args.requests)]
        profile.enable()
        for env in envs:
            call(env)
        profile.disable()
        stats = pstats.Stats(profile)
        print(f"\n## {scenario}: median {statistics.median(times):.2f} ms wall, "
              f"p95 {statistics.quantiles(times, n=20)[18]:.2f} ms; {per_request_sql} SQL statements, "
              f"{redis_per_request} Redis commands per request (an EVALSHA counts with its INCRBY)")
        print("| part | CPU ms per request |\n| --- | --- |")
        for label, path, name in PARTS:
            spent = sum(ct for (file, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items()
                        if func == name and file.endswith(path))
            if spent:
                print(f"| {label} | {spent * 1000 / args.requests:.3f} |")
        if args.top:
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
            print(out.getvalue())
    return 0


def _redis_commands(uri: str) -> int:
    if not uri.startswith("redis"):
        return 0
    import redis

    client = redis.Redis.from_url(uri)
    try:
        return int(client.info("stats")["total_commands_processed"])
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
