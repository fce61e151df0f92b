"""The coordinator's and the booker's daily work, in a real browser (issue 21): a grid that
never offers what the service refuses, long titles, limit messages that name the rule,
common lengths, booking on behalf, closures with their bookings, the lending desk, the audit
log as sentences, the compact menu, the front pages and the day sheet, the day and week
controls, the public feed's language and one Date header. Every page visited is checked
(``check_page``: axe-core WCAG 2.1 AA, one language only, screenshots at desktop and phone
width with no sideways scrolling)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from babel.dates import format_date

from tests.browser.booking_steps import (BOOKING_FORM, LANG_OFFSET, journey_day, open_booking_form, space_id,
                                         submit, today_in_oslo, unique)
from tests.browser.support import (DEMO_ACCOUNTS, DESKTOP, LANGUAGES, PHONE, check_page, flash_texts, sign_in,
                                   sign_out, switch_language)

MJOSA = "Mjøsa møterom"          # 15 minutes' preparation after each booking, at most 8 hours, 365 days ahead
VERKSTEDET = "Verkstedet"
KITS = "Fallsensor-sett"         # at most 28 days per loan


def field_error(page, field_id: str) -> str:
    """The message shown under a field (and linked from it)."""
    return page.locator(f"#{field_id}-error").inner_text()


def sign_in_as(page, email: str, lang: str) -> None:
    """Sign out whoever is signed in, and sign in as ``email``."""
    sign_out(page)
    sign_in(page, email, lang=lang)


def book(page, space: int, day, start: str, end: str, title: str) -> None:
    open_booking_form(page, space, day, start, end)
    page.locator("#title").fill(title)
    submit(page, BOOKING_FORM)


# --- the grid -----------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_grid_never_offers_a_slot_the_preparation_time_refuses_and_the_refusal_names_it(page, lang):
    day = journey_day(40, lang, weekday=1)
    sign_in(page, DEMO_ACCOUNTS["company"][0], lang=lang)
    page.goto("/bookings/new")
    mjosa = space_id(page, MJOSA)
    title = unique("Kundemøte")
    book(page, mjosa, day, "10:00", "11:00", title)
    assert page.locator("h1").inner_text() == title

    page.goto(f"/day?date={day.isoformat()}")
    grid = page.locator("table.grid--day")
    # 09:30–10:00 would need its 15 minutes' preparation until 10:15: not offered; 09:00 is.
    assert grid.get_by_role("link", name=f"Book {MJOSA} 09:30–10:00").count() == 0
    assert grid.get_by_role("link", name=f"Book {MJOSA} 09:00–09:30").count() == 1
    assert grid.get_by_role("link", name=f"Book {MJOSA} 11:30–12:00").count() == 1
    row = page.locator("table.grid--day tbody tr", has_text=MJOSA)
    assert row.locator("td.slot--gap").count() >= 1
    assert row.locator("td.slot--unavailable").first.inner_text() == {"nb": "Klargjøring", "en": "Preparation time"}[lang]
    legend = page.locator("ul.grid-legend").inner_text()
    for state in ({"nb": "Klargjøring", "en": "Preparation time"}, {"nb": "For nær neste booking",
                  "en": "Too close to the next booking"}, {"nb": "Utenfor åpningstiden", "en": "Outside opening hours"}):
        assert state[lang] in legend
    check_page(page, "day-view-preparation")

    # Asked for anyway (a link from elsewhere), the refusal names the preparation time.
    book(page, mjosa, day, "09:30", "10:00", unique("For tett"))
    message = page.locator("section.conflict p").first.inner_text()
    assert {"nb": "trenger 15 minutter klargjøring etter hver booking",
            "en": "needs 15 minutes' preparation after each booking"}[lang] in message


# --- titles and limits --------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_long_unbroken_title_wraps_everywhere_and_an_over_long_one_is_refused_with_a_message(page, lang):
    day = journey_day(41, lang, weekday=1)
    sign_in(page, DEMO_ACCOUNTS["academia"][0], lang=lang)
    page.goto("/bookings/new")
    mjosa = space_id(page, MJOSA)
    long_title = "https://example.org/" + unique("x").replace(" ", "") + "a" * 170  # 197 characters, no space
    book(page, mjosa, day, "13:00", "14:00", long_title)
    assert page.locator("h1").inner_text() == long_title
    check_page(page, "booking-detail-long-title")  # no sideways scrolling at desktop or phone width

    page.goto("/bookings/mine")
    table = page.locator("main .table-scroll").first
    fits = table.evaluate("el => el.scrollWidth <= el.clientWidth + 1")
    assert fits, "the table of my bookings is wider than the page: Time, Space and Status are pushed away"
    check_page(page, "bookings-mine-long-title")

    # 250 characters: the browser does not cut them silently; the server says what the limit is.
    open_booking_form(page, mjosa, day, "15:00", "16:00")
    assert page.locator("#title").get_attribute("maxlength") is None
    page.locator("#title").fill("b" * 250)
    assert len(page.locator("#title").input_value()) == 250
    submit(page, BOOKING_FORM)
    assert field_error(page, "title") == {"nb": "Tittelen kan ha høyst 200 tegn; denne har 250.",
                                          "en": "The title can be at most 200 characters long; this one has 250."}[lang]
    check_page(page, "booking-form-title-too-long")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_limit_messages_name_the_broken_rule_in_days_or_hours_under_the_right_field(page, lang):
    day = journey_day(42, lang, weekday=2)
    sign_in(page, DEMO_ACCOUNTS["hospital"][0], lang=lang)
    page.goto("/bookings/new")
    mjosa = space_id(page, MJOSA)

    # Ending ten years after the start: the rule broken is the length (at most 8 hours).
    open_booking_form(page, mjosa, day, "10:00", "11:00")
    page.locator("#title").fill(unique("Ti år"))
    page.locator("#end_date").fill((day + timedelta(days=3660)).isoformat())
    submit(page, BOOKING_FORM)
    end_message = field_error(page, "end_time")
    assert {"nb": "kan vare høyst 8 timer", "en": "can last at most 8 hours"}[lang] in end_message
    assert "years" not in end_message and "år" not in end_message
    assert page.locator("#start_time-error").count() == 0
    check_page(page, "booking-form-too-long")

    # Starting beyond the days one may book ahead: under the start, with the date in words.
    far = today_in_oslo() + timedelta(days=400)
    last = today_in_oslo() + timedelta(days=365)
    open_booking_form(page, mjosa, far, "10:00", "11:00")
    page.locator("#title").fill(unique("For tidlig ute"))
    submit(page, BOOKING_FORM)
    words = format_date(last, "d. MMMM yyyy" if lang == "nb" else "d MMMM yyyy", locale=lang)
    assert field_error(page, "start_time") == {
        "nb": f"{MJOSA} kan bookes høyst 365 dager fram i tid: siste dag en booking kan starte er {words}.",
        "en": f"{MJOSA} can be booked at most 365 days ahead: the last day to start is {words}."}[lang]

    # Equipment for ten years: the rule is "at most 28 days", under the end date.
    start = today_in_oslo() + timedelta(days=7)
    page.goto("/equipment-reservations/new")
    page.locator("#equipment_type").select_option(label=KITS)
    page.locator("#quantity").fill("1")
    page.locator("#start_date").fill(start.isoformat())
    page.locator("#start_time").fill("09:00")
    page.locator("#end_date").fill((start + timedelta(days=3650)).isoformat())
    page.locator("#end_time").fill("15:00")
    submit(page, "main form[action$='/equipment-reservations/new']")
    message = field_error(page, "end_date")
    assert {"nb": f"Et lån av {KITS} kan vare høyst 28 dager; dette ville vare",
            "en": f"A loan of {KITS} can last at most 28 days; this one would last"}[lang] in message
    check_page(page, "equipment-reserve-too-long")


# --- lengths and booking on behalf -------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_common_lengths_keep_the_grid_selection_and_staff_book_on_behalf_from_the_top(page, lang):
    day = journey_day(43, lang, weekday=3)
    sign_in(page, DEMO_ACCOUNTS["staff"][0], lang=lang)
    page.goto(f"/day?date={day.isoformat()}")
    with page.expect_navigation():
        page.get_by_role("link", name=f"Book {MJOSA} 10:00–10:30").click()
    # The grid's selection is kept; the common lengths are offered next to the end time.
    assert (page.locator("#start_time").input_value(), page.locator("#end_time").input_value()) == ("10:00", "10:30")
    assert page.locator("#length").input_value() == ""
    options = page.locator("#length option").all_inner_texts()
    assert options[1:] == {"nb": ["30 minutter", "1 time", "2 timer", "Halv dag (4 timer)", "Hel dag (8 timer)"],
                           "en": ["30 minutes", "1 hour", "2 hours", "Half day (4 hours)", "Whole day (8 hours)"]}[lang]
    page.locator("#length").select_option("120")
    assert page.locator("#end_time").input_value() == "12:00"

    # Staff see "on behalf of" first, before the space.
    order = page.evaluate("() => [...document.querySelectorAll('main form select')].map(s => s.id)")
    assert order.index("organisation") < order.index("space")
    page.locator("#organisation").select_option(label="Gjøvik kommune")
    check_page(page, "booking-form-staff")
    title = unique({"nb": "Workshop for kommunen", "en": "Workshop for the municipality"}[lang])
    page.locator("#title").fill(title)
    submit(page, BOOKING_FORM)
    assert flash_texts(page) == [{"nb": "Bookingen for Gjøvik kommune er bekreftet.",
                                  "en": "The booking for Gjøvik kommune is confirmed."}[lang]]
    assert page.locator("dl.details dd").first.inner_text().endswith("10:00–12:00")


# --- closures -----------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_closure_lists_its_bookings_to_move_or_cancel_and_shows_its_reason(page, lang):
    day = journey_day(44, lang, weekday=3)
    sign_in(page, DEMO_ACCOUNTS["contact"][0], lang=lang)
    page.goto("/bookings/new")
    verkstedet = space_id(page, VERKSTEDET)
    first, second = unique("Verksted A"), unique("Verksted B")
    book(page, verkstedet, day, "09:00", "10:00", first)
    first_url = page.url
    book(page, verkstedet, day, "13:00", "14:00", second)
    second_url = page.url

    sign_in_as(page, DEMO_ACCOUNTS["admin"][0], lang)
    page.goto("/admin/closures/new")
    page.locator("#space_id").select_option(label=VERKSTEDET)
    page.locator("#start_date").fill(day.isoformat())
    page.locator("#end_date").fill(day.isoformat())
    reason = unique({"nb": "Nytt gulv", "en": "New floor"}[lang])
    page.locator("#reason").fill(reason)
    submit(page, "main form.form")
    table = page.locator("table.closure-bookings")
    assert table.get_by_role("link", name=first, exact=True).count() == 1
    assert table.get_by_role("link", name=second, exact=True).count() == 1
    check_page(page, "closure-bookings")

    closure_url = page.url
    row = table.locator("tr", has_text=first)
    with page.expect_navigation():
        row.get_by_role("link", name={"nb": "Avbestill", "en": "Cancel"}[lang]).click()
    assert page.locator("#reason").input_value() == reason  # the closure's reason, offered
    submit(page, "main form.form")
    assert page.url == closure_url  # back to the closure's list
    assert flash_texts(page) == [{"nb": "Bookingen er avbestilt.", "en": "The booking is cancelled."}[lang]]
    assert page.locator("table.closure-bookings").get_by_role("link", name=first, exact=True).count() == 0

    page.goto(second_url)  # the booking not yet moved says why
    notice = page.locator(".closure-notice").inner_text()
    assert reason in notice
    check_page(page, "booking-detail-closure")
    page.goto(f"/day?date={day.isoformat()}")
    closed = page.locator("table.grid--day tbody tr", has_text=VERKSTEDET).locator("td.slot--closure").first
    assert reason in closed.inner_text()
    page.goto(first_url)
    assert page.locator("main .status").first.inner_text() == {"nb": "Avbestilt", "en": "Cancelled"}[lang]


# --- the lending desk ----------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_lending_desk_finds_a_loan_by_asset_tag_and_hands_out_and_takes_back_in_one_step(page, live_server,
                                                                                             lang):
    day = today_in_oslo() + timedelta(days=3 + LANG_OFFSET[lang])
    # A type of this journey's own: an early hand-out needs its unit free from now on, and the
    # demo types' units may be in cleaning after other journeys' returns.
    kit = unique("Testsett")
    token = live_server.flask("create-api-token", DEMO_ACCOUNTS["admin"][0]).strip()
    created = page.request.post("/api/v1/equipment", headers={"Authorization": f"Bearer {token}"}, data={
        "name": kit, "category": "sensor_kit", "max_loan_days": 28, "turnaround_hours": 24,
        "bookable_by": ["municipality", "hospital", "company", "academia", "host"], "requires_approval": False,
        "units": [{"asset_tag": kit.replace(" ", "-").upper() + "-1", "serial": "SN-" + kit.split()[1]}]})
    assert created.status == 201, created.text()
    email = live_server.create_user(f"{unique('desk').replace(' ', '-')}@samskap.test", "Dina Disk",
                                    organisation="Sykehuset Innlandet", locale=lang)
    sign_in(page, email, lang=lang)
    page.goto("/equipment-reservations/new")
    page.locator("#equipment_type").select_option(label=kit)
    page.locator("#quantity").fill("1")
    page.locator("#start_date").fill(day.isoformat())
    page.locator("#start_time").fill("09:00")
    page.locator("#end_date").fill((day + timedelta(days=1)).isoformat())
    page.locator("#end_time").fill("15:00")
    submit(page, "main form[action$='/equipment-reservations/new']")
    title = page.locator("h1").inner_text()
    assert re.fullmatch(rf"1 × {kit}, \S.*", title), title  # named by what it is, not "reservation 12"
    tag = page.locator("main table tbody th").first.inner_text()
    # The member's feed shows the reservation too.
    page.goto("/feeds")
    page.locator("#scope").select_option("mine")
    page.locator("#name").fill(unique("feed"))
    submit(page, "main form[action$='/feeds']")
    feed = page.request.get(page.locator("#new-feed-https").input_value()).text()
    assert f"SUMMARY:1 × {kit}" in feed

    sign_in_as(page, DEMO_ACCOUNTS["staff"][0], lang)
    page.goto("/equipment-reservations/desk")
    row = page.locator("tr.desk-row", has_text="Dina Disk")
    assert row.count() == 1
    text = row.inner_text()
    assert "Sykehuset Innlandet" in text and title in text and tag in text
    check_page(page, "equipment-desk-rows")

    page.locator("#desk-q").fill(tag)
    submit(page, "form.desk-search")
    found = page.locator("li.found-unit", has_text=tag)
    assert found.count() == 1 and title in found.inner_text()
    check_page(page, "equipment-desk-search")

    row = page.locator("tr.desk-row", has_text="Dina Disk")
    row.locator("input[name=note]").fill({"nb": "Alt med", "en": "All there"}[lang])
    with page.expect_navigation():
        row.get_by_role("button", name=re.compile({"nb": "^Lever ut", "en": "^Hand out"}[lang])).click()
    # It starts in three days: handing out early is confirmed first.
    assert page.locator("#early").count() == 1
    assert page.locator("#note").input_value() == {"nb": "Alt med", "en": "All there"}[lang]
    check_page(page, "equipment-hand-out-early")
    page.locator("#early").check()
    submit(page, "main form.form")
    assert page.url.endswith("/equipment-reservations/desk")
    [flash] = flash_texts(page)
    assert flash == {"nb": f"Levert ut: {title}, til Sykehuset Innlandet ({tag}).",
                     "en": f"Handed out: {title}, to Sykehuset Innlandet ({tag})."}[lang]

    out_row = page.locator("#desk-in tr.desk-row", has_text="Dina Disk")
    with page.expect_navigation():
        out_row.get_by_role("button", name=re.compile({"nb": "^Ta imot", "en": "^Take back"}[lang])).click()
    assert page.url.endswith("/equipment-reservations/desk")
    assert flash_texts(page)[0].startswith({"nb": f"Tatt imot: {title}.", "en": f"Taken back: {title}."}[lang])
    check_page(page, "equipment-desk")


# --- the audit log ---------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_audit_log_reads_as_sentences_with_links_and_filters_in_words(page, lang):
    day = journey_day(45, lang, weekday=1)
    sign_in(page, DEMO_ACCOUNTS["contact"][0], lang=lang)
    page.goto("/bookings/new")
    title = unique({"nb": "Revisjonsmøte", "en": "Audit meeting"}[lang])
    book(page, space_id(page, MJOSA), day, "10:00", "11:00", title)
    booking_path = page.url.split("127.0.0.1", 1)[1].split("/", 1)[1]

    sign_in_as(page, DEMO_ACCOUNTS["admin"][0], "nb" if lang == "en" else "en")
    switch_language(page, lang)  # a language switch is not a change of the person's data
    page.goto("/admin/audit")
    entry = page.locator("tr.audit-entry", has_text=title).first
    sentence = entry.locator(".audit-sentence").inner_text()
    assert sentence.startswith({"nb": f"Kari Kommune booket {MJOSA} for Gjøvik kommune, ",
                                "en": f"Kari Kommune booked {MJOSA} for Gjøvik kommune, "}[lang]), sentence
    assert "10:00–11:00" in sentence and "booking.create" not in page.locator("main table").inner_text()
    assert entry.get_by_role("link", name=title).get_attribute("href") == "/" + booking_path
    when = entry.locator(".audit-when").inner_text()
    assert not re.search(r"\d{4}-\d\d-\d\dT", when)  # local time in words, not UTC ISO
    first_sentences = page.locator(".audit-sentence").all_inner_texts()[:3]
    assert not any("Ada Administrator" in s and ("profil" in s or "profile" in s) for s in first_sentences)
    options = page.locator("#f-action option").all_inner_texts()
    assert {"nb": "Booking laget", "en": "Booking made"}[lang] in options
    check_page(page, "audit-log")

    page.locator("#f-action").select_option({"nb": "Booking laget", "en": "Booking made"}[lang])
    submit(page, "form.filters")
    assert page.locator("tr.audit-entry", has_text=title).count() == 1
    raw = page.request.get("/admin/audit?format=json&action=booking.create").json()
    assert any(e["action"] == "booking.create" and e["changes"]["title"][1] == title for e in raw["entries"])


# --- navigation and front pages -----------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_menu_is_one_line_on_desktop_and_a_compact_grouped_menu_on_a_phone(page, lang):
    sign_in(page, DEMO_ACCOUNTS["admin"][0], lang=lang)
    page.goto("/admin/")
    tops = page.evaluate("() => [...document.querySelectorAll('header nav a')].map(a => a.getBoundingClientRect().top)")
    assert len(tops) >= 9 and max(tops) - min(tops) < 2, f"the admin's menu wraps: {tops}"
    check_page(page, "admin-menu")

    page.set_viewport_size(PHONE)
    try:
        toggle = page.locator("button.nav-toggle")
        assert toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false"
        assert not page.locator("#site-nav").is_visible()
        height = page.evaluate("() => document.querySelector('.site-header').getBoundingClientRect().height")
        assert height <= 110, f"the header takes {height} px on a phone"
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true" and page.locator("#site-nav").is_visible()
        groups = [t.strip() for t in page.locator(".nav-group__label").all_text_contents()]
        assert groups[:3] == {"nb": ["Booking", "Utstyr", "Kalender"],
                              "en": ["Booking", "Equipment", "Calendar"]}[lang]
        with page.expect_navigation():
            page.locator("#site-nav").get_by_role("link", name={"nb": "Dagsoversikt", "en": "Day view"}[lang]).click()
        assert page.locator("button.nav-toggle").get_attribute("aria-expanded") == "false"
    finally:
        page.set_viewport_size(DESKTOP)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_member_starts_at_their_next_bookings_and_books_a_room_from_the_front_page(page, lang):
    day = journey_day(46, lang, weekday=4)
    sign_in(page, DEMO_ACCOUNTS["company"][0], lang=lang)
    page.goto("/bookings/new")
    title = unique({"nb": "Neste møte", "en": "Next meeting"}[lang])
    mjosa = space_id(page, MJOSA)
    book(page, mjosa, day, "08:00", "09:00", title)

    page.goto("/")
    assert page.locator("h1").inner_text() == {"nb": "Velkommen, Berit Bedrift", "en": "Welcome, Berit Bedrift"}[lang]
    upcoming = page.locator("section", has_text={"nb": "De neste bookingene dine", "en": "Your next bookings"}[lang])
    # The page lists the member's five soonest bookings: this one, unless other journeys of the same
    # run have booked five sooner ones as the same demo account.
    assert upcoming.get_by_role("link", name=title).count() == 1 or upcoming.locator("li").count() == 5
    check_page(page, "home-member")

    page.locator("#quick-space").select_option(str(mjosa))
    page.locator("#quick-date").fill(day.isoformat())
    page.locator("#quick-start").fill("13:00")
    page.locator("#quick-length").select_option("120")
    submit(page, "form.quick-book")
    assert page.locator("#space option:checked").inner_text().startswith(MJOSA)
    assert page.locator("#date").input_value() == day.isoformat()
    assert (page.locator("#start_time").input_value(), page.locator("#end_time").input_value()) == ("13:00", "15:00")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_staff_print_today_at_the_workshop_as_a_day_sheet(page, lang):
    day = journey_day(47, lang, weekday=2)
    sign_in(page, DEMO_ACCOUNTS["contact"][0], lang=lang)
    page.goto("/bookings/new")
    title = unique({"nb": "Dagsark-møte", "en": "Day sheet meeting"}[lang])
    book(page, space_id(page, MJOSA), day, "12:00", "13:00", title)

    sign_in_as(page, DEMO_ACCOUNTS["staff"][0], lang)
    page.goto("/today")
    assert page.locator("h1").inner_text().startswith({"nb": "I dag på verkstedet", "en": "Today at the workshop"}[lang])
    assert page.locator("#print-sheet").is_visible()
    for heading in ({"nb": "Utstyr som skal leveres ut", "en": "Equipment to hand out"},
                    {"nb": "Utstyr som skal tas imot", "en": "Equipment to take back"},
                    {"nb": "Venter på godkjenning", "en": "Waiting for approval"}):
        assert page.locator("h2", has_text=heading[lang]).count() == 1
    check_page(page, "day-sheet")
    page.goto(f"/today?date={day.isoformat()}")
    assert page.locator("table.day-sheet tr", has_text=title).count() == 1
    page.emulate_media(media="print")
    try:
        assert not page.locator("header.site-header").is_visible() and not page.locator("#print-sheet").is_visible()
    finally:
        page.emulate_media(media="screen")
    check_page(page, "day-sheet-day")


# --- day and week controls ---------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_day_view_controls_sit_in_one_row_and_weeks_are_picked_by_date(page, lang):
    sign_in(page, DEMO_ACCOUNTS["hospital"][0], lang=lang)
    page.goto("/day")
    boxes = page.evaluate("""() => ['#day-date', '#day-kind', 'form.date-picker button', 'nav.calendar-nav a.button']
        .map(s => document.querySelector(s).getBoundingClientRect()).map(r => ({top: r.top, bottom: r.bottom}))""")
    bottoms = [b["bottom"] for b in boxes]
    assert max(bottoms) - min(bottoms) < 3, f"the day view's controls are not in one row: {boxes}"
    assert abs(boxes[0]["top"] - boxes[1]["top"]) < 2
    check_page(page, "day-view-controls")

    page.goto("/bookings/new")
    mjosa = space_id(page, MJOSA)
    page.goto(f"/booking/spaces/{mjosa}/week")
    picker = page.locator("#week-input")
    assert picker.get_attribute("type") == "date"
    target = today_in_oslo() + timedelta(days=60)
    picker.fill(target.isoformat())
    submit(page, "form.date-picker")
    week = target.isocalendar()
    assert f"{week[1]}, {week[0]}" in page.locator("h1").inner_text()
    monday = target - timedelta(days=target.weekday())
    assert page.locator("table.grid--week thead a").first.get_attribute("href").endswith(monday.isoformat())
    check_page(page, "week-view-by-date")


# --- feeds, event pages, headers ---------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_public_feed_speaks_the_asked_language_event_dates_show_the_year_and_one_date_header(page, lang):
    calendar = page.request.get(f"/feeds/public.ics?lang={lang}").text()
    name = re.search(r"X-WR-CALNAME:(.*)", calendar).group(1).strip()
    assert name.startswith("Samskap – ") and ("rrangementer" in name if lang == "nb" else name.endswith("Public events"))
    description = re.search(r"X-WR-CALDESC:(.*)", calendar).group(1)
    assert description.startswith({"nb": "Åpne arrangementer", "en": "Public events at the"}[lang])

    page.goto("/events")
    switch_language(page, lang)
    # The next event's year: this year's or, in the last days of December, next year's.
    year = today_in_oslo().year
    first = page.locator("li.event").first
    assert re.search(rf"\b({year}|{year + 1})\b", first.locator(".event__meta").inner_text())
    with page.expect_navigation():
        first.locator("a").first.click()
    assert re.search(r"\b20\d\d\b", page.locator("dl.details dd").first.inner_text())
    check_page(page, "event-page")

    for path in ("/", "/events", "/static/css/app.css", f"/feeds/public.ics?lang={lang}"):
        headers = page.request.get(path).headers_array
        dates = [h for h in headers if h["name"].lower() == "date"]
        assert len(dates) == 1, f"{path} answers with {len(dates)} Date headers"
