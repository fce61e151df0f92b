"""The mail outbox: a notification is a row written in the same transaction as the change that
causes it, and a separate worker (``flask --app app worker``, :mod:`samskap.worker`) delivers it.

A change that rolls back therefore sends nothing, and a committed change is never lost, even when
the mail server or the worker is down. :func:`enqueue_mail` only adds a row to the current
session: no commit, no network, no extra query (the row is one INSERT at the caller's flush; rows
added together in one flush share one multi-row INSERT).

Header injection is impossible by construction: subjects are folded to one line here, and the
recipient must be one address with no line breaks, otherwise the message fails on its own at
delivery (the caller's change is never refused because of an address).
"""
from __future__ import annotations

import base64
import enum
import functools
import re
import uuid
from datetime import datetime
from dataclasses import dataclass
from email.charset import QP, Charset
from email.encoders import encode_base64
from email.header import Header
from email.headerregistry import Address
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Mapped, mapped_column

from samskap.extensions import db
from samskap.models import enum_column
from samskap.timeutil import UTCDateTime, utcnow

SUBJECT_MAX = 250
# Kinds whose sending the audit log records (sign-in links, password resets, invitations...).
# A kind is security-relevant when it starts with "security." or was registered here.
SECURITY_KINDS: set[str] = set()


def register_security_kind(*kinds: str) -> None:
    """Mark message kinds whose delivery is recorded in the audit log."""
    SECURITY_KINDS.update(kinds)


def is_security_kind(kind: str) -> bool:
    return kind.startswith("security.") or kind in SECURITY_KINDS


