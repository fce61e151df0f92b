"""feed scope 'public': a token feed of the public events (DESIGN.md's feed contract)

The scope column is a string with a named CHECK constraint listing the allowed values
(``ck_feeds_feed_scope``). PostgreSQL drops and adds the constraint in place; SQLite cannot
alter a constraint, so batch mode copies the table with the new one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 06:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

CONSTRAINT = "ck_feeds_feed_scope"
SCOPES = ("mine", "organisation", "space", "equipment", "all")
WITH_PUBLIC = SCOPES + ("public",)


def _allow(scopes) -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(CONSTRAINT), type_="check")
        batch_op.create_check_constraint(op.f(CONSTRAINT),
                                         "scope IN (" + ", ".join(f"'{scope}'" for scope in scopes) + ")")


def upgrade():
    _allow(WITH_PUBLIC)


def downgrade():
    # The old constraint cannot hold them: public feeds end (their URLs answer 404, as when revoked).
    op.execute("DELETE FROM feeds WHERE scope = 'public'")
    _allow(SCOPES)
