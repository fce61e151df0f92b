"""Feed scope ``public`` (DESIGN.md's feed contract): a token feed of the public events, with the
same events as /feeds/public.ics, created from the API or the feeds page, listed and revocable like
the others; and migration 0003, which lets the database store the scope, up and down."""
from __future__ import annotations

import os
import re
import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy.exc import IntegrityError

from booking.models import BookingStatus, Feed, FeedScope, Visibility
from samskap import create_app
from samskap.extensions import db
from tests.conftest import BASE_CONFIG, BOTH, DEFAULT_PG_URL, _psycopg_url
from tests.factories import api_headers, make_booking, make_series, make_user
from tests.feeds_ics import expand_both

UTC = timezone.utc
NOW = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
FROM, UNTIL = datetime(2026, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setattr("booking.feeds.views.feed_clock", lambda: NOW)


def path_of(url: str) -> str:
    return url.replace("http://samskap.test", "")


def test_public_feed_from_the_api_shows_what_the_public_feed_shows_and_can_be_revoked(client, clock, tmp_path):
    member = make_user(locale="en")
    open_day = make_booking(start=datetime(2027, 5, 1, 10, tzinfo=UTC), title="Open day", visibility=Visibility.PUBLIC)
    make_booking(user=member, start=datetime(2027, 5, 2, 10, tzinfo=UTC), title="Own meeting")
    make_booking(start=datetime(2027, 5, 3, 10, tzinfo=UTC), title="Partners only", visibility=Visibility.PARTNERS)
    make_booking(start=datetime(2027, 5, 4, 10, tzinfo=UTC), title="Not yet", visibility=Visibility.PUBLIC,
                 status=BookingStatus.PENDING)
    series = make_series(dtstart_local="2027-03-12T10:00:00", rrule="FREQ=WEEKLY;COUNT=6", title="Open lab",
                         visibility=Visibility.PUBLIC)
    headers = api_headers(member)

    created = client.post("/api/v1/feeds", json={"scope": "public"}, headers=headers)
    assert created.status_code == 201, created.json
    feed = created.json["feed"]
    assert feed["scope"] == "public" and feed["description"] == "Public events"
    assert feed["webcal_url"].startswith("webcal://samskap.test/feeds/")
    assert [f["id"] for f in client.get("/api/v1/feeds", headers=headers).json["feeds"]] == [feed["id"]]

    body = client.get(path_of(feed["url"])).data
    public = client.get("/feeds/public.ics").data
    found = expand_both(body, FROM, UNTIL, tmp_path)
    assert found == expand_both(public, FROM, UNTIL, tmp_path)
    assert sorted({o.summary for o in found}) == ["Open day", "Open lab"]
    assert [o.start for o in found if o.summary == "Open lab"] == [r.start for r in series.occurrences]
    assert f"booking-{open_day.id}@".encode() in body and b"Own meeting" not in body

    assert client.delete(f"/api/v1/feeds/{feed['id']}", headers=headers).status_code == 204
    assert client.get(path_of(feed["url"])).status_code == 404
    assert client.get("/api/v1/feeds", headers=headers).json["feeds"] == []


def test_public_feed_can_be_chosen_on_the_feeds_page(client, auth, clock):
    user = auth.as_user(make_user(locale="en"))
    assert '<option value="public">Public events</option>' in client.get("/feeds").get_data(as_text=True)
    page = client.post("/feeds", data={"scope": "public"}).get_data(as_text=True)
    url = re.search(r'value="(http://samskap\.test/feeds/[A-Za-z0-9_-]{43}\.ics)"', page).group(1)
    assert client.get(path_of(url)).status_code == 200
    assert db.session.scalar(sa.select(Feed.scope).where(Feed.owner_id == user.id)) == FeedScope.PUBLIC


def test_openapi_lists_the_public_scope(client):
    spec = client.get("/api/v1/openapi.json").json
    schema = spec["paths"]["/feeds"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "public" in schema["properties"]["scope"]["enum"]


# --- migration 0003 --------------------------------------------------------------------------

@pytest.fixture
def empty_database(request, backend, tmp_path):
    """A database of its own (not the suite's migrated one), to migrate up and down."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    request.getfixturevalue("postgres_database")  # skips (or fails in CI) without PostgreSQL
    server = _psycopg_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_PG_URL))
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"samskap_migration_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _stores(scope: FeedScope, owner_id: int) -> bool:
    """Whether the database accepts a feed with ``scope`` (its CHECK constraint decides). In SQL:
    the model describes the newest schema (later migrations add columns to feeds)."""
    try:
        with db.session.begin_nested():
            db.session.execute(sa.text(
                "INSERT INTO feeds (token_hash, owner_id, scope, name, created_at) "
                "VALUES (:token, :owner, :scope, '', :now)"),
                {"token": uuid.uuid4().hex * 2, "owner": owner_id, "scope": scope.value, "now": datetime.now(timezone.utc)})
    except IntegrityError:
        return False
    return True


def _user_at_0001() -> int:
    """A user in the schema as migration 0001 made it: written in SQL, because the models describe
    the newest schema (later migrations add columns to organisations and users)."""
    now = datetime.now(timezone.utc)
    db.session.execute(sa.text(
        "INSERT INTO organisations (name, kind, members_share_bookings, active, created_at, updated_at) "
        "VALUES ('Municipality 0001', 'municipality', true, true, :now, :now)"), {"now": now})
    org_id = db.session.execute(sa.text("SELECT id FROM organisations WHERE name = 'Municipality 0001'")).scalar_one()
    db.session.execute(sa.text(
        "INSERT INTO users (email, name, organisation_id, role, is_org_contact, locale, active, session_version, "
        "created_at, updated_at) VALUES ('owner-0001@example.test', 'Owner', :org, 'member', false, 'nb', true, 1, "
        ":now, :now)"), {"org": org_id, "now": now})
    return db.session.execute(sa.text("SELECT id FROM users WHERE email = 'owner-0001@example.test'")).scalar_one()


@BOTH
def test_migration_0003_adds_the_public_scope_and_takes_it_away_again(empty_database):
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade(revision="0001")
        owner_id = _user_at_0001()
        assert not _stores(FeedScope.PUBLIC, owner_id)
        db.session.commit()

        upgrade()
        assert _stores(FeedScope.PUBLIC, owner_id) and _stores(FeedScope.MINE, owner_id)
        db.session.commit()
        with pytest.raises(IntegrityError):  # the constraint still refuses what is not a scope
            with db.session.begin_nested():
                db.session.execute(sa.text("UPDATE feeds SET scope = 'everything'"))
        db.session.rollback()

        downgrade(revision="0001")
        assert db.session.execute(sa.text("SELECT scope FROM feeds")).scalars().all() == ["mine"]
        assert not _stores(FeedScope.PUBLIC, owner_id)
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()
