"""Real servers for production-shaped tests, reusable by any test module.

* ``free_port()``: a TCP port nobody listens on now (never a fixed port: tests run side by side).
* ``fresh_postgres_database()``: a PostgreSQL database of the caller's own, dropped afterwards;
  skipped (failed with ``CI=true``) when PostgreSQL is not reachable.
* ``self_signed_certificate(directory)``: a certificate and key for 127.0.0.1/localhost.
* ``production_env(...)``: the environment of a production install (no debug, SECRET_KEY set).
* ``server_env(database_url, ...)``: the same for a plain-HTTP server behind a test's own "proxy"
  (cookies without Secure, no HSTS).
* :class:`GunicornServer`: gunicorn serving the app with the production configuration
  (``gunicorn.conf.py``) and the environment given, over HTTPS when given a certificate, on a port
  the system chooses; ``start()`` waits until ``/healthz`` answers, ``stop()`` ends it (SIGTERM, then
  SIGKILL after a grace period), ``reload()`` sends HUP. Also a context manager.
* :class:`RedisServer`: a ``redis-server`` of the test's own on a free port, without persistence,
  stoppable and startable again on the same port.

Every wait is bounded, and every process is stopped by its own id.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def fresh_postgres_database(prefix: str = "samskap_srv") -> Iterator[str]:
    """An empty database of our own (URL with the psycopg driver); dropped at the end."""
    import sqlalchemy as sa

    from tests.conftest import IN_CI

    server = sa.make_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_PG_URL))
    if server.drivername in ("postgresql", "postgres"):
        server = server.set(drivername="postgresql+psycopg")
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:  # depends on the machine
        admin.dispose()
        message = f"PostgreSQL not reachable at {server.render_as_string(hide_password=True)}: {exc}"
        if IN_CI:
            pytest.fail("CI=true requires PostgreSQL; " + message, pytrace=False)
        pytest.skip(message)
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """(certificate, key) PEM files for ``127.0.0.1`` and ``localhost``, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def _clean_environment() -> dict:
    """This process's environment without the app's own settings (the test runner's must not leak)."""
    return {key: value for key, value in os.environ.items()
            if not key.startswith(("FLASK_", "SAMSKAP_", "RATELIMIT_", "SESSION_COOKIE", "PROMETHEUS_"))}


def production_env(database_url: str, instance: Path, **extra: str) -> dict:
    """The environment of a production install: no debug, a real SECRET_KEY, Secure cookies and
    HSTS on (their defaults), no proxy in front unless ``extra`` says so."""
    env = _clean_environment()
    env.update({
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_hex(32),
        "SAMSKAP_INSTANCE_PATH": str(instance),
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


def flask_cli(env: dict, *args: str, input: str | None = None) -> str:
    """Run ``flask --app app ARGS`` (the operator CLI) with ``env``; its output, or an error."""
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                            input=input, capture_output=True, text=True, timeout=180)
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def server_env(database_url: str, **extra) -> dict:
    """Production-like settings for a plain-HTTP server (not TESTING: errors are answered as a person
    would see them); one fixed SECRET_KEY, so that several servers of one test share sessions."""
    instance = Path(extra.pop("SAMSKAP_INSTANCE_PATH"))
    return production_env(database_url, instance, SECRET_KEY="fault-test-secret-key-not-for-production",
                          SESSION_COOKIE_SECURE="false", SAMSKAP_HSTS="false",
                          RATELIMIT_STORAGE_URI=extra.pop("RATELIMIT_STORAGE_URI", "memory://"), **extra)


def require_program(name: str) -> str:
    """The program's path; the test is skipped without it (failed with ``CI=true``)."""
    from tests.conftest import IN_CI

    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian: apt-get install {name})"
        if IN_CI:
            pytest.fail(f"CI=true requires {name}: {message}", pytrace=False)
        pytest.skip(message)
    return path


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} not ready within {timeout:.0f} s")


def _stop(process: subprocess.Popen | None, timeout: float) -> None:
    """SIGTERM, and SIGKILL when the process has not exited ``timeout`` seconds later."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class RedisServer:
    """``redis-server`` on a free port of 127.0.0.1 without persistence; ``stop()`` and ``start()``
    again keep the port (set ``port`` before ``start()`` to choose another)."""

    def __init__(self, directory: Path):
        self.program = require_program("redis-server")
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {self.process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> "RedisServer":
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [self.program, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--logfile", str(self.directory / f"redis-{self.port}.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(self._answers, 10, "redis-server")
        return self

    def stop(self) -> None:
        _stop(self.process, timeout=10)
        self.process = None


class GunicornServer:
    """gunicorn serving the app as production runs it (``gunicorn -c gunicorn.conf.py``), with
    ``env`` added to a clean environment, on a port of 127.0.0.1 the system chooses (read from
    gunicorn's log, so two servers never race for one), over HTTPS with ``certfile``/``keyfile``.
    Each instance has its own metrics directory and log file in ``directory``."""

    def __init__(self, env: dict, directory: Path, *, name: str = "gunicorn", workers: int = 2, threads: int = 4,
                 certfile: Path | None = None, keyfile: Path | None = None, app: str = "app:app"):
        self.env, self.directory, self.name = env, directory, name
        self.workers, self.threads = workers, threads
        self.certfile, self.keyfile, self.app = certfile, keyfile, app
        self.log_path = directory / f"{name}.log"
        self.port: int | None = None
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.certfile else 'http'}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> "GunicornServer":
        self.directory.mkdir(parents=True, exist_ok=True)
        metrics = self.directory / f"metrics-{self.name}"
        metrics.mkdir(exist_ok=True)
        env = {**_clean_environment(), **self.env, "PROMETHEUS_MULTIPROC_DIR": str(metrics),
               "WEB_CONCURRENCY": str(self.workers), "SAMSKAP_THREADS": str(self.threads),
               "SAMSKAP_BIND": "127.0.0.1:0", "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")]
        if self.certfile:
            command += ["--certfile", str(self.certfile), "--keyfile", str(self.keyfile)]
        self.port = None
        self._log_from = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([*command, self.app], cwd=ROOT, env=env, stdout=log,
                                            stderr=subprocess.STDOUT)
        try:
            _wait(self._listening, timeout, f"gunicorn {self.name}")
            _wait(self._healthy, timeout, f"gunicorn {self.name}'s workers")
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"{exc}:\n{self.log_tail()}") from None
        return self

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"gunicorn {self.name} exited with {self.process.returncode}")
        match = re.search(r"Listening at: https?://127\.0\.0\.1:(\d+)", self.output()[self._log_from:])
        if match:
            self.port = int(match.group(1))
        return self.port is not None

    def _healthy(self) -> bool:
        try:
            return self.request("GET", "/healthz", timeout=2)[0] == 200
        except OSError:
            return False

    def output(self) -> str:
        """Everything gunicorn and the app wrote, over every start of this server."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def request(self, method: str, path: str, *, body=None, headers: dict | None = None,
                timeout: float = 30) -> tuple[int, dict, bytes]:
        """One request on a connection of its own (as a client behind a proxy sees it); ``body`` is
        sent as JSON."""
        if self.certfile:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # our own throwaway certificate
            connection = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=context)
        else:
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
        """SIGTERM: requests in flight finish (graceful_timeout), then it exits; SIGKILL after 40 s."""
        _stop(self.process, timeout=40)
        self.process = None

    def __enter__(self) -> "GunicornServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
