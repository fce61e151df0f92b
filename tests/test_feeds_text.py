"""Single bookings are written straight to text (calendar.booking_event_text), not through
icalendar's objects, because they are most of every feed. The bytes must be exactly what icalendar
writes for the same event: random text with every character that is escaped or folded, in both
languages, masked and unmasked."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale

from booking.feeds.calendar import FeedOrigin, _booking_event, booking_event_text
from booking.feeds.services import FeedBooking, ShownBooking
from booking.models import BookingStatus, Purpose

TRICKY = ["\\", "\\N", "\\n", ";", ",", "\r\n", "\r", "\n", "^", ":", "\"", "æ", "ø", "å", "Å", "€", "😀", "e\u0301",
          "\t", " ", "x", "Møterom", "\ufeff", "https://example.test/a,b;c"]


def random_text(rng: random.Random, longest: int) -> str:
    bom = "\ufeff" * rng.choice([0, 0, 0, 1, 2])  # pasted text can start with byte-order marks
    return bom + "".join(rng.choice(TRICKY) if rng.random() < 0.4 else rng.choice("abcdefghij klmnopqrstuvwxyz0123456789")
                   for _ in range(rng.randrange(longest + 1)))


def random_instant(rng: random.Random) -> datetime:
    instant = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=rng.randrange(3 * 365 * 86400),
                                                                      microseconds=rng.randrange(10**6))
    return instant.astimezone(ZoneInfo("Europe/Oslo")) if rng.random() < 0.3 else instant


@pytest.mark.parametrize("locale", ["nb", "en"])
def test_a_single_booking_is_written_byte_for_byte_as_icalendar_writes_it(app, locale):
    rng = random.Random(f"feeds-text-{locale}")
    with app.test_request_context(), force_locale(locale):
        for n in range(1500):
            start = random_instant(rng)
            booking = FeedBooking(
                id=rng.randrange(1, 10**9), series_id=None, original_start=None, start=start,
                end=start + timedelta(minutes=rng.randrange(15, 600)), status=rng.choice(
                    [BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.CANCELLED]),
                purpose=rng.choice(list(Purpose)), title=random_text(rng, 120), description=random_text(rng, 400),
                sequence=rng.randrange(50), created_at=random_instant(rng), updated_at=random_instant(rng),
                space_name=random_text(rng, 60) or "Rom", space_location=random_text(rng, 40) if rng.random() < .5 else "",
                organisation_name=random_text(rng, 80))
            site = FeedOrigin(host=rng.choice(["samskap.test", "booking.helseinn.no"]),
                        base_url=rng.choice(["https://samskap.test", "http://127.0.0.1:5000/x"]),
                        address=rng.choice(["", "Helseinn, Teknologivegen 22, 2815 Gjøvik"]), tzid="Europe/Oslo")
            shown = ShownBooking(booking, rng.random() < 0.7)
            assert booking_event_text(shown, site) == _booking_event(shown, site).to_ical(), n
