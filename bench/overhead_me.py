"""Per-request cost of the app itself on ``GET /api/v1/me``, in process (no network, no gunicorn).

    .venv/bin/python bench/overhead_me.py [--requests 3000] [--rounds 5]

SQLite in a temporary directory; one user with an API token. Rounds alternate between the app as
it is and the same app with the operations hooks taken out (request id, JSON request line,
metrics observation: samskap/logs.py, samskap/ops.py), so both see the same machine load; prints
the median and p95 microseconds per request of each round and the median of each kind's medians.
Run from the root of another checkout, it measures that checkout (hooks it lacks are skipped).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hooks-only", action="store_true",
                        help="time only the per-request work the hooks add (metrics observation, request id)")
    args = parser.parse_args()
    if args.hooks_only:
        return hooks_only()

    from flask_migrate import upgrade

    from samskap import create_app
    from samskap.extensions import db

    directory = tempfile.mkdtemp(prefix="samskap-overhead-")
    config = {"TESTING": False, "SECRET_KEY": "overhead", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory}/o.db",
              "RATELIMIT_ENABLED": False, "SAMSKAP_FAST_PASSWORD_HASH": True}
    os.environ.setdefault("SAMSKAP_INSTANCE_PATH", directory)
    app = create_app(config)
    with app.app_context():
        upgrade()
        from accounts.services import create_api_token, create_organisation, create_user

        org = create_organisation(None, {"name": "Bench org", "kind": "host", "number": None})
        db.session.flush()
        user = create_user(None, {"email": "bench@example.test", "name": "Bench", "role": "admin",
                                  "organisation_id": org.id, "password": "bench password 123", "locale": "en"})
        _row, token = create_api_token(None, user, "bench")
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(300):  # warm-up
        client.get("/api/v1/me", headers=headers)
    with_hooks = (list(app.before_request_funcs.get(None, [])), list(app.after_request_funcs.get(None, [])))
    ops_hooks = {"_request_id", "_send_request_id", "_observe_request"}
    without_hooks = tuple([f for f in funcs if f.__name__ not in ops_hooks] for funcs in with_hooks)
    medians = {"with": [], "without": []}
    for round_number in range(1, 2 * args.rounds + 1):
        kind = "with" if round_number % 2 else "without"
        hooks = with_hooks if kind == "with" else without_hooks
        app.before_request_funcs[None], app.after_request_funcs[None] = list(hooks[0]), list(hooks[1])
        timings = []
        for _ in range(args.requests):
            started = time.perf_counter()
            response = client.get("/api/v1/me", headers=headers)
            timings.append((time.perf_counter() - started) * 1e6)
            assert response.status_code == 200
        timings.sort()
        median = statistics.median(timings)
        medians[kind].append(median)
        print(f"round {round_number} ({kind} ops hooks): median {median:.0f} µs, "
              f"p95 {timings[int(len(timings) * 0.95)]:.0f} µs")
    for kind, values in medians.items():
        print(f"{kind} ops hooks: median of medians {statistics.median(values):.0f} µs per request")


def hooks_only(n: int = 100_000) -> None:
    from samskap import metrics

    for _ in range(3):
        started = time.perf_counter()
        for _ in range(n):
            metrics.observe_request("accounts_api.me", "GET", 200, 0.004)
        observe = (time.perf_counter() - started) / n * 1e6
        started = time.perf_counter()
        for _ in range(n):
            os.urandom(16).hex()
        request_id = (time.perf_counter() - started) / n * 1e6
        print(f"latency observation {observe:.1f} µs, request id {request_id:.1f} µs "
              f"(multiprocess: {bool(metrics.multiprocess_dir())})")


if __name__ == "__main__":
    main()
