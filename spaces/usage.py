"""What uses the catalogue: the bookings and equipment reservations that hold a space, a closure's
period or a unit, as the area that owns them tells it.

The catalogue's pages show them (a space's week at a glance; the bookings an administrator must
move before a closure; the loans to look at before taking a unit out of service), but layers
point down: spaces cannot import booking. So booking registers its answers here at start-up
(:func:`register_usage`), and the pages ask these functions. Without a registered answer the
catalogue knows of no use (an empty week, no bookings, no loans).
"""
from __future__ import annotations

from datetime import date
from typing import Callable

_ANSWERS: dict[str, Callable] = {}
QUESTIONS = ("week_at_a_glance", "bookings_in_closure", "current_allocations", "coming_allocations")


def register_usage(**answers: Callable) -> None:
    """Answer some of :data:`QUESTIONS` (by keyword; a later registration replaces an earlier one)."""
    unknown = set(answers) - set(QUESTIONS)
    if unknown:
        raise TypeError(f"Unknown usage questions: {', '.join(sorted(unknown))}")
    _ANSWERS.update(answers)


def week_at_a_glance(viewer, space, monday: date) -> list:
    """The space's week day by day (``GlanceDay`` rows with their busy periods), as ``viewer`` may see it."""
    answer = _ANSWERS.get("week_at_a_glance")
    return answer(viewer, space, monday) if answer else []


def bookings_in_closure(closure) -> list:
    """Active bookings inside the closure's period, for the administrator to move or cancel."""
    answer = _ANSWERS.get("bookings_in_closure")
    return answer(closure) if answer else []


def current_allocations(units) -> dict:
    """``{unit_id: allocation}`` for each of ``units`` that is reserved or out right now."""
    answer = _ANSWERS.get("current_allocations")
    return answer(units) if answer else {}


def coming_allocations(unit) -> list:
    """The unit's reservations that have not ended (to look at before taking it out of service)."""
    answer = _ANSWERS.get("coming_allocations")
    return answer(unit) if answer else []
