"""The background worker: ``flask --app app worker``.

It delivers the mail outbox (:mod:`samskap.mail`) and runs the periodic jobs that areas register
with :func:`periodic` (reminders, overdue checks...). Several workers may run at once, on several
hosts:

* **Claiming.** A worker claims a batch of due messages in one short transaction,
  ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (concurrent workers skip each other's rows
  instead of waiting; SQLite serialises writers with ``BEGIN IMMEDIATE`` instead), and marks them
  ``sending`` with a lease (``claimed_until``). It then talks to the mail server outside any
  transaction and marks each message ``sent`` as soon as the server accepted it.
* **Crashes.** A message whose lease ran out while ``sending`` (its worker was killed, the host
  died) is due again: nothing is lost. Delivery is at-least-once: a crash between the server's
  accept and the mark sends that message a second time, with the same ``Message-ID``.
* **Faults.** A refusal for good (5xx for that recipient, or a malformed address) fails that
  message alone; a temporary refusal, a timeout or a dropped connection is retried with exponential
  backoff, and after ``SAMSKAP_MAIL_MAX_ATTEMPTS`` the message is marked failed.
* **Stopping.** SIGTERM (or SIGINT) lets the message being sent finish, gives the rest of the
  batch back to the queue, and exits 0.
* **Periodic jobs** run once across all workers per interval: a row per job in ``periodic_jobs``
  holds its next due time, and the worker that moves it forward with a conditional UPDATE (which
  the database serialises) is the one that runs the job.
* **Development** (no ``MAIL_SERVER``): messages are written to ``instance/mail/`` as readable
  ``.eml`` files instead of being sent, and marked sent.
"""
from __future__ import annotations

import logging
import os
import queue
import signal
import smtplib
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Mapped, mapped_column

from samskap.extensions import db
from samskap.mail import (InvalidRecipient, OutboxMessage, OutboxStatus, build_email, is_security_kind,
                          render_pending, sender_address)
from samskap.timeutil import UTCDateTime, utcnow

log = logging.getLogger("samskap.worker")


# --- periodic jobs ------------------------------------------------------------------------------

@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every_seconds: int
    fn: Callable[[datetime], None]


PERIODIC_JOBS: dict[str, PeriodicJob] = {}


def periodic(name: str, every_seconds: int):
    """Register ``fn(now)`` to run inside an app context once per ``every_seconds`` across all
    workers. Areas register their jobs from their own package's init (import time)."""
    if every_seconds < 1:
        raise ValueError("every_seconds must be at least 1")

    def decorator(fn):
        PERIODIC_JOBS[name] = PeriodicJob(name, int(every_seconds), fn)
        return fn

    return decorator


class PeriodicJobState(db.Model):
    """When each periodic job is next due, and who ran it last (one row per job name)."""

    __tablename__ = "periodic_jobs"

    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_run_by: Mapped[str | None] = mapped_column(sa.String(100))
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))


def _claim_job(job: PeriodicJob, now: datetime, worker_id: str) -> bool:
    """True when this worker won this interval of ``job`` (committed before the job runs)."""
    table = PeriodicJobState.__table__
    exists = db.session.scalar(sa.select(table.c.name).where(table.c.name == job.name))
    if exists is None:
        try:
            with db.session.begin_nested():
                db.session.execute(table.insert().values(name=job.name, next_run_at=now))
        except sa.exc.IntegrityError:
            pass  # another worker created it at the same moment
    result = db.session.execute(
        table.update()
        .where(table.c.name == job.name, table.c.next_run_at <= now)
        .values(next_run_at=now + timedelta(seconds=job.every_seconds), last_run_at=now, last_run_by=worker_id)
    )
    db.session.commit()
    return result.rowcount == 1


