"""Real servers for production-shaped tests, reusable by any test module.

* ``free_port()``: a TCP port nobody listens on now (never a fixed port: tests run side by side).
* ``fresh_postgres_database()``: a PostgreSQL database of the caller's own, dropped afterwards;
  skipped (failed with ``CI=true``) when PostgreSQL is not reachable.
* ``self_signed_certificate(directory)``: a certificate and key for 127.0.0.1/localhost.
* ``production_env(...)``: the environment of a production install (no debug, SECRET_KEY set).
* ``running_gunicorn(env, ...)``: gunicorn serving ``app:create_app()`` as the README runs it, over
  HTTPS when given a certificate; yields a :class:`GunicornServer` with its base URL and stops it
  cleanly (SIGTERM, then SIGKILL after a grace period) when the block ends.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
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


def production_env(database_url: str, instance: Path, **extra: str) -> dict:
    """The environment of a production install: no debug, a real SECRET_KEY, Secure cookies and
    HSTS on (their defaults), no proxy in front unless ``extra`` says so."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("FLASK_", "SAMSKAP_", "RATELIMIT_", "SESSION_COOKIE"))}
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


@dataclass
class GunicornServer:
    url: str
    log_path: Path
    process: subprocess.Popen

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _wait_until_healthy(server: GunicornServer, timeout: float) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # our own throwaway certificate
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=2, context=context) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last_error = exc
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer /healthz within {timeout:.0f} s ({last_error}):\n"
                       f"{server.log_tail()}")


@contextlib.contextmanager
def running_gunicorn(env: dict, log_dir: Path, *, certfile: Path | None = None, keyfile: Path | None = None,
                     workers: int = 1, threads: int = 4, app: str = "app:create_app()",
                     timeout: float = 60.0) -> Iterator[GunicornServer]:
    """gunicorn on a free port of 127.0.0.1 (HTTPS with ``certfile``/``keyfile``), stopped at the end."""
    port = free_port()
    scheme = "https" if certfile else "http"
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    command = [gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
               "--access-logfile", "-", "--log-level", "warning", "--graceful-timeout", "5"]
    if certfile:
        command += ["--certfile", str(certfile), "--keyfile", str(keyfile)]
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"gunicorn-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([*command, app], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = GunicornServer(url=f"{scheme}://127.0.0.1:{port}", log_path=log_path, process=process)
    try:
        _wait_until_healthy(server, timeout)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
