"""Mail benchmarks (issue 16), against the local PostgreSQL:

    .venv/bin/python bench/mail.py                  # both parts
    .venv/bin/python bench/mail.py --messages 1000 --creates 40 --blocks 8

1. **Worker throughput.** Queues ``--messages`` real booking-confirmation messages (text, HTML and an
   iCalendar invitation, rendered by the notification code), starts an SMTP server (aiosmtpd) on a free
   port of 127.0.0.1, runs ``flask --app app worker`` as its own process and times it from start until
   every message is marked sent and the server holds them all. Target: 1,000 in under 30 s.
2. **What notifications cost a booking.** Creates bookings through the JSON API (Flask test client,
   in-process, PostgreSQL) in alternating blocks with the notification recording on and off (the
   organiser's mail and the organisation's copy: two rows, written by the statement that writes the
   booking), and compares the median time
   per booking. Alternating blocks on the same database cancel most of the machine's noise, which
   the HTTP benchmark (bench/run.py, 16 clients on two shared cores) cannot.

Writes nothing but its report on standard output (figures go to bench/RESULTS.md by hand).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import time
import types
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def prepare_database(server_url: str, name: str) -> str:
    admin = psycopg.connect(server_url, autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    url = re.sub(r"/[^/]*$", f"/{name}", server_url).replace("postgresql://", "postgresql+psycopg://")
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench"}
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    return url


def drop_database(server_url: str, name: str) -> None:
    admin = psycopg.connect(server_url, autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def make_app(url: str):
    from samskap import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True,
                       "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                       "SAMSKAP_BASE_URL": "http://bench.samskap.test", "MAIL_DEFAULT_SENDER": "bench@samskap.test"})


def seed_people(copy_address: bool = True):
    from accounts.models import Organisation, OrganisationKind, User
    from accounts.services import create_api_token
    from samskap.extensions import db
    from spaces.models import Space, SpaceKind

    org = Organisation(name="Bench kommune", kind=OrganisationKind.MUNICIPALITY,
                       contact_email="post@bench.example" if copy_address else None)
    db.session.add(org)
    db.session.flush()
    user = User(email="member@bench.example", name="Bench Member", organisation_id=org.id, locale="nb")
    db.session.add(user)
    # Migration 0005 seeds the space kinds; made here only on a database without them.
    kind = db.session.scalar(db.select(SpaceKind).where(SpaceKind.code == "meeting-room"))
    if kind is None:
        kind = SpaceKind(code="meeting-room", name_nb="Møterom", name_en="Meeting room")
        db.session.add(kind)
    db.session.flush()
    spaces = []
    for i in range(20):
        space = Space(name=f"Bench room {i}", slug=f"bench-room-{i}", kind_id=kind.id, capacity=10,
                      bookable_by=["municipality"], opening_hours=None, buffer_minutes=0, max_days_ahead=3650)
        db.session.add(space)
        spaces.append(space)
    db.session.flush()
    _token, secret = create_api_token(None, user)
    db.session.commit()
    return user, [s.id for s in spaces], secret


# --- 1. worker throughput ---------------------------------------------------------------------------

def worker_throughput(server_url: str, messages: int) -> dict:
    from aiosmtpd.controller import Controller

    from booking import services as booking_services
    from samskap.extensions import db
    from samskap.mail import OutboxMessage, OutboxStatus, enqueue_notifications, render_pending

    name = "samskap_bench_mail"
    url = prepare_database(server_url, name)
    app = make_app(url)
    try:
        with app.app_context():
            user, space_ids, _secret = seed_people()
            start = (datetime.now(timezone.utc) + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
            booking_services.book_space(user, booking_services.BookingRequest(
                space_id=space_ids[0], title="Brukertest med hjemmesykepleien", start=start,
                end=start + timedelta(hours=2)))
            db.session.commit()
            # The booking's own notification, as recorded (a snapshot the worker writes out at delivery),
            # copied to 1,000 recipients: the worker renders text, HTML and invitation for each.
            template = db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)).first()
            existing = db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage))
            enqueue_notifications([{"to": f"person{i}@bench.example", "kind": template.kind, "locale": "nb",
                                    "renderer": template.renderer, "payload": template.payload}
                                   for i in range(messages - existing)])
            db.session.commit()
            render_pending(template)
            size = (len(template.text) + len(template.html or "")
                    + sum(len(a[2]) for a in template.attachment_items()))
            db.session.rollback()

        received = []

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                received.append(len(envelope.content))
                return "250 OK"

        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        controller.start()
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "MAIL_SERVER": "127.0.0.1",
               "MAIL_PORT": str(port), "MAIL_DEFAULT_SENDER": "bench@samskap.test",
               "SAMSKAP_BASE_URL": "http://bench.samskap.test"}
        env.pop("FLASK_DEBUG", None)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_before = before.ru_utime + before.ru_stime
        began = time.perf_counter()
        worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker", "--poll", "0.1"],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with app.app_context():
                while True:
                    sent = db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)
                                             .where(OutboxMessage.status == OutboxStatus.SENT))
                    db.session.commit()
                    if sent >= messages and len(received) >= messages:
                        break
                    if time.perf_counter() - began > 300:
                        raise RuntimeError(f"only {sent} of {messages} sent after 300 s")
                    time.sleep(0.05)
            elapsed = time.perf_counter() - began
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
            controller.stop()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the worker's (and the migration's) CPU
        load = os.getloadavg()[0]
        return {"part": "worker", "messages": messages, "seconds": round(elapsed, 2),
                "worker_cpu_seconds": round(usage.ru_utime + usage.ru_stime - cpu_before, 2),
                "load_average_1min": round(load, 2), "cores": os.cpu_count(),
                "per_second": round(messages / elapsed, 1), "received": len(received),
                "message_bytes_on_the_wire": int(statistics.median(received)), "content_chars": size,
                "target": "1,000 in < 30 s", "ok": messages >= 1000 and elapsed < 30 * messages / 1000}
    finally:
        with app.app_context():
            db.engine.dispose()
        drop_database(server_url, name)


# --- 2. the cost of recording notifications --------------------------------------------------------

def creation_cost(server_url: str, creates: int, blocks: int, copy_address: bool = True) -> dict:
    import booking.services.create
    import booking.services.writes
    from samskap.extensions import db

    name = "samskap_bench_mail_create"
    url = prepare_database(server_url, name)
    app = make_app(url)
    # The create path records notifications in two modules: booking_made (create) and, on PostgreSQL,
    # booking_made_rows inside the booking's own statement (writes).
    creating = (booking.services.create, booking.services.writes)
    real = booking.services.create.notifications

    def use(notifications) -> None:
        for module in creating:
            module.notifications = notifications
    # "without": no rows from booking_made, nor from booking_made_rows (what a single booking's statement
    # writes on PostgreSQL): the create path as it was before notifications.
    silent = types.SimpleNamespace(booking_made=lambda *a, **k: None, booking_made_rows=lambda *a, **k: [],
                                   booking_changed=real.booking_changed,
                                   booking_cancelled=real.booking_cancelled, booking_decided=real.booking_decided)
    try:
        with app.app_context():
            _user, space_ids, secret = seed_people(copy_address)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {secret}"}
        day0 = (datetime.now(timezone.utc) + timedelta(days=2)).replace(hour=6, minute=0, second=0, microsecond=0)
        counter = [0]

        def one_block() -> tuple[float, float]:
            began, cpu = time.perf_counter(), time.process_time()
            for _ in range(creates):
                k = counter[0]
                counter[0] += 1
                start = day0 + timedelta(days=k // (20 * 20), minutes=30 * ((k // 20) % 20))
                response = client.post("/api/v1/bookings", headers=headers, json={
                    "space_id": space_ids[k % 20], "title": f"Bench {k}", "start": start.isoformat(),
                    "end": (start + timedelta(minutes=30)).isoformat(), "attendees": 2})
                if response.status_code != 201:
                    raise RuntimeError(f"{response.status_code}: {response.get_data(as_text=True)[:300]}")
            return ((time.perf_counter() - began) / creates * 1000, (time.process_time() - cpu) / creates * 1000)

        one_block()  # warm up caches, templates and connections
        timings = {"with": [], "without": []}
        cpu = {"with": [], "without": []}
        for b in range(blocks):
            for mode in (("with", "without") if b % 2 == 0 else ("without", "with")):
                use(real if mode == "with" else silent)
                wall_ms, cpu_ms = one_block()
                timings[mode].append(wall_ms)
                cpu[mode].append(cpu_ms)
        use(real)
        with_ms, without_ms = statistics.median(timings["with"]), statistics.median(timings["without"])
        with_cpu, without_cpu = statistics.median(cpu["with"]), statistics.median(cpu["without"])
        with app.app_context():
            from samskap.mail import OutboxMessage

            rows = db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage))
        return {"part": "create", "messages_per_booking": 2 if copy_address else 1,
                "creates_per_block": creates, "blocks": blocks,
                "ms_per_booking_with": round(with_ms, 2), "ms_per_booking_without": round(without_ms, 2),
                "extra_percent": round((with_ms / without_ms - 1) * 100, 1),
                "app_cpu_ms_per_booking_with": round(with_cpu, 2), "app_cpu_ms_per_booking_without": round(without_cpu, 2),
                "extra_cpu_percent": round((with_cpu / without_cpu - 1) * 100, 1),
                "load_average_1min": round(os.getloadavg()[0], 2), "outbox_rows": rows,
                "all_blocks_ms": {k: [round(v, 2) for v in vs] for k, vs in timings.items()}}
    finally:
        use(real)
        with app.app_context():
            db.engine.dispose()
        drop_database(server_url, name)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Samskap mail benchmarks")
    parser.add_argument("--server-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                               "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--creates", type=int, default=40, help="bookings per block")
    parser.add_argument("--blocks", type=int, default=8, help="blocks with and without notifications, each")
    parser.add_argument("--parts", default="worker,create")
    parser.add_argument("--no-copy", action="store_true",
                        help="the organisation has no shared contact address: one message per booking, not two")
    args = parser.parse_args(argv)
    parts = args.parts.split(",")
    if "worker" in parts:
        print(json.dumps(worker_throughput(args.server_url, args.messages)), flush=True)
    if "create" in parts:
        print(json.dumps(creation_cost(args.server_url, args.creates, args.blocks, not args.no_copy)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
