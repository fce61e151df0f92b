"""Real servers for the fault tests: a Redis and a gunicorn of the test's own, on free ports.

Small on purpose (branch ``prod`` brings a general gunicorn fixture in tests/servers.py; the
two are to be unified). Every wait is bounded, and every process is stopped by its own id.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} not ready within {timeout} s")


def require_program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if IN_CI:
            pytest.fail(f"CI=true requires {name}: {message}", pytrace=False)
        pytest.skip(message)
    return path


class RedisServer:
    """``redis-server --port N --save '' --appendonly no``, stoppable and startable on the same port."""

    def __init__(self, workdir: Path):
        self.program = require_program("redis-server")
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> "RedisServer":
        self.process = subprocess.Popen(
            [self.program, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(self._answers, 10, "redis-server")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


class GunicornServer:
    """``gunicorn 'app:create_app()'`` with the restart settings of gunicorn.conf.py."""

    def __init__(self, env: dict, workdir: Path, *, workers: int = 2, threads: int = 4):
        self.env = {**os.environ, **env}
        self.log_path = workdir / "gunicorn.log"
        self.workers, self.threads = workers, threads
        self.process: subprocess.Popen | None = None
        self.port: int | None = None

    def start(self) -> "GunicornServer":
        self.port = None
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
             "--bind", "127.0.0.1:0", "--no-control-socket", "--workers", str(self.workers), "--threads", str(self.threads),
             "app:create_app()"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        _wait(self._listening, 30, "gunicorn")
        _wait(lambda: self._get_status("/") == 200, 30, "gunicorn's workers")
        return self

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError("gunicorn exited:\n" + self.output())
        match = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", self.output())
        if match:
            self.port = int(match.group(1))
        return self.port is not None

    def _get_status(self, path: str) -> int | None:
        try:
            return self.request("GET", path)[0]
        except OSError:
            return None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def request(self, method: str, path: str, *, body=None, headers: dict | None = None,
                timeout: float = 30) -> tuple[int, dict, bytes]:
        """One request on a connection of its own (as a client behind a proxy sees it)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            all_headers = {"Connection": "close", **(headers or {})}
            if payload is not None:
                all_headers.setdefault("Content-Type", "application/json")
            connection.request(method, path, body=payload, headers=all_headers)
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def workers_until_stopped(self) -> tuple[list[int], list[int]]:
        """(workers started, workers that left) before the master was told to stop, from its log."""
        log = self.output().split("Handling signal: term")[0]
        return ([int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", log)],
                [int(pid) for pid in re.findall(r"Worker exiting \(pid: (\d+)\)", log)])

    def reload(self) -> None:
        """``kill -HUP``: new workers start, old ones finish what they are doing and leave."""
        self.process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process is not None:
            self.log.close()
        self.process = None


def server_env(database_url: str, **extra) -> dict:
    """Production-like settings (not TESTING: errors are answered as a person would see them)."""
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "fault-test-secret-key-not-for-production",
        "SESSION_COOKIE_SECURE": "false",
        "SAMSKAP_HSTS": "false",
        "SAMSKAP_INSTANCE_PATH": extra.pop("SAMSKAP_INSTANCE_PATH"),
        "RATELIMIT_STORAGE_URI": extra.pop("RATELIMIT_STORAGE_URI", "memory://"),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
