"""Journeys through what every user meets first: the front page, signing in and out, the
language switch, the profile with API tokens, administration of organisations and users,
and error pages. Each page visited is checked (``check_page``): axe-core WCAG 2.1 AA,
one language only, screenshots at desktop and phone width."""
from __future__ import annotations

import re
import uuid

import pytest

from tests.browser.support import (DEMO_ACCOUNTS, LANGUAGES, check_page, current_language, flash_texts, nav_labels,
                                   sign_in, sign_out, switch_language)

TEXT = {
    "sign_in": {"nb": "Logg inn", "en": "Sign in"},
    "sign_out": {"nb": "Logg ut", "en": "Sign out"},
    "signed_in_as": {"nb": "Logget inn som {}.", "en": "Signed in as {}."},
    "signed_out": {"nb": "Du er logget ut.", "en": "You are signed out."},
    "administration": {"nb": "Administrasjon", "en": "Administration"},
    "front_h1": {"nb": "Samskap – booking i helseinnovasjonsverkstedet",
                 "en": "Samskap – booking for the health innovation workshop"},
    "no_access": {"nb": "Du har ikke tilgang til denne siden", "en": "You do not have access to this page"},
    "not_found": {"nb": "Fant ikke siden", "en": "Page not found"},
    "problem": {"nb": "Det er et problem", "en": "There is a problem"},
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def valid_orgnr(first_eight: str) -> str:
    """Complete eight digits with the mod-11 check digit of a Norwegian organisation number."""
    remainder = sum(int(d) * w for d, w in zip(first_eight, (3, 2, 7, 6, 5, 4, 3, 2))) % 11
    check = 0 if remainder == 0 else 11 - remainder
    if check == 10:  # no valid number starts like this; take the next one
        return valid_orgnr(f"{int(first_eight) + 1:08d}")
    return first_eight + str(check)


def wrong_check_digit(number: str) -> str:
    return number[:8] + str((int(number[8]) + 1) % 10)


# --- front page and language ------------------------------------------------------------------

def test_front_page_speaks_norwegian_first_and_switches_to_english_and_back(page):
    page.goto("/")
    assert current_language(page) == "nb"
    assert page.locator("h1").inner_text() == TEXT["front_h1"]["nb"]
    check_page(page, "front")

    switch_language(page, "en")
    assert page.locator("h1").inner_text() == TEXT["front_h1"]["en"]
    assert page.get_by_role("link", name="Sign in").first.is_visible()
    check_page(page, "front")

    page.goto("/login")  # the choice is remembered from page to page
    assert current_language(page) == "en" and page.locator("h1").inner_text() == "Sign in"
    check_page(page, "login")

    switch_language(page, "nb")
    assert page.url.endswith("/login"), "switching language stays on the same page"
    assert page.locator("h1").inner_text() == "Logg inn"
    check_page(page, "login")


def test_signed_in_user_keeps_the_chosen_language_at_the_next_sign_in(page, live_server):
    email = live_server.create_user(f"{unique('sprak')}@samskap.test", "Siri Språk")
    sign_in(page, email)
    assert current_language(page) == "nb"
    switch_language(page, "en")
    assert TEXT["sign_out"]["en"] in page.locator("header").inner_text()
    sign_out(page)
    page.context.clear_cookies()  # a new visit: nothing left in the browser

    sign_in(page, email)
    assert current_language(page) == "en"
    assert flash_texts(page) == ["Signed in as Siri Språk."]


# --- signing in as each role --------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("account", list(DEMO_ACCOUNTS))
def test_each_demo_account_signs_in_and_sees_its_own_navigation(page, account, lang):
    email, name = DEMO_ACCOUNTS[account]
    sign_in(page, email, lang=lang)
    page.goto("/")
    header = page.locator("header")
    assert header.locator(".user-link").inner_text().startswith(name)
    assert TEXT["sign_out"][lang] in header.inner_text()
    assert page.locator("main").get_by_text(re.compile(re.escape(name))).count() == 1  # the welcome line
    is_admin = account == "admin"
    assert (TEXT["administration"][lang] in nav_labels(page)) is is_admin
    check_page(page, f"home-{account}")

    page.goto("/admin/")
    if is_admin:
        assert page.locator("h1").inner_text() == TEXT["administration"][lang]
        check_page(page, "admin")
    else:
        assert page.locator("h1").inner_text() == TEXT["no_access"][lang]
        if account in ("staff", "contact"):
            check_page(page, "error-403")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_wrong_password_is_refused_with_a_linked_error(page, lang):
    page.goto("/login")
    switch_language(page, lang)
    page.locator("#email").fill(DEMO_ACCOUNTS["contact"][0])
    page.locator("#password").fill("not-the-password")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    summary = page.locator(".error-summary")
    assert summary.get_attribute("role") == "alert"
    assert summary.locator("h2").inner_text() == TEXT["problem"][lang]
    assert page.locator("header .user-link").count() == 0
    check_page(page, "login-wrong-password")

    page.locator("#email").fill("")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()  # now with both fields empty
    links = summary.locator("a")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == ["#email", "#password"]
    assert page.locator("#email").get_attribute("aria-invalid") == "true"
    assert page.locator("#email").get_attribute("aria-describedby") == "email-error"
    check_page(page, "login-empty")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_sign_out_ends_the_session(page, lang):
    sign_in(page, DEMO_ACCOUNTS["company"][0], lang=lang)
    sign_out(page)
    assert flash_texts(page) == [TEXT["signed_out"][lang]]
    assert page.locator("header .user-link").count() == 0
    assert page.locator("header").get_by_role("link", name=TEXT["sign_in"][lang]).is_visible()
    check_page(page, "signed-out")

    page.goto("/profile")
    assert re.search(r"/login(\?|$)", page.url), page.url
    assert page.locator("h1").inner_text() == TEXT["sign_in"][lang]


# --- profile and API tokens ---------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_profile_name_change_and_an_api_token_shown_only_once(page, live_server, lang):
    email = live_server.create_user(f"{unique('profil')}@samskap.test", "Pia Profil", locale=lang)
    sign_in(page, email, lang=lang)
    page.locator("header .user-link").click()
    page.wait_for_url("**/profile")
    assert page.locator("h1").inner_text() == {"nb": "Din profil", "en": "Your profile"}[lang]
    check_page(page, "profile")

    # An empty name is refused, with the error linked to the field.
    page.locator("#name").fill("")
    with page.expect_navigation():
        page.locator("form[action$='/profile'] button[type=submit]").click()
    assert page.locator(".error-summary a[href='#name']").inner_text() == {"nb": "Skriv inn et navn.",
                                                                        "en": "Enter a name."}[lang]
    check_page(page, "profile-error")

    page.locator("#name").fill("Pia Profilsen")
    with page.expect_navigation():
        page.locator("form[action$='/profile'] button[type=submit]").click()
    assert flash_texts(page) == [{"nb": "Profilen din er lagret.", "en": "Your profile is saved."}[lang]]
    assert page.locator("header .user-link").inner_text().startswith("Pia Profilsen")

    # A new token is shown once, in a labelled read-only field ...
    token_form = page.locator("form[action$='/profile/tokens']")
    token_form.locator("input[name=name]").fill("Rapportskript")
    with page.expect_navigation():
        token_form.locator("button[type=submit]").click()
    shown = page.locator("#new-token")
    secret = shown.input_value()
    assert len(secret) >= 32 and shown.get_attribute("readonly") is not None
    assert page.locator("label[for=new-token]").count() == 1
    assert flash_texts(page) == [{"nb": "API-nøkkelen er opprettet. Kopier den nå: den vises bare én gang.",
                                  "en": "API token created. Copy it now: it is shown only once."}[lang]]
    assert page.locator("#name").input_value() == "Pia Profilsen", "the token's purpose is not the user's name"
    assert token_form.locator("input[name=name]").input_value() == "", "the token form starts afresh"
    check_page(page, "profile-new-token")

    # ... and it works: the API knows who it belongs to.
    me = page.request.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status == 200 and me.json()["email"] == email

    # Never again: the list shows only its beginning and purpose.
    page.goto("/profile")
    assert page.locator("#new-token").count() == 0
    assert secret not in page.content()
    row = page.locator("table tbody tr", has_text="Rapportskript")
    prefix = row.locator("code").inner_text().rstrip("…")
    assert prefix and secret.startswith(prefix)


# --- administration -----------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_admin_creates_an_organisation_and_a_wrong_check_digit_is_explained(page, lang):
    sign_in(page, DEMO_ACCOUNTS["admin"][0], lang=lang)
    page.locator("header nav").get_by_role("link", name=TEXT["administration"][lang]).click()
    organisations = {"nb": "Organisasjoner", "en": "Organisations"}[lang]
    page.locator("main").get_by_role("link", name=organisations).click()
    assert page.locator("h1").inner_text() == organisations
    check_page(page, "admin-organisations")

    page.locator("main").get_by_role("link", name={"nb": "Ny organisasjon", "en": "New organisation"}[lang]).click()
    check_page(page, "admin-organisation-new")
    name = unique({"nb": "Vestre Toten kommune", "en": "Toten test municipality"}[lang])
    number = valid_orgnr(f"9{uuid.uuid4().int % 10**7:07d}")
    wrong = wrong_check_digit(number)
    page.locator("#name").fill(name)
    page.locator("#kind").select_option("municipality")
    page.locator("#number").fill(wrong)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()

    message = {
        "nb": f"«{wrong}» er ikke et gyldig organisasjonsnummer (9 sifre med riktig kontrollsiffer).",
        "en": f"'{wrong}' is not a valid Norwegian organisation number (9 digits with a correct check digit).",
    }[lang]
    assert page.locator(".error-summary a[href='#number']").inner_text() == message
    assert page.locator("#number-error").inner_text() == message
    assert page.locator("#number").get_attribute("aria-invalid") == "true"
    assert page.locator("#name").input_value() == name, "what was typed is kept"
    check_page(page, "admin-organisation-error")

    page.locator("#number").fill(number)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.locator("h1").inner_text() == organisations
    assert flash_texts(page) == [{"nb": f"Organisasjonen {name} er lagret.", "en": f"Organisation {name} is saved."}[lang]]
    row = page.locator("table tbody tr", has_text=name)
    assert row.locator("td").nth(1).inner_text() == {"nb": "Kommune", "en": "Municipality"}[lang]
    assert row.locator("td").nth(2).inner_text() == number


@pytest.mark.parametrize("lang", LANGUAGES)
def test_admin_lists_users_filtered_by_organisation(page, lang):
    sign_in(page, DEMO_ACCOUNTS["admin"][0], lang=lang)
    page.goto("/admin/users")
    users = {"nb": "Brukere", "en": "Users"}[lang]
    assert page.locator("h1").inner_text() == users
    assert page.locator("table tbody tr", has_text="Kari Kommune").count() == 1
    check_page(page, "admin-users")

    page.locator("#filter-org").select_option(label="Sykehuset Innlandet")
    with page.expect_navigation():
        page.locator("form.filters button[type=submit]").click()
    names = page.locator("table tbody tr td:first-child").all_inner_texts()
    assert "Henrik Helse" in names and "Kari Kommune" not in names

    page.locator("table tbody tr", has_text="Henrik Helse").get_by_role("link").click()
    assert page.locator("h1").inner_text() == {"nb": "Rediger bruker", "en": "Edit user"}[lang]
    assert page.locator("#email").input_value() == "sykehus@samskap.test"
    check_page(page, "admin-user-edit")
    hint = {"nb": "En deaktivert bruker kan ikke logge inn; bookingene deres beholdes.",
            "en": "A deactivated user cannot sign in; their bookings are kept."}[lang]
    assert page.locator("#active-hint").inner_text() == hint


# --- error pages ----------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_missing_page_says_so_and_leads_back_to_the_front_page(page, lang):
    page.goto("/")
    switch_language(page, lang)
    response = page.goto("/no/such/page")
    assert response.status == 404
    assert page.locator("h1").inner_text() == TEXT["not_found"][lang]
    check_page(page, "error-404")
    page.locator("main").get_by_role("link", name={"nb": "Gå til forsiden", "en": "Go to the front page"}[lang]).click()
    assert page.locator("h1").inner_text() == TEXT["front_h1"][lang]