class OutboxStatus(str, enum.Enum):
    QUEUED = "queued"    # waiting for its next attempt (next_attempt_at)
    SENDING = "sending"  # claimed by a worker until claimed_until; due again after that (a crashed worker)
    SENT = "sent"        # accepted by the mail server (or written to instance/mail/ in development)
    FAILED = "failed"    # refused for good, or out of attempts; an administrator may retry it


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(64), nullable=False, index=True)
    to_address: Mapped[str] = mapped_column(sa.String(400), nullable=False)
    subject: Mapped[str] = mapped_column(sa.String(SUBJECT_MAX), nullable=False)
    text: Mapped[str] = mapped_column(sa.Text(), nullable=False)
    html: Mapped[str | None] = mapped_column(sa.Text())
    # [{"filename", "content_type", "data", "base64": bool}]
    attachments: Mapped[list | None] = mapped_column(sa.JSON())
    locale: Mapped[str | None] = mapped_column(sa.String(5))
    reference: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    # Messages sent at most once (a reminder for one booking start): a second row with the same key
    # is refused by the database.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    # Client-made and unique: lets rows added together go out as one multi-row INSERT ... RETURNING.
    message_id: Mapped[str] = mapped_column(sa.String(200), nullable=False, unique=True, insert_sentinel=True)
    status: Mapped[OutboxStatus] = enum_column(OutboxStatus, "outbox_status", nullable=False,
                                               default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(sa.String(100))
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_via: Mapped[str | None] = mapped_column(sa.String(300))
    # A message written by the worker at delivery (enqueue_notification): the renderer registered
    # under this name makes subject, text, HTML and attachments from the payload recorded here.
    renderer: Mapped[str | None] = mapped_column(sa.String(64))
    payload: Mapped[dict | None] = mapped_column(sa.JSON())

    __table_args__ = (sa.Index("ix_outbox_messages_due", "status", "next_attempt_at"),)

    @property
    def is_security(self) -> bool:
        return is_security_kind(self.kind)

    def attachment_items(self) -> list[tuple[str, str, bytes | str]]:
        items = []
        for item in self.attachments or ():
            data = base64.b64decode(item["data"]) if item.get("base64") else item["data"]
            items.append((item["filename"], item["content_type"], data))
        return items


def one_line(value: str, limit: int = SUBJECT_MAX) -> str:
    """Any run of whitespace or control characters (CR, LF, tabs...) becomes one space."""
    text = re.sub(r"[\s\x00-\x1f\x7f]+", " ", str(value or "")).strip()
    return text[:limit]


def _mail_domain() -> str:
    sender = current_app.config.get("MAIL_DEFAULT_SENDER") if has_app_context() else None
    return _domain_of(sender or "")


@functools.lru_cache(maxsize=8)
def _domain_of(sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2]
    return re.sub(r"[^A-Za-z0-9.-]", "", domain) or "samskap.invalid"


def enqueue_mail(*, to: str, subject: str, text: str, html: str | None = None, attachments=(), kind: str,
                 locale: str | None = None, reference: str | None = None,
                 dedupe_key: str | None = None) -> OutboxMessage:
    """Add one message to the outbox in the caller's transaction (no commit, no network).

    ``attachments``: ``(filename, content_type, data)`` with ``data`` bytes or str; an iCalendar
    invitation has content type ``text/calendar; method=REQUEST`` (or ``CANCEL``).
    """
    stored = stored_attachments(attachments)
    now = utcnow()
    # Every column is given, so rows added together are one multi-row INSERT at the flush.
    message = OutboxMessage(
        kind=one_line(kind, 64), to_address=str(to or "")[:400], subject=one_line(subject), text=text or "",
        html=html, attachments=stored, locale=locale, reference=reference[:200] if reference else None,
        dedupe_key=dedupe_key, message_id=f"<{uuid.uuid4().hex}@{_mail_domain()}>",
        status=OutboxStatus.QUEUED, attempts=0, next_attempt_at=now, claimed_until=None, claimed_by=None,
        last_error=None, created_at=now, sent_at=None, sent_via=None, renderer=None, payload=None,
    )
    db.session.add(message)
    return message


# --- messages written at delivery ---------------------------------------------------------------

@dataclass
class Rendered:
    subject: str
    text: str
    html: str | None = None
    attachments: tuple = ()


RENDERERS: dict[str, object] = {}


def register_renderer(name: str):
    """Register ``fn(payload: dict, locale: str) -> Rendered``, which the worker calls (in an app
    context) to write a message recorded with :func:`enqueue_notification`. Areas register their
    renderers from their own package (samskap never imports them)."""
    def decorator(fn):
        RENDERERS[name] = fn
        return fn

    return decorator


def enqueue_notification(*, to: str, kind: str, renderer: str, payload: dict, locale: str | None = None,
                         reference: str | None = None, dedupe_key: str | None = None) -> OutboxMessage:
    """Like :func:`enqueue_mail`, but the text is written by the worker at delivery from ``payload``
    (plain JSON values the caller snapshots now): recording costs the request one row and no
    template rendering, which keeps busy requests (booking) as fast as without mail."""
    now = utcnow()
    message = OutboxMessage(
        kind=one_line(kind, 64), to_address=str(to or "")[:400], subject="", text="", html=None,
        attachments=None, locale=locale, reference=reference[:200] if reference else None, dedupe_key=dedupe_key,
        message_id=f"<{uuid.uuid4().hex}@{_mail_domain()}>", status=OutboxStatus.QUEUED, attempts=0,
        next_attempt_at=now, claimed_until=None, claimed_by=None, last_error=None, created_at=now, sent_at=None,
        sent_via=None, renderer=renderer, payload=payload,
    )
    db.session.add(message)
    return message


def enqueue_notifications(items: list[dict]) -> int:
    """Several :func:`enqueue_notification` messages at once (``items``: their keyword arguments), as
    one multi-row INSERT in the caller's transaction, without building ORM objects (recording the
    messages of a booking costs the request well under a millisecond)."""
    if not items:
        return 0
    rows = notification_rows(items)
    db.session.execute(sa.insert(OutboxMessage.__table__), rows)
    return len(rows)


def notification_rows(items: list[dict]) -> list[dict]:
    """The column values of the outbox rows :func:`enqueue_notifications` inserts for ``items``, every
    column but the id (for a caller that writes them in its own statement: see booking/services/writes.py)."""
    now = utcnow()
    domain = _mail_domain()
    return [{
        "kind": one_line(item["kind"], 64), "to_address": str(item["to"] or "")[:400], "subject": "", "text": "",
        "html": None, "attachments": None, "locale": item.get("locale"),
        "reference": item["reference"][:200] if item.get("reference") else None,
        "dedupe_key": item.get("dedupe_key"), "message_id": f"<{uuid.uuid4().hex}@{domain}>",
        "status": OutboxStatus.QUEUED, "attempts": 0, "next_attempt_at": now, "claimed_until": None,
        "claimed_by": None, "last_error": None, "created_at": now, "sent_at": None, "sent_via": None,
        "renderer": item["renderer"], "payload": item["payload"],
    } for item in items]


def stored_attachments(attachments) -> list | None:
    stored = []
    for filename, content_type, data in attachments:
        if isinstance(data, bytes):
            stored.append({"filename": one_line(filename, 200), "content_type": one_line(content_type, 200),
                           "data": base64.b64encode(data).decode("ascii"), "base64": True})
        else:
            stored.append({"filename": one_line(filename, 200), "content_type": one_line(content_type, 200),
                           "data": str(data), "base64": False})
    return stored or None


def render_pending(message: OutboxMessage) -> bool:
    """Write a message recorded by :func:`enqueue_notification` (on this copy of the row); True when
    it was written now and must be saved."""
    if not message.renderer or message.text:
        return False
    renderer = RENDERERS.get(message.renderer)
    if renderer is None:
        raise LookupError(f"no renderer {message.renderer!r} is registered")
    rendered = renderer(message.payload or {}, message.locale or "nb")
    message.subject = one_line(rendered.subject)
    message.text = rendered.text or " "
    message.html = rendered.html
    message.attachments = stored_attachments(rendered.attachments)
    return True


class InvalidRecipient(ValueError):
    """The recipient is not one well-formed address: the message fails, nothing else does."""


def recipient_address(value: str) -> Address:
    if not value or any(ch in value for ch in "\r\n\x00") or len(value) > 400:
        raise InvalidRecipient(f"not a valid address: {value!r}")
    name, addr = parseaddr(value)
    if not addr or addr.count("@") != 1 or any(ch.isspace() for ch in addr) or "," in value.replace(name, "", 1):
        raise InvalidRecipient(f"not a valid address: {value!r}")
    local, _, domain = addr.partition("@")
    if not local or not domain or "." not in domain or domain.startswith(".") or domain.endswith("."):
        raise InvalidRecipient(f"not a valid address: {value!r}")
    try:
        return Address(display_name=one_line(name, 200), addr_spec=addr)
    except (ValueError, IndexError) as exc:  # the header parser's own verdict
        raise InvalidRecipient(f"not a valid address: {value!r}") from exc


def sender_address() -> Address:
    sender = current_app.config.get("MAIL_DEFAULT_SENDER") or "samskap@localhost"
    name, addr = parseaddr(sender)
    if not addr or "@" not in addr:
        return Address(addr_spec="samskap@localhost")
    return Address(display_name=one_line(name, 200), addr_spec=addr)


@dataclass
class BuiltEmail:
    """A message ready for SMTP: its MIME tree and its envelope."""

    email: Message
    sender: str
    recipient: str

    def as_bytes(self, *, smtp: bool = True) -> bytes:
        """CRLF line ends for SMTP; the machine's for the files kept in development."""
        return self.email.as_bytes(policy=SMTP_POLICY if smtp else compat32)


SMTP_POLICY = compat32.clone(linesep="\r\n")


def _header_text(value: str):
    """A header value, RFC 2047-encoded when it is not ASCII. Values reach here on one line
    (``one_line``): the classic email API does not check for line breaks itself."""
    return value if value.isascii() else Header(value, "utf-8")


def _address(address: Address) -> str:
    return formataddr((address.display_name, address.addr_spec), charset="utf-8")


def _text_part(text: str, subtype: str, readable: bool, params: dict | None = None) -> MIMEText:
    charset = Charset("utf-8")
    # Quoted-printable keeps lines short for any mail server; files in development are plain 8bit.
    charset.body_encoding = None if readable else QP
    part = MIMEText(text, subtype, charset)
    for key, value in (params or {}).items():
        part.set_param(key, value)
    return part


def build_email(message: OutboxMessage, *, readable: bool = False, sender: Address | None = None) -> BuiltEmail:
    """The MIME message: text (and HTML) alternatives; calendar invitations both as a
    ``text/calendar; method=...`` alternative (Outlook, Gmail) and as an ``invite.ics`` attachment.

    Built with the classic (compat32) email API, several times faster than EmailMessage's header
    registry; every header value is on one line by construction (subjects and names pass through
    ``one_line``; the recipient is refused with a line break), so nothing can inject a header.
    """
    recipient = recipient_address(message.to_address)
    sender = sender or sender_address()
    attachments = message.attachment_items()
    alternatives = [_text_part(message.text, "plain", readable)]
    if message.html:
        alternatives.append(_text_part(message.html, "html", readable))
    files = []
    for filename, content_type, data in attachments:
        maintype, subtype, params = _split_content_type(content_type)
        if maintype == "text":
            text = data.decode("utf-8") if isinstance(data, bytes) else data
            if subtype == "calendar":
                alternatives.append(_text_part(text, "calendar", readable, params))
            part = _text_part(text, subtype, readable, params)
        else:
            payload = data.encode("utf-8") if isinstance(data, str) else data
            part = MIMEApplication(payload, subtype) if maintype == "application" else MIMEBase(maintype, subtype)
            if maintype != "application":
                part.set_payload(payload)
                encode_base64(part)
        safe_name = one_line(filename, 100)
        part.add_header("Content-Disposition", "attachment",
                        filename=safe_name if safe_name.isascii() else ("utf-8", "", safe_name))
        files.append(part)
    if len(alternatives) == 1:
        body = alternatives[0]
    else:
        body = MIMEMultipart("alternative")
        for part in alternatives:
            body.attach(part)
    if files:
        email = MIMEMultipart("mixed")
        email.attach(body)
        for part in files:
            email.attach(part)
    else:
        email = body
    email["Subject"] = _header_text(one_line(message.subject))
    email["From"] = _address(sender)
    email["To"] = _address(recipient)
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(message.created_at)
    email["Auto-Submitted"] = "auto-generated"
    if message.locale:
        email["Content-Language"] = one_line(message.locale, 5)
    return BuiltEmail(email, sender.addr_spec, recipient.addr_spec)


def _split_content_type(value: str) -> tuple[str, str, dict]:
    parts = [p.strip() for p in value.split(";") if p.strip()]
    maintype, _, subtype = (parts[0] if parts else "application/octet-stream").lower().partition("/")
    if not re.fullmatch(r"[a-z0-9.+-]+", maintype or "") or not re.fullmatch(r"[a-z0-9.+-]+", subtype or ""):
        maintype, subtype = "application", "octet-stream"
    params = {}
    for part in parts[1:]:
        key, _, val = part.partition("=")
        key = key.strip().lower()
        if key and key != "charset" and re.fullmatch(r"[a-z0-9-]+", key):
            params[key] = one_line(val.strip().strip('"'), 100)
    return maintype, subtype, params


# --- the administrators' outbox page ------------------------------------------------------------

PAGE_SIZE = 50


def outbox_counts() -> dict[str, int]:
    rows = db.session.execute(sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status))
    counts = {status.value: 0 for status in OutboxStatus}
    for status, count in rows:
        counts[OutboxStatus(status).value] = count
    return counts


def outbox_page(status: str | None, page: int) -> tuple[list[OutboxMessage], bool]:
    """Messages with that status (all when None), newest first, one page; and whether more follow."""
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status:
        query = query.where(OutboxMessage.status == OutboxStatus(status))
    rows = list(db.session.scalars(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)))
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def retry_message(actor, message: OutboxMessage) -> OutboxMessage:
    """Queue a failed (or waiting) message for delivery now, with a fresh count of attempts."""
    from samskap import audit
    from samskap.errors import Conflict

    if message.status not in (OutboxStatus.FAILED, OutboxStatus.QUEUED):
        from flask_babel import gettext as _

        raise Conflict(_("Only failed or waiting messages can be sent again."), code="not_retryable")
    previous = message.status
    message.status = OutboxStatus.QUEUED
    message.attempts = 0
    message.next_attempt_at = utcnow()
    message.claimed_until = None
    message.claimed_by = None
    db.session.flush()
    audit.record(actor, "mail.retry", message, changes={"status": [previous, OutboxStatus.QUEUED]},
                 summary=f"{message.kind} to {message.to_address}")
    return message
