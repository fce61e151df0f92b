"""notifications: the mail outbox, periodic job leases, notification preferences

* ``outbox_messages``: one row per mail, written in the transaction of the change that causes it
  and delivered by ``flask --app app worker`` (samskap/mail.py, samskap/worker.py).
* ``periodic_jobs``: when each scheduled job is next due; a conditional UPDATE of its row picks the
  one worker that runs it.
* ``users``: reminders on/off, hours before a booking, daily digest of approvals instead of one
  mail per request. ``organisations.contact_email``: a shared address that receives copies.

Columns are added with plain ALTER TABLE ... ADD COLUMN on SQLite (batch mode does not copy the
table for that), so the feed-generation trigger on ``organisations`` (0004) stays in place.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

from samskap.timeutil import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

STATUSES = ("queued", "sending", "sent", "failed")


def upgrade():
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("to_address", sa.String(400), nullable=False),
        sa.Column("subject", sa.String(250), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("attachments", sa.JSON(), nullable=True),
        sa.Column("locale", sa.String(5), nullable=True),
        sa.Column("reference", sa.String(200), nullable=True),
        sa.Column("dedupe_key", sa.String(200), nullable=True),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        sa.Column("last_error", sa.String(1000), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("sent_via", sa.String(300), nullable=True),
        sa.Column("renderer", sa.String(64), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'sending', 'sent', 'failed')",
                           name=op.f("ck_outbox_messages_outbox_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_messages_dedupe_key")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_messages_message_id")),
    )
    op.create_index("ix_outbox_messages_due", "outbox_messages", ["status", "next_attempt_at"])
    op.create_index(op.f("ix_outbox_messages_kind"), "outbox_messages", ["kind"])
    op.create_index(op.f("ix_outbox_messages_reference"), "outbox_messages", ["reference"])
    op.create_table(
        "periodic_jobs",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("next_run_at", UTCDateTime(), nullable=False),
        sa.Column("last_run_at", UTCDateTime(), nullable=True),
        sa.Column("last_run_by", sa.String(100), nullable=True),
        sa.Column("last_error", sa.String(1000), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_periodic_jobs")),
    )
    op.add_column("users", sa.Column("notify_reminders", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column("users", sa.Column("reminder_hours", sa.Integer(), nullable=True))
    op.add_column("users", sa.Column("approval_digest", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("organisations", sa.Column("contact_email", sa.String(254), nullable=True))


def downgrade():
    # Plain ALTER TABLE … DROP COLUMN on both databases (SQLite has it since 3.35): no table copy, so
    # the users table keeps the rows that refer to it and organisations keep their feed trigger (0004).
    for column in ("approval_digest", "reminder_hours", "notify_reminders"):
        op.drop_column("users", column)
    op.drop_column("organisations", "contact_email")
    op.drop_table("periodic_jobs")
    op.drop_index(op.f("ix_outbox_messages_reference"), table_name="outbox_messages")
    op.drop_index(op.f("ix_outbox_messages_kind"), table_name="outbox_messages")
    op.drop_index("ix_outbox_messages_due", table_name="outbox_messages")
    op.drop_table("outbox_messages")
