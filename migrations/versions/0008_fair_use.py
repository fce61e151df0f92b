"""fair use: quotas, waitlist, check-in (spaces.check_in_minutes, bookings.checked_in_*) and
the booking status no_show

``no_show`` joins the named CHECK constraint ``ck_bookings_booking_status``. The exclusion
constraint ``ex_bookings_no_overlap`` (and the GiST index of 0002) cover only pending and
confirmed bookings, so a released no-show frees its slot without touching them.

SQLite cannot alter a constraint or add a checked column in place: batch mode copies
``bookings`` and ``spaces``, which drops their feed-generation triggers (see 0004); they are
created again here.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

import samskap.timeutil

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

STATUS_CONSTRAINT = "ck_bookings_booking_status"
STATUSES = ("pending", "confirmed", "rejected", "cancelled")
WITH_NO_SHOW = STATUSES + ("no_show",)
KINDS = ("municipality", "hospital", "company", "academia", "host")


def _sqlite_trigger(table: str) -> None:
    # As 0004's create_sqlite_trigger (migration modules are not importable by name).
    for event in ("INSERT", "UPDATE", "DELETE"):
        op.execute(f"DROP TRIGGER IF EXISTS tr_{table}_feed_generation_{event.lower()}")
        op.execute(f"CREATE TRIGGER tr_{table}_feed_generation_{event.lower()} AFTER {event} ON {table} "
                   f"BEGIN UPDATE feed_generation SET value = value + 1 WHERE id = 1; END")


def _in(values) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


def upgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("spaces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("check_in_minutes", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(op.f("ck_spaces_check_in_positive"),
                                         "check_in_minutes IS NULL OR check_in_minutes >= 1")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checked_in_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("checked_in_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_bookings_checked_in_by_id_users"), "users", ["checked_in_by_id"], ["id"])
        batch_op.drop_constraint(op.f(STATUS_CONSTRAINT), type_="check")
        batch_op.create_check_constraint(op.f(STATUS_CONSTRAINT), "status IN " + _in(WITH_NO_SHOW))
    if sqlite:
        _sqlite_trigger("spaces")
        _sqlite_trigger("bookings")

    op.create_table(
        "quotas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("organisation_kind", sa.Enum(*KINDS, name="quota_organisation_kind", native_enum=False,
                                               create_constraint=True, length=32), nullable=True),
        sa.Column("space_id", sa.Integer(), nullable=True),
        sa.Column("space_kind_id", sa.Integer(), nullable=True),
        sa.Column("period", sa.Enum("week", "month", "term", name="quota_period", native_enum=False,
                                    create_constraint=True, length=32), nullable=False),
        sa.Column("max_hours", sa.Numeric(8, 2), nullable=True),
        sa.Column("max_active", sa.Integer(), nullable=True),
        sa.Column("created_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(organisation_id IS NULL) <> (organisation_kind IS NULL)", name=op.f("ck_quotas_one_who")),
        sa.CheckConstraint("space_id IS NULL OR space_kind_id IS NULL", name=op.f("ck_quotas_one_where")),
        sa.CheckConstraint("max_hours IS NOT NULL OR max_active IS NOT NULL", name=op.f("ck_quotas_some_limit")),
        sa.CheckConstraint("max_hours IS NULL OR max_hours > 0", name=op.f("ck_quotas_hours_positive")),
        sa.CheckConstraint("max_active IS NULL OR max_active >= 1", name=op.f("ck_quotas_active_positive")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_quotas_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["space_id"], ["spaces.id"], name=op.f("fk_quotas_space_id_spaces")),
        sa.ForeignKeyConstraint(["space_kind_id"], ["space_kinds.id"], name=op.f("fk_quotas_space_kind_id_space_kinds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotas")),
    )
    with op.batch_alter_table("quotas", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quotas_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index("ix_quotas_organisation_kind", ["organisation_kind"], unique=False)

    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("start", samskap.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end", samskap.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("auto_book", sa.Boolean(), nullable=False),
        sa.Column("status", sa.Enum("waiting", "offered", "booked", "expired", "cancelled", name="waitlist_status",
                                    native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("offered_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hold_until", samskap.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("created_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('"end" > start', name=op.f("ck_waitlist_entries_end_after_start")),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], name=op.f("fk_waitlist_entries_booking_id_bookings")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_waitlist_entries_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["space_id"], ["spaces.id"], name=op.f("fk_waitlist_entries_space_id_spaces")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_waitlist_entries_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
    )
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_waitlist_entries_user_id"), ["user_id"], unique=False)
        batch_op.create_index("ix_waitlist_entries_space_period", ["space_id", "start", "end"], unique=False)
        batch_op.create_index("ix_waitlist_entries_status", ["status"], unique=False)


def downgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_table("waitlist_entries")
    op.drop_table("quotas")
    # The old constraint cannot hold a no-show: it becomes what it is closest to.
    op.execute("UPDATE bookings SET status = 'cancelled' WHERE status = 'no_show'")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(STATUS_CONSTRAINT), type_="check")
        batch_op.create_check_constraint(op.f(STATUS_CONSTRAINT), "status IN " + _in(STATUSES))
        batch_op.drop_constraint(op.f("fk_bookings_checked_in_by_id_users"), type_="foreignkey")
        batch_op.drop_column("checked_in_by_id")
        batch_op.drop_column("checked_in_at")
    with op.batch_alter_table("spaces", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_spaces_check_in_positive"), type_="check")
        batch_op.drop_column("check_in_minutes")
    if sqlite:
        _sqlite_trigger("spaces")
        _sqlite_trigger("bookings")
