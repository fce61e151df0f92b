"""The issue's "done when", end to end: 8 clients book free slots for 20 s against a gunicorn of
the test's own while PostgreSQL ends every connection of the database twice and the rate limiter's
Redis is stopped. No request answers 500 (503 is allowed, and the client then resends its booking
with the same Idempotency-Key); every booking answered 201 exists exactly once with its audit
entry, and no booking exists without one.

Set FAULT_LOAD_SECONDS to run longer or shorter (default 20).
"""
from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from accounts import services as account_services
from booking.models import Booking
from samskap.audit import AuditEntry
from samskap.extensions import db
from tests.conftest import POSTGRES
from tests.factories import make_booking, make_space, make_user
from tests.servers import GunicornServer, RedisServer, server_env

pytestmark = POSTGRES

CLIENTS = 8
SECONDS = float(os.environ.get("FAULT_LOAD_SECONDS", "20"))
RESENDS = 6


def terminate_backends(url) -> int:
    """What a failover or a restart does to the app's connections: ends every one of them."""
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            return conn.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    finally:
        admin.dispose()


class Client(threading.Thread):
    """Books the next free hour in its own space, reads its bookings, the API, a page and a feed."""

    def __init__(self, server, headers: dict, space_id: int, first_slot: datetime, stop_at: float):
        super().__init__(daemon=True)
        self.server, self.headers, self.space_id = server, headers, space_id
        self.slot, self.stop_at = first_slot, stop_at
        self.answers: list[tuple[str, float, int | str]] = []  # (what, when, status or error)
        self.booked: list[tuple[str, dict, int]] = []  # (idempotency key, body, booking id)
        self.abandoned: list[str] = []
        self.odd: list[str] = []  # what any other answer said

    def _send(self, what: str, method: str, path: str, **kwargs):
        try:
            status, headers, body = self.server.request(method, path, **kwargs)
        except OSError as exc:
            self.answers.append((what, time.monotonic(), f"{type(exc).__name__}: {exc}"))
            return None, {}, b""
        self.answers.append((what, time.monotonic(), status))
        if status not in (200, 201, 503):
            self.odd.append(f"{method} {path} -> {status}: {body[:300]!r}")
        return status, headers, body

    def book(self) -> None:
        key = str(uuid.uuid4())
        body = {"space_id": self.space_id, "title": "Load", "start": self.slot.isoformat(),
                "end": (self.slot + timedelta(hours=1)).isoformat()}
        self.slot += timedelta(hours=1)
        for _ in range(RESENDS):
            status, _headers, data = self._send("book", "POST", "/api/v1/bookings", body=body,
                                                headers={**self.headers, "Idempotency-Key": key})
            if status == 201:
                self.booked.append((key, body, json.loads(data)["id"]))
                return
            if status != 503:
                return  # recorded; anything but 201 or 503 fails the test
            time.sleep(0.2)  # Retry-After says 5 s; a test need not wait that long
        self.abandoned.append(key)

    def run(self) -> None:
        n = 0
        while time.monotonic() < self.stop_at:
            self.book()
            self._send("api", "GET", f"/api/v1/bookings?space_id={self.space_id}", headers=self.headers)
            self._send("api", "GET", "/api/v1/me", headers=self.headers)
            if n % 4 == 0:
                self._send("page", "GET", "/events")
                self._send("feed", "GET", "/feeds/public.ics")
            n += 1


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


