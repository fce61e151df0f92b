"""SQL building blocks that read the same on SQLite and PostgreSQL.

Reports aggregate in the database. Hours are real elapsed time: every instant is turned into
seconds since 1970 UTC (``epoch_seconds``) and clipped to a bucket's UTC bounds, so a booking
across midnight or a DST change counts what it really lasted.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from samskap.timeutil import UTCDateTime


class epoch_seconds(FunctionElement):
    """Seconds since 1970-01-01T00:00Z of a UTC timestamp column, as a float."""

    type = sa.Float()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds)
def _epoch_default(element, compiler, **kw):  # PostgreSQL (timestamptz)
    return "date_part('epoch', %s)" % compiler.process(element.clauses, **kw)


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):  # stored as naive UTC text
    return "((julianday(%s) - 2440587.5) * 86400.0)" % compiler.process(element.clauses, **kw)


class least(FunctionElement):
    type = sa.Float()
    inherit_cache = True
    name = "least"


class greatest(FunctionElement):
    type = sa.Float()
    inherit_cache = True
    name = "greatest"


@compiles(least)
def _least_default(element, compiler, **kw):
    return "least(%s)" % compiler.process(element.clauses, **kw)


@compiles(greatest)
def _greatest_default(element, compiler, **kw):
    return "greatest(%s)" % compiler.process(element.clauses, **kw)


@compiles(least, "sqlite")
def _least_sqlite(element, compiler, **kw):
    return "min(%s)" % compiler.process(element.clauses, **kw)


@compiles(greatest, "sqlite")
def _greatest_sqlite(element, compiler, **kw):
    return "max(%s)" % compiler.process(element.clauses, **kw)


def epoch(value: datetime) -> float:
    return value.timestamp()


def bucket_table(buckets, name: str = "buckets", lower_bound_seconds: float = 0.0, natural_starts=None):
    """The buckets as a small derived table: ``idx``, UTC bounds ``start_at``/``end_at`` (compared with
    indexed columns), ``low_at`` (``start_at`` minus the longest counted booking: lets the database
    bound an index range scan of ``start``), the bounds as epoch seconds ``s``/``e``, and ``natural``:
    the local wall-clock start of the whole day, week, month or year (also of a bucket the period
    cuts), which PostgreSQL's ``date_trunc`` of a local time equals."""
    from datetime import timedelta

    selects = [
        sa.select(
            sa.literal(i, sa.Integer()).label("idx"),
            sa.literal(b.start, UTCDateTime()).label("start_at"),
            sa.literal(b.end, UTCDateTime()).label("end_at"),
            sa.literal(b.start - timedelta(seconds=lower_bound_seconds), UTCDateTime()).label("low_at"),
            sa.literal(epoch(b.start), sa.Float()).label("s"),
            sa.literal(epoch(b.end), sa.Float()).label("e"),
            sa.literal(natural_starts[i] if natural_starts else None, sa.DateTime()).label("natural"),
        )
        for i, b in enumerate(buckets)
    ]
    union = selects[0] if len(selects) == 1 else sa.union_all(*selects)
    return union.cte(name)


def clipped_seconds(start_col, end_col, bucket):
    """Seconds of [start, end) inside the bucket (never negative)."""
    return greatest(least(epoch_seconds(end_col), bucket.c.e) - greatest(epoch_seconds(start_col), bucket.c.s), 0.0)
