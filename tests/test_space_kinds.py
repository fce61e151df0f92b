"""Kinds of space: the standard ones ship with the schema (migration 0005), administrators
manage them through the API, and a kind (or an equipment category) is accepted by its code or
its name in either language, in any case."""
from datetime import datetime, timezone

import pytest

import sqlalchemy as sa

from samskap.extensions import db
from spaces.models import SpaceKind
from tests.conftest import BOTH
from tests.factories import api_headers, make_user

STANDARD = {"meeting-room": ("Møterom", "Meeting room"), "workshop-room": ("Verkstedrom", "Workshop room"),
            "simulation-lab": ("Simuleringslab", "Simulation lab"), "living-lab": ("Living lab", "Living lab"),
            "auditorium": ("Auditorium", "Auditorium"), "testing-area": ("Testområde", "Testing area")}


def test_a_migrated_database_has_the_standard_kinds_in_both_languages(app):
    kinds = {k.code: (k.name_nb, k.name_en) for k in db.session.scalars(sa.select(SpaceKind))}
    assert kinds == STANDARD


def test_seed_demo_after_the_migration_adds_no_second_copy(app, runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    codes = list(db.session.scalars(sa.select(SpaceKind.code)))
    assert sorted(codes) == sorted(STANDARD)


def test_anyone_signed_in_lists_the_kinds(client):
    response = client.get("/api/v1/space-kinds", headers=api_headers(make_user()))
    assert response.status_code == 200
    assert {k["code"]: (k["name_nb"], k["name_en"]) for k in response.json["space_kinds"]} == STANDARD


@BOTH
def test_an_administrator_adds_and_renames_a_kind(client):
    admin = api_headers(make_user(role="admin"))
    created = client.post("/api/v1/space-kinds", json={"name_nb": "Sensorlab", "name_en": "Sensor lab"},
                          headers=admin)
    assert created.status_code == 201
    assert created.json["code"] == "sensor-lab"
    renamed = client.patch(f"/api/v1/space-kinds/{created.json['id']}", json={"name_nb": "Sensorlaben"},
                           headers=admin)
    assert renamed.status_code == 200
    assert (renamed.json["name_nb"], renamed.json["name_en"]) == ("Sensorlaben", "Sensor lab")
    assert client.post("/api/v1/space-kinds", json={"code": "sensor-lab", "name_nb": "X", "name_en": "Y"},
                       headers=admin).status_code == 422


@pytest.mark.parametrize("body,field", [
    ({"name_nb": "Uten engelsk"}, "name_en"),
    ({"name_nb": "A", "name_en": "B", "code": "Not A Code!"}, "code"),
    ({"name_nb": "A", "name_en": "B", "colour": "red"}, "colour"),
    ({"name_nb": "A" * 101, "name_en": "B"}, "name_nb"),
    ({"name_nb": ["A"], "name_en": "B"}, "name_nb"),
])
def test_invalid_kinds_are_refused_naming_the_field(client, body, field):
    response = client.post("/api/v1/space-kinds", json=body, headers=api_headers(make_user(role="admin")))
    assert response.status_code == 422
    assert field in response.json["error"]["details"]["fields"]


def test_only_administrators_change_kinds(client):
    for role in ("member", "staff"):
        headers = api_headers(make_user(role=role))
        assert client.post("/api/v1/space-kinds", json={"name_nb": "A", "name_en": "B"},
                           headers=headers).status_code == 403
        assert client.patch("/api/v1/space-kinds/1", json={"name_nb": "A"}, headers=headers).status_code == 403


@pytest.mark.parametrize("spelling", ["meeting room", "Meeting Room", "MEETING-ROOM", "møterom", "Møterom",
                                      "meeting_room"])
def test_a_space_takes_its_kind_by_code_or_by_name_in_either_language(client, spelling):
    response = client.post("/api/v1/spaces", json={"name": f"Rom {spelling}", "kind": spelling, "capacity": 8},
                           headers=api_headers(make_user(role="admin")))
    assert response.status_code == 201, response.json
    assert response.json["kind"] == "meeting-room"


def test_an_unknown_kind_lists_the_kinds_there_are(client):
    response = client.post("/api/v1/spaces", json={"name": "Rom", "kind": "ballroom", "capacity": 8},
                           headers=api_headers(make_user(role="admin")))
    assert response.status_code == 422
    assert "meeting-room" in response.json["error"]["details"]["fields"]["kind"]


def test_the_space_list_filters_by_a_kind_name(client):
    admin = api_headers(make_user(role="admin"))
    client.post("/api/v1/spaces", json={"name": "Lab", "kind": "simulation lab", "capacity": 8}, headers=admin)
    client.post("/api/v1/spaces", json={"name": "Rom", "kind": "meeting room", "capacity": 8}, headers=admin)
    listed = client.get("/api/v1/spaces?kind=Simuleringslab", headers=admin).json["spaces"]
    assert [s["name"] for s in listed] == ["Lab"]


@pytest.mark.parametrize("spelling", ["sensor kit", "Sensor Kit", "sensor-kit", "SENSOR_KIT"])
def test_an_equipment_category_is_accepted_with_spaces_or_hyphens(client, spelling):
    response = client.post("/api/v1/equipment", headers=api_headers(make_user(role="admin")), json={
        "name": f"Kit {spelling}", "category": spelling, "max_loan_days": 7, "bookable_by": ["company"]})
    assert response.status_code == 201, response.json
    assert response.json["category"] == "sensor_kit"


def test_the_openapi_spec_describes_the_kinds_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json
    assert set(spec["paths"]["/space-kinds"]) >= {"get", "post"}
    assert "patch" in spec["paths"]["/space-kinds/{id}"]


@BOTH
def test_migration_0005_adds_only_missing_kinds_and_removes_only_unused_ones(backend, request, tmp_path):
    from flask_migrate import downgrade, upgrade

    import contextlib

    from samskap import create_app
    from tests.conftest import BASE_CONFIG
    from tests.servers import fresh_postgres_database

    with (fresh_postgres_database("samskap_m5") if backend == "postgresql"
          else contextlib.nullcontext(f"sqlite:///{tmp_path / 'm5.sqlite3'}")) as url:
        app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade(revision="0004")
            # As seed-demo left it before 0005: its own meeting room, used by a space.
            db.session.execute(sa.text("INSERT INTO space_kinds (code, name_nb, name_en) "
                                       "VALUES ('meeting-room', 'Møterom', 'Meeting room')"))
            db.session.commit()
            kind_id = db.session.scalar(sa.text("SELECT id FROM space_kinds"))
            # In SQL: the models describe the newest schema (later migrations add columns to spaces).
            now = datetime.now(timezone.utc)
            db.session.execute(sa.text(
                "INSERT INTO spaces (name, slug, kind_id, capacity, description, location, opening_hours, bookable_by, "
                "requires_approval, buffer_minutes, active, created_at, updated_at) VALUES ('Room 0004', 'room-0004', "
                ":kind, 10, '', '', 'null', '[\"municipality\"]', false, 0, true, :now, :now)"),
                {"kind": kind_id, "now": now})
            db.session.commit()
            upgrade(revision="0005")
            codes = sorted(db.session.scalars(sa.select(SpaceKind.code)))
            assert codes == sorted(STANDARD)  # no second meeting room
            db.session.commit()  # end the read: SQLite's migrations need the write lock
            downgrade(revision="0004")
            assert list(db.session.scalars(sa.select(SpaceKind.code))) == ["meeting-room"]  # still used
            db.session.commit()
            upgrade()
            db.session.remove()
            db.engine.dispose()
