"""Out-of-range and odd input answers 404/422 with a message, never a 500 — ids the database
cannot hold, non-ASCII digits, dates near year 1 or 9999 — and proxies are trusted only when told."""
import pytest
import sqlalchemy as sa

from accounts import services
from samskap.audit import AuditEntry
from samskap.extensions import db
from samskap.ids import MAX_ID, parse_count, parse_id
from samskap.timeutil import parse_aware_iso
from tests.conftest import BOTH
from tests.factories import make_user

HUGE = "99999999999999999999"


@pytest.mark.parametrize("value,expected", [
    ("12", 12), (12, 12), (" 7 ", 7), (str(MAX_ID), MAX_ID), (str(MAX_ID + 1), None), (HUGE, None), ("0", None),
    ("-3", None), ("²", None), ("１２", None), ("1e3", None), (True, None), (3.0, None), (None, None), ("", None),
])
def test_parse_id(value, expected):
    assert parse_id(value) == expected


def test_parse_count_bounds():
    assert parse_count("0") == 0 and parse_count("5", maximum=4) is None and parse_count("²") is None


@pytest.mark.parametrize("text", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00", "1900-01-01T00:00Z"])
def test_times_outside_sane_years_are_refused(text):
    with pytest.raises(ValueError):
        parse_aware_iso(text)


@BOTH
@pytest.mark.parametrize("path", [
    f"/admin/users/{HUGE}/edit", f"/admin/organisations/{HUGE}/edit", f"/admin/users/{MAX_ID + 1}/edit",
])
def test_ids_the_database_cannot_hold_are_404_on_pages(client, auth, path):
    auth.as_user(make_user(role="admin"))
    assert client.get(path).status_code == 404


@BOTH
def test_ids_the_database_cannot_hold_are_404_in_the_api(client):
    user = make_user()
    _token, secret = services.create_api_token(None, user)
    db.session.commit()
    response = client.get(f"/api/v1/spaces/{HUGE}", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


@pytest.mark.parametrize("query", [f"organisation={HUGE}", "organisation=%C2%B2", "organisation=-1"])
def test_admin_user_filter_refuses_impossible_organisations_with_a_message(client, auth, query):
    auth.as_user(make_user(role="admin"))
    assert client.get(f"/admin/users?{query}").status_code == 400
    assert client.get("/admin/users?organisation=").status_code == 200


@pytest.mark.parametrize("query,status", [
    (f"page={HUGE}", 200), ("page=-1", 200), ("page=%C2%B2", 200), (f"object_id={HUGE}", 400),
    ("from=9999-12-31", 400), ("to=0001-01-01", 400), ("action=%25_", 200), ("actor=%25", 200),
])
def test_audit_log_filters_are_bounded(client, auth, query, status):
    auth.as_user(make_user(role="admin"))
    assert client.get(f"/admin/audit?{query}").status_code == status


def test_anonymising_scrubs_name_and_email_from_the_audit_trail(client, auth):
    admin = make_user(role="admin")
    leaver = make_user(name="Kari Avreist", email="kari.avreist@kommune.test")
    services.update_user(admin, leaver, {"name": "Kari Avreist-Nordmann"})
    services.create_api_token(admin, leaver)
    db.session.commit()
    auth.as_user(admin)
    assert client.post(f"/admin/users/{leaver.id}/anonymise").status_code == 302
    trail = " ".join(str(e.changes) + str(e.summary) for e in db.session.scalars(sa.select(AuditEntry)))
    assert "Kari" not in trail and "kari.avreist" not in trail


def test_proxy_headers_are_ignored_unless_proxies_are_configured(app, client):
    from samskap import create_app
    from tests.conftest import BASE_CONFIG
    import contextvars

    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    plain = client.get("/healthz", headers=headers)
    assert "Strict-Transport-Security" not in plain.headers
    proxied_app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                              "SAMSKAP_PROXY_COUNT": 1, "SAMSKAP_HSTS": True})
    proxied = contextvars.Context().run(proxied_app.test_client().get, "/healthz", headers=headers)
    assert proxied.headers["Strict-Transport-Security"].startswith("max-age=")


@BOTH
@pytest.mark.parametrize("how", ["path", "query", "form", "json"])
def test_nul_characters_are_refused_at_the_edge_with_a_message(client, auth, how):
    user = auth.as_user(make_user(role="admin"))
    if how == "path":
        response = client.get("/spaces/ab%00cd")
    elif how == "query":
        response = client.get("/admin/users?organisation=1%00")
    elif how == "form":
        response = client.post("/profile", data={"name": "Kari\x00", "locale": "nb"})
    else:
        response = client.post("/api/v1/feeds", json={"scope": "mine", "name": "a\u0000b"})
    assert response.status_code == 400
    db.session.refresh(user)
    assert "\x00" not in user.name


def test_oversized_request_bodies_are_refused(client, auth):
    auth.as_user(make_user())
    response = client.post("/profile", data={"name": "x" * (2 * 1024 * 1024), "locale": "nb"})
    assert response.status_code == 413
