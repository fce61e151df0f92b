"""Built feeds, kept per process under the feed generation (migration 0004).

Calendar clients poll every feed every few minutes, and nearly always nothing has changed. The
database moves the feed generation with every committed change to a table whose rows a feed
shows or names, so a feed built while the generation read N is still exact for any later fetch
that reads N, given the same feed, owner, window and site: all of those are in the key. A fetch
then costs the token lookup and one read of the generation, and a 304 nothing more.

The generation is the sum of the counter's rows (migration 0017: one row per shard, so that
concurrent commits do not queue on one row lock); each committed change adds one to one row, in
its own transaction, so the sum one statement reads counts exactly the changes committed in its
snapshot, and never repeats for a different set of them.

The counter is read first in the request, before the feed's token, owner and rows, so a cached
text is never older than its key.
Each app keeps its own cache (``app.extensions``), bounded in bytes, least recently used first
out; ``SAMSKAP_FEED_CACHE_BYTES = 0`` turns it off.

Second level, shared by every host and process: Redis at ``SAMSKAP_CACHE_URL``
(samskap/shared_cache.py). One entry per feed slot, holding the digest of the full key it was
built under (generation included), so an entry from an older generation is a miss and is
overwritten; Redis holds at most one text per feed. A process that misses its own cache asks
Redis before building, so a new host (or a restarted worker) serves a big feed without building
it; any Redis failure counts as a miss. Each answer notes where it came from in
``Server-Timing`` (``feed;desc=process|shared|built``) and in the ``samskap_feed_cache`` metric.
"""
from __future__ import annotations

import gc
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from samskap import metrics, timing
from samskap.extensions import db
from samskap.shared_cache import shared_cache

# Bound once: a cached feed (or a 304) is the hottest path there is.
_PROCESS_HIT = metrics.FEED_CACHE.labels("process", "hit")
_PROCESS_MISS = metrics.FEED_CACHE.labels("process", "miss")
_SHARED_HIT = metrics.FEED_CACHE.labels("shared", "hit")
_SHARED_MISS = metrics.FEED_CACHE.labels("shared", "miss")
SHARED_TTL_SECONDS = 26 * 3600  # a feed's window moves daily; a feed fetched once a day stays shared
_SHARED_MAGIC = b"samskap-feed-1\n"

# Not a mapped model: only the migration and the triggers write it, and tests that empty
# every mapped table leave it (and its never-decreasing value) alone.
GENERATION = sa.table("feed_generation", sa.column("id", sa.Integer), sa.column("value", sa.BigInteger))


def current_generation() -> int | None:
    """The generation as this statement's snapshot sees it: the sum of the counter's rows, read
    in one statement (one snapshot); None if the rows are missing (no caching)."""
    return db.session.scalar(sa.select(sa.cast(sa.func.sum(GENERATION.c.value), sa.BigInteger)))


@dataclass(frozen=True)
class BuiltFeed:
    body: bytes
    etag: str  # SHA-256 of the body
    watermark: datetime | None  # for Last-Modified


class BoundedCache:
    """A least-recently-used cache within a budget of bytes (each entry's size given by the
    caller); thread-safe, for gunicorn's threaded workers."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable):
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, value, size: int) -> None:
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _key, (_value, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)


class FeedCache:
    """One built feed per slot (a feed, or the public feed), replaced when its key changes."""

    def __init__(self, max_bytes: int):
        self._entries = BoundedCache(max_bytes)

    def get(self, slot: Hashable, key: Hashable) -> BuiltFeed | None:
        found = self._entries.get(slot)
        return found[1] if found is not None and found[0] == key else None

    def put(self, slot: Hashable, key: Hashable, built: BuiltFeed) -> None:
        self._entries.put(slot, (key, built), len(built.body))

    @property
    def size_bytes(self) -> int:
        return self._entries.size_bytes

    def __len__(self) -> int:
        return len(self._entries)


def feed_cache() -> FeedCache | None:
    app = current_app._get_current_object()
    if "samskap_feed_cache" not in app.extensions:
        max_bytes = int(app.config.get("SAMSKAP_FEED_CACHE_BYTES", 0) or 0)
        app.extensions["samskap_feed_cache"] = FeedCache(max_bytes) if max_bytes > 0 else None
    return app.extensions["samskap_feed_cache"]


@contextmanager
def _cyclic_gc_paused():
    """Building a feed allocates tens of thousands of short-lived, acyclic objects (rows,
    tuples), which set off full collections that scan every cached event and, for a large feed,
    cost more than the build itself (the feed figures in bench/RESULTS.md).
    Reference counting still frees everything at once; only the cycle collector waits."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def generation_for_cache() -> int | None:
    """The feed generation, to be read *first* in a request that serves a feed: before the token,
    its owner and their organisation are loaded (they feed into the text from the session's
    identity map), so that nothing the build reads is older than the key it is cached under.
    None when both caches are off."""
    return current_generation() if feed_cache() is not None or shared_cache() is not None else None


def _digest(value) -> str:
    # repr of the key's parts (ints, strings, enums, aware datetimes, the FeedOrigin dataclass) is
    # the same in every process, so hosts agree on it.
    return hashlib.sha256(repr(value).encode()).hexdigest()


def _encode_shared(key_digest: str, built: BuiltFeed) -> bytes:
    watermark = built.watermark.isoformat() if built.watermark is not None else "-"
    return b"".join((_SHARED_MAGIC, key_digest.encode(), b"\n", built.etag.encode(), b"\n",
                     watermark.encode(), b"\n", built.body))


def _decode_shared(raw: bytes | None, key_digest: str) -> BuiltFeed | None:
    if not raw or not raw.startswith(_SHARED_MAGIC):
        return None
    try:
        digest, etag, watermark, body = raw[len(_SHARED_MAGIC):].split(b"\n", 3)
    except ValueError:
        return None
    if digest.decode() != key_digest:
        return None  # built under another generation or key: a miss
    return BuiltFeed(body=body, etag=etag.decode(),
                     watermark=None if watermark == b"-" else datetime.fromisoformat(watermark.decode()))


def built_feed(slot: Hashable, key: Hashable, generation: int | None,
               build: Callable[[], tuple[bytes, datetime | None]]) -> BuiltFeed:
    """The feed for ``slot`` as ``build`` makes it, from the cache when neither ``key`` nor
    ``generation`` (from :func:`generation_for_cache`) has moved since it was built."""
    cache = feed_cache()
    full_key = (generation, key)
    if cache is not None and generation is not None:
        found = cache.get(slot, full_key)
        if found is not None:
            _PROCESS_HIT.inc()
            timing.note("feed", "process")
            return found
        _PROCESS_MISS.inc()
    shared = shared_cache() if generation is not None else None
    if shared is not None:
        shared_key, key_digest = "feed:" + _digest(slot)[:40], _digest(full_key)
        found = _decode_shared(shared.get(shared_key), key_digest)
        (_SHARED_HIT if found is not None else _SHARED_MISS).inc()
        if found is not None:
            if cache is not None:
                cache.put(slot, full_key, found)
            timing.note("feed", "shared")
            return found
    with _cyclic_gc_paused():
        body, watermark = build()
    metrics.FEED_BUILDS.inc()
    timing.note("feed", "built")
    built = BuiltFeed(body=body, etag=hashlib.sha256(body).hexdigest(), watermark=watermark)
    if cache is not None and generation is not None:
        cache.put(slot, full_key, built)
    if shared is not None:
        shared.set(shared_key, _encode_shared(key_digest, built), SHARED_TTL_SECONDS)
    return built
