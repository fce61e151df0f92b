"""the standard kinds of space, shipped with the schema (a data migration)

A fresh install (``db upgrade``, ``create-organization``, ``create-user``) had no kinds of
space, so no space could be created through the API. Each standard kind is added unless a
kind with its code exists already (a database that ran ``seed-demo`` has five of them), so
this is safe on any database; ``seed-demo`` in turn only adds kinds that are missing.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# Frozen here (a migration must not change with the application code): code, bokmål, English.
STANDARD_KINDS = (
    ("meeting-room", "Møterom", "Meeting room"),
    ("workshop-room", "Verkstedrom", "Workshop room"),
    ("simulation-lab", "Simuleringslab", "Simulation lab"),
    ("living-lab", "Living lab", "Living lab"),
    ("auditorium", "Auditorium", "Auditorium"),
    ("testing-area", "Testområde", "Testing area"),
)

space_kinds = sa.table("space_kinds", sa.column("id", sa.Integer), sa.column("code", sa.String),
                       sa.column("name_nb", sa.String), sa.column("name_en", sa.String))
spaces = sa.table("spaces", sa.column("kind_id", sa.Integer))


def upgrade():
    connection = op.get_bind()
    present = set(connection.scalars(sa.select(space_kinds.c.code)))
    missing = [{"code": code, "name_nb": nb, "name_en": en} for code, nb, en in STANDARD_KINDS if code not in present]
    if missing:
        op.bulk_insert(space_kinds, missing)


def downgrade():
    # Only kinds no space uses can go; the others stay (deleting them would delete data).
    op.execute(
        space_kinds.delete()
        .where(space_kinds.c.code.in_([code for code, _nb, _en in STANDARD_KINDS]))
        .where(~sa.exists().where(spaces.c.kind_id == space_kinds.c.id))
    )
