"""Same-run A/B for bench/overhead.py's pairs, alternating, on the database bench/overhead.py left
behind (run that first, and ``bench/overhead_profile.py --seed`` the same day: its seed file gives
the token and the booked slot):

    .venv/bin/python bench/overhead_ab.py --base 04e60af --rounds 2 --duration 10

gunicorn serves the code at ``--base`` (``git archive`` into a temporary directory) and this
branch's code side by side, on the same database, Redis and settings; each round measures, for
each request, the base and then this branch, a few seconds apart:

- ``me``: ``GET /api/v1/me`` with a bearer token;
- ``create``: ``POST /api/v1/bookings`` in free slots (a file of bodies, new slots for every run);
- ``conflict``: a refused booking (409).

Each measurement is wrk, 16 connections, as in bench/overhead.py; only the figures are printed.
(The previous round's version of this script, which also switched the feed-generation trigger
between one row and 64, is at commit bbfdc9e.)
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import socket
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.overhead import wrk, write_bodies  # noqa: E402
from bench.run import free_port  # noqa: E402

def serve(code: Path, url: str, workers: int, env: dict) -> tuple[subprocess.Popen, int]:
    port = free_port()
    full = {**os.environ, "DATABASE_URL": url.replace("postgresql://", "postgresql+psycopg://"),
            "SECRET_KEY": "bench-secret", "SESSION_COOKIE_SECURE": "false",
            "SAMSKAP_BASE_URL": f"http://127.0.0.1:{port}", **env}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class",
                                "gthread", "--threads", "4", "--bind", f"127.0.0.1:{port}", "--log-level",
                                "warning", "app:app"], cwd=code, env=full)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the commit to compare this branch with")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pairs", default="me,create,conflict", help="comma-separated: me, create, conflict")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--limiter-storage", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args(argv)
    url = "postgresql://postgres@127.0.0.1:5432/samskap_bench_overhead"
    env = {"RATELIMIT_ENABLED": "true", "RATELIMIT_STORAGE_URI": args.limiter_storage,
           "SAMSKAP_API_LIMIT": "1000000 per minute"}
    # The seed is deterministic for a size and a day: bench/overhead_profile.py --seed wrote the same
    # small seed's tokens and booked slot (every conflict answer is checked to be a 409 below).
    info = json.loads((ROOT / "bench" / "results" / "overhead_profile_seed.json").read_text())
    token, slot, today = info["tokens"]["members"][0], info["conflict_slot"], date.fromisoformat(info["today"])
    conflict_body = json.dumps({"space_id": slot["space_id"], "title": "Clash", "start": slot["start"],
                                "end": slot["end"], "attendees": 1})
    common = {"duration": args.duration, "connections": 16, "threads": 2}
    base_dir = Path(tempfile.mkdtemp(prefix="samskap-base-"))
    workdir = Path(tempfile.mkdtemp(prefix="samskap-ab-"))
    subprocess.run(f"git -C {ROOT} archive {args.base} | tar -x -C {base_dir}", shell=True, check=True)
    for mo in (ROOT / "translations").rglob("*.mo"):  # compiled catalogues are not in git
        target = base_dir / mo.relative_to(ROOT)
        if target.parent.exists():
            shutil.copyfile(mo, target)
    ours, ours_port = serve(ROOT, url, args.workers, env)
    base, base_port = serve(base_dir, url, args.workers, env)
    results = []
    try:
        for round_no in range(1, args.rounds + 1):
            for pair in args.pairs.split(","):
                for variant, port in ((f"base {args.base}", base_port), ("this branch", ours_port)):
                    if pair == "me":
                        request = dict(method="GET", path="/api/v1/me", token=token)
                    elif pair == "conflict":
                        request = dict(method="POST", path="/api/v1/bookings", token=token, body=conflict_body)
                    else:
                        bodies = workdir / f"{round_no}-{len(results)}.jsonl"
                        write_bodies(bodies, today, 100_000 + len(results) * 30_000, 30_000)
                        request = dict(method="POST", path="/api/v1/bookings", token=token, bodies=bodies)
                    got = wrk(port, **request, **common)
                    results.append({"pair": pair, "round": round_no, "variant": variant,
                                    "rps": got["throughput_rps"], "p50_ms": got["p50_ms"], "p95_ms": got["p95_ms"],
                                    "statuses": got["statuses"], "load": round(os.getloadavg()[0], 2)})
                    print(json.dumps(results[-1]), flush=True)
        bad = [r for r in results if r["pair"] == "conflict" and set(r["statuses"]) != {"409"}]
        if bad:
            print(f"== not every conflict answer was a 409: {bad}", flush=True)
            return 1
    finally:
        for process in (ours, base):
            process.terminate()
        for process in (ours, base):
            try:
                process.wait(timeout=45)  # gunicorn's graceful_timeout is 30 s
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        shutil.rmtree(base_dir, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
