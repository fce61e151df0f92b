"""Every route with a numeric id in its path answers 404 for an id that cannot exist (beyond
the 32-bit range of the id columns), on SQLite and on PostgreSQL, for every method it
takes: never a server error from an overflowing query."""
from __future__ import annotations

import re

from werkzeug.routing import IntegerConverter

from tests.conftest import BOTH
from tests.factories import api_headers, make_user

HUGE_IDS = (2**31, 2**63, 10**30)


def _int_routes(app):
    for rule in app.url_map.iter_rules():
        names = [name for name, conv in rule._converters.items() if isinstance(conv, IntegerConverter)]
        if names:
            yield rule, names


def _path(rule, names, value) -> str:
    path = rule.rule
    for name in names:
        path = path.replace(f"<int:{name}>", str(value))
    # any other part (an action chosen from a list) gets its first allowed value
    return re.sub(r"<any\(\s*'?([\w-]+)'?[^>]*>", r"\1", path)


@BOTH
def test_ids_beyond_the_database_range_answer_404_on_every_route(app, client, auth, backend):
    admin = make_user(role="admin", locale="en")
    headers = api_headers(admin)
    auth.as_user(admin)
    api_client = app.test_client()  # no session cookie: bearer-token calls need no CSRF token
    wrong = []
    checked = 0
    for rule, names in _int_routes(app):
        for value in HUGE_IDS:
            path = _path(rule, names, value)
            assert "<" not in path, f"the test cannot fill in {rule.rule}"
            for method in sorted(set(rule.methods) - {"HEAD", "OPTIONS"}):
                api = path.startswith("/api/")
                response = (api_client if api else client).open(path, method=method, headers=headers if api else None,
                                       json={} if api and method != "GET" else None)
                checked += 1
                if response.status_code != 404:
                    wrong.append(f"{method} {path}: {response.status_code}")
    assert checked > 100
    assert not wrong, "\n".join(wrong)


def test_an_id_beyond_the_range_is_routed_as_an_id_that_names_nothing(app):
    adapter = app.url_map.bind("samskap.test")
    assert adapter.match("/bookings/2147483647") == ("bookings.booking_page", {"booking_id": 2147483647})
    assert adapter.match("/bookings/2147483648") == ("bookings.booking_page", {"booking_id": 0})
    assert adapter.match("/api/v1/feeds/" + "9" * 40, method="DELETE") == ("feeds_api.revoke_feed", {"feed_id": 0})


BIG = "9" * 25
QUERY_PROBES = [
    # numbers compared with id or integer columns
    ("/admin/users?organisation=" + BIG, 400),
    ("/admin/users?organisation=2147483648", 400),
    ("/admin/audit?object_id=" + BIG, 400),
    ("/admin/audit?object_id=2147483648", 400),
    ("/admin/audit?page=" + BIG, 200),
    ("/spaces?min_capacity=" + BIG, 400),
    ("/api/v1/spaces?min_capacity=" + BIG, 422),
    ("/api/v1/bookings?space_id=" + BIG, 422),
    ("/api/v1/bookings?limit=" + BIG, 422),
    ("/bookings/organisation?organisation=" + BIG, 404),
    ("/organisation/members?organisation=2147483648", 404),
    ("/equipment-reservations/new?type=" + BIG, 200),
    ("/bookings/new?space=" + BIG, 200),
    # dates at the end of the calendar, where a day or a week further does not exist
    ("/admin/audit?from=9999-12-31", 400),
    ("/admin/audit?to=9999-12-31", 400),
    ("/day?date=9999-12-31", 400),
    ("/equipment/{etype}/timeline?from=9999-12-31", 422),
    ("/spaces/room?week=9999-W52", 400),
    ("/spaces/room?date=0001-01-01", 400),
]


@BOTH
def test_numbers_and_dates_beyond_range_in_query_strings_are_refused_not_a_server_error(app, client, auth, backend):
    from tests.factories import make_equipment_type, make_space

    admin = make_user(role="admin", locale="en")
    make_space(slug="room")
    etype = make_equipment_type(units=1)
    headers = api_headers(admin)
    auth.as_user(admin)
    api_client = app.test_client()
    app.config["SAMSKAP_RENDER_500_IN_TESTS"] = True  # a server error shows as 500, not as a raised exception
    answers = []
    for path, _expected in QUERY_PROBES:
        path = path.format(etype=etype.id)
        api = path.startswith("/api/")
        answers.append((path, (api_client if api else client).get(path, headers=headers if api else None).status_code))
    assert answers == [(path.format(etype=etype.id), status) for path, status in QUERY_PROBES]
