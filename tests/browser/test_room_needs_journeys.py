"""What the room needs (issue 18) in a real browser: an administrator adds a required "room layout"
field for a kind of space; a member booking a room of that kind is asked for it, is told (linked
to the field) when it is left out, chooses one, invites a guest, and finds both on the booking.
Every page is checked (axe-core WCAG 2.1 AA, one language, screenshots)."""
from __future__ import annotations

import pytest

from tests.browser.booking_steps import BOOKING_FORM, journey_day, open_booking_form, submit, unique
from tests.browser.support import DEMO_ACCOUNTS, LANGUAGES, check_page, flash_texts, sign_in, sign_out

TEXT = {
    "confirmed": {"nb": "Bookingen din er bekreftet.", "en": "Your booking is confirmed."},
    "saved": {"nb": "Feltet {} er lagret.", "en": "The field {} is saved."},
    "add_for": {"nb": "Legg til et felt for {}", "en": "Add a field for {}"},
    "required": {"nb": "«{}» må fylles ut for {}.", "en": "'{}' is required for {}."},
    "also": {"nb": "Deltar også", "en": "Also taking part"},
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_required_room_layout_is_asked_for_in_the_booking_form_and_shown_on_the_booking(page, live_server, lang):
    # A kind of space and a room of this journey's own (other journeys book the demo rooms).
    suffix = unique("x").split()[-1]
    token = live_server.flask("create-api-token", DEMO_ACCOUNTS["admin"][0]).strip()
    headers = {"Authorization": f"Bearer {token}"}
    kind = page.request.post("/api/v1/space-kinds", headers=headers, data={
        "name_nb": f"Verkstedsal {suffix}", "name_en": f"Workshop hall {suffix}"})
    assert kind.status == 201, kind.text()
    kind_name = {"nb": f"Verkstedsal {suffix}", "en": f"Workshop hall {suffix}"}[lang]
    room_name = unique("Idéverkstedet")
    space = page.request.post("/api/v1/spaces", headers=headers, data={
        "name": room_name, "kind": kind.json()["code"], "capacity": 30,
        "bookable_by": ["municipality", "hospital", "company", "academia", "host"]})
    assert space.status == 201, space.text()

    # The administrator adds the field on the admin page.
    sign_in(page, DEMO_ACCOUNTS["admin"][0], lang=lang)
    page.goto("/admin/booking-fields")
    check_page(page, "admin-booking-fields")
    with page.expect_navigation():
        page.get_by_role("link", name=TEXT["add_for"][lang].format(kind_name)).click()
    label = {"nb": f"Oppsett av rommet {suffix}", "en": f"Room layout {suffix}"}[lang]
    page.locator("#label_nb").fill(f"Oppsett av rommet {suffix}")
    page.locator("#label_en").fill(f"Room layout {suffix}")
    page.locator("#code").fill("layout")
    page.locator("#field_type").select_option("choice")
    page.locator("#choices").fill("u_shape | U-form | U-shape\nislands | Verkstedøyer | Workshop islands")
    page.locator("#required").check()
    check_page(page, "admin-booking-field-form")
    submit(page, "main form")
    assert flash_texts(page) == [TEXT["saved"][lang].format(label)]
    sign_out(page)

    # A member books the room: the field is there, required, and only for this kind of room.
    sign_in(page, DEMO_ACCOUNTS["company"][0], lang=lang)
    day = journey_day(7, lang, weekday=2)
    open_booking_form(page, space.json()["id"], day, "10:00", "12:00")
    field = page.get_by_label(label)
    # Only the fields of this room's kind show (other journeys' kinds have fields of their own).
    assert page.locator("#booking-fields fieldset:not([hidden])").count() == 1
    assert field.is_visible() and field.get_attribute("required") is not None
    page.locator("#title").fill(unique("Idédugnad"))
    page.locator("#participant_people").fill("Gina Gjest <gina.gjest@example.no>")
    submit(page, BOOKING_FORM)
    message = TEXT["required"][lang].format(label, room_name)
    summary_link = page.locator("#error-summary a", has_text=message)
    assert summary_link.count() == 1
    field_id = field.get_attribute("id")
    assert summary_link.get_attribute("href") == f"#{field_id}"
    assert f"{field_id}-error" in (page.locator(f"#{field_id}").get_attribute("aria-describedby") or "")
    check_page(page, "booking-form-room-needs-error")

    page.locator(f"#{field_id}").select_option("islands")
    submit(page, BOOKING_FORM)
    assert flash_texts(page) == [TEXT["confirmed"][lang]]
    details = page.locator("dl.details").inner_text()
    assert label in details and {"nb": "Verkstedøyer", "en": "Workshop islands"}[lang] in details
    assert "Gina Gjest" in details
    check_page(page, "booking-detail-room-needs")
