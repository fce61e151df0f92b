"""Forms over HTTPS: the CSRF token plus a same-origin check that works with the referrer
policy the pages send (Origin when the browser sends it, else a same-origin Referer)."""
import re

import pytest

from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.csrf
SITE = "https://samskap.test"


def _token(client, path="/login", **kwargs) -> str:
    page = client.get(path, **kwargs).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def _login(client, headers, **kwargs):
    return client.post("/login", data={"email": "kari@example.test", "password": PASSWORD,
                                       "csrf_token": _token(client, **kwargs)}, headers=headers, **kwargs)


@pytest.fixture
def https_client(app):
    make_user(email="kari@example.test")
    return app.test_client()


def test_pages_send_a_referrer_policy_that_keeps_the_referer_on_this_site(https_client):
    response = https_client.get("/login", base_url=SITE)
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_sign_in_over_https_with_the_origin_a_browser_sends(https_client):
    # What Chromium sends on a form POST: Origin always; a Referer only where the policy allows.
    response = _login(https_client, {"Origin": SITE}, base_url=SITE)
    assert response.status_code == 302


def test_sign_in_over_https_with_only_a_same_origin_referer(https_client):
    response = _login(https_client, {"Referer": SITE + "/login"}, base_url=SITE)
    assert response.status_code == 302


def test_sign_in_behind_a_tls_proxy(app, https_client):
    app.config["SAMSKAP_PROXY_COUNT"] = 1  # read by the factory: build the middleware as it would
    from werkzeug.middleware.proxy_fix import ProxyFix

    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "samskap.test", "X-Forwarded-For": "203.0.113.9"}
    token = _token(https_client, headers=forwarded)
    response = https_client.post("/login", data={"email": "kari@example.test", "password": PASSWORD,
                                                 "csrf_token": token},
                                 headers={**forwarded, "Origin": SITE})
    assert response.status_code == 302


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "http://samskap.test"},  # the same host over plain http is another origin
    {"Referer": "https://evil.example/login"},
    {"Origin": "null", "Referer": "https://evil.example/"},
    {},
])
def test_a_form_from_another_site_is_refused_over_https_even_with_a_valid_token(https_client, headers):
    response = _login(https_client, headers, base_url=SITE)
    assert response.status_code == 400
    with https_client.session_transaction(base_url=SITE) as session:
        assert "_user_id" not in session


def test_feed_responses_never_pass_their_url_on(client):
    response = client.get("/feeds/public.ics")
    assert response.headers["Referrer-Policy"] == "no-referrer"
