"""Ids from the outside world (URLs, query strings, JSON, forms), parsed one way everywhere.

Database ids are 32-bit here (PostgreSQL ``integer``): anything outside 1..2**31-1, anything
that is not plain ASCII digits (``"²".isdigit()`` is true!), booleans and floats are "no id",
so a lookup answers 404/422 instead of overflowing in the database driver (a 500).
"""
from __future__ import annotations

from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1
MIN_INT = -(2**31)


def parse_int32(value) -> int | None:
    """A whole number that fits a 32-bit integer column: an int, or a string of ASCII digits
    with an optional sign; None for anything else (booleans, floats, "²", "٣", huge numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text[:1] in "+-" else text
        if not digits or not digits.isascii() or not digits.isdigit() or len(digits) > 10:
            return None
        number = int(text)
    else:
        return None
    return number if MIN_INT <= number <= MAX_ID else None


def parse_id(value) -> int | None:
    """The id in ``value`` (int or ASCII-digit string), or None when it cannot be one."""
    if isinstance(value, str) and value.strip()[:1] in "+-":
        return None
    number = parse_int32(value)
    return number if number is not None and number >= 1 else None


def coerce_id(value) -> int:
    """``coerce=`` for a form's select of ids: raises ValueError (a field error) for a non-id.
    0 stays 0: selects use it for "none chosen yet"."""
    if value == 0 or (isinstance(value, str) and value.strip() == "0"):
        return 0
    number = parse_id(value)
    if number is None:
        raise ValueError("not an id")
    return number


def parse_count(value, *, maximum: int = MAX_ID) -> int | None:
    """A non-negative whole number within ``maximum`` (ASCII digits or int), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text or not text.isascii() or not text.isdigit() or len(text) > 10:
            return None
        value = int(text)
    if not isinstance(value, int) or not 0 <= value <= maximum:
        return None
    return value


class IdConverter(IntegerConverter):
    """The ``<int:...>`` of every route. A number beyond the id columns' range cannot name a
    row; it becomes 0, which names none either (ids start at 1), so the view answers 404 as
    for any absent id, before a query could overflow. (Refusing it in routing would answer
    405 rather than 404 to a PATCH or DELETE: Werkzeug reports the methods of the rules
    whose pattern matched.)"""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        return number if number <= MAX_ID else 0
