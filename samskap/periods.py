"""The one rule for when two periods of time overlap, in Python and in SQL.

Every period is half-open, ``[start, end)``: it holds its start and not its end, so a booking
that ends at 10:00 and the next that starts at 10:00 merely touch and do not overlap. Two such
periods overlap exactly when each starts before the other ends. The database's exclusion
constraints (``tstzrange(start, blocked_until, '[)') &&``) hold the same rule.

- :func:`overlaps`: for values in Python (datetimes, or numbers).
- :func:`overlaps_clause`: the SQL condition that a row's period overlaps a given one.
- :func:`ranges_overlap`: the same on PostgreSQL as a range overlap, the form a GiST index on the
  period (such as the exclusion constraints' own) answers from the window alone.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

HALF_OPEN = "'[)'"


def overlaps(start, end, other_start, other_end) -> bool:
    """Whether ``[start, end)`` and ``[other_start, other_end)`` share an instant."""
    return start < other_end and other_start < end


def overlaps_clause(start_column, end_column, start, end):
    """SQL: the period ``[start_column, end_column)`` overlaps ``[start, end)`` (values, bound
    parameters or other columns)."""
    return sa.and_(start_column < end, end_column > start)


def ranges_overlap(start_column, end_column, start, end):
    """SQL for PostgreSQL: ``tstzrange(start_column, end_column, '[)') && tstzrange(start, end, '[)')``.

    The same answer as :func:`overlaps_clause` for non-empty periods (an empty range overlaps
    nothing; PostgreSQL refuses a range that ends before it starts, so callers ask this of a
    non-empty window), asked in the form that a GiST index on the column side's range serves. Datetimes
    given for ``start`` and ``end`` are bound with ``start_column``'s type."""
    if isinstance(start, datetime):
        start = sa.literal(start, start_column.type)
    if isinstance(end, datetime):
        end = sa.literal(end, start_column.type)
    period = sa.func.tstzrange(start_column, end_column, sa.literal_column(HALF_OPEN))
    return period.op("&&")(sa.func.tstzrange(start, end, sa.literal_column(HALF_OPEN)))
