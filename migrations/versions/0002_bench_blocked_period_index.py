"""index active bookings by blocked period (GiST), for "what overlaps this window" queries

Availability of every space, the day and week grids and the free-space search ask for the active
bookings whose [start, blocked_until) overlaps a window. A B-tree cannot bound both ends of that
question: (space_id, start, blocked_until) still walks every earlier booking of each space, and
for all spaces at once PostgreSQL falls back to reading the whole table, so the cost grew with
history. A GiST index over the period range answers it from the window alone. It carries the
same predicate as the exclusion constraint ex_bookings_no_overlap, so queries written as
``status IN ('pending', 'confirmed') AND tstzrange(start, blocked_until, '[)') && <window>``
(booking.services.blocked_overlaps) use it. PostgreSQL only; SQLite has no range types.

On a large live table, create it by hand first with CREATE INDEX CONCURRENTLY (same name); this
migration then does nothing.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_bookings_blocked_period ON bookings "
        "USING gist (tstzrange(start, blocked_until, '[)')) WHERE (status IN ('pending', 'confirmed'))"
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_bookings_blocked_period")
