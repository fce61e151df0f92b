"""The production-shaped journey: gunicorn in production configuration (no debug, SECRET_KEY set,
Secure cookies and HSTS on, a PostgreSQL database of its own) over real HTTPS with a certificate
this test makes, driven by Debian's Chromium: sign in, book a room, sign out. Every one of those
is a form post, so this is the test that sees the HTTPS CSRF check (Origin/Referer) as a real
browser meets it under the pages' referrer policy."""
from __future__ import annotations

import pytest

from tests.browser.booking_steps import BOOKING_FORM, journey_day, open_booking_form, space_id, submit, unique
from tests.browser.support import DEMO_ACCOUNTS, DESKTOP, flash_texts, sign_in, sign_out, watch_for_page_errors
from tests.servers import (GunicornServer, flask_cli, fresh_postgres_database, production_env,
                           self_signed_certificate)

MJOSA = "Mjøsa møterom"


@pytest.fixture(scope="module")
def https_server(browser_tools_present, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("https-production")
    certfile, keyfile = self_signed_certificate(workdir / "tls")
    with fresh_postgres_database("samskap_https") as database_url:
        env = production_env(database_url, workdir / "instance")  # SAMSKAP_PROXY_COUNT unset: no proxy
        flask_cli(env, "db", "upgrade")
        flask_cli(env, "seed-demo")
        with GunicornServer(env, workdir, certfile=certfile, keyfile=keyfile, workers=2) as server:
            yield server


@pytest.fixture
def https_page(browser, https_server):
    context = browser.new_context(base_url=https_server.url, ignore_https_errors=True, viewport=DESKTOP,
                                  locale="nb-NO", timezone_id="Europe/Oslo")
    context.set_default_timeout(20_000)
    page = context.new_page()
    problems = watch_for_page_errors(page)
    try:
        yield page
    finally:
        context.close()
    assert not problems, "the browser reported errors:\n" + "\n".join(problems)


def test_sign_in_book_and_sign_out_over_https_in_production_configuration(https_page, https_server):
    page = https_page
    assert https_server.url.startswith("https://")
    form_posts = []
    page.on("request", lambda request: form_posts.append(request) if request.method == "POST" else None)

    response = page.goto("/login")
    assert response.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" in response.headers  # production: HTTPS is recognised
    sign_in(page, DEMO_ACCOUNTS["contact"][0])
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["session"]["secure"] and cookies["session"]["httpOnly"]

    day = journey_day(2, "nb", weekday=1)
    page.goto("/bookings/new")
    open_booking_form(page, space_id(page, MJOSA), day, "10:00", "11:00")
    title = unique("HTTPS-møte")
    page.locator("#title").fill(title)
    submit(page, BOOKING_FORM)
    assert "Bookingen din er bekreftet." in flash_texts(page), page.content()[:2000]
    assert title in page.locator("main").inner_text()

    sign_out(page)
    assert "Du er logget ut." in flash_texts(page)
    assert page.locator("header .user-link").count() == 0
    page.goto("/bookings/mine")
    assert "/login" in page.url  # the session really ended

    # Each form carried the CSRF token and came from our own origin, as the server checked.
    assert len(form_posts) == 3
    for request in form_posts:
        assert request.headers.get("origin") == https_server.url
        assert "csrf_token=" in (request.post_data or "")
    assert "Traceback" not in https_server.log_tail(200)