def run_due_jobs(worker_id: str, now: datetime | None = None) -> list[str]:
    """Run every registered job that is due and that no other worker took; returns their names."""
    ran = []
    for job in list(PERIODIC_JOBS.values()):
        now_ = now or utcnow()
        try:
            won = _claim_job(job, now_, worker_id)
        except sa.exc.DBAPIError:
            db.session.rollback()
            log.exception("could not claim periodic job %s", job.name)
            continue
        if not won:
            continue
        try:
            job.fn(now_)
            db.session.commit()
            error = None
        except Exception as exc:  # a job's failure must not stop mail delivery
            db.session.rollback()
            log.exception("periodic job %s failed", job.name)
            error = f"{type(exc).__name__}: {exc}"[:1000]
        db.session.execute(sa.update(PeriodicJobState).where(PeriodicJobState.name == job.name)
                           .values(last_error=error))
        db.session.commit()
        ran.append(job.name)
    return ran


# --- delivery -----------------------------------------------------------------------------------

class TemporaryFailure(Exception):
    """Try this message again later."""


class PermanentFailure(Exception):
    """This message cannot be delivered; mark it failed."""


class ConnectionLost(TemporaryFailure):
    """The server or the connection is gone: the rest of the batch waits too."""


def _settings(app) -> dict:
    config = app.config
    return {
        "lease": int(config.get("SAMSKAP_MAIL_LEASE_SECONDS", 300)),
        "max_attempts": int(config.get("SAMSKAP_MAIL_MAX_ATTEMPTS", 10)),
        "backoff_base": float(config.get("SAMSKAP_MAIL_BACKOFF_SECONDS", 30)),
        "backoff_max": float(config.get("SAMSKAP_MAIL_BACKOFF_MAX_SECONDS", 3600)),
        "timeout": float(config.get("SAMSKAP_MAIL_TIMEOUT_SECONDS", 30)),
        "batch": int(config.get("SAMSKAP_MAIL_BATCH", 100)),
        "connections": max(1, int(config.get("SAMSKAP_MAIL_CONNECTIONS", 4))),
    }


def backoff_seconds(attempts: int, base: float, maximum: float) -> float:
    """Seconds before attempt ``attempts + 1``: base, 2 x base, 4 x base ... up to ``maximum``."""
    return min(maximum, base * (2 ** max(0, attempts - 1)))


def claim_batch(worker_id: str, limit: int, lease_seconds: int, now: datetime | None = None) -> list[int]:
    """Claim up to ``limit`` due messages for this worker, committed; returns their ids."""
    now = now or utcnow()
    due = sa.or_(
        sa.and_(OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.next_attempt_at <= now),
        sa.and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_until < now),
    )
    ids = list(db.session.scalars(
        sa.select(OutboxMessage.id).where(due).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit).with_for_update(skip_locked=True)
    ))
    if ids:
        db.session.execute(
            sa.update(OutboxMessage).where(OutboxMessage.id.in_(ids))
            .values(status=OutboxStatus.SENDING, claimed_by=worker_id,
                    claimed_until=now + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return ids


def release(ids, worker_id: str) -> None:
    """Give claimed but unsent messages back to the queue (a clean stop)."""
    if not ids:
        return
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(list(ids)), OutboxMessage.claimed_by == worker_id,
               OutboxMessage.status == OutboxStatus.SENDING)
        .values(status=OutboxStatus.QUEUED, claimed_until=None, claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


class SmtpTransport:
    """One SMTP connection per batch, opened on first use."""

    def __init__(self, config: dict, timeout: float, sender):
        self.config = dict(config)
        self.timeout = timeout
        self.sender = sender
        self.connection: smtplib.SMTP | None = None

    def describe(self) -> str:
        return f"smtp {self.config.get('MAIL_SERVER')}:{self.config.get('MAIL_PORT')}"

    def _connect(self) -> smtplib.SMTP:
        host = self.config["MAIL_SERVER"]
        port = int(self.config.get("MAIL_PORT") or 25)
        if self.config.get("MAIL_USE_SSL"):
            connection = smtplib.SMTP_SSL(host, port, timeout=self.timeout, context=ssl.create_default_context())
        else:
            connection = smtplib.SMTP(host, port, timeout=self.timeout)
            if self.config.get("MAIL_USE_TLS"):
                connection.starttls(context=ssl.create_default_context())
        # A message is written in one go and its last segment would otherwise wait for the server's
        # delayed ACK of the previous ones (Nagle): about 40 ms per message.
        try:
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass  # not a TCP socket (a test double): the message still goes, only later
        if self.config.get("MAIL_USERNAME"):
            connection.login(self.config["MAIL_USERNAME"], self.config.get("MAIL_PASSWORD") or "")
        return connection

    def send(self, message: OutboxMessage) -> str:
        try:
            built = build_email(message, sender=self.sender)
        except InvalidRecipient as exc:
            raise PermanentFailure(str(exc)) from exc
        data = built.as_bytes(smtp=True)  # CRLF line ends, as SMTP requires
        try:
            if self.connection is None:
                self.connection = self._connect()
            self.connection.sendmail(built.sender, [built.recipient], data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()), (0, b""))
            self._reset()
            raise (PermanentFailure if code >= 500 else TemporaryFailure)(_smtp_text(code, text)) from exc
        except smtplib.SMTPResponseException as exc:
            # A refusal of this message (DATA or MAIL FROM): 5xx for good, 4xx try again.
            code = exc.smtp_code
            self._reset()
            if isinstance(exc, smtplib.SMTPSenderRefused) or code < 500:
                raise TemporaryFailure(_smtp_text(code, exc.smtp_error)) from exc
            raise PermanentFailure(_smtp_text(code, exc.smtp_error)) from exc
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPException, OSError, socket.timeout) as exc:
            self.close(quit=False)
            raise ConnectionLost(f"{type(exc).__name__}: {exc}") from exc
        return self.describe()

    def _reset(self) -> None:
        if self.connection is not None:
            try:
                self.connection.rset()
            except (smtplib.SMTPException, OSError):
                self.close(quit=False)

    def close(self, quit: bool = True) -> None:
        if self.connection is None:
            return
        try:
            if quit:
                self.connection.quit()
            else:
                self.connection.close()
        except (smtplib.SMTPException, OSError):
            pass  # the server went away already: there is nothing left to close
        self.connection = None


