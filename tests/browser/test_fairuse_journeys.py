"""Fair-use journeys in a real browser: a company member meets a taken time and joins its
waitlist from the booking form; staff print a room's check-in code; the QR code's page checks
in a booking. Every page visited is checked (``check_page``: axe-core WCAG 2.1 AA, one language
only, screenshots)."""
from __future__ import annotations

import pytest

from tests.browser.booking_steps import BOOKING_FORM, journey_day, open_booking_form, space_id, submit, unique
from tests.browser.support import DEMO_ACCOUNTS, LANGUAGES, check_page, flash_texts, sign_in, sign_out

MJOSA = "Mjøsa møterom"

TEXT = {
    "confirmed": {"nb": "Bookingen din er bekreftet.", "en": "Your booking is confirmed."},
    "join": {"nb": "Sett meg på ventelisten", "en": "Join the waitlist"},
    "joined": {"nb": "Du står på ventelisten. Vi sender deg e-post hvis tiden blir ledig.",
               "en": "You are on the waitlist. We will email you if the time frees up."},
    "first": {"nb": "nummer 1 i køen", "en": "number 1 in line"},
    "scan": {"nb": "Skann for å sjekke inn på bookingen din", "en": "Scan to check in to your booking"},
    "check_in_rule": {"nb": "Sjekk inn innen", "en": "Check in by"},
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_member_joins_the_waitlist_for_a_taken_time(page, lang):
    day = journey_day(40 + LANGUAGES.index(lang), lang)
    sign_in(page, DEMO_ACCOUNTS["academia"][0], lang=lang)
    page.goto("/bookings/new")
    mjosa = space_id(page, MJOSA)
    open_booking_form(page, mjosa, day, "11:00", "12:00")
    page.locator("#title").fill(unique("Seminar"))
    submit(page, BOOKING_FORM)
    assert flash_texts(page) == [TEXT["confirmed"][lang]]
    assert TEXT["check_in_rule"][lang] in page.locator("main").inner_text()  # Mjøsa requires check-in
    check_page(page, "fairuse-booking-with-check-in")
    sign_out(page)

    sign_in(page, DEMO_ACCOUNTS["company"][0], lang=lang)
    page.goto("/bookings/new")
    open_booking_form(page, mjosa, day, "11:00", "12:00")
    page.locator("#title").fill(unique("Kundemøte"))
    submit(page, BOOKING_FORM)
    conflict = page.locator("section.conflict")
    join = conflict.get_by_role("button", name=TEXT["join"][lang])
    assert join.is_visible()
    check_page(page, "fairuse-conflict-with-waitlist")
    conflict.locator("#auto_book").check()
    with page.expect_navigation():
        join.click()
    assert flash_texts(page) == [TEXT["joined"][lang]]
    assert TEXT["first"][lang] in page.locator("main table").inner_text()
    check_page(page, "fairuse-waitlist")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_staff_print_a_rooms_check_in_code_and_it_leads_to_check_in(page, lang):
    sign_in(page, DEMO_ACCOUNTS["staff"][0], lang=lang)
    page.goto("/bookings/new")
    mjosa = space_id(page, MJOSA)
    page.goto(f"/spaces/{mjosa}/check-in-code")
    assert page.locator("main").get_by_text(TEXT["scan"][lang]).is_visible()
    assert page.locator("main svg.segno").count() == 1
    check_page(page, "fairuse-check-in-code")
    target = page.locator(".check-in-code__url").inner_text()
    assert target.endswith(f"/spaces/{mjosa}/check-in")
    page.goto(f"/spaces/{mjosa}/check-in")
    assert page.locator("h1").inner_text().endswith(MJOSA)
    check_page(page, "fairuse-space-check-in")
