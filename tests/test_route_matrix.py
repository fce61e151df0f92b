"""The route-by-role matrix (issue 7): every rule of ``app.url_map`` (pages and the API,
GET and every state-changing method) requested by every role, with the status each role
must get.

* The table, keyed by endpoint name, is tests/route_matrix_table.py; a route without an entry (or a method of a route
  without a case) fails ``test_every_route_and_method_has_a_row``, so a route added
  later cannot slip through.
* Objects of an organisation a role may not see answer 404, not 403 (the rows on
  ``f_private``, ``f_reservation``, ``f_feed_revoke``, ``f_token``...); objects a role
  may see but not change answer 403.
* Each role works on its own copy of one seeded SQLite database (tests/access_world.py);
  within a role, every request that changes data addresses an object of its own, so the
  rows do not depend on each other.

Expectations: ``LOGIN`` is a redirect to the sign-in page; anonymous requests to the
API get 401 and to pages ``LOGIN`` unless a row says otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from samskap import create_app
from samskap.extensions import db
from tests.access_world import ROLES, copy_world, names_for, request_as, seed_world_file
from tests.conftest import BASE_CONFIG, IsolatedClient
from tests.route_matrix_table import LOGIN, ROUTES, Case


def _methods(rule) -> set[str]:
    return set(rule.methods) - {"HEAD", "OPTIONS"}


@pytest.fixture(scope="module")
def routing_app():
    return create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_every_route_and_method_has_a_row(routing_app):
    """A route added later without a row here fails this test (and so does a stale row)."""
    missing = []
    for rule in routing_app.url_map.iter_rules():
        covered = {case.method for case in ROUTES.get(rule.endpoint, [])}
        for method in sorted(_methods(rule) - covered):
            missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert not missing, "Routes without a row in tests/route_matrix_table.py ROUTES:\n" + "\n".join(missing)
    endpoints = {rule.endpoint for rule in routing_app.url_map.iter_rules()}
    stale = sorted(set(ROUTES) - endpoints)
    assert not stale, f"Rows for endpoints that no longer exist: {stale}"


def test_every_row_requests_the_route_it_is_filed_under(routing_app):
    """A row's path and method really reach its endpoint (a typo cannot test another route)."""
    adapter = routing_app.url_map.bind("samskap.test")
    world_ids = _Names.placeholder()
    wrong = []
    for endpoint, cases in ROUTES.items():
        for case in cases:
            path = case.path.format_map(world_ids).split("?")[0]
            try:
                found, _args = adapter.match(path, method=case.method)
            except Exception as exc:  # noqa: BLE001 - reported below
                found = repr(exc)
            if found != endpoint:
                wrong.append(f"{case.id()} reaches {found}, filed under {endpoint}")
    assert not wrong, "\n".join(wrong)


# --- running the table ---------------------------------------------------------------------------

class _Names(dict):
    @classmethod
    def placeholder(cls) -> "_Names":
        return cls()

    def __missing__(self, key):  # for routing checks only: any id will do
        return "1"


@pytest.fixture(scope="module")
def world_file(sqlite_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("matrix-world") / "world.sqlite3"
    world = seed_world_file(sqlite_template, path, BASE_CONFIG)
    return path, world


@dataclass
class RoleRun:
    role: str
    app: object
    world: object
    names: dict = field(default_factory=dict)

    def request(self, case: Case):
        kwargs = {}
        if case.form is not None:
            kwargs["data"] = case.form(self.names) if callable(case.form) else case.form
        if case.json is not None:
            kwargs["json"] = case.json(self.names) if callable(case.json) else case.json
        return request_as(self.app, self.world, self.role, case.method, case.path.format_map(self.names), **kwargs)


@pytest.fixture(scope="module", params=ROLES)
def run(request, world_file, tmp_path_factory):
    source, world = world_file
    role = request.param
    path = copy_world(source, tmp_path_factory.mktemp(f"matrix-{role}") / "db.sqlite3")
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    app.test_client_class = IsolatedClient
    names = names_for(world, role)
    # The edit row keeps the booking's own time: read it once, as local wall-clock values.
    with app.app_context():
        from booking.models import Booking
        from samskap.timeutil import to_local

        booking = db.session.get(Booking, names["own_booking_edit"])
        start, end = to_local(booking.start), to_local(booking.end)
        names.update(own_booking_edit_date=start.date().isoformat(), own_booking_edit_start=start.strftime("%H:%M"),
                     own_booking_edit_end=end.strftime("%H:%M"), own_booking_edit_end_date=end.date().isoformat())
        db.session.remove()
    yield RoleRun(role, app, world, names)
    with app.app_context():
        db.engine.dispose()


CASES = [pytest.param(endpoint, case, id=f"{endpoint}: {case.id()}")
         for endpoint, cases in ROUTES.items() for case in cases]


@pytest.mark.parametrize("endpoint,case", CASES)
def test_route_answers_each_role_as_the_table_says(run, endpoint, case):
    expected = case.expect[run.role]
    response = run.request(case)
    location = response.headers.get("Location", "")
    if expected == LOGIN or (expected is None and not case.path.startswith("/api/")):
        assert response.status_code == 302 and "/login" in location, (
            f"{run.role}: {case.id()} answered {response.status_code} {location}, expected a redirect to sign in")
    elif expected is None:
        assert response.status_code == 401, f"{run.role}: {case.id()} answered {response.status_code}, expected 401"
    else:
        assert response.status_code == expected, (
            f"{run.role}: {case.id()} answered {response.status_code}, expected {expected}: "
            f"{response.get_data(as_text=True)[:300]}")
        if expected == 302 and run.role != "anonymous":
            assert "/login" not in location, f"{run.role}: {case.id()} was sent to sign in"


def test_a_method_a_route_does_not_take_answers_405(routing_app):
    """Every route refuses the methods it does not take with 405 (before any sign-in check)."""
    adapter = routing_app.url_map.bind("samskap.test")
    client = routing_app.test_client()
    names = _Names.placeholder()
    wrong = []
    for endpoint, cases in ROUTES.items():
        path = cases[0].path.format_map(names).split("?")[0]
        allowed = set(adapter.allowed_methods(path))
        for method in ("GET", "POST", "PATCH", "DELETE"):
            if method in allowed:
                continue
            response = client.open(path, method=method)
            if response.status_code != 405:
                wrong.append(f"{method} {path} ({endpoint}): {response.status_code}")
            break
    assert not wrong, "\n".join(wrong)
