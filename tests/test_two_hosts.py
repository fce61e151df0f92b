"""Two app hosts behave as one (issue 22): two gunicorn instances (separate processes, free ports,
``gunicorn.conf.py``) on one PostgreSQL database of this test's own and one Redis server the test
starts itself.

* a 40-way booking race split across both hosts books once;
* a change made through host A is in the very next feed fetched from host B, with a new ETag,
  and a feed built on one host is served from the shared cache on the other;
* five failed sign-ins split across both hosts lock the account on both (shared limiter storage),
  and a session signed in on one host is valid on the other;
* the metrics of each host add up its workers; no log line of either host holds a feed token
  (host A logs JSON, host B gunicorn's text access log).
"""
from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from samskap import create_app
from samskap.extensions import db
from samskap.timeutil import utcnow
from tests.conftest import BASE_CONFIG, _migrate
from tests.servers import GunicornServer, RedisServer, fresh_postgres_database

PASSWORD = "two hosts, one database"
METRICS_TOKEN = "two-hosts-metrics-token-0123456789"


class Http:
    """A tiny client: (status, headers, body) for any status; cookies kept per instance."""

    def __init__(self):
        self.cookies: dict[str, str] = {}

    def __call__(self, method: str, url: str, *, headers: dict | None = None, json_body=None, form=None,
                 timeout: float = 30):
        data = None
        headers = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            from urllib.parse import urlencode

            data = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=timeout) as response:
                status, response_headers, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, response_headers, body = error.code, error.headers, error.read()
        for cookie in response_headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return status, response_headers, body


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The database, Redis, the seeded rows and the two hosts."""
    directory = tmp_path_factory.mktemp("two-hosts")
    with fresh_postgres_database("samskap_hosts") as url:
        redis_server = RedisServer(directory).start()
        hosts: list[GunicornServer] = []
        try:
            app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
            _migrate(app)
            seeded = _seed(app)
            env = {"DATABASE_URL": url, "SECRET_KEY": "two-hosts-secret-" + uuid.uuid4().hex,
                   "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{redis_server.port}/0",
                   "SAMSKAP_CACHE_URL": f"redis://127.0.0.1:{redis_server.port}/1",
                   "SESSION_COOKIE_SECURE": "false", "SAMSKAP_BASE_URL": "http://samskap.test",
                   "SAMSKAP_METRICS_TOKEN": METRICS_TOKEN}
            hosts = [GunicornServer({**env, "SAMSKAP_LOG_FORMAT": "json"}, directory, name="a"),
                     GunicornServer({**env, "SAMSKAP_LOG_FORMAT": "text"}, directory, name="b")]
            for host in hosts:
                host.start()
            yield {"app": app, "a": hosts[0], "b": hosts[1], **seeded}
        finally:
            for host in hosts:
                host.stop()
            redis_server.stop()


def _seed(app) -> dict:
    from accounts.services import create_api_token
    from booking.feeds.services import create_feed
    from tests.factories import make_space, make_user

    with app.app_context():
        members = [make_user(email=f"member{n}@hosts.test") for n in range(4)]
        locked = make_user(email="locked@hosts.test", password=PASSWORD)
        signed_in = make_user(email="session@hosts.test", password=PASSWORD)
        space = make_space(name="Simulation lab")
        tokens = [create_api_token(None, member)[1] for member in members]
        _feed, feed_token = create_feed(members[0], "mine")
        db.session.commit()
        result = {"space_id": space.id, "api_tokens": tokens, "feed_token": feed_token,
                  "locked_email": locked.email, "session_email": signed_in.email}
        db.session.remove()
        db.engine.dispose()
    return result


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _slot(days: int, hour: int = 9):
    start = (utcnow() + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return start, start + timedelta(hours=1)


def _feed_source(headers) -> str | None:
    match = re.search(r'feed;desc="(\w+)"', headers.get("Server-Timing", ""))
    return match.group(1) if match else None


def test_a_forty_way_race_split_across_both_hosts_books_once(world):
    start, end = _slot(20)
    body = {"space_id": world["space_id"], "title": "Race", "start": start.isoformat(), "end": end.isoformat()}
    barrier = threading.Barrier(40)
    statuses: list[int] = []
    lock = threading.Lock()

    def attempt(n: int):
        host = world["a"] if n % 2 == 0 else world["b"]
        token = world["api_tokens"][n % len(world["api_tokens"])]
        barrier.wait()
        status, _headers, _body = Http()("POST", host.url + "/api/v1/bookings", headers=_bearer(token),
                                         json_body=body, timeout=60)
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert sorted(statuses) == [201] + [409] * 39
    with sa.create_engine(world["app"].config["SQLALCHEMY_DATABASE_URI"]).connect() as conn:
        rows = conn.execute(sa.text("SELECT count(*) FROM bookings WHERE space_id = :space AND title = 'Race' "
                                    "AND status IN ('pending', 'confirmed')"), {"space": world["space_id"]}).scalar()
    assert rows == 1


def test_a_change_through_host_a_is_in_the_next_feed_from_host_b_with_a_new_etag(world):
    http = Http()
    owner_token = world["api_tokens"][0]
    start, end = _slot(30)
    status, _h, body = http("POST", world["a"].url + "/api/v1/bookings", headers=_bearer(owner_token),
                            json_body={"space_id": world["space_id"], "title": "Before the change",
                                       "start": start.isoformat(), "end": end.isoformat()})
    assert status == 201, body
    booking_id = json.loads(body).get("booking", json.loads(body))["id"]
    feed = f"/feeds/{world['feed_token']}.ics"

    status, on_a, first = http("GET", world["a"].url + feed)
    assert status == 200 and b"Before the change" in first
    status, on_b, same = http("GET", world["b"].url + feed)
    assert status == 200 and same == first and on_b["ETag"] == on_a["ETag"]
    assert _feed_source(on_b) == "shared"  # built on host A, not again on host B

    status, _h, body = http("PATCH", world["a"].url + f"/api/v1/bookings/{booking_id}", headers=_bearer(owner_token),
                            json_body={"title": "After the change"})
    assert status == 200, body
    status, changed, text = http("GET", world["b"].url + feed, headers={"If-None-Match": on_b["ETag"]})
    assert status == 200
    assert b"After the change" in text and b"Before the change" not in text
    assert changed["ETag"] != on_b["ETag"]


def test_five_failed_sign_ins_split_across_both_hosts_lock_the_account_on_both(world):
    http = Http()
    status, _h, page = http("GET", world["a"].url + "/login")
    assert status == 200
    csrf = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
        re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert csrf, "no CSRF token on the sign-in page"
    form = {"csrf_token": csrf.group(1).decode(), "email": world["locked_email"]}
    for n in range(5):
        host = world["a"] if n % 2 == 0 else world["b"]
        status, _h, body = http("POST", host.url + "/login", form={**form, "password": f"wrong {n}"},
                                headers={"Accept-Language": "en"})
        assert status == 400, f"attempt {n + 1} on host {host.name}: {status}"
        # A wrong password, not a refused form: host B accepted host A's session and CSRF token.
        assert b"Wrong email or password" in body, f"attempt {n + 1} on host {host.name}"
    for host in (world["a"], world["b"]):
        status, headers, body = http("POST", host.url + "/login", form={**form, "password": PASSWORD})
        assert status == 429, f"host {host.name} let the right password in after five failures"
        assert int(headers["Retry-After"]) > 0


def test_a_session_signed_in_on_one_host_is_valid_on_the_other(world):
    http = Http()
    status, _h, page = http("GET", world["b"].url + "/login")
    csrf = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page).group(1).decode()
    status, headers, _body = http("POST", world["b"].url + "/login",
                                  form={"csrf_token": csrf, "email": world["session_email"], "password": PASSWORD})
    assert status == 302, "sign-in on host B failed"
    status, _h, body = http("GET", world["a"].url + "/api/v1/me")
    assert status == 200
    assert world["session_email"] in body.decode()


def test_each_hosts_metrics_add_up_its_workers_and_readiness_sees_redis(world):
    http = Http()
    for _ in range(8):
        assert http("GET", world["b"].url + "/healthz")[0] == 200
    assert http("GET", world["b"].url + "/metrics")[0] == 401
    status, headers, text = http("GET", world["b"].url + "/metrics", headers=_bearer(METRICS_TOKEN))
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    text = text.decode()
    assert "samskap_http_request_duration_seconds_bucket{" in text
    counts = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
              if line.startswith("samskap_http_request_duration_seconds_count{") and 'endpoint="ops.health"' in line]
    assert sum(counts) >= 8  # every worker's requests, from the multiprocess directory
    status, _h, body = http("GET", world["a"].url + "/readyz")
    ready = json.loads(body)
    assert status == 200 and ready["status"] == "ok", ready
    assert ready["checks"]["cache"]["status"] == "ok"
    assert ready["checks"]["rate_limit_storage"]["status"] == "ok"


def test_no_log_line_of_either_host_holds_a_feed_token(world):
    http = Http()
    token = world["feed_token"]
    for host in (world["a"], world["b"]):
        assert http("GET", host.url + f"/feeds/{token}.ics?x=1")[0] == 200
        assert http("GET", host.url + f"/feeds/{token}x.ics")[0] == 404
        assert http("GET", host.url + f"/feeds/{token}.ics", headers={"Referer": f"http://x/feeds/{token}.ics",
                                                                     "X-Request-ID": "probe-42"})[0] == 200
    import time

    time.sleep(0.5)  # let both hosts flush their logs
    json_log = world["a"].output()
    text_log = world["b"].output()
    for log in (json_log, text_log):
        assert token not in log and token[:20] not in log
    assert "/feeds/[token].ics" in text_log and "request_id=probe-42" in text_log
    request_lines = []
    for line in json_log.splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("logger") == "samskap.request":
                request_lines.append(entry)
    feed_lines = [entry for entry in request_lines if entry["path"] == "/feeds/[token].ics"]
    assert len(feed_lines) >= 3
    assert {"time", "level", "logger", "message", "request_id", "method", "path", "status",
            "duration_ms"} <= set(feed_lines[-1])
    assert any(entry["request_id"] == "probe-42" for entry in feed_lines)
