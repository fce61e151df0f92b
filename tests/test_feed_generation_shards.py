"""The feed generation is spread over rows (migration 0017), so that concurrent commits do not
queue on one row lock, while readers still see one value that every committed change moves."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from booking.feeds.cache import current_generation
from samskap.extensions import db
from tests.conftest import BOTH, POSTGRES
from tests.factories import make_space, make_user

UTC = timezone.utc
SHARDS = 64


def _insert_booking(conn, space_id: int, user) -> None:
    conn.execute(sa.text(
        "INSERT INTO bookings (space_id, organiser_id, organisation_id, title, description, purpose, "
        "start, \"end\", blocked_until, attendees, visibility, status, sequence, "
        "opening_hours_overridden, decision_reason, cancel_reason, created_at, updated_at) VALUES "
        "(:space, :user, :org, 'Parallel', '', 'meeting', :start, :end, :end, 1, 'private', "
        "'confirmed', 0, false, '', '', now(), now())"),
        dict(space=space_id, user=user.id, org=user.organisation_id, start=datetime(2027, 3, 1, 9, tzinfo=UTC),
             end=datetime(2027, 3, 1, 10, tzinfo=UTC)))


def _shard(conn) -> int:
    return 1 + conn.execute(sa.text("SELECT txid_current()")).scalar() % SHARDS


@POSTGRES
def test_a_commit_does_not_wait_for_another_transaction_that_holds_its_counter_row(app):
    """With one counter row, the second commit waited for the first transaction to end."""
    first_space, second_space = make_space(), make_space()
    user = make_user()
    db.session.commit()
    before = current_generation()
    db.session.commit()
    holder = db.engine.connect()
    try:
        holding = holder.begin()
        _insert_booking(holder, first_space.id, user)
        held = _shard(holder)
        holder.execute(sa.text("SET CONSTRAINTS ALL IMMEDIATE"))  # the counter trigger fires now: its row is locked
        for _attempt in range(10):
            with db.engine.connect() as writer:
                writing = writer.begin()
                _insert_booking(writer, second_space.id, user)
                if _shard(writer) == held:  # the same row by chance (1 in 64): another transaction id
                    writing.rollback()
                    continue
                writer.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
                writing.commit()  # would time out waiting for the holder's row lock
                break
        else:  # pragma: no cover
            pytest.fail("ten transaction ids in a row fell on the held row")
        # The holder's change is not committed yet: readers see only the writer's.
        assert current_generation() == before + 1
        db.session.commit()
        holding.commit()
    finally:
        holder.close()
    assert current_generation() == before + 2


@BOTH
def test_the_migration_goes_down_and_up_and_the_generation_never_goes_back(app, backend):
    from flask_migrate import downgrade, upgrade

    space_id = make_space().id
    db.session.commit()
    for _ in range(3):  # three transactions: on PostgreSQL most likely three rows
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE spaces SET name = name || '.' WHERE id = :id"), {"id": space_id})
    before = current_generation()
    db.session.remove()
    db.engine.dispose()
    downgrade(revision="0016")
    with db.engine.begin() as conn:
        assert conn.execute(sa.text("SELECT id, value FROM feed_generation")).all() == [(1, before)]
        conn.execute(sa.text("UPDATE spaces SET name = 'Down' WHERE id = :id"), {"id": space_id})
    with db.engine.begin() as conn:
        assert conn.execute(sa.text("SELECT value FROM feed_generation WHERE id = 1")).scalar() == before + 1
    db.engine.dispose()
    upgrade()
    rows = 1 if backend == "sqlite" else SHARDS
    with db.engine.begin() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM feed_generation")).scalar() == rows
        conn.execute(sa.text("UPDATE spaces SET name = 'Up' WHERE id = :id"), {"id": space_id})
    assert current_generation() == before + 2
    db.session.remove()
    db.engine.dispose()
