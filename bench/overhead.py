"""What every request pays for the whole stack: Samskap's endpoints against a minimal Flask app
(bench/minimal.py) on the same gunicorn settings and the same PostgreSQL database, both driven by
wrk (Debian's package, installed by ``bash bench/setup.sh``) from outside, in one run:

    .venv/bin/python bench/overhead.py                      # small seed, 2 rounds of 10 s per pair
    .venv/bin/python bench/overhead.py --duration 5 --rounds 1

| pair | Samskap | minimal app | target (Samskap ÷ minimal, requests/s) |
| --- | --- | --- | --- |
| me | ``GET /api/v1/me`` with a bearer token | ``GET /read`` (50 rows by primary key) | ≥ 0.60 |
| create | ``POST /api/v1/bookings``, a free slot each, every rule | ``POST /insert`` (one ``INSERT … RETURNING``) | ≥ 0.40, p95 < 100 ms |
| conflict | ``POST /api/v1/bookings`` for a booked slot (409) | ``GET /read`` | ≥ 0.50 |

Samskap runs as in production: rate limits on (storage in Redis, ``--limiter-storage``; the API
limit raised so that the load is never refused, so its cost is measured but not its refusals),
no debug, a secret key. Each pair runs the minimal app first and Samskap right after, in rounds
(``--rounds``), so a ratio compares two measurements a few seconds apart. Afterwards every
created booking is checked: one row per 201, no double booking, and every refused attempt a 409.

The figures go to ``bench/results/overhead.json`` and to the overhead section of ``bench/RESULTS.md``
(between its markers, below the notes that bench/run.py keeps).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import SIZES, Server, _create_slot, _double_bookings, prepare_database  # noqa: E402

LUA = ROOT / "bench" / "wrk" / "requests.lua"
START = "<!-- overhead: written by bench/overhead.py -->"
END = "<!-- /overhead -->"
TITLE = "Overhead create"
TARGETS = {"me": 0.60, "create": 0.40, "conflict": 0.50}


def wrk(port: int, *, method: str, path: str, duration: float, connections: int, threads: int,
        token: str | None = None, body: str | None = None, bodies: Path | None = None) -> dict:
    env = {**os.environ, "WRK_METHOD": method, "WRK_PATH": path, "WRK_TOKEN": token or "",
           "WRK_BODY": body or "", "WRK_BODIES": str(bodies or ""), "WRK_THREADS": str(threads)}
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(duration)}s", "--timeout", "10s", "-s", str(LUA),
               f"http://127.0.0.1:{port}{path}"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    result = json.loads(line.removeprefix("WRK_RESULT "))
    seconds = result["duration_us"] / 1e6
    result.update({
        "seconds": round(seconds, 2),
        "throughput_rps": round(result["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": round(result["p50_us"] / 1000, 2), "p95_ms": round(result["p95_us"] / 1000, 2),
        "p99_ms": round(result["p99_us"] / 1000, 2), "connections": connections,
    })
    return result


def server_timing(port: int, method: str, path: str, token: str, body: str | None = None, repeat: int = 30) -> float:
    """Median of the app's own ``Server-Timing`` over ``repeat`` sequential requests on an idle server."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port)
    figures = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for _ in range(repeat):
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        match = re.search(r"app;dur=([\d.]+)", response.getheader("Server-Timing") or "")
        if match:
            figures.append(float(match.group(1)))
    conn.close()
    return round(statistics.median(figures), 2) if figures else float("nan")