def _smtp_text(code, text) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


class FileTransport:
    """Development: keep each message readable in ``instance/mail/`` instead of sending it."""

    def __init__(self, directory: Path, sender):
        self.directory = directory
        self.sender = sender

    def send(self, message: OutboxMessage) -> str:
        try:
            built = build_email(message, readable=True, sender=self.sender)
        except InvalidRecipient as exc:
            raise PermanentFailure(str(exc)) from exc
        self.directory.mkdir(parents=True, exist_ok=True)
        kind = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in message.kind)
        path = self.directory / f"{message.created_at:%Y%m%d-%H%M%S}-{message.id:06d}-{kind}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(built.as_bytes(smtp=False))
        tmp.replace(path)
        return f"file {path.name}"

    def close(self, quit: bool = True) -> None:
        """Files need no connection closed (the SMTP transport's counterpart)."""


def make_transport(app):
    """A transport for one sending thread (it needs no app context once made)."""
    with app.app_context():
        sender = sender_address()
    if app.config.get("MAIL_SERVER"):
        return SmtpTransport(app.config, _settings(app)["timeout"], sender)
    return FileTransport(Path(app.config.get("SAMSKAP_MAIL_DIRECTORY") or Path(app.instance_path) / "mail"), sender)


def _finish(message: OutboxMessage, worker_id: str, **values) -> None:
    """Record a failed attempt at once: one UPDATE of that row, only while this worker still holds it."""
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.claimed_by == worker_id)
        .values(attempts=OutboxMessage.attempts + 1, claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


class SentMarks:
    """Messages the server accepted, marked ``sent`` together: one UPDATE and one commit for up to
    ``every`` messages or ``seconds``, whichever comes first (and always before the worker lets go
    of the batch). Each round trip to the database costs about as much as a delivery, so marking
    one by one halved the throughput. The price: a worker killed between an accept and the next
    mark sends those few messages again (at most ``every``), with the same Message-ID, which is
    the at-least-once guarantee the README describes.

    On PostgreSQL the commit does not wait for its WAL flush (``synchronous_commit = off`` for
    this transaction alone): a database crash may forget the last marks, which again only means
    those messages are sent twice."""

    EVERY = 10

    def __init__(self, worker_id: str, every: int = EVERY, seconds: float = 0.5):
        self.worker_id, self.every, self.seconds = worker_id, every, seconds
        self.items: list[tuple[OutboxMessage, str]] = []
        self.since = time.monotonic()

    def add(self, message: OutboxMessage, via: str) -> None:
        if not self.items:
            self.since = time.monotonic()
        self.items.append((message, via))
        if len(self.items) >= self.every or time.monotonic() - self.since >= self.seconds:
            self.flush()

    def flush_if_due(self) -> None:
        if self.items and time.monotonic() - self.since >= self.seconds:
            self.flush()

    def flush(self) -> None:
        if not self.items:
            return
        from samskap import audit

        items, self.items = self.items, []
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
        now = utcnow()
        by_via: dict[str, list[int]] = {}
        for message, via in items:
            by_via.setdefault(via[:300], []).append(message.id)
            if is_security_kind(message.kind):
                audit.record(None, "mail.sent", message, summary=f"{message.kind} to {message.to_address}")
        for via, ids in by_via.items():
            db.session.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == self.worker_id)
                .values(status=OutboxStatus.SENT, sent_at=now, sent_via=via, last_error=None, claimed_until=None,
                        attempts=OutboxMessage.attempts + 1)
                .execution_options(synchronize_session=False)
            )
        db.session.commit()


