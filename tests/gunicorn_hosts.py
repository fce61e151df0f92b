"""Real servers for tests of several hosts: a Redis server and gunicorn app hosts, each a process
of its own on a free port, started with the production configuration (``gunicorn.conf.py``).

* :class:`RedisServer`: ``redis-server`` on a free port with no persistence, so a test can use
  (and stop) a Redis of its own without touching the shared one.
* :class:`GunicornHost`: ``gunicorn -c gunicorn.conf.py app:app`` with the environment given;
  waits until ``/healthz`` answers; its output goes to a log file the test may read.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen | None, timeout: float = 15) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def require_redis_server() -> str:
    found = shutil.which("redis-server")
    if found is None:
        message = "redis-server is not installed (Debian: apt-get install redis-server)"
        if IN_CI:
            pytest.fail("CI=true requires " + message, pytrace=False)
        pytest.skip(message)
    return found


class RedisServer:
    def __init__(self, directory: Path):
        self.directory = directory
        self.port: int | None = None
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        binary = require_redis_server()
        self.port = self.port or free_port()
        log = self.directory / f"redis-{self.port}.log"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--logfile", str(log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        log.touch()
        _wait_for_port(self.port, self.process, 10, "redis-server", log)
        return self

    def stop(self) -> None:
        _stop(self.process)
        self.process = None


class GunicornHost:
    """One app host. ``env`` is added to this process's environment (DATABASE_URL, SECRET_KEY...)."""

    def __init__(self, name: str, env: dict, directory: Path, *, workers: int = 2, threads: int = 4):
        self.name = name
        self.env = env
        self.directory = directory
        self.workers = workers
        self.threads = threads
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self.log = directory / f"gunicorn-{name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> "GunicornHost":
        metrics_dir = self.directory / f"metrics-{self.name}"
        metrics_dir.mkdir(exist_ok=True)
        for attempt in range(3):
            self.port = free_port()
            env = {**os.environ, **self.env, "SAMSKAP_BIND": f"127.0.0.1:{self.port}",
                   "WEB_CONCURRENCY": str(self.workers), "SAMSKAP_THREADS": str(self.threads),
                   "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "PYTHONUNBUFFERED": "1"}
            env.pop("FLASK_DEBUG", None)
            handle = self.log.open("ab")
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "app:app"],
                cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
            handle.close()
            try:
                self._wait_ready(timeout)
                return self
            except RuntimeError:
                _stop(self.process)
                if attempt == 2 or "Address already in use" not in self.log.read_text():
                    raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn {self.name} exited with {self.process.returncode}:\n"
                                   f"{self.log.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError as error:
                last = error
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn {self.name} did not answer /healthz within {timeout:.0f} s ({last}):\n"
                           f"{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        _stop(self.process, timeout=30)
        self.process = None
