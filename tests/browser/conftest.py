"""Real-browser fixtures: the app served by gunicorn on 127.0.0.1, driven by Debian's Chromium.

* ``live_server`` (session): a fresh SQLite database in a temporary instance folder,
  migrated and seeded with the demo data through the operator CLI, served by a real
  gunicorn process on a free port; stopped at the end. ``live_server.create_user(...)``
  adds an account of a test's own (for journeys that change a user).
* ``browser`` (session): Chromium from ``/usr/bin/chromium`` through Playwright
  (never a tool's own browser download). When Chromium, the ``playwright`` package or
  axe-core is missing the browser tests are skipped with a message saying how to get
  them; with ``CI=true`` that is a failure.
* ``page`` (per test): a fresh browser context (no cookies) at desktop size.

Every test under tests/browser/ gets the ``browser`` marker automatically, so
``pytest -m "not browser"`` leaves them out and ``pytest -m browser`` runs only them.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser.support import ARTIFACTS, AXE_PATH, CHROMIUM_PATH, ROOT
from tests.conftest import IN_CI

BROWSER_DIR = Path(__file__).resolve().parent
INSTALL_HINT = "run scripts/install-browser.sh"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if BROWSER_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


def pytest_terminal_summary(terminalreporter):
    message = _missing_tool()
    if message and not IN_CI:
        terminalreporter.write_line(f"Real-browser tests (tests/browser) were SKIPPED: {message}", yellow=True,
                                    bold=True)


def _missing_tool() -> str | None:
    if not Path(CHROMIUM_PATH).exists():
        return f"chromium not installed: {INSTALL_HINT} (looked for {CHROMIUM_PATH})"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed: run make test-deps (requirements-dev.txt)"
    if not AXE_PATH.exists():
        return f"axe-core not installed ({AXE_PATH.relative_to(ROOT)} missing): run make test-deps (needs npm)"
    return None


def _skip_or_fail(message: str):
    if IN_CI:
        pytest.fail("CI=true requires the browser tests to run; " + message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser_tools_present():
    message = _missing_tool()
    if message:
        _skip_or_fail(message)


# --- the server -----------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    env: dict
    log_path: Path
    process: subprocess.Popen | None = None

    def flask(self, *args: str, input: str | None = None) -> str:
        """Run an operator CLI command against the server's database; return its output."""
        result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=self.env,
                                input=input, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def create_user(self, email: str, name: str, role: str = "member", organisation: str = "Gjøvik kommune",
                    password: str = "samskap-demo", locale: str = "nb") -> str:
        self.flask("create-user", email, "--name", name, "--role", role, "--organization", organisation,
                   "--password", password, "--locale", locale)
        return email

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _wait_until_healthy(server: LiveServer, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last_error = exc
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer /healthz within {timeout:.0f} s ({last_error}):\n"
                       f"{server.log_tail()}")


@pytest.fixture(scope="session")
def live_server(browser_tools_present, tmp_path_factory):
    instance = tmp_path_factory.mktemp("browser-instance")
    port = _free_port()
    env = {
        **os.environ,
        "SAMSKAP_INSTANCE_PATH": str(instance),
        "DATABASE_URL": f"sqlite:///{instance / 'samskap.sqlite3'}",
        "SECRET_KEY": secrets.token_hex(32),
        "SESSION_COOKIE_SECURE": "false",
        "SAMSKAP_HSTS": "false",
        "RATELIMIT_ENABLED": "false",
        "FLASK_DEBUG": "0",
        "PYTHONUNBUFFERED": "1",
    }
    server = LiveServer(url=f"http://127.0.0.1:{port}", env=env, log_path=instance / "server.log")
    server.flask("db", "upgrade")
    server.flask("seed-demo")
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    with open(server.log_path, "wb") as log:
        server.process = subprocess.Popen(
            [gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4",
             "--access-logfile", "-", "--log-level", "warning", "app:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


# --- the browser ----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def playwright_instance(browser_tools_present):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh, cookie-less browser tab at desktop size, pointed at the live server.

    Uncaught script errors and Content-Security-Policy violations fail the test:
    a page that breaks its own policy is broken for real users too.
    """
    from tests.browser.support import DESKTOP, watch_for_page_errors

    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP, locale="nb-NO",
                                  timezone_id="Europe/Oslo")
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems = watch_for_page_errors(page)
    try:
        yield page
    finally:
        context.close()
    assert not problems, "the browser reported errors:\n" + "\n".join(problems)
