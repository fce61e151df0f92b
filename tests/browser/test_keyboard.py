"""Everything works by keyboard alone, with a focus indicator that can be seen."""
from __future__ import annotations

import pytest

from tests.browser.support import DEMO_ACCOUNTS, DEMO_PASSWORD, LANGUAGES, check_page, sign_in, switch_language

ACTIVE = """() => { const el = document.activeElement;
  return {tag: el.tagName.toLowerCase(), id: el.id, cls: el.className, text: (el.innerText || el.value || '').trim(),
          inMain: !!el.closest('main')}; }"""

FOCUS_VISIBLE = """() => { const el = document.activeElement, s = getComputedStyle(el), r = el.getBoundingClientRect();
  return {outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2, matches: el.matches(':focus-visible'),
          onScreen: r.width > 1 && r.height > 1 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight}; }"""


def assert_focus_visible(page, what: str) -> None:
    focus = page.evaluate(FOCUS_VISIBLE)
    assert focus["matches"] and focus["outline"], f"no visible focus indicator on {what}: {focus}"
    assert focus["onScreen"], f"{what} has focus but is not on the screen: {focus}"


def tab_to(page, selector: str, limit: int = 25) -> list[dict]:
    """Press Tab until the element matching ``selector`` has focus; every stop on the way
    must show where the focus is. Returns the stops."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate(ACTIVE)
        stops.append(stop)
        assert_focus_visible(page, f"tab stop {len(stops)} ({stop})")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return stops
    raise AssertionError(f"{selector} not reached in {limit} tab stops: {stops}")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_the_main_content(page, lang):
    sign_in(page, DEMO_ACCOUNTS["admin"][0], lang=lang)  # a header full of links to skip
    page.goto("/admin/organisations")
    page.keyboard.press("Tab")
    first = page.evaluate(ACTIVE)
    assert first["cls"] == "skip-link"
    assert first["text"] == {"nb": "Hopp til hovedinnholdet", "en": "Skip to main content"}[lang]
    assert_focus_visible(page, "the skip link")

    page.keyboard.press("Enter")
    assert page.evaluate(ACTIVE)["id"] == "main"
    page.keyboard.press("Tab")
    after = page.evaluate(ACTIVE)
    assert after["inMain"] and after["text"] == {"nb": "Ny organisasjon", "en": "New organisation"}[lang], after


def test_signing_in_with_the_keyboard_alone(page, live_server):
    email = live_server.create_user("tastatur@samskap.test", "Tone Tastatur")
    page.goto("/login")
    tab_to(page, "#email")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    assert page.evaluate(ACTIVE)["id"] == "password"
    page.keyboard.type(DEMO_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".flashes").inner_text().strip() == "Logget inn som Tone Tastatur."

    tab_to(page, "header .user-link")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "Din profil"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_error_summary_links_move_focus_to_their_fields(page, lang):
    sign_in(page, DEMO_ACCOUNTS["admin"][0], lang=lang)
    page.goto("/admin/organisations/new")
    page.locator("#name").fill("Gjøvik kommune")  # exists already
    page.locator("#number").fill("12345")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    summary = page.locator(".error-summary")
    assert summary.get_attribute("role") == "alert"
    links = summary.locator("a")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == ["#name", "#number"]
    check_page(page, "admin-organisation-two-errors")

    tab_to(page, ".error-summary a[href='#name']")
    page.keyboard.press("Enter")
    assert page.evaluate(ACTIVE)["id"] == "name"
    assert_focus_visible(page, "the name field reached from the error summary")
    page.keyboard.press("Control+A")
    page.keyboard.type("Tastatur kommune")
    assert page.locator("#name").input_value() == "Tastatur kommune"

    summary.locator("a[href='#number']").click()  # and with the mouse
    assert page.evaluate(ACTIVE)["id"] == "number"
    described = page.locator("#number").get_attribute("aria-describedby").split()
    assert "number-error" in described and "number-hint" in described


def test_language_switch_works_by_keyboard(page):
    page.goto("/")
    tab_to(page, ".lang-form button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.evaluate("() => document.documentElement.lang") == "en"
    switch_language(page, "nb")
