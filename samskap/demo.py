"""Demo data for a newcomer (``flask --app app seed-demo``, run by ``make run``).

Each area seeds its own part (accounts: an organisation of each kind and the README's accounts;
spaces: kinds, spaces and equipment; booking: a quota and a few bookings next week) and registers
it here with :func:`register_demo`; the core knows no domain model. Parts run in ``order`` (the
layers' order, lowest first), each adding only what is missing: running it twice changes nothing.
"""
from __future__ import annotations

from typing import Callable

import sqlalchemy as sa

from samskap.extensions import db

_PARTS: dict[str, tuple[int, Callable[[], int], str | None]] = {}


def register_demo(name: str, seed: Callable[[], int], *, order: int, note: str | None = None) -> None:
    """``seed()`` adds the area's missing demo rows and returns how many it added; ``note`` is
    told to the operator after seeding (the demo password)."""
    _PARTS[name] = (order, seed, note)


def get_or_create(model, lookup: dict, defaults: dict) -> tuple[object, bool]:
    """The row of ``model`` matching ``lookup``, added (with ``defaults``) if missing; and whether it was."""
    obj = db.session.scalar(sa.select(model).filter_by(**lookup))
    if obj is not None:
        return obj, False
    obj = model(**lookup, **defaults)
    db.session.add(obj)
    db.session.flush()
    return obj, True


def seed() -> str:
    created = 0
    notes = []
    for _order, part, note in sorted(_PARTS.values(), key=lambda p: p[0]):
        created += part()
        db.session.flush()
        if note:
            notes.append(note)
    return " ".join([f"Demo data ready ({created} new records).", *notes])
