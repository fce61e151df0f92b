"""Booking journeys in a real browser: find a free room in the day view and book it by clicking
a slot, hit a conflict and take a suggested free time, make a weekly series and cancel one
occurrence, book a room with equipment, and staff approving a pending booking. Also the day
grid by keyboard alone and the calendars and form on a phone. Every page visited is checked
(``check_page``: axe-core WCAG 2.1 AA, one language only, screenshots at desktop and phone width)."""
from __future__ import annotations

import re

import pytest

from tests.browser.booking_steps import (BOOKING_FORM, booking_id_from_url, journey_day, local_day_time,
                                         open_booking_form, space_id, submit, unique)
from tests.browser.support import (DEMO_ACCOUNTS, LANGUAGES, PHONE, check_page, flash_texts, sign_in, sign_out,
                                   switch_language)

MJOSA = "Mjøsa møterom"
SIMLAB = "Simuleringslaben"

TEXT = {
    "confirmed": {"nb": "Bookingen din er bekreftet.", "en": "Your booking is confirmed."},
    "pending": {"nb": "Bookingen din er registrert og venter på godkjenning.",
                "en": "Your booking is registered and is pending approval."},
    "status_confirmed": {"nb": "Bekreftet", "en": "Confirmed"},
    "status_pending": {"nb": "Venter på godkjenning", "en": "Pending approval"},
    "status_cancelled": {"nb": "Avbestilt", "en": "Cancelled"},
    "taken": {"nb": "Tiden er opptatt", "en": "The time is taken"},
    "series_confirmed": {"nb": "3 bookinger i serien er bekreftet.", "en": "3 bookings in the series are confirmed."},
    "cancelled": {"nb": "Bookingen er avbestilt.", "en": "The booking is cancelled."},
    "approved": {"nb": "«{}» er godkjent.", "en": "“{}” is approved."},
    "day_view": {"nb": "Dagsoversikt", "en": "Day view"},
}


def book_from_form(page, title: str) -> None:
    page.locator("#title").fill(title)
    submit(page, BOOKING_FORM)


# --- the day view -------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_member_finds_a_free_room_in_the_day_view_and_books_it_by_clicking_a_slot(page, lang):
    day = journey_day(3, lang)
    sign_in(page, DEMO_ACCOUNTS["contact"][0], lang=lang)
    page.locator("header nav").get_by_role("link", name=TEXT["day_view"][lang]).click()
    page.locator("#day-date").fill(day.isoformat())
    submit(page, "form.date-picker")
    caption = page.locator("#day-caption").inner_text()
    assert day.strftime("%Y") in page.locator("h1").inner_text() and day.strftime("%Y") in caption
    check_page(page, "day-view")

    # Every free half hour is a link that says what it books; click Mjøsa at 10:00.
    with page.expect_navigation():
        page.get_by_role("link", name=f"Book {MJOSA} 10:00–10:30").click()
    assert page.locator("#space option:checked").inner_text().startswith(MJOSA)
    assert page.locator("#date").input_value() == day.isoformat()
    assert (page.locator("#start_time").input_value(), page.locator("#end_time").input_value()) == ("10:00", "10:30")
    check_page(page, "booking-form")

    title = unique({"nb": "Planleggingsmøte", "en": "Planning meeting"}[lang])
    page.locator("#end_time").fill("11:00")
    book_from_form(page, title)
    assert flash_texts(page) == [TEXT["confirmed"][lang]]
    assert page.locator("h1").inner_text() == title
    assert page.locator("main .status").first.inner_text() == TEXT["status_confirmed"][lang]
    assert page.locator("dl.details dd").first.inner_text() == f"{local_day_time(day, '10:00', lang)}–11:00"
    check_page(page, "booking-detail")

    # The day view now shows the booking where the free slots were, with its time.
    page.goto(f"/day?date={day.isoformat()}")
    cell = page.locator("td.slot--booked", has_text=title)
    assert cell.count() == 1 and "10:00–11:00" in cell.inner_text()
    assert page.get_by_role("link", name=f"Book {MJOSA} 10:00–10:30").count() == 0


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_clash_offers_free_times_and_one_click_books_a_suggested_one(page, lang):
    day = journey_day(5, lang)
    sign_in(page, DEMO_ACCOUNTS["company"][0], lang=lang)
    page.goto("/bookings/new")
    mjosa = space_id(page, MJOSA)
    first = unique("Kundemøte")
    open_booking_form(page, mjosa, day, "09:00", "10:00")
    book_from_form(page, first)
    assert flash_texts(page) == [TEXT["confirmed"][lang]]

    second = unique({"nb": "Oppfølgingsmøte", "en": "Follow-up meeting"}[lang])
    open_booking_form(page, mjosa, day, "09:30", "10:30")
    book_from_form(page, second)
    conflict = page.locator("section.conflict")
    assert conflict.get_attribute("role") == "alert"
    assert conflict.locator("h2").inner_text() == TEXT["taken"][lang]
    assert first in conflict.inner_text()  # our own organisation's booking, named
    when = f"{local_day_time(day, '09:00', lang)}–10:00"  # in words of the page's language, not 2026-12-28
    assert when in conflict.locator("p").first.inner_text()
    assert page.locator("#title").input_value() == second, "what was typed is kept"
    check_page(page, "booking-conflict")

    suggestion = conflict.locator("ul").nth(1).get_by_role("link").first
    label = suggestion.inner_text()
    assert re.search(r"\d\d:\d\d–\d\d:\d\d", label), label
    with page.expect_navigation():
        suggestion.click()
    assert page.locator("#title").input_value() == second
    start, end = page.locator("#start_time").input_value(), page.locator("#end_time").input_value()
    assert (start, end) != ("09:30", "10:30")
    submit(page, BOOKING_FORM)
    assert flash_texts(page) == [TEXT["confirmed"][lang]]
    assert page.locator("h1").inner_text() == second  # the booking's own page
    assert page.locator("dl.details dd").first.inner_text().endswith(f"{start}–{end}")


