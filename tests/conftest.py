"""Test fixtures.

* ``backend``: "sqlite" by default; a test or module runs on PostgreSQL with
  ``@pytest.mark.parametrize("backend", ["postgresql"])`` (or both, see ``BOTH``).
  PostgreSQL comes from ``TEST_DATABASE_URL`` (default
  ``postgresql://postgres@127.0.0.1:5432/postgres``); each test session creates
  its own database there, migrates it once and drops it at the end; each test
  starts from empty tables. Without PostgreSQL those tests are skipped with a
  clear message, except with ``CI=true``, where that is a failure.
* SQLite: migrated once into a template file, copied afresh for each test.
* ``client``: each request runs in its own application context (as in
  production), so ``g``, ``current_user`` and the database session never leak
  from the test or from one request into the next.
"""
from __future__ import annotations

import contextvars
import os
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient, FlaskCliRunner

from samskap import create_app
from samskap.extensions import db

BOTH = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
POSTGRES = pytest.mark.parametrize("backend", ["postgresql"])

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def pytest_configure(config):
    config.addinivalue_line("markers", "csrf: run with CSRF protection enabled (off by default in tests)")
    config.addinivalue_line("markers", "ratelimit: run with rate limiting enabled (off by default in tests)")


def _psycopg_url(url: str) -> sa.URL:
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


BASE_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key-not-for-production",
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    "SAMSKAP_FAST_PASSWORD_HASH": True,
    "SESSION_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_SECURE": False,
    "SERVER_NAME": None,
    "SAMSKAP_BASE_URL": "http://samskap.test",
    "SAMSKAP_GUEST_DATA_MIN_MS": 0,  # the same for the data-link page (/my-data)
    "SAMSKAP_RESET_MIN_MS": 0,  # the password-reset page's minimum answer time (its own test sets one)
}


def _migrate(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    _migrate(app)
    with sa.create_engine(f"sqlite:///{path}").connect() as conn:  # fold the WAL into the file
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def postgres_database():
    """A database of this test session's own on the PostgreSQL server; dropped at the end."""
    server_url = _psycopg_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_PG_URL))
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:  # pragma: no cover - depends on the machine
        admin.dispose()
        message = f"PostgreSQL not reachable at {server_url.render_as_string(hide_password=True)}: {exc}"
        if IN_CI:
            pytest.fail("CI=true requires PostgreSQL; " + message, pytrace=False)
        pytest.skip(message + " (set TEST_DATABASE_URL to run the PostgreSQL tests)")
    name = f"samskap_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = server_url.set(database=name)
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False)})
    _migrate(app)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def database_url(request, backend, tmp_path) -> str:
    if backend == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    if backend == "postgresql":
        return request.getfixturevalue("postgres_database")
    raise ValueError(f"unknown backend {backend!r}")


def _truncate_all(app) -> None:
    with app.app_context():
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


class IsolatedClient(FlaskClient):
    """Runs every request in a fresh context, like a real server would.

    Before a request, whatever the test has set up is committed (releasing
    SQLite's write lock); after it, the test's session forgets cached rows so
    that it reads what the request wrote.
    """

    def open(self, *args, **kwargs):
        _settle_test_session()
        try:
            return contextvars.Context().run(super().open, *args, **kwargs)
        finally:
            _refresh_test_session()


class IsolatedCliRunner(FlaskCliRunner):
    def invoke(self, *args, **kwargs):
        _settle_test_session()
        try:
            return contextvars.Context().run(super().invoke, *args, **kwargs)
        finally:
            _refresh_test_session()


def _settle_test_session() -> None:
    from flask import has_app_context

    if has_app_context():
        db.session.commit()


def _refresh_test_session() -> None:
    from flask import has_app_context

    if has_app_context():
        db.session.rollback()
        db.session.expire_all()


@pytest.fixture
def app_config(request) -> dict:
    """Per-test configuration overrides; markers switch on CSRF or rate limiting."""
    config = {}
    if request.node.get_closest_marker("csrf"):
        config["WTF_CSRF_ENABLED"] = True
    if request.node.get_closest_marker("ratelimit"):
        config["RATELIMIT_ENABLED"] = True
    return config


@pytest.fixture
def app(database_url, backend, app_config, tmp_path):
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, **app_config})
    app.test_client_class = IsolatedClient
    app.test_cli_runner_class = IsolatedCliRunner
    ctx = app.app_context()
    ctx.push()
    try:
        yield app
    finally:
        db.session.remove()
        ctx.pop()
        if backend == "postgresql":
            _truncate_all(app)
        with app.app_context():
            db.engine.dispose()
        if app.config.get("RATELIMIT_ENABLED"):
            from samskap.extensions import limiter

            with app.app_context():
                limiter.reset()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    """Sign in through the real form (``login``) or directly in the session (``as_user``)."""

    def __init__(self, client):
        self.client = client

    def login(self, email, password, remember=False, **extra):
        data = {"email": email, "password": password, **extra}
        if remember:
            data["remember"] = "y"
        return self.client.post("/login", data=data)

    def as_user(self, user):
        with self.client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return user

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd) on a free port of this machine, for the mail tests."""
    from tests.smtp_server import SmtpServer

    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(app, smtp):
    """The test app sending its mail to ``smtp``, retrying at once."""
    app.config.update(smtp.config())
    app.config.update(SAMSKAP_MAIL_BACKOFF_SECONDS=0, SAMSKAP_MAIL_TIMEOUT_SECONDS=5)
    return app
