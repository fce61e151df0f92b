"""Project journey in a real browser (issue 18): staff create a pilot with the hospital leading
and a company as partner, from the menu, and see its page; the company's member finds it in
their project list. Every page visited is checked (``check_page``: accessibility, one language)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.browser.booking_steps import submit, today_in_oslo, unique
from tests.browser.support import DEMO_ACCOUNTS, LANGUAGES, check_page, flash_texts, sign_in, sign_out

PROJECT_FORM = "main form[method=post]"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_staff_create_a_project_and_a_partner_finds_its_page(page, lang):
    name = unique({"nb": "Fallsensorer hjemme", "en": "Fall sensors at home"}[lang])
    start = today_in_oslo() + timedelta(days=7)
    sign_in(page, DEMO_ACCOUNTS["staff"][0], lang=lang)
    page.locator("header nav").get_by_role("link", name={"nb": "Prosjekter", "en": "Projects"}[lang]).click()
    page.wait_for_load_state()
    check_page(page, "projects")
    with page.expect_navigation():
        page.locator("main a.button--primary").click()
    check_page(page, "project-new")
    page.locator("#name").fill(name)
    page.locator("#goals").fill({"nb": "Færre fall", "en": "Fewer falls"}[lang])
    page.locator("#lead_organisation").select_option(label="Sykehuset Innlandet")
    page.locator("#partners").select_option(label=["Tryggtek AS"])
    page.locator("#starts_on").fill(start.isoformat())
    page.locator("#ends_on").fill((start + timedelta(days=60)).isoformat())
    page.locator("#status").select_option("active")
    submit(page, PROJECT_FORM)
    assert page.locator("h1").inner_text() == name
    assert flash_texts(page) == [{"nb": "Prosjektet er opprettet.", "en": "The project is created."}[lang]]
    partners = page.locator("main table").first.inner_text()
    assert "Sykehuset Innlandet" in partners and "Tryggtek AS" in partners
    assert {"nb": "Sektorer som deltar: Sykehus, Bedrift", "en": "Sectors taking part: Hospital, Company"}[lang] \
        in page.locator("main").inner_text()
    check_page(page, "project-detail")
    sign_out(page)

    sign_in(page, DEMO_ACCOUNTS["company"][0], lang=lang)
    page.goto("/projects")
    with page.expect_navigation():
        page.get_by_role("link", name=name).click()
    assert page.locator("h1").inner_text() == name
    assert page.get_by_role("button", name={"nb": "Lag en kalenderfeed for dette prosjektet",
                                            "en": "Create a calendar feed for this project"}[lang]).count() == 1
    check_page(page, "project-detail-partner")
