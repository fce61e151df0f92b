"""The checks every journey relies on can fail: each is shown a real defect and must catch it."""
from __future__ import annotations

import pytest

from tests.browser.support import (ARTIFACTS, assert_accessible, assert_references_resolve, assert_single_language,
                                   axe_violations, catalogue, save_screenshots, switch_language)


def test_axe_reports_an_unlabelled_field_and_poor_contrast_with_rule_impact_and_selector(page):
    page.goto("/login")
    page.evaluate("""() => {
        const input = document.createElement('input'); input.id = 'no-label'; document.querySelector('main').append(input);
        const faint = document.createElement('p'); faint.id = 'faint'; faint.textContent = 'Lys grå tekst';
        faint.style.color = '#bbbbbb'; document.querySelector('main').append(faint);
    }""")
    rules = {v["id"] for v in axe_violations(page)}
    assert {"label", "color-contrast"} <= rules
    with pytest.raises(AssertionError) as failure:
        assert_accessible(page, "the sign-in page with a defect")
    report = str(failure.value)
    assert "label [critical]" in report and "#no-label" in report and "color-contrast [serious]" in report


def test_the_catalogues_give_the_language_check_plenty_to_look_for():
    cat = catalogue()
    english = {p.text for p in cat.english}
    norwegian = {p.text for p in cat.norwegian}
    assert len(english) > 100 and len(norwegian) > 100
    assert {"Sign in", "Skip to main content", "There is a problem"} <= english
    assert {"Logg inn", "Hopp til hovedinnholdet", "Det er et problem"} <= norwegian
    assert "Status" not in english, "words that are the same in both languages are allowed in both"


def test_english_text_on_a_norwegian_page_is_caught(page):
    page.goto("/")
    assert_single_language(page, "nb")  # the real page passes ...
    page.evaluate("() => { document.querySelector('main p').textContent = 'There is a problem'; }")
    with pytest.raises(AssertionError, match="'There is a problem'"):
        assert_single_language(page, "nb")  # ... and one English sentence fails it


def test_english_inside_a_longer_norwegian_text_and_in_screen_reader_labels_is_caught(page):
    page.goto("/")
    page.evaluate("""() => {
        document.querySelector('header nav').setAttribute('aria-label', 'Main menu');
        document.querySelector('main p').textContent = 'Velkommen! All times are in Europe/Oslo time.';
    }""")
    with pytest.raises(AssertionError) as failure:
        assert_single_language(page, "nb")
    assert "Main menu" in str(failure.value) and "All times are in" in str(failure.value)


def test_norwegian_text_on_an_english_page_is_caught(page):
    page.goto("/")
    switch_language(page, "en")
    assert_single_language(page, "en")
    page.evaluate("() => { document.querySelector('main .button').textContent = 'Logg inn'; }")
    with pytest.raises(AssertionError, match="'Logg inn'"):
        assert_single_language(page, "en")


def test_a_page_without_recognisable_text_cannot_pass_the_language_check(page):
    page.goto("/")
    page.evaluate("() => { document.title = 'x'; document.body.replaceChildren(document.createTextNode('Samskap')); }")
    with pytest.raises(AssertionError, match="would be vacuous"):
        assert_single_language(page, "nb")


def test_text_marked_with_its_own_language_is_allowed(page):
    page.goto("/")  # the "English" button on the Norwegian page carries lang="en"
    assert page.locator(".lang-form button").get_attribute("lang") == "en"
    page.evaluate("""() => { const q = document.createElement('q'); q.lang = 'en'; q.textContent = 'Sign in';
                            document.querySelector('main').append(q); }""")
    assert_single_language(page, "nb")


def test_screenshots_are_saved_and_sideways_scrolling_on_a_phone_or_desktop_is_caught(page):
    page.goto("/")
    paths = save_screenshots(page, "check-front")
    assert [p.name for p in paths] == ["check-front-nb-desktop.png", "check-front-nb-phone.png"]
    assert all(p.parent == ARTIFACTS and p.stat().st_size > 1000 for p in paths)
    page.evaluate("() => { document.querySelector('main p').style.width = '900px'; }")
    with pytest.raises(AssertionError, match="scrolls sideways at 390 px"):
        save_screenshots(page, "check-front-too-wide")
    assert page.viewport_size == {"width": 1280, "height": 800}, "left at desktop width"
    page.evaluate("() => { document.querySelector('main p').style.width = '1600px'; }")
    with pytest.raises(AssertionError, match="scrolls sideways at 1280 px"):  # a desktop is no excuse either
        save_screenshots(page, "check-front-too-wide")


def test_a_description_or_label_pointing_nowhere_is_caught(page):
    page.goto("/login")
    assert_references_resolve(page)
    page.evaluate("""() => {
        document.querySelector('#email').setAttribute('aria-describedby', 'email-hint');
        const twin = document.createElement('span'); twin.id = 'password'; document.querySelector('main').append(twin);
    }""")
    with pytest.raises(AssertionError) as failure:
        assert_references_resolve(page)
    assert "#email-hint (0 elements)" in str(failure.value) and "#password (2 elements)" in str(failure.value)


@pytest.mark.parametrize("lang, wrong, right", [
    ("nb", "Mon 23 Nov, 10:00 AM", "man. 23. nov. kl. 10:00"),
    ("en", "man. 23. nov. kl. 10:00", "Mon 23 Nov, 10:00"),
])
def test_a_date_written_in_the_other_language_is_caught(page, lang, wrong, right):
    page.goto("/")
    switch_language(page, lang)
    page.evaluate("(text) => { document.querySelector('main p').textContent = text; }", right)
    assert_single_language(page, lang)
    page.evaluate("(text) => { document.querySelector('main p').textContent = text; }", wrong)
    with pytest.raises(AssertionError, match="Nov|nov"):
        assert_single_language(page, lang)
