"""The one overlap rule (samskap.periods): half-open periods, the same answer in Python, in SQL
comparisons and, on PostgreSQL, as a range overlap."""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from samskap.extensions import db
from samskap.periods import overlaps, overlaps_clause, ranges_overlap
from spaces.models import Closure
from tests.conftest import BOTH

NINE = datetime(2026, 3, 10, 9, tzinfo=timezone.utc)


def at(hours: float) -> datetime:
    return NINE + timedelta(hours=hours)


# [09:00, 10:00) against another period, and whether they overlap.
CASES = [
    ((at(-2), at(-1)), False),      # well before
    ((at(-1), at(0)), False),       # ends as it starts: touching is not overlapping
    ((at(-1), at(0.5)), True),      # runs into it
    ((at(0.25), at(0.75)), True),   # inside it
    ((at(0), at(1)), True),         # the same period
    ((at(-1), at(2)), True),        # around it
    ((at(0.5), at(2)), True),       # runs out of it
    ((at(1), at(2)), False),        # starts as it ends
    ((at(3), at(4)), False),        # well after
]


@pytest.mark.parametrize("other, expected", CASES)
def test_two_periods_overlap_when_each_starts_before_the_other_ends(other, expected):
    assert overlaps(at(0), at(1), *other) is expected
    assert overlaps(*other, at(0), at(1)) is expected


def test_numbers_follow_the_same_rule():
    assert overlaps(0, 10, 9.5, 20) and not overlaps(0, 10, 10, 20)


@BOTH
def test_the_sql_clause_finds_the_rows_the_python_rule_names(app, backend):
    closures = [Closure(start=start, end=end, reason=f"case {i}") for i, ((start, end), _) in enumerate(CASES)]
    db.session.add_all(closures)
    db.session.flush()
    expected = {closure.id for closure, (_, overlapping) in zip(closures, CASES) if overlapping}

    def found(condition) -> set[int]:
        return set(db.session.scalars(sa.select(Closure.id).where(condition)))

    assert found(overlaps_clause(Closure.start, Closure.end, at(0), at(1))) == expected
    # The window as bound parameters, as the queries built once give it: the same answer.
    assert found(overlaps_clause(Closure.start, Closure.end, sa.bindparam("s", at(0), type_=Closure.start.type),
                                 sa.bindparam("e", at(1), type_=Closure.start.type))) == expected
    if backend == "postgresql":
        assert found(ranges_overlap(Closure.start, Closure.end, at(0), at(1))) == expected
