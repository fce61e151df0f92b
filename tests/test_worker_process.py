"""The worker as its own process (``flask --app app worker``) against PostgreSQL: killed with
SIGKILL in the middle of a batch it loses nothing; SIGTERM stops it cleanly."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from samskap.extensions import db
from samskap.mail import OutboxMessage, OutboxStatus, enqueue_mail
from samskap.worker import SentMarks
from tests.conftest import POSTGRES
from tests.smtp_server import SmtpServer

ROOT = Path(__file__).resolve().parent.parent


def start_worker(database_url: str, smtp: SmtpServer, tmp_path, **extra) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "worker-test", "MAIL_SERVER": "127.0.0.1",
           "MAIL_PORT": str(smtp.port), "MAIL_DEFAULT_SENDER": "noreply@samskap.test",
           "SAMSKAP_INSTANCE_PATH": str(tmp_path / "instance"), "SAMSKAP_MAIL_LEASE_SECONDS": "3",
           "SAMSKAP_MAIL_BACKOFF_SECONDS": "0", **extra}
    env.pop("FLASK_DEBUG", None)
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker", "--poll", "0.2"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _queue(n: int) -> set[str]:
    ids = {enqueue_mail(to=f"p{i}@example.no", subject=f"Message {i}", text="t", kind="test.bulk").message_id
           for i in range(n)}
    db.session.commit()
    return ids


def _counts() -> dict:
    db.session.expire_all()
    rows = db.session.execute(sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status))
    db.session.commit()
    return {status: count for status, count in rows}


@POSTGRES
def test_worker_killed_mid_batch_loses_nothing(app, database_url, smtp, tmp_path):
    smtp.handler.delay = 0.02
    expected = _queue(150)
    worker = start_worker(database_url, smtp, tmp_path)
    try:
        smtp.wait_for(20, timeout=60)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert len(smtp.received) < 150, "the worker finished before it was killed"
    assert _counts().get(OutboxStatus.SENDING, 0) > 0  # it held claimed messages when it died
    # Another worker takes over once the dead one's lease (3 s here) runs out.
    second = start_worker(database_url, smtp, tmp_path)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and _counts().get(OutboxStatus.SENT, 0) < 150:
            time.sleep(0.3)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert _counts() == {OutboxStatus.SENT: 150}
    arrived = {r.message["Message-ID"] for r in smtp.received}
    assert arrived == expected  # every message arrived
    # Sent twice at most: those accepted but not yet marked (marks go in groups) and those in flight.
    assert len(smtp.received) - len(arrived) <= SentMarks.EVERY + 4


@POSTGRES
def test_sigterm_finishes_the_current_message_and_gives_the_rest_back(app, database_url, smtp, tmp_path):
    smtp.handler.delay = 0.05
    _queue(100)
    worker = start_worker(database_url, smtp, tmp_path)
    smtp.wait_for(5, timeout=60)
    worker.send_signal(signal.SIGTERM)
    output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output.decode()
    counts = _counts()
    assert counts.get(OutboxStatus.SENDING, 0) == 0  # nothing left claimed
    assert counts[OutboxStatus.SENT] == len(smtp.received)
    assert counts[OutboxStatus.QUEUED] == 100 - len(smtp.received) > 0
