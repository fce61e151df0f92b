"""The rate limiter's Redis stops: pages, the API and feeds keep answering, and limits carry on
in each process's memory (so sign-in stays limited) until Redis answers again.

A Redis of the test's own on a free port, really stopped (never the shared one)."""
from __future__ import annotations

import time

import pytest

from accounts import services as account_services
from samskap.extensions import db, limiter
from tests.booking_helpers import oslo_in
from tests.conftest import BOTH
from tests.servers import RedisServer
from tests.factories import make_space, make_user


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def app_config(redis_server):
    return {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": redis_server.url,
            "SAMSKAP_LOGIN_LIMIT_ACCOUNT": "3 per 15 minutes", "SAMSKAP_API_LIMIT": "40 per minute",
            "SAMSKAP_RENDER_500_IN_TESTS": True}


@pytest.fixture
def running_again_at_the_end(app, redis_server):
    """The app's teardown resets the limiter's storage, which needs Redis; and the limiter is one
    object for every app in this process, so its "storage is dead" state must not outlive the test."""
    yield
    if redis_server.process is None:
        redis_server.start()
    limiter._storage_dead = False
    limiter._Limiter__check_backend_count = 0  # the back-off between its looks at a dead storage


def redis_keys(server) -> int:
    import redis

    return len(redis.Redis.from_url(server.url).keys("*"))


def token(user) -> dict:
    _, secret = account_services.create_api_token(None, user)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


@BOTH
def test_pages_api_and_feeds_answer_while_redis_is_stopped(app, client, redis_server, running_again_at_the_end):
    user, space = make_user(locale="en"), make_space()
    headers = token(user)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert redis_keys(redis_server) > 0  # the counts really live in this Redis
    redis_server.stop()
    started = time.monotonic()
    answers = {
        "api": client.get("/api/v1/me", headers=headers),
        "api write": client.post("/api/v1/bookings", headers=headers, json={
            "space_id": space.id, "title": "Still works", "start": oslo_in(10, 9).isoformat(),
            "end": oslo_in(10, 10).isoformat()}),
        "front page": client.get("/"),
        "events": client.get("/events"),
        "sign-in page": client.get("/login"),
        "public feed": client.get("/feeds/public.ics"),
    }
    elapsed = time.monotonic() - started
    statuses = {name: response.status_code for name, response in answers.items()}
    assert statuses == {"api": 200, "api write": 201, "front page": 200, "events": 200, "sign-in page": 200,
                        "public feed": 200}
    assert elapsed < 5, f"requests waited for the stopped Redis ({elapsed:.1f} s)"
    # Still limited, now by this process's memory: the API limit (40 a minute here) refuses the 41st.
    refused = next(n for n in range(1, 60) if client.get("/api/v1/me", headers=headers).status_code == 429)
    assert refused <= 40


def test_the_api_limit_still_applies_in_memory(app, client, redis_server, running_again_at_the_end):
    app.config["SAMSKAP_API_LIMIT"] = "3 per minute"
    headers = token(make_user(locale="en"))
    redis_server.stop()
    statuses = [client.get("/api/v1/me", headers=headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_sign_in_stays_limited_while_redis_is_stopped(app, client, redis_server, running_again_at_the_end):
    user = make_user(email="kari@example.no", password="right-password-123")
    redis_server.stop()
    statuses = [client.post("/login", data={"email": user.email, "password": "wrong"}).status_code
                for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    refused = client.post("/login", data={"email": user.email, "password": "wrong"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


def test_counts_go_back_to_redis_once_it_answers_again(app, client, redis_server, running_again_at_the_end):
    headers = token(make_user(locale="en"))
    redis_server.stop()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    redis_server.start()  # empty: it saves nothing
    deadline = time.monotonic() + 20  # Flask-Limiter looks again after 1, 2, 4, 8... seconds
    while time.monotonic() < deadline and redis_keys(redis_server) == 0:
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        time.sleep(0.25)
    assert redis_keys(redis_server) > 0


def test_the_app_starts_and_answers_with_its_redis_already_down(database_url):
    from samskap import create_app
    from tests.conftest import BASE_CONFIG, IsolatedClient
    from tests.servers import free_port

    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": True,
                      "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{free_port()}/0"})
    app.test_client_class = IsolatedClient
    try:
        client = app.test_client()
        assert client.get("/").status_code == 200
        # Sign-in consults the limiter (and deducts a failed attempt) on POST.
        assert client.post("/login", data={"email": "nobody@example.no", "password": "x"}).status_code == 400
    finally:
        with app.app_context():
            db.engine.dispose()
        limiter._storage_dead = False  # one limiter object for every app in this process
        limiter._Limiter__check_backend_count = 0
