"""projects: pilot and co-creation projects, their partner organisations, bookings.project_id

``bookings.project_id`` and ``equipment_reservations.project_id`` are nullable columns with a
foreign key. PostgreSQL adds it in place
with a named constraint; SQLite adds it in place too (``ALTER TABLE ADD COLUMN`` takes a
``REFERENCES`` clause on a nullable column), so neither table is copied and both keep their
feed-generation triggers (see 0004).

A project's partners decide who sees its bookings in calendar feeds, so ``projects`` and
``project_organisations`` move the feed generation as the tables of 0004 do.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

import samskap.timeutil

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLES = ("projects", "project_organisations")
LINKED = ("bookings", "equipment_reservations")


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("goals", sa.Text(), nullable=False),
        sa.Column("lead_organisation_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("status", sa.Enum("planned", "active", "completed", name="project_status", native_enum=False,
                                    create_constraint=True, length=32), nullable=False),
        sa.Column("created_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on",
                           name=op.f("ck_projects_ends_after_start")),
        sa.ForeignKeyConstraint(["lead_organisation_id"], ["organisations.id"],
                                name=op.f("fk_projects_lead_organisation_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    op.create_table(
        "project_organisations",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE",
                                name=op.f("fk_project_organisations_project_id_projects")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_project_organisations_organisation_id_organisations")),
        sa.PrimaryKeyConstraint("project_id", "organisation_id", name=op.f("pk_project_organisations")),
    )
    op.create_index(op.f("ix_project_organisations_organisation_id"), "project_organisations",
                    ["organisation_id"], unique=False)
    for table in LINKED:
        if postgresql:
            op.add_column(table, sa.Column("project_id", sa.Integer(), nullable=True))
            op.create_foreign_key(op.f(f"fk_{table}_project_id_projects"), table, "projects", ["project_id"], ["id"])
        else:
            # In place (no batch copy): the table's feed-generation triggers of 0004 stay.
            op.execute(f"ALTER TABLE {table} ADD COLUMN project_id INTEGER "
                       f"CONSTRAINT fk_{table}_project_id_projects REFERENCES projects (id)")
        op.create_index(op.f(f"ix_{table}_project_id"), table, ["project_id"], unique=False)

    for table in TABLES:
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
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in LINKED:
        op.drop_index(op.f(f"ix_{table}_project_id"), table_name=table)
        if postgresql:
            op.drop_constraint(op.f(f"fk_{table}_project_id_projects"), table, type_="foreignkey")
            op.drop_column(table, "project_id")
        else:
            # SQLite 3.35+ drops a column in place unless a constraint names it; the foreign key
            # does, so copy the table (batch) and re-create its triggers.
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.drop_column("project_id")
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(f"DROP TRIGGER IF EXISTS tr_{table}_feed_generation_{event.lower()}")
                op.execute(f"CREATE TRIGGER tr_{table}_feed_generation_{event.lower()} AFTER {event} ON {table} "
                           f"BEGIN UPDATE feed_generation SET value = value + 1 WHERE id = 1; END")
    op.drop_index(op.f("ix_project_organisations_organisation_id"), table_name="project_organisations")
    op.drop_table("project_organisations")
    op.drop_table("projects")
