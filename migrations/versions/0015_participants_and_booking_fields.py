"""participants and extra booking fields: who is in the room, and what the room needs

* ``booking_participant_organisations``: organisations taking part in a booking beyond the
  booker's; ``booking_participants``: named participants, a user or a guest's email.
* ``booking_field_definitions``: fields administrators define per kind of space (layout,
  catering, AV...); ``booking_field_values``: what a booking gives for them.

Participants decide who sees a booking's details in calendar feeds, so their two tables move the
feed generation as the tables of 0004 do. Only new tables: ``bookings`` is not touched, so its
triggers stay.

Revision ID: 0015
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

import samskap.timeutil

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

FEED_TABLES = ("booking_participant_organisations", "booking_participants")


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "booking_participant_organisations",
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], ondelete="CASCADE",
                                name=op.f("fk_booking_participant_organisations_booking_id_bookings")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_booking_participant_organisations_organisation_id_organisations")),
        sa.PrimaryKeyConstraint("booking_id", "organisation_id", name=op.f("pk_booking_participant_organisations")),
    )
    op.create_index(op.f("ix_booking_participant_organisations_organisation_id"),
                    "booking_participant_organisations", ["organisation_id"], unique=False)
    op.create_table(
        "booking_participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(user_id IS NULL) <> (email IS NULL)", name=op.f("ck_booking_participants_user_or_email")),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], ondelete="CASCADE",
                                name=op.f("fk_booking_participants_booking_id_bookings")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_booking_participants_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_participants")),
        sa.UniqueConstraint("booking_id", "user_id", name="uq_booking_participants_booking_id_user_id"),
        sa.UniqueConstraint("booking_id", "email", name="uq_booking_participants_booking_id_email"),
    )
    for column in ("booking_id", "user_id", "email"):
        op.create_index(op.f(f"ix_booking_participants_{column}"), "booking_participants", [column], unique=False)
    op.create_table(
        "booking_field_definitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("space_kind_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("field_type", sa.Enum("text", "choice", "boolean", "number", name="booking_field_type",
                                        native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("label_nb", sa.String(length=200), nullable=False),
        sa.Column("label_en", sa.String(length=200), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["space_kind_id"], ["space_kinds.id"],
                                name=op.f("fk_booking_field_definitions_space_kind_id_space_kinds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_field_definitions")),
        sa.UniqueConstraint("space_kind_id", "code", name=op.f("uq_booking_field_definitions_space_kind_id")),
    )
    op.create_index(op.f("ix_booking_field_definitions_space_kind_id"), "booking_field_definitions",
                    ["space_kind_id"], unique=False)
    op.create_table(
        "booking_field_values",
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], ondelete="CASCADE",
                                name=op.f("fk_booking_field_values_booking_id_bookings")),
        sa.ForeignKeyConstraint(["definition_id"], ["booking_field_definitions.id"],
                                name=op.f("fk_booking_field_values_definition_id_booking_field_definitions")),
        sa.PrimaryKeyConstraint("booking_id", "definition_id", name=op.f("pk_booking_field_values")),
    )
    op.create_index(op.f("ix_booking_field_values_definition_id"), "booking_field_values", ["definition_id"],
                    unique=False)

    for table in FEED_TABLES:
        if postgresql:
            op.execute(f"CREATE CONSTRAINT TRIGGER tr_{table}_feed_generation AFTER INSERT OR UPDATE OR DELETE "
                       f"ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                       f"EXECUTE FUNCTION samskap_feed_generation_bump()")
            op.execute(f"CREATE TRIGGER tr_{table}_feed_generation_truncate AFTER TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION samskap_feed_generation_bump()")
        else:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER tr_{table}_feed_generation_{event.lower()} AFTER {event} ON {table} "
                           f"BEGIN UPDATE feed_generation SET value = value + 1 WHERE id = 1; END")


def downgrade():
    op.drop_index(op.f("ix_booking_field_values_definition_id"), table_name="booking_field_values")
    op.drop_table("booking_field_values")
    op.drop_index(op.f("ix_booking_field_definitions_space_kind_id"), table_name="booking_field_definitions")
    op.drop_table("booking_field_definitions")
    for column in ("booking_id", "user_id", "email"):
        op.drop_index(op.f(f"ix_booking_participants_{column}"), table_name="booking_participants")
    op.drop_table("booking_participants")  # its triggers go with it
    op.drop_index(op.f("ix_booking_participant_organisations_organisation_id"),
                  table_name="booking_participant_organisations")
    op.drop_table("booking_participant_organisations")
