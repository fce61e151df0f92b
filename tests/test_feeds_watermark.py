"""Last-Modified moves whenever a feed's bytes change, also when what changed is not one of the
feed's own rows: another organisation's name (the staff "all" feed shows it) or an equipment unit's
asset tag (equipment feeds list the units). Clients that revalidate by date only (Apple) would
otherwise keep a stale copy on 304."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from accounts.models import Organisation, Role, User
from booking.feeds import services
from booking.models import Booking, EquipmentAllocation, EquipmentReservation, Feed, Visibility
from samskap.extensions import db
from samskap.timeutil import utcnow
from spaces.models import EquipmentType, EquipmentUnit, Space
from tests.conftest import BOTH
from tests.factories import make_booking, make_equipment_type, make_org, make_reservation, make_user

UTC = timezone.utc
NOW = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr("booking.feeds.views.feed_clock", lambda: NOW)


def everything_written_a_minute_ago() -> None:
    """HTTP dates have whole seconds: date every row back so the first fetch has a Last-Modified."""
    past = utcnow() - timedelta(minutes=1)
    for model in (Booking, User, Organisation, Space, EquipmentType, EquipmentUnit, EquipmentReservation):
        db.session.execute(sa.update(model).values(updated_at=past))
    db.session.execute(sa.update(Feed).values(created_at=past))
    db.session.commit()


def revalidate(client, token: str, first):
    return client.get(f"/feeds/{token}.ics", headers={"If-Modified-Since": first.headers["Last-Modified"]})


@BOTH
def test_renaming_another_organisation_moves_the_all_feeds_last_modified(client):
    staff = make_user(role=Role.STAFF)
    partner = make_org(name="Old name AS")
    make_booking(user=make_user(partner), start=datetime(2027, 2, 1, 9, tzinfo=UTC), visibility=Visibility.PARTNERS)
    _feed, token = services.create_feed(staff, "all")
    db.session.commit()
    everything_written_a_minute_ago()
    first = client.get(f"/feeds/{token}.ics")
    assert b"Old name AS" in first.data
    assert revalidate(client, token, first).status_code == 304

    partner.name = "New name AS"
    partner.updated_at = utcnow() - timedelta(seconds=30)  # after the first fetch's watermark
    db.session.commit()
    after = revalidate(client, token, first)
    assert after.status_code == 200 and b"New name AS" in after.data
    assert after.last_modified > first.last_modified


def test_changing_a_units_asset_tag_moves_the_equipment_feeds_last_modified(client):
    kit = make_equipment_type(units=1)
    viewer = make_user()
    reservation = make_reservation(kit, user=viewer, start=datetime(2027, 3, 1, 8, tzinfo=UTC))
    unit = kit.units[0]
    db.session.add(EquipmentAllocation(reservation_id=reservation.id, unit_id=unit.id, start=reservation.start,
                                       blocked_until=reservation.end))
    _feed, token = services.create_feed(viewer, "equipment", equipment_type_id=kit.id)
    db.session.commit()
    everything_written_a_minute_ago()
    first = client.get(f"/feeds/{token}.ics")
    assert unit.asset_tag.encode() in first.data
    assert revalidate(client, token, first).status_code == 304

    unit.asset_tag = "RELABELLED-1"
    unit.updated_at = utcnow() - timedelta(seconds=30)
    db.session.commit()
    after = revalidate(client, token, first)
    assert after.status_code == 200 and b"RELABELLED-1" in after.data
    assert after.last_modified > first.last_modified
