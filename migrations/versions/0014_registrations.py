"""registrations: events that take registrations (capacity, closing time, audience) and the
people registered for them (confirmed, waitlisted, waiting for their email link, cancelled).

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

import samskap.timeutil

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

LIVE = "status != 'cancelled'"


def upgrade():
    op.create_table(
        "registration_settings",
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("closes_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("audience", sa.Enum("public", "partners", name="registration_audience", native_enum=False,
                                      create_constraint=True, length=32), nullable=False),
        sa.Column("created_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("capacity >= 1", name=op.f("ck_registration_settings_capacity_positive")),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], ondelete="CASCADE",
                                name=op.f("fk_registration_settings_booking_id_bookings")),
        sa.PrimaryKeyConstraint("booking_id", name=op.f("pk_registration_settings")),
    )
    op.create_table(
        "registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("needs", sa.Text(), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("status", sa.Enum("pending_confirmation", "confirmed", "waitlisted", "cancelled",
                                    name="registration_status", native_enum=False, create_constraint=True,
                                    length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("queued_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attended", sa.Boolean(), nullable=True),
        sa.Column("created_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], ondelete="CASCADE",
                                name=op.f("fk_registrations_booking_id_bookings")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_registrations_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registrations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_registrations_token_hash")),
    )
    op.create_index("ix_registrations_booking_status", "registrations", ["booking_id", "status", "queued_at"])
    op.create_index(op.f("ix_registrations_user_id"), "registrations", ["user_id"])
    op.create_index("uq_registrations_booking_email_live", "registrations", ["booking_id", "email"], unique=True,
                    sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))


def downgrade():
    op.drop_index("uq_registrations_booking_email_live", table_name="registrations")
    op.drop_index(op.f("ix_registrations_user_id"), table_name="registrations")
    op.drop_index("ix_registrations_booking_status", table_name="registrations")
    op.drop_table("registrations")
    op.drop_table("registration_settings")
