"""``Idempotency-Key`` for API writes that create something (bookings, equipment reservations).

A client that sent ``POST /api/v1/bookings`` and lost the answer (a 503, a timeout, a dropped
connection) cannot know whether the booking was made. Sent with the same ``Idempotency-Key``
header, the request is answered from what the first one answered, with the same status and
body, instead of being carried out twice; the same key with another body answers 422.

How it holds under concurrency: the first thing a keyed request does is insert its key
(``ON CONFLICT DO NOTHING``) in the same transaction as the booking it goes on to make, and the
result is written to that row just before the view commits. A second request with the same key
meets the unique constraint: on PostgreSQL its insert waits until the first transaction ends,
then either finds the committed result (and replays it) or, if the first one rolled back,
proceeds itself; SQLite serialises the two anyway. Either way one booking is made.

Only successful results are kept: a request that fails (409 conflict, 422) rolls back its key
with everything else, so sending it again tries again. Keys are kept for 24 hours; every 16th new
key deletes up to 100 expired ones (``SKIP LOCKED`` on PostgreSQL, so concurrent requests never
wait for each other there). A keyed request costs two statements more (insert the key, record the
answer); a request without the header costs none.
"""
from __future__ import annotations

import functools
import hashlib
import json
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Response, g, request
from flask_babel import gettext as _
from sqlalchemy.orm import Mapped, mapped_column

from samskap.errors import DomainError
from samskap.extensions import db
from samskap.timeutil import UTCDateTime, utcnow

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEEP_FOR = timedelta(hours=24)
MAX_KEY_LENGTH = 255
CLEANUP_BATCH = 100
# Every 16th new key (by id) also deletes up to 100 expired ones: more than arrive meanwhile, at
# one statement per 16 keyed requests instead of one each.
CLEANUP_EVERY = 16


