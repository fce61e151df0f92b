"""The README's production block, run as written on a fresh machine (a copy of the code, a fresh
PostgreSQL database of this test's own), so the README cannot rot: every setup command must
succeed, and the install it makes must be usable (an administrator creates a space through the
API with ``"kind": "meeting room"``).

Not run: the block's first line (``python3 -m venv .venv && pip install``: the copy gets this
checkout's installed ``.venv`` instead, so the test needs no network) and its last (gunicorn,
which serves until stopped; tests/browser/test_https_production.py runs gunicorn in production
configuration). The ``DATABASE_URL`` line is pointed at the test's database; nothing else changes.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from samskap import create_app
from tests.servers import ROOT, fresh_postgres_database

PASSWORD = "lilla tog over fjellet"
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "node_modules", "instance", "artifacts", "__pycache__",
                                     "*.mo", ".pytest_cache", "bench")


def production_block() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Production\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the README's Production section has no ```sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_block_starts_with_the_install_and_ends_with_the_server():
    lines = production_block()
    assert lines[0] == "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt"
    assert lines[-1].startswith(".venv/bin/gunicorn ")
    assert sum(line.startswith("export DATABASE_URL=") for line in lines) == 1


@pytest.fixture
def fresh_checkout(tmp_path) -> Path:
    checkout = tmp_path / "samskap"
    shutil.copytree(ROOT, checkout, ignore=COPY_IGNORE)
    (checkout / ".venv").symlink_to((ROOT / ".venv").resolve(), target_is_directory=True)
    assert not list(checkout.glob("translations/*/nb/LC_MESSAGES/*.mo"))
    return checkout


def test_the_production_setup_commands_run_verbatim_and_give_a_usable_install(fresh_checkout):
    setup = production_block()[1:-1]
    with fresh_postgres_database("samskap_readme") as database_url:
        script = "\n".join(f"export DATABASE_URL={database_url}" if line.startswith("export DATABASE_URL=")
                           else line for line in setup)
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("FLASK_", "SAMSKAP_", "RATELIMIT_", "MAIL_")) and
               key not in ("DATABASE_URL", "SECRET_KEY", "VIRTUAL_ENV")}
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=fresh_checkout, env=env,
                                input=PASSWORD + "\n", capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
        assert len(list(fresh_checkout.glob("translations/*/nb/LC_MESSAGES/messages.mo"))) >= 5
        token = result.stdout.strip().splitlines()[-1]
        assert token.startswith("sk_"), result.stdout

        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "readme-test"})
        try:
            client = app.test_client()
            headers = {"Authorization": f"Bearer {token}"}
            me = client.get("/api/v1/me", headers=headers)
            assert me.status_code == 200 and me.json["role"] == "admin", me.json
            created = client.post("/api/v1/spaces", headers=headers, json={
                "name": "Mjøsa", "kind": "meeting room", "capacity": 10})
            assert created.status_code == 201, created.json
            assert created.json["kind"] == "meeting-room"
        finally:
            from samskap.extensions import db

            with app.app_context():
                db.engine.dispose()
