"""Every path that answers "may this user book this space?" (or "reserve this equipment?")
agrees with :func:`spaces.permissions.can_book` (:func:`~spaces.permissions.can_reserve`).

The matrix: every role (administrator, staff, member, organisation contact) in an
organisation of every kind, against spaces (equipment types) open to all kinds or to one
kind (so to each user one that matches and four that do not), each active and inactive.
One app and one database per test; each path is asked once per user where it answers
for a list, so the whole matrix takes seconds.

Paths: the catalogue's list (the "You may book" column and the "only spaces I may book"
filter) and space page (its "Book this space" action), the day grid and the week grid
(free cells offered as bookable), the booking form's space choices, the members' start
page, the JSON API (availability's ``bookable``, the spaces list's ``bookable_by_me``),
the SQL clause and the booking service itself; for equipment the type's page ("Reserve"),
the reservation form's and the booking form's choices, the clause and the reservation service.
"""
from __future__ import annotations

import re
from datetime import date, time, timedelta

import sqlalchemy as sa

from accounts.models import OrganisationKind, Role
from booking import services as booking_services
from booking.equipment import services as equipment_services
from samskap.errors import PermissionDenied, ValidationFailed
from samskap.extensions import db
from samskap.timeutil import local_to_utc, to_local, utcnow
from spaces.models import EquipmentType, Space
from spaces.permissions import bookable_spaces_clause, can_book, can_reserve, reservable_types_clause
from tests.conftest import BOTH
from tests.factories import make_equipment_type, make_org, make_space, make_user

KINDS = [kind.value for kind in OrganisationKind]
ROLES = ("admin", "staff", "member", "contact")


def _make_users() -> list:
    orgs = {kind: make_org(kind, name=f"Org {kind}") for kind in KINDS}
    users = []
    for kind in KINDS:
        for role in ROLES:
            users.append(make_user(orgs[kind], Role.MEMBER if role == "contact" else Role(role),
                                   is_org_contact=role == "contact", locale="en", name=f"{role} of {kind}"))
    return users


def _settings() -> list[tuple[str, list[str], bool]]:
    """(label, bookable_by, active): open to all kinds or to each one kind; active or not."""
    return [(f"{label}-{'on' if active else 'off'}", kinds, active)
            for label, kinds in [("all", list(KINDS))] + [(kind, [kind]) for kind in KINDS]
            for active in (True, False)]


def _organisation_for(user, allowed: list[str]):
    """The organisation a booking is for: the user's own, or (staff) one of a kind the thing is open to."""
    if user.organisation.kind.value in allowed or user.role == Role.MEMBER:
        return None
    return next(org for org in _orgs() if org.kind.value in allowed).id


def _orgs():
    from accounts.models import Organisation

    return db.session.scalars(sa.select(Organisation).order_by(Organisation.id)).all()


def _tomorrow() -> date:
    return to_local(utcnow()).date() + timedelta(days=1)


