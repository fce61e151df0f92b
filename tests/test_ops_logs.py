"""JSON log lines and the redaction of feed tokens (issue 22); the gunicorn side is in
tests/test_two_hosts.py."""
from __future__ import annotations

import io
import json
import logging

import pytest

from booking.feeds.services import create_feed
from samskap import create_app
from samskap.extensions import db
from samskap.logs import GunicornLogger, json_handler, redact_path, redact_text
from tests.conftest import BASE_CONFIG, IsolatedClient
from tests.factories import make_user

TOKEN = "Zt9kQ2mX_4bR7yW1vN8cL5pA3sD6fG0hJ-uE2iO9qK"


@pytest.mark.parametrize("path, expected", [
    (f"/feeds/{TOKEN}.ics", "/feeds/[token].ics"),
    (f"/feeds/{TOKEN[:22]}.ics", "/feeds/[token].ics"),
    (f"/invitations/{TOKEN}/accept", "/invitations/[token]/accept"),
    ("/booking/spaces/12/week", "/booking/spaces/12/week"),
    ("/feeds/public.ics", "/feeds/public.ics"),
])
def test_paths_lose_their_tokens(path, expected):
    assert redact_path(path) == expected


def test_request_lines_lose_tokens_in_paths_queries_and_referers():
    line = f'GET /feeds/{TOKEN}.ics?token={TOKEN} HTTP/1.1 "https://x.test/feeds/{TOKEN}.ics"'
    assert TOKEN not in redact_text(line)
    assert redact_text(f"/reset?token={TOKEN}") == "/reset?token=[token]"


@pytest.fixture
def json_log():
    stream = io.StringIO()
    handler = json_handler(stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        for installed in list(root.handlers):  # ours, and the one create_app adds in JSON mode
            if getattr(installed, "_samskap_json", False):
                root.removeHandler(installed)
        root.setLevel(level)


def test_json_mode_writes_one_object_a_line_with_request_ids_and_never_a_feed_token(app, json_log):
    user = make_user()
    _feed, token = create_feed(user, "mine")
    db.session.commit()
    json_app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                           "SAMSKAP_LOG_FORMAT": "json"})
    json_app.test_client_class = IsolatedClient
    client = json_app.test_client()

    @json_app.get("/__log_probe")
    def log_probe():  # something inside a request that logs a URL it was given
        json_app.logger.warning("could not reach %s", f"https://samskap.test/feeds/{token}.ics")
        return "ok"

    ok = client.get(f"/feeds/{token}.ics", headers={"X-Request-ID": "req-feed-1"})
    missing = client.get(f"/feeds/{token}zz.ics")
    probe = client.get("/__log_probe")
    assert (ok.status_code, missing.status_code, probe.status_code) == (200, 404, 200)

    lines = [line for line in json_log.getvalue().splitlines() if line.strip()]
    assert lines and token not in json_log.getvalue()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    requests = [e for e in entries if e["logger"] == "samskap.request"]
    first = next(e for e in requests if e["request_id"] == "req-feed-1")
    assert first["path"] == "/feeds/[token].ics" and first["method"] == "GET" and first["status"] == 200
    assert first["duration_ms"] >= 0 and first["level"] == "INFO" and first["time"].endswith("+00:00")
    warning = next(e for e in entries if e["level"] == "WARNING")
    assert warning["message"] == "could not reach https://samskap.test/feeds/[token].ics"
    assert warning["request_id"] == probe.headers["X-Request-ID"]


def test_gunicorn_access_log_atoms_are_redacted():
    from types import SimpleNamespace

    from gunicorn.config import Config

    logger = GunicornLogger(Config())
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/feeds/{TOKEN}.ics?a=b", "SERVER_PROTOCOL": "HTTP/1.1",
               "PATH_INFO": f"/feeds/{TOKEN}.ics", "QUERY_STRING": f"token={TOKEN}",
               "HTTP_REFERER": f"https://x.test/feeds/{TOKEN}.ics", "REMOTE_ADDR": "127.0.0.1"}
    response = SimpleNamespace(status="200 OK", sent=10, headers=[("X-Request-ID", "abc")])
    request_time = SimpleNamespace(seconds=0, microseconds=1500)
    atoms = logger.atoms(response, SimpleNamespace(headers=[]), environ, request_time)
    assert TOKEN not in repr(atoms)
    assert atoms["r"] == "GET /feeds/[token].ics HTTP/1.1"
    assert atoms["{x-request-id}o"] == "abc"
