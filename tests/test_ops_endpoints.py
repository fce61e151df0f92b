"""/healthz, /readyz and /metrics (issue 22), and the request id on every response."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from samskap import create_app
from samskap.extensions import db
from samskap.timeutil import utcnow
from tests.conftest import BASE_CONFIG, BOTH, IsolatedClient, _migrate
from tests.factories import api_headers, make_space, make_user
from tests.servers import free_port

TOKEN = "metrics-token-for-tests-0123456789"


def _client_for(**config):
    app = create_app({**BASE_CONFIG, **config})
    app.test_client_class = IsolatedClient
    return app, app.test_client().get  # each request in a fresh context (IsolatedClient)


def _sample(text: str, name: str, **labels) -> float:
    """The value of one sample of the Prometheus text, 0 when absent."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


# --- health and readiness ------------------------------------------------------------------------

def test_healthz_answers_without_a_database_and_readyz_says_unavailable(tmp_path):
    port = free_port()  # nothing listens there
    _app, get = _client_for(SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{port}/samskap")
    health = get("/healthz")
    assert health.status_code == 200 and health.json == {"status": "ok"}
    ready = get("/readyz")
    assert ready.status_code == 503
    assert ready.json["status"] == "unavailable"
    assert ready.json["checks"]["database"]["status"] == "unavailable"
    assert ready.headers["Cache-Control"] == "no-store"


@BOTH
def test_readyz_is_ready_on_a_database_at_the_newest_migration(client):
    from samskap.ops import migration_heads

    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    database = response.json["checks"]["database"]
    assert response.json["status"] == "ok"
    assert database["schema"] == "current"
    assert database["revision"] == sorted(migration_heads()[0])


@BOTH
def test_readyz_refuses_traffic_until_the_schema_is_migrated_but_accepts_a_newer_release(app, client):
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0003'"))
    try:
        behind = client.get("/readyz")
        assert behind.status_code == 503
        assert behind.json["checks"]["database"]["schema"] == "behind"
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_from_a_newer_release'"))
        newer = client.get("/readyz")
        assert newer.status_code == 200
        assert newer.json["checks"]["database"]["schema"] == "newer"
    finally:
        from samskap.ops import migration_heads

        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :head"),
                         {"head": next(iter(migration_heads()[0]))})


def test_readyz_answers_503_while_postgresql_is_unreachable_and_200_again_after(postgres_database):
    """The database disappears (renamed away, as a dropped or unreachable one would) and comes back;
    the shared PostgreSQL server itself is never stopped."""
    url = sa.make_url(postgres_database)
    scratch = f"{url.database}_ready"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # not a TEMPLATE copy: other tests' apps may hold connections to it
        conn.exec_driver_sql(f'CREATE DATABASE "{scratch}"')
    app, get = _client_for(SQLALCHEMY_DATABASE_URI=url.set(database=scratch).render_as_string(hide_password=False))
    try:
        _migrate(app)
        assert get("/readyz").status_code == 200
        with admin.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{scratch}'")
            conn.exec_driver_sql(f'ALTER DATABASE "{scratch}" RENAME TO "{scratch}_away"')
        down = get("/readyz")
        assert down.status_code == 503
        assert down.json["checks"]["database"]["status"] == "unavailable"
        assert get("/healthz").status_code == 200
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{scratch}_away" RENAME TO "{scratch}"')
        back = get("/readyz")
        assert back.status_code == 200, back.json
        assert back.json["status"] == "ok"
    finally:
        with app.app_context():
            db.engine.dispose()
        with admin.connect() as conn:
            for name in (scratch, scratch + "_away"):
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_readyz_reports_an_unreachable_cache_as_degraded_but_stays_ready(app):
    port = free_port()
    _app, get = _client_for(SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                            SAMSKAP_CACHE_URL=f"redis://127.0.0.1:{port}/0")
    response = get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "degraded"
    assert response.json["checks"]["cache"]["status"] == "degraded"
    assert response.json["checks"]["database"]["status"] == "ok"


