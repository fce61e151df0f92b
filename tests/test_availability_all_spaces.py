"""``GET /api/v1/availability``: the busy periods of every space in one answer, with the same
masking as the one-space endpoint, in a constant number of queries, and 422 for bad input."""
import sqlalchemy as sa

from samskap.extensions import db
from spaces.models import Closure
from tests.booking_helpers import clock, oslo  # noqa: F401 (clock is a fixture)
from tests.conftest import BOTH
from tests.factories import api_headers, make_booking, make_org, make_space, make_user

DAY = {"start": "2026-03-10T00:00:00+01:00", "end": "2026-03-11T00:00:00+01:00"}


def assert_422(response, field):
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.json["error"]["details"]["fields"]


@BOTH
def test_every_active_space_is_listed_with_the_same_periods_as_its_own_availability(client, clock):
    org = make_org()
    viewer = make_user(org, locale="en")
    first, second = make_space(name="First"), make_space(name="Second", buffer_minutes=15)
    make_space(name="Retired", active=False)
    make_booking(space=first, user=make_user(locale="en"), start=oslo(2026, 3, 10, 9), title="Secret")
    ours = make_booking(space=first, user=make_user(org, locale="en"), start=oslo(2026, 3, 10, 11), title="Ours")
    make_booking(space=second, user=make_user(locale="en"), start=oslo(2026, 3, 10, 13), title="Open day",
                 visibility="public")
    make_booking(space=second, start=oslo(2026, 3, 11, 9), title="Tomorrow")
    db.session.add_all([Closure(space_id=None, start=oslo(2026, 3, 10, 15), end=oslo(2026, 3, 10, 18),
                                reason="Fire drill"),
                        Closure(space_id=second.id, start=oslo(2026, 3, 10, 7), end=oslo(2026, 3, 10, 8),
                                reason="Cleaning")])
    db.session.commit()
    headers = api_headers(viewer)

    response = client.get("/api/v1/availability", headers=headers, query_string=DAY)

    assert response.status_code == 200
    data = response.json
    assert (data["start"], data["end"]) == ("2026-03-09T23:00:00Z", "2026-03-10T23:00:00Z")
    assert [s["space_id"] for s in data["spaces"]] == [first.id, second.id]
    busy = {s["space_id"]: s["busy"] for s in data["spaces"]}
    assert [(p["title"], p["booking_id"], p["kind"]) for p in busy[first.id]] == [
        ("Busy", None, "booking"), ("Ours", ours.id, "booking"), ("Fire drill", None, "closure")]
    assert [(p["title"], p["kind"], p["start"], p["blocked_until"]) for p in busy[second.id]] == [
        ("Cleaning", "closure", "2026-03-10T06:00:00Z", "2026-03-10T07:00:00Z"),
        ("Open day", "booking", "2026-03-10T12:00:00Z", "2026-03-10T13:15:00Z"),
        ("Fire drill", "closure", "2026-03-10T14:00:00Z", "2026-03-10T17:00:00Z")]
    for space in (first, second):
        own = client.get(f"/api/v1/spaces/{space.id}/availability", headers=headers, query_string=DAY).json
        assert busy[space.id] == own["busy"]


def test_space_id_limits_the_answer_to_those_spaces(client, clock):
    viewer = make_user(locale="en")
    first, second, third = make_space(), make_space(), make_space()
    make_booking(space=second, start=oslo(2026, 3, 10, 9))
    headers = api_headers(viewer)
    one = client.get("/api/v1/availability", headers=headers, query_string={**DAY, "space_id": str(second.id)})
    assert [(s["space_id"], len(s["busy"])) for s in one.json["spaces"]] == [(second.id, 1)]
    two = client.get("/api/v1/availability", headers=headers,
                     query_string=[*DAY.items(), ("space_id", third.id), ("space_id", first.id)])
    assert [s["space_id"] for s in two.json["spaces"]] == [third.id, first.id]


