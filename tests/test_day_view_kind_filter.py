"""The day view filtered to one kind of space (``/day?date=…&kind=<code>``)."""
from datetime import time, timedelta

import pytest

from samskap.timeutil import local_to_utc, to_local, utcnow
from tests.conftest import BOTH
from tests.factories import make_booking, make_space, make_space_kind, make_user


@pytest.fixture
def rooms(app):
    lab = make_space_kind("simulation-lab", "Simuleringslab", "Simulation lab")
    meeting = make_space_kind("meeting-room", "Møterom", "Meeting room")
    return {"lab": make_space(name="Sim lab A", kind_id=lab.id),
            "meeting": make_space(name="Fjord room", kind_id=meeting.id)}


@pytest.fixture
def member(app):
    return make_user(locale="en")


def page(client, url) -> tuple[int, str]:
    response = client.get(url)
    return response.status_code, response.get_data(as_text=True)


@BOTH
def test_kind_shows_only_the_spaces_of_that_kind_with_their_bookings(client, auth, rooms, member):
    day = to_local(utcnow()).date() + timedelta(days=7)
    make_booking(rooms["lab"], member, start=local_to_utc(day, time(9)), title="Simulation drill", visibility="public")
    make_booking(rooms["meeting"], member, start=local_to_utc(day, time(9)), title="Board meeting",
                 visibility="public")
    auth.as_user(member)

    status, body = page(client, f"/day?date={day.isoformat()}&kind=simulation-lab")

    assert status == 200
    assert "Sim lab A" in body and "Simulation drill" in body
    assert "Fjord room" not in body and "Board meeting" not in body
    status, everything = page(client, f"/day?date={day.isoformat()}")
    assert "Sim lab A" in everything and "Fjord room" in everything


def test_the_page_has_a_labelled_kind_filter_and_keeps_it_when_moving_between_days(client, auth, rooms, member):
    auth.as_user(member)
    _status, body = page(client, "/day?date=2026-05-12&kind=simulation-lab")
    assert '<label for="day-kind">Kind of space</label>' in body and '<select id="day-kind" name="kind">' in body
    assert '<option value="simulation-lab" selected>Simulation lab</option>' in body
    assert '<option value="meeting-room">Meeting room</option>' in body and "All kinds" in body
    assert "/day?date=2026-05-11&amp;kind=simulation-lab" in body
    assert "/day?date=2026-05-13&amp;kind=simulation-lab" in body
    _status, unfiltered = page(client, "/day?date=2026-05-12")
    assert '<option value="" selected>All kinds</option>' in unfiltered
    assert "/day?date=2026-05-13\"" in unfiltered  # no empty kind in the links


def test_a_kind_without_active_spaces_says_so(client, auth, member):
    make_space_kind("auditorium", "Auditorium", "Auditorium")
    make_space(name="Fjord room")
    auth.as_user(member)
    status, body = page(client, "/day?date=2026-05-12&kind=auditorium")
    assert status == 200 and "There are no spaces of this kind." in body and "Fjord room" not in body


@pytest.mark.parametrize("kind", ["no-such-kind", "x" * 500, "<script>"])
def test_an_unknown_kind_answers_400_with_a_message(client, auth, rooms, member, kind):
    auth.as_user(member)
    status, body = page(client, f"/day?date=2026-05-12&kind={kind}")
    assert status == 400 and "Unknown kind of space" in body and "<script>" not in body.split("</header>")[-1]
