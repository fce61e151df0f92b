"""Events with registration in a real browser (issue 18), in Norwegian: an organiser books a public
event and opens registration on its page; a visitor who is not signed in finds it on the events
page, registers, gets the confirmation link by email (a real worker and an aiosmtpd server), takes
the place with the link's button and receives the event's invitation; the organiser then sees the
person on the registrations page and marks them present at the door."""
from __future__ import annotations

from tests.browser.booking_steps import (BOOKING_FORM, booking_id_from_url, journey_day, open_booking_form,
                                         space_id, submit, unique)
from tests.browser.support import DEMO_ACCOUNTS, check_page, flash_texts, sign_in, sign_out
from tests.browser.test_notification_journeys import _mail_to, mailbox  # noqa: F401 (a fixture)
from tests.feeds_ics import parse_calendar

AUDITORIUM = "Simuleringslaben"


def _link(message) -> str:
    import re

    text = message.get_body(("plain",)).get_content()
    return re.search(r"https?://[^/\s]+(/events/registrations/[A-Za-z0-9_-]+)", text).group(1)


def test_a_visitor_registers_for_a_public_event_by_the_email_link_in_norwegian(page, live_server, mailbox):
    organiser, _name = DEMO_ACCOUNTS["hospital"]
    day = journey_day(23, "nb", weekday=3)
    title = unique("Frokostseminar")
    sign_in(page, organiser, lang="nb")
    page.goto("/bookings/new")
    open_booking_form(page, space_id(page, AUDITORIUM), day, "08:00", "10:00")
    page.locator("#title").fill(title)
    page.locator("input[name=visibility][value=public]").check()
    submit(page, BOOKING_FORM)
    booking_id = booking_id_from_url(page.url)

    page.get_by_role("link", name="Åpne påmelding").click()
    check_page(page, "registration-settings")
    page.locator("#capacity").fill("0")
    submit(page, "main form")
    assert page.locator("#capacity[aria-invalid=true]").count() == 1  # the error sits on its field
    assert page.locator(".error-summary a[href='#capacity']").count() == 1
    check_page(page, "registration-settings-error")
    page.locator("#capacity").fill("2")
    submit(page, "main form")
    assert flash_texts(page) == ["Påmeldingen er lagret."]
    assert "2 av 2 plasser ledige." in page.locator("#registration-title + p").inner_text()
    sign_out(page)

    page.goto("/events")
    check_page(page, "events", "nb")
    event = page.locator(".event", has_text=title)
    with page.expect_navigation():
        event.get_by_role("link", name="Meld deg på").click()
    check_page(page, "registration-form")
    page.locator("#name").fill("Åse Gjest")
    page.locator("#email").fill("ase.gjest@example.test")
    page.locator("#needs").fill("Glutenfri lunsj")
    submit(page, "main form")
    check_page(page, "registration-received")
    assert "ase.gjest@example.test" in page.locator("main").inner_text()

    confirm_mail = _mail_to(mailbox, "ase.gjest@example.test", "Bekreft påmeldingen din", title)
    page.goto(_link(confirm_mail))
    check_page(page, "registration-mine")
    with page.expect_navigation():
        page.get_by_role("button", name="Bekreft påmeldingen min").click()
    assert flash_texts(page) == ["Du har plass."]
    assert "Plass bekreftet" in page.locator("main").inner_text()
    placed = _mail_to(mailbox, "ase.gjest@example.test", "Du har plass", title)
    part = next(p for p in placed.walk() if p.get_content_type() == "text/calendar")
    [vevent] = parse_calendar(part.get_content().encode("utf-8")).walk("VEVENT")
    assert str(vevent["uid"]).startswith(f"booking-{booking_id}@")

    sign_in(page, organiser, lang="nb")
    page.goto(f"/bookings/{booking_id}/registrations")
    check_page(page, "registrations-list")
    row = page.locator("tbody tr", has_text="Åse Gjest")
    assert "Glutenfri lunsj" in row.inner_text() and "Plass bekreftet" in row.inner_text()
    row.locator("input[name=present]").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Lagre oppmøte").click()
    assert flash_texts(page) == ["Oppmøtet er lagret."]
    assert page.locator("tbody tr", has_text="Åse Gjest").locator("input[name=present]").is_checked()
    page.get_by_role("link", name="Oppmøteliste").click()
    check_page(page, "registrations-sheet")
    assert "Åse Gjest" in page.locator("table").inner_text()


def test_a_visitor_without_an_account_sees_and_erases_their_data_by_the_email_link_in_norwegian(
        page, live_server, mailbox):
    """The footer's "your data" page: the visitor asks for the link, opens it from the email, sees
    their registration with their needs, and erases it (the place is given up, the rest anonymised)."""
    import re

    organiser, _name = DEMO_ACCOUNTS["hospital"]
    day = journey_day(25, "nb", weekday=4)
    title = unique("Dialogmøte")
    address = f"gjest.{title.split()[-1]}@example.test"
    sign_in(page, organiser, lang="nb")
    page.goto("/bookings/new")
    open_booking_form(page, space_id(page, AUDITORIUM), day, "08:00", "10:00")
    page.locator("#title").fill(title)
    page.locator("input[name=visibility][value=public]").check()
    submit(page, BOOKING_FORM)
    page.get_by_role("link", name="Åpne påmelding").click()
    page.locator("#capacity").fill("5")
    submit(page, "main form")
    sign_out(page)

    page.goto("/events")
    with page.expect_navigation():
        page.locator(".event", has_text=title).get_by_role("link", name="Meld deg på").click()
    page.locator("#name").fill("Gry Gjest")
    page.locator("#email").fill(address)
    page.locator("#needs").fill("Tolk")
    submit(page, "main form")
    page.goto(_link(_mail_to(mailbox, address, "Bekreft påmeldingen din", title)))
    with page.expect_navigation():
        page.get_by_role("button", name="Bekreft påmeldingen min").click()

    with page.expect_navigation():
        page.get_by_role("link", name="Dine data, om du ikke har konto").click()
    check_page(page, "guest-data-request", "nb")
    page.locator("#email").fill(address)
    submit(page, "main form")
    check_page(page, "guest-data-requested", "nb")
    mail = _mail_to(mailbox, address, "Dine data i Samskap", "")
    text = mail.get_body(("plain",)).get_content()
    page.goto(re.search(r"https?://[^/\s]+(/my-data/[A-Za-z0-9_-]+)", text).group(1))
    check_page(page, "guest-data", "nb")
    main = page.locator("main").inner_text()
    assert title in main and "Gry Gjest" in main and "Tolk" in main
    with page.expect_navigation():
        page.get_by_role("button", name="Slett dataene mine").click()
    assert flash_texts(page) == ["Dataene dine er slettet: 1 påmeldinger avmeldt, 1 påmeldinger og "
                                 "0 gjesteoppføringer anonymisert."]
    check_page(page, "guest-data-erased", "nb")
    assert "Samskap har ingenting om denne adressen." in page.locator("main").inner_text()
