"""samskap/limits.py: the direct check counts exactly what Flask-Limiter's own check counts, in the
same storage keys, and a route without limits does no limiter work at all."""
import pytest
from flask_limiter import Limiter

from accounts import services
from samskap.extensions import db, limiter
from samskap.limits import SamskapLimiter
from tests.factories import make_user

pytestmark = pytest.mark.ratelimit


@pytest.fixture(autouse=True)
def _no_default_limits_from_earlier_apps(monkeypatch):
    """Flask-Limiter keeps default limits on its (process-wide) limiter once an app configured
    them (tests/test_ops_endpoints.py sets RATELIMIT_DEFAULT): these tests are about an app without."""
    monkeypatch.setattr(limiter.limit_manager, "_default_limits", [])
    monkeypatch.setattr(limiter.limit_manager, "_application_limits", [])


def _headers(user):
    _token, secret = services.create_api_token(None, user)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _counts() -> dict:
    """The memory storage's counters: key -> count."""
    return {key: value for key, value in limiter.storage.storage.items() if value}


@pytest.mark.parametrize("limit", ["4 per minute", "50 per hour;4 per minute"])
def test_the_api_limit_counts_in_the_same_keys_as_the_library(app, client, monkeypatch, limit):
    app.config["SAMSKAP_API_LIMIT"] = limit
    user = make_user()
    headers = _headers(user)
    with monkeypatch.context() as library_only:
        library_only.setattr(SamskapLimiter, "_shortcut_allowed", lambda self: False)  # the library's own check
        assert [client.get("/api/v1/me", headers=headers).status_code for _ in range(2)] == [200, 200]
    by_library = _counts()
    assert by_library and all(f"api-user:{user.id}" in key for key in by_library)
    limiter.reset()
    assert [client.get("/api/v1/me", headers=headers).status_code for _ in range(2)] == [200, 200]
    assert _counts() == by_library
    # Each endpoint keeps its own count (the library's scope is "<endpoint>:api"), and the limit refuses.
    assert client.get("/api/v1/bookings", headers=headers).status_code == 200
    assert len(_counts()) == 2 * len(limit.split(";"))
    statuses = [client.get("/api/v1/me", headers=headers).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = client.get("/api/v1/me", headers=headers)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert refused.json["error"]["code"] == "rate_limited"


def test_the_limit_follows_the_configuration_between_requests(app, client):
    headers = _headers(make_user())
    app.config["SAMSKAP_API_LIMIT"] = "2 per minute"
    assert [client.get("/api/v1/me", headers=headers).status_code for _ in range(3)] == [200, 200, 429]
    app.config["SAMSKAP_API_LIMIT"] = "5 per minute"  # a new limit string is a new window
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_anonymous_api_callers_are_counted_by_address(app, client):
    app.config["SAMSKAP_API_LIMIT"] = "2 per minute"
    statuses = [client.get("/api/v1/me").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    assert all("api-addr:" in key for key in _counts())


def test_a_route_without_limits_does_no_limiter_work(app, client, monkeypatch):
    def library_check(*_args, **_kwargs):
        raise AssertionError("the library's generic check ran for a route without limits")

    monkeypatch.setattr(Limiter, "_check_request_limit", library_check)
    seen = []
    real_context = Limiter.context

    monkeypatch.setattr(Limiter, "context", property(lambda self: seen.append(1) or real_context.fget(self)))
    for path in ("/", "/spaces", "/equipment"):
        assert client.get(path).status_code in (200, 302)
    assert seen == [] and _counts() == {}


def test_a_storage_failure_falls_back_to_memory_and_still_limits(app, client, monkeypatch):
    app.config["SAMSKAP_API_LIMIT"] = "2 per minute"
    headers = _headers(make_user())
    storage = limiter._storage

    def broken(*_args, **_kwargs):
        raise ConnectionError("storage down")

    monkeypatch.setattr(storage, "incr", broken)
    monkeypatch.setattr(storage, "check", lambda: False)
    try:
        statuses = [client.get("/api/v1/me", headers=headers).status_code for _ in range(3)]
        assert limiter._storage_dead
        assert statuses == [200, 200, 429]  # counted in the in-memory fallback from the first request on
    finally:
        limiter._storage_dead = False


def test_a_malformed_limit_is_skipped_not_taken_for_a_storage_failure(app, client):
    """A limit string that does not parse is skipped (as the library skips it); the storage stays
    in use for every other limit, where taking it for an outage would count sign-ins per process."""
    app.config["SAMSKAP_API_LIMIT"] = "six hundred a minute"
    headers = _headers(make_user())
    assert [client.get("/api/v1/me", headers=headers).status_code for _ in range(3)] == [200, 200, 200]
    assert not limiter._storage_dead
    app.config["SAMSKAP_API_LIMIT"] = "2 per minute"
    assert [client.get("/api/v1/me", headers=headers).status_code for _ in range(3)] == [200, 200, 429]