def _as(client, user) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def _html(client, url: str, expect: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == expect, (url, response.status_code)
    return response.get_data(as_text=True)


def _select_options(page: str, select_id: str) -> set[int]:
    match = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', page, re.S)
    assert match, f"no select #{select_id}"
    return {int(v) for v in re.findall(r'<option[^>]*value="(\d+)"', match.group(1))} - {0}


def _problems(label: str, expected: dict, seen: dict) -> list[str]:
    return [f"{label}: {key} says {seen.get(key)!r}, can_book/can_reserve says {value!r}"
            for key, value in expected.items() if seen.get(key) != value]


# --- spaces -----------------------------------------------------------------------------------

def _service_answer(call, active: bool, id_field: str):
    """What the service says: True (done), False (refused as it should be: permission denied, or
    for an inactive row the field error naming it), or a text describing any other answer."""
    try:
        call()
        return True
    except PermissionDenied:
        return False if active else f"PermissionDenied on an inactive row ({id_field})"
    except ValidationFailed as exc:
        return False if not active and id_field in exc.fields else f"ValidationFailed {exc.fields}"
    finally:
        db.session.rollback()


def _space_paths(client, user, spaces) -> dict[str, dict]:
    """What each path says about each space for ``user`` (signed in on ``client``)."""
    by_slug = {s.slug: s for s in spaces}
    ids = [s.id for s in spaces]
    seen: dict[str, dict] = {}

    # Catalogue list: the "You may book" column of every listed (active) space; unlisted ones cannot be booked.
    page = _html(client, "/spaces")
    rows = dict(re.findall(r'<a href="/spaces/([\w-]+)">[^<]*</a></th>(?:\s*<td>.*?</td>){3}\s*<td>(Yes|No)', page,
                           re.S))
    seen["catalogue list"] = {s.id: rows.get(s.slug) == "Yes" for s in spaces}
    filtered = set(re.findall(r'<a href="/spaces/([\w-]+)">', _html(client, "/spaces?bookable_by_me=y")))
    seen["catalogue filter"] = {s.id: s.slug in filtered for s in spaces}

    # Catalogue page: the Book action (an inactive space is not found, except by administrators).
    seen["catalogue page"] = {}
    for slug, space in by_slug.items():
        response = client.get(f"/spaces/{slug}")
        assert response.status_code in (200, 404)
        seen["catalogue page"][space.id] = (response.status_code == 200
                                            and "Book this space" in response.get_data(as_text=True))

    # Day grid: which rows offer their free cells as links to the booking form.
    day_page = _html(client, f"/day?date={_tomorrow().isoformat()}")
    offered = {int(i) for i in re.findall(r'class="slot__book" href="/bookings/new\?space=(\d+)', day_page)}
    seen["day grid"] = {i: i in offered for i in ids}

    # Week grid of each space (inactive ones are not found).
    seen["week grid"] = {}
    monday = _tomorrow() + timedelta(days=7 - _tomorrow().weekday())
    for space in spaces:
        response = client.get(f"/booking/spaces/{space.id}/week?date={monday.isoformat()}")
        seen["week grid"][space.id] = response.status_code == 200 and 'class="slot__book"' in response.get_data(
            as_text=True)

    # Booking form and start page: the spaces one may choose.
    choices = _select_options(_html(client, "/bookings/new"), "space")
    seen["booking form"] = {i: i in choices for i in ids}
    if user.role == Role.MEMBER:  # staff start at their own dashboard
        home = _html(client, "/")
        quick = _select_options(home, "quick-space") if 'id="quick-space"' in home else set()
        seen["start page"] = {i: i in quick for i in ids}

    # JSON API.
    query = "&".join(f"space_id={i}" for i in ids)
    answer = client.get(f"/api/v1/availability?{query}").json
    seen["availability API"] = {entry["space_id"]: entry["bookable"] for entry in answer["spaces"]}
    seen["space availability API"] = {}
    for space in spaces:
        response = client.get(f"/api/v1/spaces/{space.id}/availability")
        seen["space availability API"][space.id] = response.status_code == 200 and response.json["bookable"]
    listed = {s["id"] for s in client.get("/api/v1/spaces?bookable_by_me=true").json["spaces"]}
    seen["spaces API filter"] = {i: i in listed for i in ids}

    # SQL clause.
    clause = set(db.session.scalars(sa.select(Space.id).where(bookable_spaces_clause(user))))
    seen["bookable_spaces_clause"] = {i: i in clause for i in ids}

    # The service: book tomorrow at ten (rolled back); refused with the permission error, or
    # for an inactive space with the space_id field error.
    start = local_to_utc(_tomorrow(), time(10))
    seen["book_space"] = {}
    for space in spaces:
        request = booking_services.BookingRequest(
            space_id=space.id, title="Agreement", start=start, end=start + timedelta(hours=1),
            organisation_id=_organisation_for(user, space.bookable_by))
        seen["book_space"][space.id] = _service_answer(lambda: booking_services.book_space(user, request),
                                                       space.active, "space_id")
    return seen


def test_every_path_agrees_with_can_book(app, client):
    users = _make_users()
    spaces = [make_space(name=f"Space {label}", slug=f"space-{label}", bookable_by=kinds, active=active)
              for label, kinds, active in _settings()]
    problems = []
    for user in users:
        expected = {space.id: can_book(user, space) for space in spaces}
        _as(client, user)
        for path, said in _space_paths(client, user, spaces).items():
            problems += [f"{user.name}: {p}" for p in _problems(path, expected, said)]
    assert not problems, "\n".join(problems)


def test_can_book_is_the_documented_rule(app):
    """The rule itself, so that agreeing paths cannot all be wrong together."""
    users = {(u.role.value if not u.is_org_contact else "contact", u.organisation.kind.value): u
             for u in _make_users()}
    hospital_only = make_space(bookable_by=["hospital"])
    assert can_book(users["member", "hospital"], hospital_only)
    assert can_book(users["contact", "hospital"], hospital_only)
    assert not can_book(users["member", "company"], hospital_only)
    assert not can_book(users["contact", "host"], hospital_only)
    assert can_book(users["staff", "host"], hospital_only)  # on behalf of a hospital
    assert can_book(users["admin", "host"], hospital_only)
    hospital_only.active = False
    assert not any(can_book(user, hospital_only) for user in users.values())
    assert not can_book(None, make_space())


@BOTH
def test_clauses_select_what_the_functions_allow(app):
    """The SQL clauses (JSON lists read differently by SQLite and PostgreSQL) against the functions."""
    users = _make_users()
    spaces = [make_space(bookable_by=kinds, active=active) for _label, kinds, active in _settings()]
    types = [make_equipment_type(bookable_by=kinds, active=active) for _label, kinds, active in _settings()]
    spaces.append(make_space(bookable_by=["host", "academia"]))
    for user in users:
        assert set(db.session.scalars(sa.select(Space.id).where(bookable_spaces_clause(user)))) == \
            {s.id for s in spaces if can_book(user, s)}, user.name
        assert set(db.session.scalars(sa.select(EquipmentType.id).where(reservable_types_clause(user)))) == \
            {t.id for t in types if can_reserve(user, t)}, user.name


# --- equipment --------------------------------------------------------------------------------

def _equipment_paths(client, user, types) -> dict[str, dict]:
    ids = [t.id for t in types]
    seen: dict[str, dict] = {"equipment page": {}}
    for etype in types:
        response = client.get(f"/equipment/{etype.id}")
        assert response.status_code in (200, 404)
        seen["equipment page"][etype.id] = (response.status_code == 200
                                            and f"/equipment-reservations/new?type={etype.id}"
                                            in response.get_data(as_text=True))
    choices = _select_options(_html(client, "/equipment-reservations/new"), "equipment_type")
    seen["reservation form"] = {i: i in choices for i in ids}
    booking_form = _html(client, "/bookings/new")
    fields = {int(i) for i in re.findall(r'name="equipment_(\d+)"', booking_form)}
    seen["booking form"] = {i: i in fields for i in ids}
    clause = set(db.session.scalars(sa.select(EquipmentType.id).where(reservable_types_clause(user))))
    seen["reservable_types_clause"] = {i: i in clause for i in ids}

    start = local_to_utc(_tomorrow(), time(10))
    seen["reserve_equipment"] = {}
    for etype in types:
        seen["reserve_equipment"][etype.id] = _service_answer(
            lambda: equipment_services.reserve_equipment(user, etype.id, 1, start, start + timedelta(days=1),
                                                         organisation_id=_organisation_for(user, etype.bookable_by)),
            etype.active, "equipment_id")
    return seen


def test_every_equipment_path_agrees_with_can_reserve(app, client):
    users = _make_users()
    types = [make_equipment_type(units=1, name=f"Kit {label}", bookable_by=kinds, active=active)
             for label, kinds, active in _settings()]
    problems = []
    for user in users:
        expected = {etype.id: can_reserve(user, etype) for etype in types}
        _as(client, user)
        for path, said in _equipment_paths(client, user, types).items():
            problems += [f"{user.name}: {p}" for p in _problems(path, expected, said)]
    assert not problems, "\n".join(problems)
