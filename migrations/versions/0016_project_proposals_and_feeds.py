"""project proposals and project feeds: projects.status 'proposed' and 'rejected',
projects.proposed_by_id, feeds.project_id and the feed scope 'project'

``feeds`` is copied in batch mode on SQLite, as in 0003 (no table refers to it and it has no
feed-generation trigger). ``projects`` is not copied: bookings, equipment reservations and
partners refer to it, and with foreign keys on, dropping the old copy would cascade to the
partners. Its status CHECK is loosened in place instead, by SQLite's documented procedure for
changes that leave the stored rows valid (https://sqlite.org/lang_altertable.html, "making
other kinds of table schema changes"): rewrite the table's SQL in ``sqlite_schema`` and bump
``schema_version``. ``proposed_by_id`` is added in place, like 0013's ``project_id``.

Revision ID: 0016
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

FEED_SCOPE = "ck_feeds_feed_scope"
SCOPES = ("mine", "organisation", "space", "equipment", "all", "public")
STATUS = "ck_projects_project_status"
STATUSES = ("planned", "active", "completed")
WITH_PROPOSALS = ("proposed",) + STATUSES + ("rejected",)


def _in(column: str, values) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _feed_scopes(scopes, *, add_project: bool | None) -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(FEED_SCOPE), type_="check")
        batch_op.create_check_constraint(op.f(FEED_SCOPE), _in("scope", scopes))
        if add_project is True:
            batch_op.add_column(sa.Column("project_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(op.f("fk_feeds_project_id_projects"), "projects", ["project_id"], ["id"])
        elif add_project is False:
            batch_op.drop_constraint(op.f("fk_feeds_project_id_projects"), type_="foreignkey")
            batch_op.drop_column("project_id")


def _rewrite_sqlite_projects(old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in the stored SQL of the projects table (SQLite only)."""
    bind = op.get_bind()
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'projects'").scalar()
    if sql.count(old) != 1:
        raise RuntimeError(f"projects: expected {old!r} once in {sql!r}")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'projects'",
                         (sql.replace(old, new),))
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _project_statuses(old, new) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f(STATUS), "projects", type_="check")
        op.create_check_constraint(op.f(STATUS), "projects", _in("status", new))
    else:
        _rewrite_sqlite_projects(_in("status", old), _in("status", new))


def upgrade():
    _project_statuses(STATUSES, WITH_PROPOSALS)
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("projects", sa.Column("proposed_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_projects_proposed_by_id_users"), "projects", "users",
                              ["proposed_by_id"], ["id"])
    else:
        op.execute("ALTER TABLE projects ADD COLUMN proposed_by_id INTEGER "
                   "CONSTRAINT fk_projects_proposed_by_id_users REFERENCES users (id)")
    _feed_scopes(SCOPES + ("project",), add_project=True)


def downgrade():
    # The old constraints cannot hold them: project feeds end (their URLs answer 404, as when
    # revoked), and proposals that staff never approved go.
    op.execute("DELETE FROM feeds WHERE scope = 'project'")
    _feed_scopes(SCOPES, add_project=False)
    op.execute("UPDATE bookings SET project_id = NULL WHERE project_id IN "
               "(SELECT id FROM projects WHERE status IN ('proposed', 'rejected'))")
    op.execute("UPDATE equipment_reservations SET project_id = NULL WHERE project_id IN "
               "(SELECT id FROM projects WHERE status IN ('proposed', 'rejected'))")
    op.execute("DELETE FROM projects WHERE status IN ('proposed', 'rejected')")
    if op.get_bind().dialect.name == "postgresql":
        # The deletes queued the deferred feed-generation triggers (0004, 0013); PostgreSQL alters
        # no table with trigger events pending, so fire them now.
        op.execute("SET CONSTRAINTS ALL IMMEDIATE")
        op.drop_constraint(op.f("fk_projects_proposed_by_id_users"), "projects", type_="foreignkey")
        op.drop_column("projects", "proposed_by_id")
    else:
        # SQLite drops a column in place unless a constraint names it; the foreign key does,
        # so take the constraint out of the stored SQL first (as upgrade loosens the CHECK).
        _rewrite_sqlite_projects(" CONSTRAINT fk_projects_proposed_by_id_users REFERENCES users (id)", "")
        op.execute("ALTER TABLE projects DROP COLUMN proposed_by_id")
    _project_statuses(WITH_PROPOSALS, STATUSES)

