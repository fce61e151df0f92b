"""Steps and expectations shared by the booking, equipment and feed journeys.

The live server's database lives for the whole test run, so every journey books on days of
its own (``journey_day``) and gives what it creates a unique title (``unique``)."""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

OSLO = ZoneInfo("Europe/Oslo")
# The formats of the booking pages' ``localdt('day')``: "man. 23. nov. 10:00" in nb.
DAY_PATTERN = {"nb": "EEE d. MMM HH:mm", "en": "EEE d MMM HH:mm"}
LANG_OFFSET = {"nb": 0, "en": 1}


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def today_in_oslo() -> date:
    return datetime.now(OSLO).date()


def journey_day(week: int, lang: str, weekday: int = 0) -> date:
    """A weekday ``week`` weeks ahead (plus one for English), so that journeys never share a day."""
    today = today_in_oslo()
    monday = today - timedelta(days=today.weekday())
    return monday + timedelta(weeks=week + LANG_OFFSET[lang], days=weekday)


def local_day_time(day: date, clock: str, lang: str) -> str:
    """How the booking pages write a local date and time in ``lang`` (24-hour clock)."""
    hour, minute = map(int, clock.split(":"))
    return format_datetime(datetime.combine(day, time(hour, minute), OSLO), DAY_PATTERN[lang], locale=lang,
                           tzinfo=OSLO)


def booking_id_from_url(url: str) -> int:
    return int(url.rstrip("/").rsplit("/", 1)[1])


def submit(page, form_selector: str) -> None:
    """Press the form's submit button and wait for the page it leads to."""
    with page.expect_navigation():
        page.locator(f"{form_selector} button[type=submit]").first.click()


BOOKING_FORM = "main form[action$='/bookings/new']"


def open_booking_form(page, space_id: int, day: date, start: str, end: str) -> None:
    """Open the booking form as a link from the grids does (space and time filled in)."""
    page.goto(f"/bookings/new?space={space_id}&start={day.isoformat()}T{start}&end={day.isoformat()}T{end}")


def space_id(page, name: str) -> int:
    """The id of a space, read from the booking form's list (demo ids are not fixed)."""
    option = page.locator("#space option", has_text=name).first
    return int(option.get_attribute("value"))