# --- a weekly series ------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_member_makes_a_weekly_series_and_cancels_one_occurrence(page, lang):
    day = journey_day(20 + 2 * LANGUAGES.index(lang), lang, weekday=2)  # three Wednesdays of its own
    sign_in(page, DEMO_ACCOUNTS["academia"][0], lang=lang)
    page.goto("/bookings/new")
    open_booking_form(page, space_id(page, MJOSA), day, "13:00", "14:00")
    title = unique({"nb": "Ukemøte", "en": "Weekly meeting"}[lang])
    page.locator("#title").fill(title)
    assert page.locator("#repeat-details").is_hidden(), "the repeat details wait until a repeat is chosen"
    page.locator("#repeat").select_option("weekly")
    assert page.locator("#repeat-details").is_visible()
    page.locator("#count").fill("3")
    check_page(page, "booking-form-series")
    submit(page, BOOKING_FORM)
    assert flash_texts(page) == [TEXT["series_confirmed"][lang]]
    check_page(page, "booking-detail-series")

    page.goto("/bookings/mine")
    rows = page.locator("table tbody tr", has_text=title)
    assert rows.count() == 3
    check_page(page, "my-bookings")
    with page.expect_navigation():
        rows.nth(1).get_by_role("link", name=title).click()
    second_url = page.url
    with page.expect_navigation():
        page.locator("main .actions a.button--danger").click()
    check_page(page, "booking-cancel")
    assert page.locator("input[name=scope][value=this]").is_checked()
    page.locator("#reason").fill({"nb": "Ferie", "en": "Holiday"}[lang])
    submit(page, "main form.form")
    assert page.url == second_url
    assert flash_texts(page) == [TEXT["cancelled"][lang]]
    assert page.locator("main .status").first.inner_text() == TEXT["status_cancelled"][lang]

    page.goto("/bookings/mine")
    statuses = page.locator("table tbody tr", has_text=title).locator(".status").all_inner_texts()
    assert statuses == [TEXT["status_confirmed"][lang], TEXT["status_cancelled"][lang],
                        TEXT["status_confirmed"][lang]]


