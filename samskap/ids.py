"""Ids from the outside world (URLs, query strings, JSON, forms), parsed one way everywhere.

Database ids are 32-bit here (PostgreSQL ``integer``): anything outside 1..2**31-1, anything
that is not plain ASCII digits (``"²".isdigit()`` is true!), booleans and floats are "no id",
so a lookup answers 404/422 instead of overflowing in the database driver (a 500).
"""
from __future__ import annotations

from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1


def parse_id(value) -> int | None:
    """The id in ``value`` (int or ASCII-digit string), or None when it cannot be one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if not text or not text.isascii() or not text.isdigit() or len(text) > 10:
            return None
        number = int(text)
    else:
        return None
    return number if 1 <= number <= MAX_ID else None


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
    """``<int:...>`` in every route: only ids the database can hold match (others are 404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min if min is not None else 0,
                         max=max if max is not None else MAX_ID, signed=signed)
