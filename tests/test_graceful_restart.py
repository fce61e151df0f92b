"""Restarts drop no request: gunicorn's graceful reload (HUP) under load, and a rolling restart of
two app servers (each taken out of rotation, stopped with TERM, started again) as README describes.
Settings: gunicorn.conf.py."""
from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from accounts import services as account_services
from samskap.extensions import db
from tests.conftest import POSTGRES
from tests.factories import make_space, make_user
from tests.servers import GunicornServer, server_env

pytestmark = POSTGRES

CLIENTS = 4


class Rotation:
    """A load balancer's view: the servers in rotation, taken out before a restart."""

    def __init__(self, servers):
        self.servers = list(servers)
        self.lock = threading.Lock()
        self.turn = 0

    def pick(self):
        with self.lock:
            self.turn += 1
            return self.servers[self.turn % len(self.servers)]

    def send(self, method, path, **kwargs):
        """As a proxy does (nginx's ``proxy_next_upstream error``): a connection refused by a server
        that left the rotation a moment ago never carried the request, so it goes to another."""
        try:
            return self.pick().request(method, path, **kwargs)
        except ConnectionRefusedError:
            return self.pick().request(method, path, **kwargs)

    def remove(self, server):
        with self.lock:
            self.servers.remove(server)

    def add(self, server):
        with self.lock:
            self.servers.append(server)


def run_load(rotation: Rotation, headers: list[dict], space_ids: list[int], seconds: float) -> list:
    """CLIENTS threads book successive hours in their own space and read the API and a page."""
    answers: list = []
    stop_at = time.monotonic() + seconds
    first = (datetime.now(timezone.utc) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)

    def client(index: int) -> None:
        slot = first
        while time.monotonic() < stop_at:
            body = {"space_id": space_ids[index], "title": "Restart", "start": slot.isoformat(),
                    "end": (slot + timedelta(hours=1)).isoformat()}
            slot += timedelta(hours=1)
            for method, path, payload in (("POST", "/api/v1/bookings", body), ("GET", "/api/v1/me", None),
                                          ("GET", "/events", None)):
                try:
                    status, _, data = rotation.send(method, path, body=payload, headers=headers[index])
                    answers.append((path, status, data[:200] if status >= 300 else b""))
                except OSError as exc:
                    answers.append((path, f"{type(exc).__name__}: {exc}", b""))

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    return threads, answers


def _setup():
    users = [make_user(locale="en") for _ in range(CLIENTS)]
    space_ids = [make_space().id for _ in range(CLIENTS)]
    headers = []
    for user in users:
        _, secret = account_services.create_api_token(None, user)
        headers.append({"Authorization": f"Bearer {secret}"})
    db.session.commit()
    db.session.close()
    return headers, space_ids


def _assert_all_answered(answers):
    tally = Counter((path, status) for path, status, _ in answers)
    failed = [(path, status, body) for path, status, body in answers if status not in (200, 201)]
    assert not failed, f"{failed[:5]}; all: {tally}"
    assert sum(tally.values()) >= CLIENTS * 10, f"too little load to mean anything: {tally}"
    return tally


def test_graceful_reload_under_load_drops_no_request(app, database_url, tmp_path):
    headers, space_ids = _setup()
    server = GunicornServer(server_env(database_url, SAMSKAP_INSTANCE_PATH=str(tmp_path / "instance")),
                            tmp_path).start()
    try:
        threads, answers = run_load(Rotation([server]), headers, space_ids, seconds=10)
        time.sleep(2.5)
        server.reload()
        time.sleep(3.5)
        server.reload()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        server.stop()
    # Each HUP started a new set of workers, and the old ones left.
    booted, exited = server.workers_until_stopped()
    assert len(booted) == 3 * server.workers and set(booted[:-server.workers]) <= set(exited), server.output()[-2000:]
    _assert_all_answered(answers)


def test_rolling_restart_of_two_servers_drops_no_request(app, database_url, tmp_path):
    headers, space_ids = _setup()
    servers = []
    for name in ("host-a", "host-b"):
        (tmp_path / name).mkdir()
        servers.append(GunicornServer(server_env(database_url, SAMSKAP_INSTANCE_PATH=str(tmp_path / name / "i")),
                                      tmp_path / name).start())
    rotation = Rotation(servers)
    try:
        threads, answers = run_load(rotation, headers, space_ids, seconds=12)
        time.sleep(1.5)
        for server in list(servers):
            rotation.remove(server)  # the load balancer stops sending it new requests
            server.stop()  # TERM: requests in flight finish (graceful_timeout), then it exits
            server.start()
            rotation.add(server)
            time.sleep(1.5)
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for server in servers:
            server.stop()
    tally = _assert_all_answered(answers)
    assert tally[("/api/v1/bookings", 201)] > 0
