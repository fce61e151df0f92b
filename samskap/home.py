"""The signed-in front page, chosen by the areas that know what a user needs to see first.

The core cannot look into bookings or equipment (layers point one way), so the higher areas
register a front page here: ``register_home_page(fn, order)`` with ``fn(user)`` returning a
response (or rendered page) for that user, or None when it has nothing for them. The first
registered page (lowest order) that answers is shown; otherwise the plain front page.
"""
from __future__ import annotations

from typing import Callable

_PAGES: list[tuple[int, str, Callable]] = []


def register_home_page(fn: Callable, order: int = 50) -> None:
    name = f"{fn.__module__}.{fn.__qualname__}"
    if not any(existing == name for _o, existing, _f in _PAGES):
        _PAGES.append((order, name, fn))
        _PAGES.sort(key=lambda entry: entry[0])


def home_page(user):
    """The registered front page for ``user``, or None."""
    for _order, _name, fn in _PAGES:
        page = fn(user)
        if page is not None:
            return page
    return None