def test_bad_input_is_refused_with_422_and_a_field(client, clock):
    space = make_space()
    headers = api_headers(make_user(locale="en"))

    def get(**query):
        return client.get("/api/v1/availability", headers=headers, query_string=query)

    assert_422(get(start="2026-03-10T00:00:00", end="2026-03-11T00:00:00+01:00"), "start")  # no offset
    assert_422(get(start="tomorrow"), "start")
    assert_422(get(start="2026-03-10T00:00:00Z", end="2026-03-10T00:00:00Z"), "end")  # empty period
    assert_422(get(start="2026-03-10T00:00:00Z", end="2026-02-01T00:00:00Z"), "end")  # backwards
    assert_422(get(start="2026-03-01T00:00:00Z", end="2026-04-01T00:00:01Z"), "end")  # over 31 days
    assert get(start="2026-03-01T00:00:00Z", end="2026-04-01T00:00:00Z").status_code == 200  # 31 days
    for bad in ("abc", "-1", "0", "1.5", "²", str(10**20), str(space.id + 1000)):
        assert_422(get(space_id=bad, **DAY), "space_id")


def test_availability_needs_an_account(client, clock):
    response = client.get("/api/v1/availability", query_string=DAY)
    assert response.status_code == 401 and response.json["error"]["code"]


def test_many_spaces_cost_the_same_number_of_queries_as_few(client, clock, app):
    headers = api_headers(make_user(locale="en"))
    statements = []

    def count(*_args, **_kw):
        statements.append(1)

    def queries_for_all_spaces() -> int:
        statements.clear()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get("/api/v1/availability", headers=headers, query_string=DAY).status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    for _ in range(2):
        make_booking(space=make_space(), start=oslo(2026, 3, 10, 9), visibility="private")
    queries_for_all_spaces()  # the first request also does one-off work (such as touching the token)
    few = queries_for_all_spaces()
    for _ in range(10):
        make_booking(space=make_space(), start=oslo(2026, 3, 10, 9), visibility="private")
    assert queries_for_all_spaces() == few


def test_openapi_describes_the_all_spaces_availability(client):
    operation = client.get("/api/v1/openapi.json").json["paths"]["/availability"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"start", "end", "space_id"}
    assert {"200", "401", "422"} <= set(operation["responses"])


@BOTH
def test_periods_touching_the_window_are_left_out_and_a_buffer_reaching_into_it_counts(app, clock):
    from booking.services import busy_periods_by_space

    plain, buffered = make_space(), make_space(buffer_minutes=30)
    user = make_user(locale="en")
    make_booking(space=plain, user=user, start=oslo(2026, 3, 10, 8), title="Ends at the start")  # 08-09
    make_booking(space=plain, user=user, start=oslo(2026, 3, 10, 12), title="Starts at the end")  # 12-13
    make_booking(space=plain, user=user, start=oslo(2026, 3, 10, 10), title="Inside")
    make_booking(space=buffered, user=user, start=oslo(2026, 3, 10, 8), title="Buffer reaches in")  # blocked to 09:30
    make_booking(space=plain, user=user, start=oslo(2026, 3, 10, 10, 30), title="Cancelled", status="cancelled")
    found = busy_periods_by_space([plain.id, buffered.id], oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 12), user)
    assert [p["title"] for p in found[plain.id]] == ["Inside"]
    assert [p["title"] for p in found[buffered.id]] == ["Buffer reaches in"]


@BOTH
def test_many_spaces_at_once_get_only_their_own_bookings_and_closures(app, clock):
    from booking.services import FEW_SPACES, busy_periods_by_space

    spaces = [make_space() for _ in range(FEW_SPACES + 2)]
    asked, other = spaces[:-1], spaces[-1]
    user = make_user(locale="en")
    make_booking(space=asked[0], user=user, start=oslo(2026, 3, 10, 9), title="Asked")
    make_booking(space=other, user=user, start=oslo(2026, 3, 10, 9), title="Not asked")
    db.session.add_all([Closure(space_id=other.id, start=oslo(2026, 3, 10, 7), end=oslo(2026, 3, 10, 8), reason="Paint"),
                        Closure(space_id=None, start=oslo(2026, 3, 10, 15), end=oslo(2026, 3, 10, 16), reason="Drill")])
    db.session.commit()
    found = busy_periods_by_space([s.id for s in asked], oslo(2026, 3, 10, 0), oslo(2026, 3, 11, 0), user)
    assert set(found) == {s.id for s in asked}
    assert [p["title"] for p in found[asked[0].id]] == ["Asked", "Drill"]
    assert all([p["title"] for p in found[s.id]] == ["Drill"] for s in asked[1:])
