"""One command for the whole benchmark (see bench/README.md):

    .venv/bin/python bench/run.py                 # both sizes, all scenarios
    .venv/bin/python bench/run.py --sizes small   # quick look

For each size it creates a PostgreSQL database, migrates it, seeds it (bench/seed.py), serves the
app with gunicorn as in production, drives it from this separate process over 127.0.0.1 and
writes bench/results/results.json and bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import load  # noqa: E402
from bench.seed import seed  # noqa: E402

OSLO = ZoneInfo("Europe/Oslo")
SIZES = {"full": 1.0, "small": 0.01}
TARGETS = {
    "create": "≥ 40 % of baseline throughput; p95 < 100 ms",
    "conflict": "409 for every one; p95 < 50 ms; zero double bookings",
    "availability": "server p50 < 20 ms",
    "day_view": "p50 < 150 ms",
    "feed": "< 250 ms",
    "feed_304": "< 10 ms",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_database(server_url: str, name: str, scale: float) -> dict:
    admin = psycopg.connect(server_url, autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    url = re.sub(r"/[^/]*$", f"/{name}", server_url)
    env = {**os.environ, "DATABASE_URL": url.replace("postgresql://", "postgresql+psycopg://"), "SECRET_KEY": "bench"}
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    info = seed(url, scale, datetime.now(OSLO).date())
    info["url"] = url
    return info


class Server:
    def __init__(self, database_url: str, workers: int):
        self.port = free_port()
        env = {**os.environ, "DATABASE_URL": database_url.replace("postgresql://", "postgresql+psycopg://"),
               "SECRET_KEY": "bench-secret", "SESSION_COOKIE_SECURE": "false", "RATELIMIT_ENABLED": "false",
               "SAMSKAP_BASE_URL": f"http://127.0.0.1:{self.port}"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "gthread", "--threads", "4",
             "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning", "bench.benchapp:app"],
            cwd=ROOT, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def session_cookie(port: int, email: str, password: str) -> str:
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", "/login")
    response = conn.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";")[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": password})
    conn.request("POST", "/login", body=body, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                        "Cookie": cookie})
    response = conn.getresponse()
    response.read()
    if response.status != 302:
        raise RuntimeError(f"bench sign-in failed: {response.status}")
    return response.getheader("Set-Cookie").split(";")[0]


def scenarios(info: dict, port: int, duration: float) -> list[dict]:
    members = info["tokens"]["members"]
    auth = [{"Authorization": f"Bearer {t}", "Content-Type": "application/json"} for t in members]
    results = []
    host = "127.0.0.1"

    def timed(name, make, clients=16, **kw):
        result = load.run(name, host, port, make, clients=clients, duration=kw.pop("duration", duration), **kw)
        summary = result.summary()
        results.append(summary)
        print(json.dumps(summary), flush=True)
        return summary

    timed("baseline", lambda i, n: ("GET", "/_bench/baseline", {}, None), warmup=2)

    rng = random.Random(7)
    today = date.fromisoformat(info["today"])

    def create(i, n):
        day = today + timedelta(days=rng.randint(400, 900))
        start = datetime.combine(day, dtime(8), tzinfo=OSLO) + timedelta(minutes=15 * rng.randint(0, 36))
        body = {"space_id": rng.randint(51, 200), "title": f"Bench {i}-{n}", "start": start.isoformat(),
                "end": (start + timedelta(minutes=30)).isoformat(), "attendees": 2, "purpose": "meeting",
                "visibility": "private"}
        return "POST", "/api/v1/bookings", auth[i % len(auth)], load.json_body(body)

    timed("create", create)

    slot = info["conflict_slot"]
    conflict_body = load.json_body({"space_id": slot["space_id"], "title": "Clash", "start": slot["start"],
                                    "end": slot["end"], "attendees": 1})
    timed("conflict", lambda i, n: ("POST", "/api/v1/bookings", auth[i % len(auth)], conflict_body))
    with psycopg.connect(info["url"]) as conn:
        doubles = conn.execute(
            "SELECT count(*) FROM bookings a JOIN bookings b ON a.space_id = b.space_id AND a.id < b.id "
            "AND a.status IN ('pending','confirmed') AND b.status IN ('pending','confirmed') "
            "AND tstzrange(a.start, a.blocked_until) && tstzrange(b.start, b.blocked_until) "
            "WHERE a.space_id = %s", (slot["space_id"],)).fetchone()[0]
    results[-1]["double_bookings_after"] = doubles

    bench_day = date.fromisoformat(info["bench_day"])
    day_start = datetime.combine(bench_day, dtime(0), tzinfo=OSLO)
    query = urllib.parse.urlencode({"start": day_start.isoformat(), "end": (day_start + timedelta(days=1)).isoformat()})
    timed("availability", lambda i, n: ("GET", f"/api/v1/availability?{query}", auth[i % len(auth)], None),
          clients=4, warmup=1)

    cookie = session_cookie(port, info["staff_email"], info["password"])
    day_path = f"/day?date={bench_day.isoformat()}&kind={info['day_view_kind']}"
    timed("day_view", lambda i, n: ("GET", day_path, {"Cookie": cookie}, None), clients=4, warmup=1)

    feed_path = f"/feeds/{info['feed_token']}.ics"
    timed("feed", lambda i, n: ("GET", feed_path, {}, None), clients=2, warmup=1)
    import http.client
    conn = http.client.HTTPConnection(host, port)
    conn.request("GET", feed_path)
    response = conn.getresponse()
    response.read()
    etag = response.getheader("ETag")
    timed("feed_304", lambda i, n: ("GET", feed_path, {"If-None-Match": etag or '"none"'}, None), clients=4)
    return results


def write_results(all_results: dict, path_json: Path, path_md: Path, command: str) -> None:
    path_json.parent.mkdir(parents=True, exist_ok=True)
    path_json.write_text(json.dumps(all_results, indent=2))
    lines = [
        "# Benchmark results", "",
        f"Command: `{command}`  ", f"Date: {all_results['date']}  ", f"Machine: {all_results['cores']} cores, "
        f"PostgreSQL on 127.0.0.1, gunicorn {all_results['workers']} gthread workers × 4 threads", "",
        "| size | scenario | clients | requests | throughput (req/s) | p50 ms | p95 ms | server p50 ms | statuses | target |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for size, data in all_results["sizes"].items():
        for r in data["results"]:
            statuses = ", ".join(f"{k}×{v}" for k, v in sorted(r["statuses"].items()))
            lines.append(f"| {size} | {r['scenario']} | {r['clients']} | {r['requests']} | {r['throughput_rps']} | "
                         f"{r['p50_ms']} | {r['p95_ms']} | {r['server_p50_ms']} | {statuses} | "
                         f"{TARGETS.get(r['scenario'], 'measured, to compare against')} |")
    path_md.write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Samskap benchmarks")
    parser.add_argument("--server-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                               "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--sizes", default="small,full")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    args = parser.parse_args(argv)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size(s) {unknown}; choose from {list(SIZES)}")
    all_results = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cores": os.cpu_count(),
                   "workers": args.workers, "sizes": {}}
    for size in sizes:
        print(f"== {size}: seeding", flush=True)
        info = prepare_database(args.server_url, f"samskap_bench_{size}", SIZES[size])
        print(f"== {size}: seeded {info['bookings']} bookings in {info['seconds']} s", flush=True)
        server = Server(info["url"], args.workers)
        try:
            results = scenarios(info, server.port, args.duration)
        finally:
            server.stop()
        all_results["sizes"][size] = {"seed": {k: v for k, v in info.items() if k not in ("tokens", "password")},
                                      "results": results}
    command = "python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    write_results(all_results, ROOT / "bench" / "results" / "results.json", ROOT / "bench" / "RESULTS.md", command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