def _mark_failed_attempt(message: OutboxMessage, worker_id: str, error: str, permanent: bool,
                         settings: dict) -> None:
    attempts = message.attempts + 1
    if permanent or attempts >= settings["max_attempts"]:
        log.warning("mail %s to %s failed: %s", message.id, message.to_address, error)
        _finish(message, worker_id, status=OutboxStatus.FAILED, claimed_by=None, last_error=error[:1000])
    else:
        delay = backoff_seconds(attempts, settings["backoff_base"], settings["backoff_max"])
        _finish(message, worker_id, status=OutboxStatus.QUEUED, claimed_by=None, last_error=error[:1000],
                next_attempt_at=utcnow() + timedelta(seconds=delay))


def _write_pending(messages: list[OutboxMessage], worker_id: str, settings: dict) -> list[OutboxMessage]:
    """Write the messages recorded without their text (enqueue_notification), here in the worker's
    app context, and save what was written in one statement; a message whose renderer fails is
    retried later like a failed delivery (and logged: that is a bug)."""
    ready, written = [], []
    for message in messages:
        try:
            if render_pending(message):
                written.append(message)
        except Exception as exc:
            db.session.rollback()
            log.exception("writing mail %s (%s) failed", message.id, message.renderer)
            _mark_failed_attempt(message, worker_id, f"{type(exc).__name__}: {exc}", False, settings)
            continue
        ready.append(message)
    if written:
        db.session.execute(sa.update(OutboxMessage), [
            {"id": m.id, "subject": m.subject, "text": m.text, "html": m.html, "attachments": m.attachments}
            for m in written])
        db.session.commit()
    return ready