def write_bodies(path: Path, today: date, first: int, count: int) -> None:
    with path.open("w") as out:
        for k in range(first, first + count):
            space_id, start = _create_slot(k, today)
            out.write(json.dumps({
                "space_id": space_id, "title": f"{TITLE} {k}", "start": start.isoformat(),
                "end": (start + timedelta(minutes=30)).isoformat(), "attendees": 2, "purpose": "meeting",
                "visibility": "private"}) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                               "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--size", default="small", choices=sorted(SIZES))
    parser.add_argument("--duration", type=int, default=10, help="whole seconds per measurement")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--limiter-storage", default="redis://127.0.0.1:6379/15",
                        help="Samskap's RATELIMIT_STORAGE_URI (as the README advises for production)")
    parser.add_argument("--database", default="samskap_bench_overhead", help="dropped and made again")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.duration <= 0 or args.connections < 1 or args.threads < 1:
        parser.error("--rounds, --duration, --connections and --threads must be positive")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,60}", args.database):
        parser.error("--database must be lower-case letters, digits and underscores")
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed: run `bash bench/setup.sh` (Debian's package)")

    print(f"== seeding {args.database} ({args.size})", flush=True)
    info = prepare_database(args.server_url, args.database, SIZES[args.size])
    url = info["url"]
    sa_url = url.replace("postgresql://", "postgresql+psycopg://")
    subprocess.run([sys.executable, "-c", "import bench.minimal as m; m.create_table()"], cwd=ROOT, check=True,
                   env={**os.environ, "DATABASE_URL": sa_url})
    token = info["tokens"]["members"][0]
    today = date.fromisoformat(info["today"])
    slot = info["conflict_slot"]
    conflict_body = json.dumps({"space_id": slot["space_id"], "title": "Clash", "start": slot["start"],
                                "end": slot["end"], "attendees": 1})

    samskap_env = {"RATELIMIT_ENABLED": "true", "RATELIMIT_STORAGE_URI": args.limiter_storage,
                   "SAMSKAP_API_LIMIT": "1000000 per minute"}
    samskap = Server(url, args.workers, env=samskap_env)
    minimal = Server(url, args.workers, app="bench.minimal:app")
    results: list[dict] = []
    workdir = Path(tempfile.mkdtemp(prefix="samskap-overhead-"))
    try:
        # Idle, sequential: the app's own time for one request of each kind.
        idle = {"me_server_ms": server_timing(samskap.port, "GET", "/api/v1/me", token),
                "conflict_server_ms": server_timing(samskap.port, "POST", "/api/v1/bookings", token, conflict_body)}
        load_before = os.getloadavg()
        common = {"duration": args.duration, "connections": args.connections, "threads": args.threads}
        for round_no in range(1, args.rounds + 1):
            print(f"== round {round_no}", flush=True)
            bodies = workdir / f"bodies-{round_no}.jsonl"
            budget = int(args.duration * 3000) + 1000  # more than any create rate seen on two cores
            # Each round its own slots: wrk's threads use their shares of the file unevenly, so the
            # next round cannot start where the count of used bodies ends.
            write_bodies(bodies, today, (round_no - 1) * budget, budget)
            pairs = {
                "me": (dict(method="GET", path="/read"),
                       dict(method="GET", path="/api/v1/me", token=token)),
                "create": (dict(method="POST", path="/insert", body=json.dumps({"title": "Minimal insert"})),
                           dict(method="POST", path="/api/v1/bookings", token=token, bodies=bodies)),
                "conflict": (dict(method="GET", path="/read"),
                             dict(method="POST", path="/api/v1/bookings", token=token, body=conflict_body)),
            }
            for name, (floor, ours) in pairs.items():
                base = wrk(minimal.port, **floor, **common)
                with psycopg.connect(url) as conn:
                    before = conn.execute("SELECT count(*) FROM bookings WHERE title LIKE %s",
                                          (TITLE + " %",)).fetchone()[0]
                mine = wrk(samskap.port, **ours, **common)
                row = {"pair": name, "round": round_no, "minimal": base, "samskap": mine,
                       "ratio": round(mine["throughput_rps"] / base["throughput_rps"], 3)
                       if base["throughput_rps"] else 0.0}
                with psycopg.connect(url) as conn:
                    if name == "create":
                        row["rows_created"] = conn.execute("SELECT count(*) FROM bookings WHERE title LIKE %s",
                                                           (TITLE + " %",)).fetchone()[0] - before
                        row["double_bookings_after"] = _double_bookings(conn, "a.title LIKE %s", (TITLE + " %",))
                        row["repeated_bodies"] = conn.execute(
                            "SELECT count(*) FROM (SELECT title FROM bookings WHERE title LIKE %s GROUP BY title "
                            "HAVING count(*) > 1) t", (TITLE + " %",)).fetchone()[0]
                        row["rows_without_audit"] = conn.execute(
                            "SELECT count(*) FROM bookings b WHERE b.title LIKE %s AND NOT EXISTS "
                            "(SELECT 1 FROM audit_log a WHERE a.action = 'booking.create' "
                            "AND a.object_id = b.id)", (TITLE + " %",)).fetchone()[0] \
                            if _has_audit_table(conn) else None
                    if name == "conflict":
                        row["clash_rows"] = conn.execute("SELECT count(*) FROM bookings WHERE title = 'Clash'").fetchone()[0]
                print(json.dumps({k: v for k, v in row.items() if k not in ("minimal", "samskap")} |
                                 {"minimal_rps": base["throughput_rps"], "samskap_rps": mine["throughput_rps"],
                                  "samskap_p95_ms": mine["p95_ms"], "statuses": mine["statuses"]}), flush=True)
                results.append(row)
        load_after = os.getloadavg()
    finally:
        samskap.stop()
        minimal.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    report = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cores": os.cpu_count(),
              "workers": args.workers, "size": args.size, "connections": args.connections, "threads": args.threads,
              "duration": args.duration, "limiter_storage": args.limiter_storage,
              "load_average_before": [round(x, 2) for x in load_before],
              "load_average_after": [round(x, 2) for x in load_after], "idle": idle, "results": results}
    out = ROOT / "bench" / "results" / "overhead.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    command = "python bench/overhead.py " + " ".join(argv if argv is not None else sys.argv[1:])
    write_section(ROOT / "bench" / "RESULTS.md", report, command.strip())
    failed = [r for r in results if not check(r)[0]]
    print(f"== {len(results) - len(failed)} of {len(results)} measurements meet their targets", flush=True)
    return 0


