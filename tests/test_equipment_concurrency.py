"""Concurrent reservations on PostgreSQL: the exclusion constraint per unit never lets two
requests hold one unit, and the retry with the next free unit lets exactly as many succeed
as there are units."""
import threading
from datetime import timedelta

import sqlalchemy as sa

from accounts.models import User
from booking.equipment import services
from booking.models import EquipmentAllocation
from samskap.errors import Conflict
from samskap.extensions import db
from samskap.timeutil import utcnow
from tests.conftest import POSTGRES
from tests.factories import make_equipment_type, make_user

THREADS = 10


def reserve_concurrently(app, user_id: int, type_id: int, quantity: int, start, end) -> list:
    """Run THREADS reservations at once; each result is a list of asset tags or the exception."""
    barrier = threading.Barrier(THREADS)
    results: list = [None] * THREADS

    def worker(index: int) -> None:
        with app.app_context():
            try:
                actor = db.session.get(User, user_id)
                db.session.execute(sa.text("SELECT 1"))  # hold a connection before the start line
                barrier.wait(timeout=30)
                reservation = services.reserve_equipment(actor, type_id, quantity, start, end)
                db.session.commit()
                results[index] = [unit.asset_tag for unit in services.allocated_units(reservation)]
            except Exception as exc:  # recorded and asserted on below
                db.session.rollback()
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


@POSTGRES
def test_ten_concurrent_requests_for_three_units_give_three_different_units_then_one_pair(app):
    etype = make_equipment_type(units=3, turnaround_hours=4)
    user = make_user()
    start = (utcnow() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)

    singles = reserve_concurrently(app, user.id, etype.id, 1, start, start + timedelta(days=2))
    won = [r for r in singles if isinstance(r, list)]
    lost = [r for r in singles if not isinstance(r, list)]
    assert len(won) == 3
    assert sorted(tag for tags in won for tag in tags) == sorted(unit.asset_tag for unit in etype.units)
    assert all(isinstance(exc, Conflict) for exc in lost), lost
    assert all(exc.details.get("needed") == 1 or exc.details.get("conflicts") == [] for exc in lost)

    later = start + timedelta(days=10)
    pairs = reserve_concurrently(app, user.id, etype.id, 2, later, later + timedelta(days=1))
    won = [r for r in pairs if isinstance(r, list)]
    assert len(won) == 1 and len(set(won[0])) == 2
    assert all(isinstance(r, Conflict) for r in pairs if not isinstance(r, list))

    db.session.expire_all()
    active = db.session.scalar(sa.select(sa.func.count(EquipmentAllocation.id))
                               .where(EquipmentAllocation.active.is_(True)))
    assert active == 3 + 2