class IdempotencyKey(db.Model):
    """The key a user sent with a write, a hash of the request, and the answer it got."""

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    key: Mapped[str] = mapped_column(sa.String(MAX_KEY_LENGTH), nullable=False)
    request_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    # None only inside the first request's own transaction, before its result is recorded.
    status_code: Mapped[int | None] = mapped_column(sa.Integer())
    response_body: Mapped[str | None] = mapped_column(sa.Text())
    location: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)

    __table_args__ = (sa.UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_id_key"),)


class IdempotencyKeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"


class IdempotencyKeyInvalid(DomainError):
    status = 400
    code = "invalid_idempotency_key"


class IdempotencyKeyInProgress(DomainError):
    status = 409
    code = "idempotency_key_in_progress"


def _valid_key(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and all("!" <= c <= "~" for c in key)


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 of the method, path and body; a JSON body counts by its content, so key order and
    white space do not make two equal requests different."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", canonical):
        digest.update(part)
    return digest.hexdigest()


def delete_expired(now: datetime, limit: int = CLEANUP_BATCH) -> int:
    """Delete up to ``limit`` keys older than 24 hours; returns how many went. Rows another
    transaction is deleting are skipped, not waited for. (Also fit for a periodic job.)"""
    table = IdempotencyKey.__table__
    # SQLite leaves out FOR UPDATE (it serialises writers anyway).
    expired = (sa.select(table.c.id).where(table.c.created_at < now - KEEP_FOR)
               .order_by(table.c.created_at).limit(limit).with_for_update(skip_locked=True))
    return db.session.execute(sa.delete(table).where(table.c.id.in_(expired.scalar_subquery()))).rowcount


def _insert_if_absent(user_id: int, key: str, fingerprint: str, now: datetime) -> int | None:
    """Insert the key; its id, or None when the user already has this key (committed)."""
    values = {"user_id": user_id, "key": key, "request_hash": fingerprint, "created_at": now}
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = (insert(IdempotencyKey.__table__).values(**values)
                 .on_conflict_do_nothing(index_elements=["user_id", "key"])
                 .returning(IdempotencyKey.__table__.c.id))
    return db.session.execute(statement).scalar()


def _reclaim_expired(row_id: int, fingerprint: str, now: datetime) -> bool:
    table = IdempotencyKey.__table__
    result = db.session.execute(
        sa.update(table).where(table.c.id == row_id, table.c.created_at < now - KEEP_FOR)
        .values(request_hash=fingerprint, created_at=now, status_code=None, response_body=None, location=None))
    return result.rowcount == 1


def _stored(user_id: int, key: str):
    table = IdempotencyKey.__table__
    return db.session.execute(sa.select(table).where(table.c.user_id == user_id, table.c.key == key)).first()


def begin(user_id: int, key: str, fingerprint: str) -> Response | None:
    """Claim ``key`` for this request (None: go on and record the result), or the response to
    replay. Raises a 422 when the key was used for another request, 400 for a malformed key."""
    if not _valid_key(key):
        raise IdempotencyKeyInvalid(
            _("The Idempotency-Key header must be 1 to %(n)d visible ASCII characters, such as a UUID.",
              n=MAX_KEY_LENGTH))
    now = utcnow()
    claimed = _insert_if_absent(user_id, key, fingerprint, now)
    if claimed is None:
        row = _stored(user_id, key)
        if row is not None and row.created_at < now - KEEP_FOR and _reclaim_expired(row.id, fingerprint, now):
            claimed = row.id
        else:
            row = row if row is not None and row.created_at >= now - KEEP_FOR else _stored(user_id, key)
            return _replay(row, fingerprint)
    if claimed % CLEANUP_EVERY == 0:
        delete_expired(now)
    g._idempotency_claim = claimed
    return None


def _replay(row, fingerprint: str) -> Response:
    if row.request_hash != fingerprint:
        raise IdempotencyKeyReused(
            _("This Idempotency-Key was already used for a different request. Use a new key for a new request."))
    if row.status_code is None:  # cannot be seen from outside its transaction; kept as a safe answer
        raise IdempotencyKeyInProgress(_("A request with this Idempotency-Key is still being processed."))
    response = Response(row.response_body, status=row.status_code, mimetype="application/json")
    if row.location:
        response.headers["Location"] = row.location
    response.headers[REPLAYED_HEADER] = "true"
    return response


def record(response: Response) -> None:
    """Keep ``response`` as the answer to this request's key, in the transaction about to commit.
    Does nothing (and costs nothing) when the request came without a key."""
    claimed = g.pop("_idempotency_claim", None)
    if claimed is None:
        return
    table = IdempotencyKey.__table__
    db.session.execute(sa.update(table).where(table.c.id == claimed).values(
        status_code=response.status_code, response_body=response.get_data(as_text=True),
        location=response.headers.get("Location")))
    g._idempotency_recorded = True


def idempotent(view):
    """Honour ``Idempotency-Key`` on an API view that creates something. The view calls
    :func:`record` with its response just before it commits."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        from flask_login import current_user

        replay = begin(current_user.id, key.strip(),
                       request_fingerprint(request.method, request.path, request.get_data()))
        if replay is not None:
            return replay
        result = view(*args, **kwargs)
        if g.get("_idempotency_claim") is not None and not g.get("_idempotency_recorded"):
            raise RuntimeError(f"{view.__qualname__} returned without recording its Idempotency-Key result")
        return result

    return wrapper


def openapi_header() -> dict:
    """The header's OpenAPI parameter, for the operations that accept it."""
    return {
        "name": HEADER, "in": "header", "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
        "description": (
            "Optional; a unique value per intended write, such as a UUID. If the answer is lost (a 503, a "
            "timeout), send the same request again with the same key: a request that succeeded is answered "
            "again with its first status and body (header Idempotent-Replayed: true) and is not carried out "
            "twice. The same key with a different body answers 422 (idempotency_key_reused). Keys are kept "
            "per user for 24 hours; a request that failed is not kept, so sending it again tries again."),
    }
