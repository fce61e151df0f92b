"""feed generation in shards: no single row that every committed change waits on

Migration 0004's counter was one row. Its deferred trigger updates that row at commit, so every
transaction that touched a feed table took the row's lock and held it through its own WAL flush:
concurrent bookings committed one after another, one fsync each (bench/RESULTS.md, issue 24).

Now the counter is ``SHARDS`` rows (ids 1 to ``SHARDS``); the trigger moves the row picked by the
transaction's id, so transactions committing at the same time almost always move different rows
and share one WAL flush, and readers take the sum (booking/feeds/cache.py). What the feed cache
needs of the value still holds:

- *Any committed change moves it.* Each such transaction adds 1 to one row, at commit, so the sum
  grows by one per committed transaction (TRUNCATE, as before, moves it at once).
- *A value is never seen before its changes are.* The update is part of the transaction, so the
  sum a statement sees counts exactly the transactions committed in that statement's snapshot,
  and the rows it reads next (later snapshots under READ COMMITTED) include all of them.
- *A value never repeats for different contents.* Rows only grow, so a later snapshot's sum is
  never smaller; PostgreSQL's snapshots of one server see nested sets of committed transactions,
  so two reads with the same sum saw the same set (a later snapshot that saw one more transaction
  has a sum at least one higher).

Why not a sequence: ``nextval`` is not transactional. A writer that takes the next value before
committing makes it visible at once; a reader that reads it then, and builds the feed before the
commit, caches the old text under the new value, and every later fetch (no further change) serves
that stale text. Moving the ``nextval`` into the deferred trigger only narrows the window between
``nextval`` and the commit's visibility; it does not close it.

SQLite serialises writers (``BEGIN IMMEDIATE``): it keeps one row and its row triggers
(``WHERE id = 1``); readers take the same sum. Downgrade folds the shards back into row 1 (the sum
readers saw, so cached feeds stay valid) and restores 0004's function and CHECK.

Revision ID: 0017
Revises: 0016
"""
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

SHARDS = 64

SHARDED_FUNCTION = f"""
CREATE OR REPLACE FUNCTION samskap_feed_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Once per transaction: the setting is local to it and gone after commit or rollback.
    IF current_setting('samskap.feed_generation_bumped', true) IS DISTINCT FROM 'on' THEN
        -- Transactions committing together have different ids, so (nearly always) different rows.
        UPDATE feed_generation SET value = value + 1 WHERE id = 1 + txid_current() % {SHARDS};
        PERFORM set_config('samskap.feed_generation_bumped', 'on', true);
    END IF;
    RETURN NULL;
END
$$
"""

SINGLE_ROW_FUNCTION = """
CREATE OR REPLACE FUNCTION samskap_feed_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Once per transaction: the setting is local to it and gone after commit or rollback.
    IF current_setting('samskap.feed_generation_bumped', true) IS DISTINCT FROM 'on' THEN
        UPDATE feed_generation SET value = value + 1 WHERE id = 1;
        PERFORM set_config('samskap.feed_generation_bumped', 'on', true);
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE feed_generation DROP CONSTRAINT ck_feed_generation_one_row")
    op.execute(f"ALTER TABLE feed_generation ADD CONSTRAINT ck_feed_generation_shard CHECK (id BETWEEN 1 AND {SHARDS})")
    # New rows start at 0: the sum is the old value, so feeds cached before stay valid.
    op.execute(f"INSERT INTO feed_generation (id, value) SELECT g, 0 FROM generate_series(2, {SHARDS}) AS g "
               f"ON CONFLICT (id) DO NOTHING")
    op.execute(SHARDED_FUNCTION)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    # Writers wait (the migration is one transaction) until the single-row function is in place
    # and the shards are folded, so no increment lands on a row about to be deleted.
    op.execute("LOCK TABLE feed_generation IN EXCLUSIVE MODE")
    op.execute(SINGLE_ROW_FUNCTION)
    op.execute("UPDATE feed_generation SET value = (SELECT sum(value) FROM feed_generation) WHERE id = 1")
    op.execute("DELETE FROM feed_generation WHERE id <> 1")
    op.execute("ALTER TABLE feed_generation DROP CONSTRAINT ck_feed_generation_shard")
    op.execute("ALTER TABLE feed_generation ADD CONSTRAINT ck_feed_generation_one_row CHECK (id = 1)")