def deliver_batch(app, worker_id: str, stop: threading.Event | None = None, transport=None) -> tuple[int, bool]:
    """Claim and deliver one batch. Returns (messages handled, whether the server was reachable).

    Up to ``SAMSKAP_MAIL_CONNECTIONS`` threads send at once, each on its own SMTP connection (most
    of a delivery is waiting for the server); this thread alone writes the outcomes to the database.
    """
    settings = _settings(app)
    ids = claim_batch(worker_id, settings["batch"], settings["lease"])
    if not ids:
        return 0, True
    # The batch in one read, then no transaction stays open while talking to the mail server.
    messages = list(db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == worker_id,
                                       OutboxMessage.status == OutboxStatus.SENDING)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)))
    for message in messages:
        db.session.expunge(message)
    db.session.commit()
    messages = _write_pending(messages, worker_id, settings)

    work: "queue.Queue[OutboxMessage]" = queue.Queue()
    for message in messages:
        work.put(message)
    results: "queue.Queue[tuple]" = queue.Queue()
    halt = threading.Event()  # the server is away, or the worker is stopping: take no more work

    def send_all(transport_) -> None:
        try:
            while not halt.is_set() and not (stop is not None and stop.is_set()):
                try:
                    message_ = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    results.put((message_, transport_.send(message_), None))
                except (PermanentFailure, TemporaryFailure) as exc:
                    results.put((message_, None, exc))
                    if isinstance(exc, ConnectionLost):
                        halt.set()
                except Exception as exc:  # a bug must not lose the message: it is retried like a failure
                    log.exception("sending mail %s failed", message_.id)
                    results.put((message_, None, TemporaryFailure(f"{type(exc).__name__}: {exc}")))
        finally:
            transport_.close()
            results.put(None)  # this sender is done

    count = min(settings["connections"], len(messages)) if transport is None else 1
    senders = [threading.Thread(target=send_all, args=(transport or make_transport(app),), daemon=True,
                                name=f"mail-sender-{i}") for i in range(count)]
    for thread in senders:
        thread.start()
    marks = SentMarks(worker_id)
    handled: set[int] = set()
    reachable = True
    running = len(senders)
    try:
        while running:
            try:
                item = results.get(timeout=0.5)
            except queue.Empty:
                marks.flush_if_due()
                continue
            if item is None:
                running -= 1
                continue
            message, via, error = item
            handled.add(message.id)
            if error is None:
                marks.add(message, via)
            elif isinstance(error, PermanentFailure):
                _mark_failed_attempt(message, worker_id, str(error), True, settings)
            else:
                if isinstance(error, ConnectionLost):
                    reachable = False  # the rest of the batch waits, not counted as an attempt
                _mark_failed_attempt(message, worker_id, str(error), False, settings)
    finally:
        halt.set()
        for thread in senders:
            thread.join()
        marks.flush()
        unsent = [m.id for m in messages if m.id not in handled]
        if unsent:
            release(unsent, worker_id)
    return len(handled), reachable


def new_worker_id() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def run_worker(app, *, once: bool = False, poll_seconds: float = 1.0, stop: threading.Event | None = None) -> None:
    """The worker loop; ``once`` drains what is due now, runs due jobs, and returns."""
    stop = stop or threading.Event()
    worker_id = new_worker_id()
    idle_backoff = 0.0
    log.info("worker %s started (%s)", worker_id,
             app.config.get("MAIL_SERVER") and f"SMTP {app.config['MAIL_SERVER']}" or "mail kept in instance/mail/")
    while not stop.is_set():
        try:
            run_due_jobs(worker_id)
            handled, reachable = deliver_batch(app, worker_id, stop)
        except sa.exc.OperationalError:
            db.session.rollback()
            log.exception("database unavailable; trying again")
            handled, reachable = 0, False
        finally:
            db.session.remove()
        if once and (handled == 0 or not reachable):
            break
        if not reachable:
            idle_backoff = min(60.0, max(poll_seconds, idle_backoff * 2 or poll_seconds))
            stop.wait(idle_backoff)
        elif handled == 0:
            idle_backoff = 0.0
            stop.wait(poll_seconds)
        else:
            idle_backoff = 0.0
    log.info("worker %s stopped", worker_id)


@click.command("worker")
@click.option("--once", is_flag=True, help="deliver what is due and run due jobs, then exit")
@click.option("--poll", "poll_seconds", default=1.0, show_default=True, type=click.FloatRange(0.05, 3600),
              help="seconds between looks at the queue when idle")
@with_appcontext
def worker_command(once, poll_seconds):
    """Deliver queued mail and run periodic jobs (foreground; SIGTERM stops it cleanly)."""
    app = current_app._get_current_object()
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()

    def _stop(signum, frame):
        log.info("signal %s: finishing the current message and stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    run_worker(app, once=once, poll_seconds=poll_seconds, stop=stop)


def register_worker_cli(app) -> None:
    app.cli.add_command(worker_command)
