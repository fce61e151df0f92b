"""Equipment lists load each reservation's units with the list, not one query per row: the number
of SQL statements a page or API call runs does not grow with the number of reservations shown."""
from __future__ import annotations

from datetime import timedelta

import pytest

from booking.equipment import services
from samskap.extensions import db
from samskap.timeutil import utcnow
from tests.factories import api_headers, make_equipment_type, make_org, make_user
from tests.sql_count import counted_statements


def add_reservations(etype, users, staff, first: int, last: int) -> None:
    """Reservations ``first..last-1`` of one unit each (overlapping, so each gets its own unit),
    starting within the desk's week and the timeline's four weeks; every third one handed out."""
    now = utcnow()
    for i in range(first, last):
        start = now + timedelta(hours=2, minutes=10 * i)
        reservation = services.reserve_equipment(users[i % len(users)], etype.id, 1, start,
                                                 start + timedelta(days=2), purpose=f"Loan {i}", now=now)
        if i % 3 == 0:
            services.check_out(staff, reservation, now=start)
    db.session.commit()


def statements_per_url(client, urls: list[str], headers: dict) -> dict[str, int]:
    counts = {}
    for url in urls:
        with counted_statements() as count:
            response = client.get(url, headers=headers if url.startswith("/api/") else None)
        assert response.status_code == 200, (url, response.status_code)
        counts[url] = count[0]
    return counts


@pytest.fixture
def setting(app, auth):
    staff = make_user(role="staff", locale="en")
    users = [make_user(make_org(kind), is_org_contact=True) for kind in ("municipality", "hospital", "company")]
    etype = make_equipment_type(units=40)
    db.session.commit()
    auth.as_user(staff)
    return staff, users, etype


def test_equipment_lists_run_as_many_statements_for_forty_reservations_as_for_five(client, setting):
    staff, users, etype = setting
    urls = ["/api/v1/equipment-reservations", "/equipment-reservations/desk", f"/equipment/{etype.id}/timeline"]
    headers = api_headers(staff)
    add_reservations(etype, users, staff, 0, 5)
    with_five = statements_per_url(client, urls, headers)
    add_reservations(etype, users, staff, 5, 40)
    with_forty = statements_per_url(client, urls, headers)
    assert with_forty == with_five
    # And every row is really there, units included.
    listed = client.get(urls[0], headers=headers).get_json()["equipment_reservations"]
    assert len(listed) == 40 and all(len(r["units"]) == 1 for r in listed)