# --- equipment with a room ------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_member_books_a_room_with_two_sensor_kits_and_cancels_both(page, lang):
    day = journey_day(9, lang, weekday=1)
    sign_in(page, DEMO_ACCOUNTS["hospital"][0], lang=lang)
    page.goto("/bookings/new")
    open_booking_form(page, space_id(page, MJOSA), day, "12:00", "15:00")
    kits = page.get_by_label("Fallsensor-sett")
    assert kits.input_value() == "0"
    kits.fill("2")
    title = unique({"nb": "Oppstart av pilot", "en": "Pilot kick-off"}[lang])
    book_from_form(page, title)
    assert flash_texts(page) == [TEXT["confirmed"][lang]]
    row = page.locator("main table tbody tr", has_text="Fallsensor-sett")
    tags = row.locator("td").first.inner_text().split(", ")
    assert len(tags) == 2 and all(t.startswith("FALL-") for t in tags)
    assert page.locator("main a[href$='.ics']").count() == 1
    check_page(page, "booking-detail-equipment")

    with page.expect_navigation():
        page.locator("main .actions a.button--danger").click()
    assert page.locator("#cancel_equipment").is_checked()
    check_page(page, "booking-cancel-equipment")
    page.locator("#reason").fill({"nb": "Utsatt", "en": "Postponed"}[lang])
    submit(page, "main form.form")
    assert flash_texts(page) == [TEXT["cancelled"][lang]]
    status = page.locator("main table tbody tr", has_text="Fallsensor-sett").locator(".status").inner_text()
    assert status == {"nb": "Avbestilt", "en": "Cancelled"}[lang]  # written as the bookings' statuses are


@pytest.mark.parametrize("lang", LANGUAGES)
def test_asking_for_more_kits_than_are_free_explains_the_shortage_at_the_quantity(page, lang):
    day = journey_day(11, lang, weekday=1)
    sign_in(page, DEMO_ACCOUNTS["contact"][0], lang=lang)
    page.goto("/bookings/new")
    open_booking_form(page, space_id(page, MJOSA), day, "09:00", "10:00")
    page.get_by_label("Fallsensor-sett").fill("7")  # the workshop has six
    book_from_form(page, unique("Stor pilot"))
    field = page.get_by_label("Fallsensor-sett")
    assert field.get_attribute("aria-invalid") == "true"
    error = page.locator(".error-summary li a").first
    assert error.get_attribute("href") == f"#{field.get_attribute('id')}"
    assert {"nb": "6", "en": "6"}[lang] in error.inner_text()
    assert page.locator("section.conflict").count() == 0
    check_page(page, "booking-form-equipment-shortage")


# --- approval -----------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_staff_approve_a_pending_booking(page, lang):
    day = journey_day(13, lang, weekday=3)
    sign_in(page, DEMO_ACCOUNTS["hospital"][0], lang=lang)
    page.goto("/bookings/new")
    open_booking_form(page, space_id(page, SIMLAB), day, "09:00", "11:00")
    title = unique({"nb": "Simuleringsøvelse", "en": "Simulation drill"}[lang])
    book_from_form(page, title)
    assert flash_texts(page) == [TEXT["pending"][lang]]
    assert page.locator("main .status").first.inner_text() == TEXT["status_pending"][lang]
    booking_id = booking_id_from_url(page.url)
    sign_out(page)

    sign_in(page, DEMO_ACCOUNTS["staff"][0], lang=lang)
    page.locator("header nav").get_by_role("link", name={"nb": "Godkjenninger", "en": "Approvals"}[lang]).click()
    item = page.locator(f"#booking-{booking_id}")
    assert title in item.inner_text() and "Henrik Helse" in item.inner_text()
    check_page(page, "booking-approvals")
    with page.expect_navigation():
        item.locator("form[action$='/approve'] button").click()
    assert flash_texts(page) == [TEXT["approved"][lang].format(title)]
    assert page.locator(f"#booking-{booking_id}").count() == 0

    page.goto(f"/bookings/{booking_id}")
    assert page.locator("main .status").first.inner_text() == TEXT["status_confirmed"][lang]
    assert "Sindre Stab" in page.locator("dl.details").inner_text()