def test_probes_set_no_cookie_and_are_never_rate_limited(app, auth, client):
    user = make_user()
    auth.as_user(user)  # the client now sends a session cookie
    _app, get = _client_for(SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], RATELIMIT_ENABLED=True,
                            RATELIMIT_DEFAULT="2 per minute", SAMSKAP_METRICS_TOKEN=TOKEN)
    for _ in range(5):
        for path in ("/healthz", "/readyz"):
            response = get(path)
            assert response.status_code == 200, response.json
            assert "Set-Cookie" not in response.headers and "Cookie" not in response.headers.get("Vary", "")
        assert get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    for path in ("/healthz", "/readyz", "/metrics"):
        response = client.get(path)  # with the signed-in session cookie
        assert "Set-Cookie" not in response.headers
    statuses = [get("/").status_code for _ in range(3)]
    assert statuses[-1] == 429  # the default limit applies to ordinary pages


# --- metrics -------------------------------------------------------------------------------------

def test_metrics_are_off_without_a_token(client):
    response = client.get("/metrics", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 404
    assert b"samskap_" not in response.data


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer", f"Bearer {TOKEN}x"])
def test_metrics_need_the_bearer_token(app, header):
    _app, get = _client_for(SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                            SAMSKAP_METRICS_TOKEN=TOKEN)
    response = get("/metrics", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert b"samskap_http" not in response.data


def test_a_signed_in_administrator_still_needs_the_metrics_token(app, auth, client):
    app.config["SAMSKAP_METRICS_TOKEN"] = TOKEN
    auth.as_user(make_user(role="admin"))
    assert client.get("/metrics").status_code == 401


@BOTH
def test_metrics_show_requests_latency_and_bookings_created_and_refused(app, client):
    app.config["SAMSKAP_METRICS_TOKEN"] = TOKEN
    auth_header = {"Authorization": f"Bearer {TOKEN}"}
    before = client.get("/metrics", headers=auth_header).get_data(as_text=True)

    user = make_user()
    space = make_space()
    headers = api_headers(user)
    start = (utcnow() + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    body = {"space_id": space.id, "title": "Metrics", "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat()}
    assert client.post("/api/v1/bookings", json=body, headers=headers).status_code == 201
    assert client.post("/api/v1/bookings", json=body, headers=headers).status_code == 409
    assert client.get("/api/v1/me", headers=headers).status_code == 200

    response = client.get("/metrics", headers=auth_header)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.get_data(as_text=True)

    def delta(name, **labels):
        return _sample(text, name, **labels) - _sample(before, name, **labels)

    assert delta("samskap_bookings_created_total", kind="single") == 1
    assert delta("samskap_bookings_refused_total", reason="conflict") == 1
    assert delta("samskap_http_request_duration_seconds_count", endpoint="accounts_api.me", method="GET",
                 status="200") == 1
    assert delta("samskap_http_request_duration_seconds_count", endpoint="booking_api.create_booking",
                 status="409") == 1
    assert "# TYPE samskap_http_request_duration_seconds histogram" in text
    assert delta("samskap_http_request_duration_seconds_bucket", endpoint="accounts_api.me", status="200",
                 le="+Inf") == 1


def test_outbox_gauges_count_the_outbox_by_status(app, client):
    from samskap.mail import enqueue_mail

    app.config["SAMSKAP_METRICS_TOKEN"] = TOKEN
    auth_header = {"Authorization": f"Bearer {TOKEN}"}
    with app.app_context():
        for n in range(4):
            enqueue_mail(to=f"person{n}@example.test", subject="Hei", text="Hei", kind="test")
        db.session.commit()
        db.session.execute(sa.text("UPDATE outbox_messages SET status = 'sent' WHERE id = (SELECT min(id) FROM outbox_messages)"))
        db.session.execute(sa.text("UPDATE outbox_messages SET status = 'failed' WHERE id = (SELECT max(id) FROM outbox_messages)"))
        db.session.commit()
    text = client.get("/metrics", headers=auth_header).get_data(as_text=True)
    assert _sample(text, "samskap_outbox_queue_depth") == 2
    assert _sample(text, "samskap_outbox_failed") == 1
    assert _sample(text, "samskap_outbox_messages", status="sent") == 1


# --- request ids ---------------------------------------------------------------------------------

def test_every_response_carries_a_request_id_and_keeps_a_safe_incoming_one(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/no-such-page").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second
    assert client.get("/healthz", headers={"X-Request-ID": "lb-7f3a:42"}).headers["X-Request-ID"] == "lb-7f3a:42"
    for unsafe in ("has space", "x" * 200, "<script>", "ünïcode"):
        echoed = client.get("/healthz", headers={"X-Request-ID": unsafe}).headers["X-Request-ID"]
        assert echoed != unsafe and re.fullmatch(r"[0-9a-f]{32}", echoed)
