"""Equipment and calendar-feed journeys in a real browser: reserve two sensor kits for a
two-week pilot, staff hand equipment out and take it back at the lending desk, and a member
makes a calendar feed and copies its address. Every page visited is checked (``check_page``)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.browser.booking_steps import LANG_OFFSET, journey_day, submit, today_in_oslo, unique
from tests.browser.support import DEMO_ACCOUNTS, LANGUAGES, check_page, flash_texts, sign_in

KITS = "Fallsensor-sett"
VR = "VR-sett for opplæring"
CAMERA = "Digitalt tilsyn (kamera)"
# The desk journey hands a unit out early and takes it back, which leaves it in cleaning; each
# language therefore lends its own type, so one run's cleaning never blocks the other's hand-out.
DESK_TYPE = {"nb": VR, "en": CAMERA}
RESERVE_FORM = "main form[action$='/equipment-reservations/new']"


def fill_reservation(page, type_name: str, quantity: int, start_day, end_day, start="09:00", end="15:00",
                     purpose: str = "") -> None:
    page.locator("#equipment_type").select_option(label=type_name)
    page.locator("#quantity").fill(str(quantity))
    page.locator("#start_date").fill(start_day.isoformat())
    page.locator("#start_time").fill(start)
    page.locator("#end_date").fill(end_day.isoformat())
    page.locator("#end_time").fill(end)
    page.locator("#purpose").fill(purpose)


def unit_tags(page) -> list[str]:
    return page.locator("main table tbody th").all_inner_texts()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_member_reserves_two_sensor_kits_for_a_two_week_pilot(page, lang):
    start = journey_day(30 + 2 * LANGUAGES.index(lang), lang)  # a Monday; two weeks to the Friday after next
    end = start + timedelta(days=11)
    sign_in(page, DEMO_ACCOUNTS["contact"][0], lang=lang)
    page.locator("header nav").get_by_role("link", name={"nb": "Mitt utstyr", "en": "My equipment"}[lang],
                                           exact=True).click()
    check_page(page, "equipment-mine")
    with page.expect_navigation():
        page.locator("main a.button--primary").click()
    assert page.locator("h1").inner_text() == {"nb": "Reserver utstyr", "en": "Reserve equipment"}[lang]
    check_page(page, "equipment-reserve")

    purpose = unique({"nb": "Pilot med fallsensorer", "en": "Fall sensor pilot"}[lang])
    fill_reservation(page, KITS, 2, start, end, purpose=purpose)
    submit(page, RESERVE_FORM)
    tags = unit_tags(page)
    assert len(tags) == 2 and all(t.startswith("FALL-") for t in tags)
    assert flash_texts(page) == [{"nb": "Reservert. Dine enheter: {}.", "en": "Reserved. Your units: {}."}[lang]
                                 .format(", ".join(tags))]
    facts = page.locator("dl.equipment-facts").inner_text()
    assert f"{KITS} × 2" in facts and purpose in facts
    check_page(page, "equipment-detail")

    # Asking for five more for the same fortnight: only four are free, and the page says so.
    page.goto("/equipment-reservations/new")
    fill_reservation(page, KITS, 5, start, end)
    submit(page, RESERVE_FORM)
    shortage = page.locator("section.equipment-shortage")
    assert {"nb": "Ledige i perioden du valgte: 4 av 5.",
            "en": "Free for the period you chose: 4 of 5."}[lang] in shortage.inner_text()
    assert page.locator(".error-summary a[href='#quantity']").count() == 1  # the shortage is linked to the field
    assert page.locator("#quantity").get_attribute("aria-invalid") == "true"
    check_page(page, "equipment-reserve-shortage")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_staff_hand_equipment_out_and_take_it_back(page, lang):
    day = today_in_oslo() + timedelta(days=1 + LANG_OFFSET[lang])  # within the desk's coming seven days
    sign_in(page, DEMO_ACCOUNTS["staff"][0], lang=lang)
    page.goto("/equipment-reservations/new")
    purpose = unique("Opplæring")
    fill_reservation(page, DESK_TYPE[lang], 1, day, day, start="08:00", end="16:00", purpose=purpose)
    submit(page, RESERVE_FORM)
    reservation_url = page.url
    tag = unit_tags(page)[0]

    page.locator("header nav").get_by_role("link", name={"nb": "Utlån", "en": "Lending desk"}[lang]).click()
    row = page.locator("main table tbody tr", has_text=tag).filter(has_text=DESK_TYPE[lang])
    assert row.count() >= 1
    check_page(page, "equipment-desk")
    page.goto(reservation_url)

    with page.expect_navigation():
        page.locator("main .equipment-actions a", has_text={"nb": "Lever ut", "en": "Hand out"}[lang]).click()
    assert tag in page.locator("main table").inner_text()
    check_page(page, "equipment-check-out")
    page.locator("#note").fill({"nb": "Alt i orden, lader med.", "en": "All fine, charger included."}[lang])
    if page.locator("#early").count():  # the reservation starts tomorrow: handing out early is confirmed
        page.locator("#early").check()
    submit(page, "main form.form")
    [flash] = flash_texts(page)
    assert flash.startswith({"nb": "Levert ut: 1 × ", "en": "Handed out: 1 × "}[lang]) and f"({tag})." in flash
    assert page.locator("dl.equipment-facts .status").inner_text() == {"nb": "Levert ut", "en": "Handed out"}[lang]

    with page.expect_navigation():
        page.locator("main .equipment-actions a", has_text={"nb": "Ta imot", "en": "Take back"}[lang]).click()
    check_page(page, "equipment-check-in")
    page.locator("#note").fill({"nb": "Ripe i glasset.", "en": "Scratched lens."}[lang])
    submit(page, "main form.form")
    flashes = flash_texts(page)
    assert flashes[0].startswith({"nb": "Tatt imot: 1 × ", "en": "Taken back: 1 × "}[lang])
    assert {"nb": "Hver enhet er sperret for rengjøring til ",
            "en": "Each unit is blocked for cleaning until "}[lang] in flashes[0]
    assert page.locator("dl.equipment-facts .status").inner_text() == {"nb": "Levert inn", "en": "Returned"}[lang]
    check_page(page, "equipment-returned")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_member_creates_a_feed_and_copies_its_address(page, live_server, lang):
    from playwright.sync_api import expect  # waits for the copy to finish (the clipboard answers later)

    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    email = live_server.create_user(f"{unique('feed').replace(' ', '-')}@samskap.test", "Frida Feed",
                                    organisation="NTNU Gjøvik", locale=lang)
    sign_in(page, email, lang=lang)
    page.locator("header nav").get_by_role("link", name={"nb": "Kalenderfeeder", "en": "Calendar feeds"}[lang]).click()
    check_page(page, "feeds")
    page.locator("#scope").select_option("mine")
    name = unique({"nb": "Mine bookinger i Samskap", "en": "My Samskap bookings"}[lang])
    page.locator("#name").fill(name)
    submit(page, "main form[action$='/feeds']")
    address = page.locator("#new-feed-https")
    url = address.input_value()
    assert url.startswith(live_server.url + "/feeds/") and url.endswith(".ics")
    assert page.locator("table tbody th", has_text=name).count() == 1
    assert page.locator("#name").input_value() == "", "the create form starts afresh"

    copy = page.locator("#new-feed-https ~ button.feed-copy")
    assert copy.inner_text() == {"nb": "Kopier", "en": "Copy"}[lang]
    copy.click()
    expect(page.locator("#new-feed-https ~ .feed-copy-status")).to_have_text({"nb": "Kopiert", "en": "Copied"}[lang])
    assert page.evaluate("() => navigator.clipboard.readText()") == url
    check_page(page, "feeds-new")

    feed = page.request.get(url)
    assert feed.status == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert feed.text().startswith("BEGIN:VCALENDAR")
