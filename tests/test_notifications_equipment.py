"""Equipment notifications: confirmed or rejected, ready for pick-up, due back tomorrow, overdue
(borrower and staff), returned with the condition note."""
from __future__ import annotations

from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from accounts.models import Role
from booking.equipment import services as equipment_services
from booking.notifications.equipment import send_due_reminders, send_overdue, send_ready_for_pickup
from samskap.extensions import db
from samskap.mail import OutboxMessage
from samskap.timeutil import local_to_utc, local_tz, utcnow
from tests.factories import make_equipment_type, make_org, make_user


def outbox(kind):
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind)
                                   .order_by(OutboxMessage.id)))


@pytest.fixture
def world(app):
    host = make_org("host", name="Helseinn")
    hospital = make_org("hospital", name="Sykehuset", contact_email="felles@sykehus.example")
    borrower = make_user(hospital, name="Bo Borrower", email="bo@sykehus.example", locale="en")
    staff = make_user(host, Role.STAFF, name="Sam Staff", email="staff@helseinn.example", locale="nb")
    kit = make_equipment_type(units=2, name="Fallsensor", requires_approval=True)
    return {"borrower": borrower, "staff": staff, "kit": kit}


def reserve(world, start, days=2):
    reservation = equipment_services.reserve_equipment(world["borrower"], world["kit"].id, 1, start,
                                                       start + timedelta(days=days), "Pilot")
    db.session.commit()
    return reservation


def test_approval_and_rejection_reach_the_borrower_and_the_copy_address(world):
    start = utcnow() + timedelta(days=3)
    first = reserve(world, start)
    second = reserve(world, start)
    equipment_services.approve_reservation(world["staff"], first)
    equipment_services.reject_reservation(world["staff"], second, "Kalibreres den uken")
    db.session.commit()
    confirmed = outbox("equipment.confirmed")
    assert sorted(m.to_address for m in confirmed) == ["bo@sykehus.example", "felles@sykehus.example"]
    assert confirmed[0].subject == "Equipment reserved: Fallsensor"
    [rejected, _copy] = outbox("equipment.rejected")
    assert "Kalibreres den uken" in rejected.text and "Sam Staff" in rejected.text


def test_ready_due_overdue_and_returned(world):
    # Tomorrow 08:00 in Oslo: every step below stays on one local day, so "once a day" means
    # once whatever the hour the suite runs at (from "now" it crossed midnight in the evening).
    tomorrow = utcnow().astimezone(local_tz()).date() + timedelta(days=1)
    now = local_to_utc(tomorrow, time(8, 0))
    reservation = reserve(world, now + timedelta(hours=6), days=1)
    equipment_services.approve_reservation(world["staff"], reservation)
    db.session.commit()
    assert send_ready_for_pickup(now) == 2  # the borrower and the shared address
    db.session.commit()
    assert send_ready_for_pickup(now + timedelta(minutes=15)) == 0  # once
    equipment_services.check_out(world["staff"], reservation, "Alt i orden", now=now + timedelta(hours=6))
    db.session.commit()
    assert send_due_reminders(now + timedelta(hours=7)) == 2
    db.session.commit()
    assert send_due_reminders(now + timedelta(hours=8)) == 0
    late = now + timedelta(days=1, hours=8)
    assert send_overdue(late) == 3  # borrower, copy, and the staff list
    db.session.commit()
    assert send_overdue(late + timedelta(minutes=30)) == 0  # once a day
    [staff_list] = outbox("equipment.overdue_staff")
    assert staff_list.to_address == "staff@helseinn.example" and "Fallsensor" in staff_list.text
    assert staff_list.subject == "Forsinkede utstyrslån: 1"  # the staff member reads Norwegian
    equipment_services.check_in(world["staff"], reservation, "Ripe i dekselet", now=late)
    db.session.commit()
    [returned, _copy] = outbox("equipment.returned")
    assert "Ripe i dekselet" in returned.text and returned.to_address == "bo@sykehus.example"
