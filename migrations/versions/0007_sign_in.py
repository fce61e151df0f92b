"""sign-in: identity links for single sign-on, and single-use links (invitations, password resets)

``user_identities`` links an OpenID Connect provider's person (issuer + subject) to a user.
``sign_in_links`` holds invitations and password resets; only the SHA-256 of each link's token
is stored. Both are new tables, so no existing table is copied (0004's SQLite triggers stay).

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

import samskap.timeutil

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("created_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_identities_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_identities")),
        sa.UniqueConstraint("issuer", "subject", name="uq_user_identities_issuer_subject"),
    )
    with op.batch_alter_table("user_identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_identities_user_id"), ["user_id"], unique=False)

    op.create_table(
        "sign_in_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.Enum("invitation", "password_reset", name="sign_in_link_purpose",
                                     native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.Enum("admin", "staff", "member", name="sign_in_link_role", native_enum=False,
                                  create_constraint=True, length=32), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", samskap.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sign_in_links_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_sign_in_links_organisation_id_organisations"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_sign_in_links_created_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sign_in_links_token_hash")),
    )
    with op.batch_alter_table("sign_in_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sign_in_links_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_sign_in_links_user_id"), ["user_id"], unique=False)


def downgrade():
    op.drop_table("sign_in_links")
    op.drop_table("user_identities")
