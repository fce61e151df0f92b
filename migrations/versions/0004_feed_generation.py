"""feed generation: a counter that every committed change to what calendar feeds show moves on

Calendar clients poll every feed every few minutes. A feed's text is cached per process
(booking/feeds/cache.py) under this counter's value, so a fetch, or a 304, costs a token lookup
and one read of this row while nothing has changed.

The counter is moved by the database itself, by triggers on every table whose rows a feed
shows or names: bookings, booking_series, equipment_reservations, equipment_allocations,
spaces, equipment_types, equipment_units and organisations. A change made outside the app (psql,
a data fix, a restore) therefore ends the cached feeds too. Feeds and users are not covered:
the feed row and its owner are read at every fetch and are part of the cache key.

PostgreSQL: a deferred constraint trigger moves the counter once per transaction, at commit,
so the row lock is taken last and held only while committing (TRUNCATE, which fires no row
triggers, moves it at once); values then follow commit order,
and a reader that sees value N sees every change committed with a value up to N. SQLite
serialises writers (BEGIN IMMEDIATE), so plain row triggers do.

SQLite caution: a later migration that copies one of these tables (batch_alter_table) drops
its trigger and must create it again (``create_sqlite_trigger``).

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("bookings", "booking_series", "equipment_reservations", "equipment_allocations", "spaces",
          "equipment_types", "equipment_units", "organisations")

PG_FUNCTION = """
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


def create_sqlite_trigger(table: str) -> None:
    for event in ("INSERT", "UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER tr_{table}_feed_generation_{event.lower()} AFTER {event} ON {table} "
                   f"BEGIN UPDATE feed_generation SET value = value + 1 WHERE id = 1; END")


def upgrade():
    op.create_table(
        "feed_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_feed_generation_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_generation")),
    )
    op.execute("INSERT INTO feed_generation (id, value) VALUES (1, 1)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for table in TABLES:
            op.execute(f"CREATE CONSTRAINT TRIGGER tr_{table}_feed_generation AFTER INSERT OR UPDATE OR DELETE "
                       f"ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                       f"EXECUTE FUNCTION samskap_feed_generation_bump()")
            # TRUNCATE fires no row triggers.
            op.execute(f"CREATE TRIGGER tr_{table}_feed_generation_truncate AFTER TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION samskap_feed_generation_bump()")
    else:
        for table in TABLES:
            create_sqlite_trigger(table)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS tr_{table}_feed_generation ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS tr_{table}_feed_generation_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS samskap_feed_generation_bump()")
    else:
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS tr_{table}_feed_generation_{event}")
    op.drop_table("feed_generation")
