"""Count the SQL statements a block of code sends, to show a page's cost does not grow with its rows."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from samskap.extensions import db


@contextmanager
def counted_statements():
    """Yields a one-item list holding the number of statements sent while the block runs."""
    count = [0]

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        count[0] += 1

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield count
    finally:
        event.remove(engine, "before_cursor_execute", before_cursor_execute)
