"""The staff's dashboard (their front page) and the reports page in a real browser, in both
languages: axe-core (WCAG 2.1 A/AA), one language per page, screenshots at desktop and phone width."""
from __future__ import annotations

import pytest

from tests.browser.support import DEMO_ACCOUNTS, LANGUAGES, check_page, sign_in


@pytest.mark.parametrize("lang", LANGUAGES)
def test_staff_front_page_is_an_accessible_dashboard(page, lang):
    sign_in(page, DEMO_ACCOUNTS["staff"][0], lang=lang)
    page.goto("/")
    assert page.locator("h1").inner_text() == {"nb": "Oversikt", "en": "Dashboard"}[lang]
    headings = page.locator("main h2").all_inner_texts()
    assert {"nb": "Venter på godkjenning", "en": "Waiting for approval"}[lang] in headings
    assert {"nb": "Utlånt utstyr", "en": "Equipment out"}[lang] in headings
    check_page(page, "dashboard")
    # Printed, the dashboard drops the site's header and links to other pages.
    page.emulate_media(media="print")
    assert not page.locator("header.site-header").is_visible()
    assert page.locator("main h1").is_visible()
    page.emulate_media(media="screen")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_admin_reads_the_yearly_report_with_charts_and_tables(page, lang):
    sign_in(page, DEMO_ACCOUNTS["admin"][0], lang=lang)
    page.goto("/reports")
    charts = page.locator("main svg[role=img]")
    assert charts.count() == 4
    for i in range(4):  # every chart is named by its own title
        labelled = charts.nth(i).get_attribute("aria-labelledby").split()[0]
        assert page.locator(f"#{labelled}").count() == 1
    check_page(page, "reports")
    page.locator("#group").select_option("week")
    page.locator("main form.report-filter button[type=submit]").click()
    page.wait_for_load_state()
    assert "group=week" in page.url
    check_page(page, "reports-by-week")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_organisation_contact_sees_the_report_for_their_own_organisation(page, lang):
    sign_in(page, DEMO_ACCOUNTS["contact"][0], lang=lang)
    page.goto("/reports")
    options = page.locator("#organisation_id option").all_inner_texts()
    assert options == ["Gjøvik kommune"]
    check_page(page, "reports-contact")