def _has_audit_table(conn) -> bool:
    return conn.execute("SELECT to_regclass('audit_log') IS NOT NULL").fetchone()[0]


def check(row: dict) -> tuple[bool, str]:
    """Whether a pair meets its target, with the figures that decide (and the integrity checks)."""
    name, mine, ratio = row["pair"], row["samskap"], row["ratio"]
    statuses = mine["statuses"]
    target = TARGETS[name]
    good = ratio >= target
    text = f"{ratio:.2f} × minimal (target ≥ {target:.2f})"
    if name == "create":
        ok = statuses.get("201", 0)
        # wrk stops counting at the deadline while up to one request per connection is still being
        # answered: those rows exist, their 201s were not counted.
        rows = row.get("rows_created") or 0
        whole = (ok == mine["requests"] and ok <= rows <= ok + mine.get("connections", 16)
                 and row.get("double_bookings_after") == 0 and row.get("repeated_bodies") == 0
                 and row.get("rows_without_audit") in (0, None))
        good = good and mine["p95_ms"] < 100 and whole
        text += (f"; p95 {mine['p95_ms']} ms (target < 100); {ok} × 201, {row.get('rows_created')} rows, "
                 f"double bookings {row.get('double_bookings_after')}, without audit {row.get('rows_without_audit')}")
    if name == "conflict":
        refused = statuses.get("409", 0)
        good = good and refused == mine["requests"] and row.get("clash_rows") == 0
        text += f"; 409 for {refused} of {mine['requests']}"
    if name == "me":
        good = good and statuses.get("200", 0) == mine["requests"]
    return good, ("✅ " if good else "❌ ") + text


def write_section(path: Path, report: dict, command: str) -> None:
    lines = [START, "", "## Overhead against a minimal Flask app (bench/overhead.py, wrk)", "",
             f"Command: `{command}`  ", f"Date: {report['date']}; {report['cores']} cores shared by wrk, both "
             f"gunicorns and PostgreSQL; gunicorn {report['workers']} gthread workers × 4 threads for both apps; "
             f"wrk {report['threads']} threads, {report['connections']} connections, {report['duration']} s each; "
             f"Samskap's rate limiter on ({report['limiter_storage']}); {report['size']} seed.  ",
             f"Load average (1 min): {report['load_average_before'][0]} before, "
             f"{report['load_average_after'][0]} after.  ",
             f"Idle, one request at a time, the app's own time (`Server-Timing`, median of 30): "
             f"`GET /api/v1/me` {report['idle']['me_server_ms']} ms, refused booking "
             f"{report['idle']['conflict_server_ms']} ms.", "",
             "| pair | round | minimal app req/s | minimal p95 ms | Samskap req/s | Samskap p50 ms | Samskap p95 ms "
             "| Samskap statuses | check |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in report["results"]:
        base, mine = row["minimal"], row["samskap"]
        statuses = ", ".join(f"{k}×{v}" for k, v in sorted(mine["statuses"].items()))
        errors = sum(mine["errors"].values()) - mine["errors"]["status"]
        if errors:
            statuses += f", socket errors×{errors}"
        lines.append(f"| {row['pair']} | {row['round']} | {base['throughput_rps']} | {base['p95_ms']} | "
                     f"{mine['throughput_rps']} | {mine['p50_ms']} | {mine['p95_ms']} | {statuses} | "
                     f"{check(row)[1]} |")
    lines += ["", END]
    section = "\n".join(lines)
    text = path.read_text() if path.exists() else ""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
