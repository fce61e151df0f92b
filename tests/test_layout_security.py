"""Base layout, navigation by role, languages, error pages, CSRF and security headers."""
import pytest

from tests.factories import make_user


def test_norwegian_is_the_default_and_english_can_be_chosen(client):
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="nb">' in page and "Logg inn" in page
    client.post("/language", data={"locale": "en", "next": "/"})
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page and "Sign in" in page


def test_accept_language_english_is_honoured(client):
    page = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in page


def test_navigation_shows_administration_only_to_admins(client, auth):
    auth.as_user(make_user(role="member"))
    assert "/admin/" not in client.get("/").get_data(as_text=True)
    client.post("/logout")
    auth.as_user(make_user(role="admin"))
    assert 'href="/admin/"' in client.get("/").get_data(as_text=True)


def test_security_headers_on_every_page(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_friendly_404_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Fant ikke siden" in response.get_data(as_text=True)


def test_friendly_500_page(app, client):
    app.config["SAMSKAP_RENDER_500_IN_TESTS"] = True

    @app.route("/boom")
    def boom():
        raise RuntimeError("boom")

    response = client.get("/boom")
    assert response.status_code == 500
    assert "Noe gikk galt" in response.get_data(as_text=True)
    assert "RuntimeError" not in response.get_data(as_text=True)


@pytest.mark.csrf
def test_forms_without_csrf_token_are_rejected(client, auth):
    user = make_user(email="kari@example.test")
    assert auth.login("kari@example.test", "correct horse battery").status_code == 400
    auth.as_user(user)
    response = client.post("/profile", data={"name": "Changed", "locale": "nb"})
    assert response.status_code == 400
    from samskap.extensions import db
    db.session.refresh(user)
    assert user.name != "Changed"


@pytest.mark.csrf
def test_cookie_authenticated_api_writes_need_csrf_header(app, client, auth):
    from samskap.api import api_blueprint

    probe = api_blueprint("probe_api", __name__)
    probe.post("/probe")(lambda: {"ok": True})
    app.register_blueprint(probe, url_prefix="/api/v1/probe-area")
    auth.as_user(make_user())
    response = client.post("/api/v1/probe-area/probe", json={})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "csrf_failed"
    page = client.get("/profile").get_data(as_text=True)
    import re
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    ok = client.post("/api/v1/probe-area/probe", json={}, headers={"X-CSRFToken": token})
    assert ok.status_code == 200


def test_session_cookie_flags_in_production(monkeypatch, tmp_path):
    from samskap import create_app
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


def test_production_without_secret_key_fails_loudly(monkeypatch, tmp_path):
    from samskap import create_app
    from samskap.config import ConfigError
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"})


@pytest.mark.parametrize("value, seconds", [("", 1.0), ("0", 0.0), ("2.5", 2.5), ("-1", None), ("soon", None),
                                            ("nan", None), ("inf", None)])
def test_the_database_ping_threshold_is_read_from_the_environment(monkeypatch, value, seconds):
    from samskap.config import ConfigError, base_config
    monkeypatch.setenv("SAMSKAP_DB_PING_AFTER_IDLE", value)
    if seconds is None:
        with pytest.raises(ConfigError, match="SAMSKAP_DB_PING_AFTER_IDLE"):
            base_config("/tmp")
    else:
        assert base_config("/tmp")["SAMSKAP_DB_PING_AFTER_IDLE"] == seconds


@pytest.mark.parametrize("value, expected", [("", "600 per minute"), ("100 per hour; 5 per minute", None),
                                             ("six hundred a minute", "error"), ("5 per fortnight", "error")])
def test_a_rate_limit_from_the_environment_is_checked_at_start_up(monkeypatch, value, expected):
    """A malformed limit would be skipped at run time, leaving its routes without a limit."""
    from samskap.config import ConfigError, base_config
    monkeypatch.setenv("SAMSKAP_API_LIMIT", value)
    if expected == "error":
        with pytest.raises(ConfigError, match="SAMSKAP_API_LIMIT"):
            base_config("/tmp")
    else:
        assert base_config("/tmp")["SAMSKAP_API_LIMIT"] == (expected or value)


def test_responses_say_how_long_the_app_took(client):
    header = client.get("/healthz").headers["Server-Timing"]
    assert header.startswith("app;dur=") and float(header.split("=")[1]) >= 0
