"""Migration 0016 (project proposals and project feeds) on both databases: a project and its
partners written before it survive the upgrade (on SQLite the projects table is not copied, so
no partner row is lost to ON DELETE CASCADE), the new statuses and the feed scope are accepted
and nothing else is, and the downgrade removes only what the old schema cannot hold."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy.exc import IntegrityError

from samskap import create_app
from samskap.extensions import db
from tests.conftest import BASE_CONFIG, BOTH
from tests.test_feeds_public_scope import _user_at_0001, empty_database  # noqa: F401 (a fixture)


def _sql(statement: str, **params):
    return db.session.execute(sa.text(statement), params)


def _refused(statement: str, **params) -> bool:
    try:
        with db.session.begin_nested():
            _sql(statement, **params)
    except IntegrityError:
        return True
    return False


@BOTH
def test_migration_0016_keeps_projects_and_partners_and_takes_proposals_away_again(empty_database):  # noqa: F811
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": empty_database})
    now = datetime.now(timezone.utc)
    with app.app_context():
        upgrade(revision="0001")
        owner_id = _user_at_0001()
        db.session.commit()
        upgrade(revision="0015")
        org_id = _sql("SELECT organisation_id FROM users WHERE id = :id", id=owner_id).scalar_one()
        _sql("INSERT INTO projects (id, name, description, goals, lead_organisation_id, status, created_at, "
             "updated_at) VALUES (1, 'Pilot', '', '', :org, 'active', :now, :now)", org=org_id, now=now)
        _sql("INSERT INTO project_organisations (project_id, organisation_id) VALUES (1, :org)", org=org_id)
        db.session.commit()

        upgrade(revision="0016")
        assert _sql("SELECT organisation_id FROM project_organisations").scalars().all() == [org_id]
        assert _sql("SELECT status FROM projects").scalars().all() == ["active"]
        _sql("INSERT INTO projects (id, name, description, goals, lead_organisation_id, status, proposed_by_id, "
             "created_at, updated_at) VALUES (2, 'Proposal', '', '', :org, 'proposed', :user, :now, :now)",
             org=org_id, user=owner_id, now=now)
        _sql("INSERT INTO project_organisations (project_id, organisation_id) VALUES (2, :org)", org=org_id)
        _sql("INSERT INTO feeds (token_hash, owner_id, scope, project_id, name, created_at) "
             "VALUES (:token, :owner, 'project', 1, '', :now)", token="a" * 64, owner=owner_id, now=now)
        db.session.commit()
        assert _refused("UPDATE projects SET status = 'finished' WHERE id = 1")
        assert _refused("INSERT INTO feeds (token_hash, owner_id, scope, name, created_at) "
                        "VALUES (:token, :owner, 'everything', '', :now)", token="b" * 64, owner=owner_id, now=now)
        assert _refused("UPDATE projects SET proposed_by_id = 999999 WHERE id = 2")  # the foreign key holds
        db.session.rollback()

        downgrade(revision="0015")
        assert _sql("SELECT id FROM projects").scalars().all() == [1]  # the proposal went, the project stays
        assert _sql("SELECT project_id FROM project_organisations").scalars().all() == [1]
        assert _sql("SELECT COUNT(*) FROM feeds").scalar_one() == 0
        assert _refused("UPDATE projects SET status = 'proposed' WHERE id = 1")
        db.session.rollback()
        upgrade()  # and up again
        assert _sql("SELECT COUNT(*) FROM projects").scalar_one() == 1
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()