# --- language ------------------------------------------------------------------------------------

def test_switching_language_rewrites_dates_in_the_other_language(page):
    day = journey_day(15, "nb", weekday=0)
    sign_in(page, DEMO_ACCOUNTS["company"][0], lang="nb")
    page.goto(f"/day?date={day.isoformat()}")
    nb_heading = page.locator("h1").inner_text()
    assert re.search(r"man\. \d{1,2}\. \w+\.? \d{4}$", nb_heading), nb_heading
    switch_language(page, "en")
    en_heading = page.locator("h1").inner_text()
    assert re.search(r"Mon \d{1,2} \w{3} \d{4}$", en_heading), en_heading
    assert page.url.endswith(f"/day?date={day.isoformat()}"), "the language switch stays on the page"
    check_page(page, "day-view")
    switch_language(page, "nb")
    sign_out(page)


# --- keyboard and phone ---------------------------------------------------------------------------

ACTIVE_HREF = "() => document.activeElement.getAttribute('href') || ''"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_day_grid_works_with_the_keyboard_alone(page, lang):
    day = journey_day(17, lang)
    sign_in(page, DEMO_ACCOUNTS["contact"][0], lang=lang)
    page.goto(f"/day?date={day.isoformat()}")
    grid = page.locator(".grid-scroll")
    assert grid.get_attribute("aria-labelledby") == "day-caption"  # the grid is described by its caption
    grid.focus()
    for _ in range(40):  # from the grid's box, Tab walks the row headers and the free slots
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.matches('a.slot__book')"):
            break
    else:
        raise AssertionError("no free slot reached by Tab")
    outlined = page.evaluate("() => { const s = getComputedStyle(document.activeElement); "
                             "return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }")
    assert outlined, "the focused slot shows where the focus is"
    name = page.evaluate("() => document.activeElement.textContent.trim()")
    assert re.fullmatch(r"\+Book .+ \d\d:\d\d–\d\d:\d\d", name), f"a screen reader hears what it books: {name!r}"
    href = page.evaluate(ACTIVE_HREF)
    start = re.search(r"start=([\d-]+T\d\d:\d\d)", href).group(1)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#date").input_value() == day.isoformat()
    assert page.locator("#start_time").input_value() == start.split("T")[1]
    assert page.locator("#space").input_value() != "0"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_day_and_week_views_and_the_form_work_on_a_phone(page, lang):
    day = journey_day(19, lang, weekday=1)
    sign_in(page, DEMO_ACCOUNTS["contact"][0], lang=lang)
    page.set_viewport_size(PHONE)
    page.goto(f"/day?date={day.isoformat()}")
    sizes = page.evaluate("""() => { const g = document.querySelector('.grid-scroll');
        return {page: document.documentElement.scrollWidth, screen: document.documentElement.clientWidth,
                grid: g.scrollWidth, box: g.clientWidth}; }""")
    assert sizes["page"] <= sizes["screen"], f"the page scrolls sideways: {sizes}"
    assert sizes["grid"] > sizes["box"], f"the grid scrolls inside its own box: {sizes}"
    slot = page.get_by_role("link", name=f"Book {MJOSA} 14:00–14:30")
    with page.expect_navigation():
        slot.click()  # scrolled into view inside the box
    page.locator("#end_time").fill("15:00")
    page.locator("#title").fill(unique("Mobilmøte"))
    submit(page, BOOKING_FORM)
    assert flash_texts(page) == [TEXT["confirmed"][lang]]

    page.locator("dl.details a").first.click()  # the space's week view
    page.wait_for_load_state()
    assert page.locator("table.grid--week").count() == 1
    week, year = day.isocalendar()[1], day.isocalendar()[0]
    assert page.locator("h1").inner_text() == f"{MJOSA}: {({'nb': 'uke', 'en': 'week'}[lang])} {week}, {year}"
    sizes = page.evaluate("() => ({page: document.documentElement.scrollWidth, "
                          "screen: document.documentElement.clientWidth})")
    assert sizes["page"] <= sizes["screen"], f"the week view scrolls sideways: {sizes}"
    check_page(page, "week-view")
