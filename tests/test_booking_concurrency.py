"""No double booking under concurrency: many requests for one slot at the same moment.

PostgreSQL: the exclusion constraint refuses every overlapping insert that slipped past
the service's own check; the service turns that into a Conflict. SQLite: BEGIN IMMEDIATE
serialises check-and-insert across connections.
"""
import threading
import time

import pytest
import sqlalchemy as sa

from booking.models import ACTIVE_BOOKING_STATUSES, Booking
from booking.services import book_space
from samskap.errors import Conflict
from samskap.extensions import db
from tests.booking_helpers import clock, miss_clashes_in_the_check, oslo, request_for  # noqa: F401 (clock is a fixture)
from tests.conftest import BOTH, POSTGRES
from tests.factories import make_space, make_user

THREADS = 20


@pytest.fixture
def app_config(request):
    # Every thread holds its own connection at the same moment: more than the default pool.
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_size": THREADS + 5, "max_overflow": 5}}


def _race(app, backend, user_ids, space_id, periods) -> list[str]:
    barrier = threading.Barrier(len(user_ids), timeout=60)
    outcomes: list[str] = [""] * len(user_ids)

    def attempt(index: int, user_id: int) -> None:
        from accounts.models import User
        from spaces.models import Space

        with app.app_context():
            try:
                if backend == "postgresql":
                    # Load first, so every thread is inside its transaction when the barrier opens.
                    # (On SQLite the first read would take the write lock before the barrier.)
                    user, space = db.session.get(User, user_id), db.session.get(Space, space_id)
                barrier.wait()
                if backend != "postgresql":
                    user, space = db.session.get(User, user_id), db.session.get(Space, space_id)
                start, end = periods[index % len(periods)]
                book_space(user, request_for(space, start, end))
                db.session.commit()
                outcomes[index] = "booked"
            except Conflict as exc:
                db.session.rollback()
                outcomes[index] = "conflict" if exc.message else "conflict without message"
            except Exception as exc:  # noqa: BLE001 - reported in the assertion below
                db.session.rollback()
                outcomes[index] = f"error: {exc!r}"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(i, uid)) for i, uid in enumerate(user_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def _setup(count: int):
    space = make_space(buffer_minutes=10)
    user_ids = [make_user().id for _ in range(count)]
    space_id = space.id
    db.session.commit()
    db.session.close()  # release the test's own connection (and, on SQLite, any lock)
    return user_ids, space_id


def _active_bookings(space_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count(Booking.id)).where(
        Booking.space_id == space_id, Booking.status.in_(ACTIVE_BOOKING_STATUSES)))


@BOTH
def test_many_requests_for_the_same_slot_give_exactly_one_booking(app, backend, clock):
    user_ids, space_id = _setup(THREADS)
    outcomes = _race(app, backend, user_ids, space_id, [(oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10))])
    assert sorted(outcomes) == ["booked"] + ["conflict"] * (THREADS - 1), outcomes
    assert _active_bookings(space_id) == 1


@BOTH
def test_overlapping_but_different_periods_also_give_one_booking(app, backend, clock):
    # Shifted by 10 minutes each, every pair overlaps (or clashes through the buffer).
    user_ids, space_id = _setup(8)
    periods = [(oslo(2026, 3, 10, 9, 5 * i), oslo(2026, 3, 10, 10, 5 * i)) for i in range(8)]
    outcomes = _race(app, backend, user_ids, space_id, periods)
    assert sorted(outcomes) == ["booked"] + ["conflict"] * 7, outcomes
    assert _active_bookings(space_id) == 1


@POSTGRES
def test_database_refuses_the_overlap_even_when_the_service_check_sees_nothing(app, backend, clock, monkeypatch):
    # Simulate every request passing the friendly check at the same moment: the exclusion
    # constraint alone must then refuse all but one, and each refusal is still a Conflict.
    miss_clashes_in_the_check(monkeypatch)
    user_ids, space_id = _setup(THREADS)
    outcomes = _race(app, backend, user_ids, space_id, [(oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10))])
    assert sorted(outcomes) == ["booked"] + ["conflict"] * (THREADS - 1), outcomes
    assert _active_bookings(space_id) == 1


