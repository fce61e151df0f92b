"""Journeys through letting people in (issue 17): an organisation contact invites someone from the
members page, the invited person sets a password from the link in the mail and is signed in, and
the contact deactivates them again; the forgotten-password pages. Every page is checked
(``check_page``): axe-core WCAG 2.1 AA, one language only, screenshots."""
from __future__ import annotations

import re
import sqlite3
import uuid

import pytest

from tests.browser.support import DEMO_ACCOUNTS, LANGUAGES, check_page, flash_texts, sign_in, sign_out, switch_language

TEXT = {
    "invited": {"nb": "Invitasjonen er sendt til {}. Lenken virker i 7 dager.",
                "en": "The invitation is sent to {}. The link works for 7 days."},
    "welcome": {"nb": "Velkommen til Samskap, {}.", "en": "Welcome to Samskap, {}."},
    "forgot_link": {"nb": "Glemt passordet?", "en": "Forgotten your password?"},
    "check_email": {"nb": "Sjekk e-posten din", "en": "Check your email"},
    "deactivated": {"nb": "{} er deaktivert og logget ut overalt.", "en": "{} is deactivated and signed out everywhere."},
}


def latest_mail_text(live_server, to: str) -> str:
    path = live_server.env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT text FROM outbox_messages WHERE to_address = ? ORDER BY id DESC LIMIT 1",
                           (to,)).fetchone()
    assert row, f"no mail to {to} in the outbox"
    return row[0]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_contact_invites_a_person_who_sets_a_password_and_is_later_deactivated(page, live_server, lang):
    email = f"invited-{uuid.uuid4().hex[:8]}@kommune.test"
    name = f"Invitert {uuid.uuid4().hex[:4]}"
    sign_in(page, DEMO_ACCOUNTS["contact"][0], lang=lang)
    page.goto("/organisation/members")
    check_page(page, "members-with-invitation-form")
    page.locator("#invite-email").fill(email)
    with page.expect_navigation():
        page.locator("form[action$='/organisation/members/invite'] button[type=submit]").click()
    assert flash_texts(page) == [TEXT["invited"][lang].format(email)]
    sign_out(page)

    link = re.search(r"https?://\S+(/invitation/[A-Za-z0-9_-]+)", latest_mail_text(live_server, email)).group(1)
    page.goto(link)
    switch_language(page, lang)
    check_page(page, "invitation")
    page.locator("#name").fill(name)
    page.locator("#password").fill("a long invitation password")
    page.locator("#confirm").fill("a long invitation password")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.locator("header .user-link").count() == 1
    assert flash_texts(page) == [TEXT["welcome"][lang].format(name)]
    sign_out(page)

    sign_in(page, DEMO_ACCOUNTS["contact"][0], lang=lang)
    page.goto("/organisation/members")
    row = page.locator("tr", has_text=email)
    with page.expect_navigation():
        row.locator("form[action$='/deactivate'] button").click()
    assert flash_texts(page) == [TEXT["deactivated"][lang].format(name)]
    check_page(page, "members-after-deactivation")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_forgotten_password_pages(page, lang):
    page.goto("/login")
    switch_language(page, lang)
    with page.expect_navigation():
        page.get_by_role("link", name=TEXT["forgot_link"][lang]).click()
    check_page(page, "forgot-password")
    page.locator("#email").fill(DEMO_ACCOUNTS["company"][0])
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.locator("h1").inner_text() == TEXT["check_email"][lang]
    check_page(page, "reset-requested")