def test_no_500_and_whole_single_bookings_while_the_database_and_redis_fail(app, database_url, redis_server,
                                                                            tmp_path):
    users = [make_user(locale="en") for _ in range(CLIENTS)]
    spaces = [make_space() for _ in range(CLIENTS)]
    make_booking(space=make_space(), user=users[0], visibility="public")  # something for the public feed
    headers = []
    for user in users:
        _, secret = account_services.create_api_token(None, user)
        headers.append({"Authorization": f"Bearer {secret}"})
    db.session.commit()
    space_ids = [space.id for space in spaces]
    db.session.close()  # this test's own connection goes back to the pool before the faults begin
    first_slot = (datetime.now(timezone.utc) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)

    server = GunicornServer(server_env(
        database_url, SAMSKAP_INSTANCE_PATH=str(tmp_path / "instance"), RATELIMIT_STORAGE_URI=redis_server.url,
        SAMSKAP_API_LIMIT="100000 per minute"), tmp_path).start()
    try:
        started = time.monotonic()
        clients = [Client(server, headers[i], space_ids[i], first_slot, started + SECONDS) for i in range(CLIENTS)]
        for client in clients:
            client.start()
        faults = {}
        for at, fault in ((0.2, "terminate"), (0.4, "stop redis"), (0.6, "terminate again")):
            time.sleep(max(0.0, started + SECONDS * at - time.monotonic()))
            faults[fault] = time.monotonic()
            if fault == "stop redis":
                redis_server.stop()
            else:
                faults[fault + " ended"] = terminate_backends(database_url)
        for client in clients:
            client.join(timeout=SECONDS + 60)
        assert not any(client.is_alive() for client in clients), "a client hung"

        # A resend after the load, with one key, is answered with the first booking.
        key, sent, booking_id = clients[0].booked[0]
        status, reply_headers, body = server.request("POST", "/api/v1/bookings", body=sent,
                                                     headers={**headers[0], "Idempotency-Key": key})
        assert status == 201, body
        assert (json.loads(body)["id"], reply_headers.get("idempotent-replayed")) == (booking_id, "true")
        log = server.output()
    finally:
        server.stop()

    answers = [answer for client in clients for answer in client.answers]
    tally = Counter((what, status) for what, _, status in answers)
    failures = {k: v for k, v in tally.items() if not (isinstance(k[1], int) and (k[1] < 500 or k[1] == 503))}
    odd = [line for client in clients for line in client.odd]
    assert not failures, f"failed answers: {failures}; all: {tally}; {odd}"
    unexpected = {k: v for k, v in tally.items() if k[1] not in (200, 201, 503)}
    assert not unexpected, f"unexpected answers: {unexpected}; {odd}"
    assert faults["terminate ended"] >= 1 and faults["terminate again ended"] >= 1, faults
    # Pages, the API and feeds answered after Redis stopped.
    after_redis = Counter(what for what, at, status in answers if at > faults["stop redis"] + 0.5 and status == 200)
    assert all(after_redis[what] > 0 for what in ("api", "page", "feed")), after_redis
    assert "Unhandled error" not in log, log[-3000:]
    assert "Traceback" not in log, "a traceback storm: " + log[-3000:]

    answered = [booking_id for client in clients for _, _, booking_id in client.booked]
    abandoned = sum(len(client.abandoned) for client in clients)
    assert len(answered) == len(set(answered)), "two answers named one booking"
    assert len(answered) >= CLIENTS * 3, f"too little load to mean anything: {len(answered)} bookings"
    db.session.expire_all()
    rows = Counter(db.session.scalars(sa.select(Booking.id).where(Booking.space_id.in_(space_ids),
                                                                   Booking.title == "Load")))
    assert all(rows[booking_id] == 1 for booking_id in answered), "a 201 without its row"
    extra = set(rows) - set(answered)
    assert len(extra) <= abandoned, f"bookings nobody was answered about: {sorted(extra)}"
    audited = set(db.session.scalars(sa.select(AuditEntry.object_id).where(AuditEntry.action == "booking.create",
                                                                         AuditEntry.object_id.in_(list(rows)))))
    assert audited == set(rows), f"bookings without their audit entry: {sorted(set(rows) - audited)}"
    print(f"\n{len(answers)} requests, {len(answered)} bookings, {abandoned} abandoned; answers: {dict(tally)}; "
          f"connections ended: {faults['terminate ended']}, {faults['terminate again ended']}")