@POSTGRES
def test_a_deadlock_in_the_overlap_check_is_a_conflict_not_an_error(app, backend, clock):
    """Two transactions writing overlapping bookings can each wait in the exclusion constraint's
    check for the other; PostgreSQL then ends one of them with a deadlock error. When that is
    ours, the person gets the usual conflict answer, and the other booking stands.

    A new single booking waits instead of deadlocking (INSERT ... ON CONFLICT DO NOTHING checks
    before it inserts); moving a booking is an UPDATE checked after it is written, as a series'
    inserts are, so a move is the case shown here."""
    from booking.services import update_booking

    user_ids, space_id = _setup(1)
    with app.app_context():
        from accounts.models import User
        from spaces.models import Space

        user, space = db.session.get(User, user_ids[0]), db.session.get(Space, space_id)
        book_space(user, request_for(space, oslo(2026, 3, 10, 12), oslo(2026, 3, 10, 13)))
        db.session.commit()
        booking_id = db.session.scalar(sa.select(Booking.id).where(Booking.space_id == space_id))
        db.session.remove()
    engine = db.engine
    other = engine.connect()
    other_tx = other.begin()
    # The other transaction never looks for deadlocks first, so this request is the one ended.
    other.exec_driver_sql("SET LOCAL deadlock_timeout = '60s'")
    insert = sa.text(
        "INSERT INTO bookings (space_id, organiser_id, organisation_id, title, description, purpose, start, \"end\", "
        "blocked_until, attendees, visibility, status, sequence, opening_hours_overridden, decision_reason, "
        "cancel_reason, created_at, updated_at) SELECT :space, id, organisation_id, 'Other', '', 'meeting', :start, "
        ":end, :end, 1, 'private', 'confirmed', 0, false, '', '', now(), now() FROM users WHERE id = :user")
    first_half = dict(space=space_id, user=user_ids[0], start=oslo(2026, 3, 10, 9), end=oslo(2026, 3, 10, 9, 30))
    second_half = dict(first_half, start=oslo(2026, 3, 10, 9, 30), end=oslo(2026, 3, 10, 10))
    other.execute(insert, first_half)
    outcomes = []

    def ours():
        from accounts.models import User

        with app.app_context():
            try:
                user = db.session.get(User, user_ids[0])
                update_booking(user, db.session.get(Booking, booking_id),
                               {"start": oslo(2026, 3, 10, 9), "end": oslo(2026, 3, 10, 10)})
                db.session.commit()
                outcomes.append("moved")
            except Conflict:
                db.session.rollback()
                outcomes.append("conflict")
            except Exception as exc:  # noqa: BLE001 - reported in the assertion below
                db.session.rollback()
                outcomes.append(f"error: {exc!r}")
            finally:
                db.session.remove()

    thread = threading.Thread(target=ours)
    thread.start()
    try:
        # Wait until our request waits for the other transaction inside the constraint's check...
        with engine.connect() as watcher:
            waiting = 0
            deadline = time.monotonic() + 60  # a loaded machine can take long to get the thread there
            while time.monotonic() < deadline and thread.is_alive():
                waiting = watcher.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()")).scalar()
                if waiting:
                    break
                threading.Event().wait(0.05)
            assert waiting, f"our request never waited for the other transaction ({outcomes or 'still running'})"
        # ...then make the other transaction wait for ours: a deadlock, which PostgreSQL ends in ours.
        other.execute(insert, second_half)
        other_tx.commit()
    finally:
        thread.join(timeout=60)
        other.close()
    assert outcomes == ["conflict"]
    assert _active_bookings(space_id) == 3  # ours, unmoved, and the other transaction's two halves
