"""Writing bookings so that the database has the last word on double booking.

The services look for clashes first (to answer with a friendly :class:`Conflict` naming them);
on PostgreSQL the exclusion constraint ``ex_bookings_no_overlap`` then refuses an overlapping
active booking even when two requests pass the check at the same moment. Its violation
(SQLSTATE 23P01) is caught around the flush, inside a SAVEPOINT so the session stays usable
(:func:`_write_guarded`), and becomes the same Conflict. A single new booking (the common case)
is written instead with ``INSERT ... ON CONFLICT ON CONSTRAINT ex_bookings_no_overlap DO
NOTHING`` (PostgreSQL only): the same constraint decides, its refusal returns no row, and no
savepoint is needed (see :func:`_write_one`). On SQLite every transaction starts with ``BEGIN
IMMEDIATE`` (see :mod:`samskap.database`), so check-then-insert is serialised.

Also here: a new Booking row from cleaned fields, and its "booking.create" audit entries."""
from __future__ import annotations

import enum
import functools
import json
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import make_transient_to_detached

from accounts.models import Organisation
from booking.models import Booking
from booking.notifications import bookings as notifications
from booking.services.conflicts import _conflict_message, find_clashes
from booking.services.text import _period_text
from samskap import audit
from samskap.database import is_collision, is_exclusion_violation
from samskap.errors import Conflict
from samskap.extensions import db
from samskap.timeutil import utcnow
from spaces.hours import is_within_opening_hours
from spaces.models import Space

OVERLAP_CONSTRAINT = "ex_bookings_no_overlap"
AUDITED_FIELDS = ("title", "description", "purpose", "visibility", "attendees", "start", "end", "space_id",
                  "status", "sequence")


def _write_guarded(viewer, space: Space, periods, apply) -> None:
    """Run ``apply`` (which adds or changes rows) and flush, inside a SAVEPOINT; the
    database's overlap refusal becomes a Conflict and the session stays usable.

    ``periods`` are the (start, end, exclude_ids) to report clashes for if the database
    refuses: another request committed an overlapping booking after our own check.
    The changes are made inside the savepoint on purpose: ``begin_nested()`` flushes
    pending changes before it starts, which would put them outside the savepoint.
    """
    try:
        with db.session.begin_nested():
            apply()
            db.session.flush()
    except DBAPIError as exc:
        # A collision: two requests wrote overlapping bookings at the same moment and each waited
        # in the constraint's check for the other (PostgreSQL ends one); it clashes like a refusal.
        if not (is_exclusion_violation(exc, OVERLAP_CONSTRAINT) or is_collision(exc)):
            raise
        raise _refused(viewer, space, periods) from None


def _refused(viewer, space: Space, periods) -> Conflict:
    """The Conflict for periods the database refused after our own check had passed them."""
    clashes = []
    for start, end, exclude_ids in periods:
        clashes += find_clashes(viewer, space, start, end, exclude_ids)
    message = _conflict_message(space, clashes) if clashes else _(
        "%(space)s was booked by someone else at the same moment; choose another time.", space=space.name)
    return Conflict(message, details={"conflicts": clashes})


@functools.cache
def _insert_unless_overlapping(messages: bool = False):
    """One statement that writes a booking, its "booking.create" audit entry and (``messages``) the
    outbox rows of its notifications, unless the exclusion constraint refuses the booking::

        WITH inserted AS (INSERT INTO bookings ... ON CONFLICT ON CONSTRAINT ex_bookings_no_overlap
                          DO NOTHING RETURNING *),
             audited AS (INSERT INTO audit_log ... SELECT ..., inserted.id, ... FROM inserted),
             outboxed AS (INSERT INTO outbox_messages ... SELECT message.kind, ...,
                          concat('booking:', inserted.id), jsonb_set(message.payload, ..., inserted.id)
                          FROM inserted JOIN json_populate_recordset(NULL::outbox_messages, :outbox_rows)
                          AS message ON true)
        SELECT * FROM inserted

    The constraint still decides; its refusal returns no row (and writes no audit entry and no
    message: both select FROM inserted) instead of raising. Every column is a bound parameter
    (see :func:`_column_values`); the outbox rows, made beforehand by
    :func:`booking.notifications.bookings.booking_made_rows`, are one JSON parameter, but for the
    new booking's id, which they take from ``inserted``: the reference and, in the payload,
    ``booking.id`` and ``booking_ids``. Built once (with and without messages), since building it
    costs more than running it.
    """
    from sqlalchemy.dialects.postgresql import JSONB, insert

    bookings, log = Booking.__table__, audit.AuditEntry.__table__
    inserted = (insert(bookings)
                .values({c.key: sa.bindparam(c.key, type_=c.type) for c in bookings.c if not c.primary_key})
                .on_conflict_do_nothing(constraint=OVERLAP_CONSTRAINT)
                .returning(*bookings.c)
                .cte("inserted"))
    entry = [c for c in log.c if not c.primary_key]
    audited = (sa.insert(log)
               .from_select([c.key for c in entry],
                            sa.select(*[inserted.c.id if c.key == "object_id"
                                        else sa.bindparam(f"audit_{c.key}", type_=c.type) for c in entry]))
               .cte("audited"))
    statement = sa.select(inserted).add_cte(audited)
    if not messages:
        return statement
    from samskap.mail import OutboxMessage

    outbox = OutboxMessage.__table__
    columns = [c for c in outbox.c if not c.primary_key]
    # The rows come as ONE parameter, a JSON array that PostgreSQL reads into outbox_messages' row type
    # (forty bound parameters cost the request more than the round trip this statement saves).
    message = (sa.func.json_populate_recordset(sa.literal_column("NULL::outbox_messages"),
                                               sa.cast(sa.bindparam("outbox_rows", type_=sa.Text), sa.JSON))
               .table_valued(*[sa.column(c.key, c.type) for c in columns]).alias("message"))

    def value(column: sa.Column):
        if column.key == "reference":
            return sa.func.concat(sa.literal_column("'booking:'"), inserted.c.id)
        if column.key == "payload":
            payload = sa.cast(message.c.payload, JSONB)
            payload = sa.func.jsonb_set(payload, sa.literal_column("'{booking,id}'::text[]"),
                                        sa.func.to_jsonb(inserted.c.id))
            payload = sa.func.jsonb_set(payload, sa.literal_column("'{booking_ids}'::text[]"),
                                        sa.func.jsonb_build_array(inserted.c.id))
            return sa.cast(payload, sa.JSON)
        return message.c[column.key]

    outboxed = (sa.insert(outbox)
                .from_select([c.key for c in columns],
                             sa.select(*[value(c) for c in columns]).select_from(sa.join(inserted, message, sa.true())))
                .cte("outboxed"))
    return statement.add_cte(outboxed)


def _json_value(value):
    """The JSON form of the outbox rows' datetimes and enums (json_populate_recordset reads them back)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"not JSON: {type(value).__name__}")


def _column_values(table: sa.Table, values: dict) -> dict:
    """``values`` completed with the default of every other column (what an INSERT leaving them
    out would store: the scalar or callable ``default=``, else NULL), the primary key excepted."""
    complete = {}
    for column in table.c:
        if column.primary_key:
            continue
        if column.key in values:
            complete[column.key] = values[column.key]
        elif column.default is None:
            complete[column.key] = None
        elif column.default.is_callable:
            complete[column.key] = column.default.arg(None)
        else:
            complete[column.key] = column.default.arg
    return complete


def _write_one(actor, space: Space, organisation: Organisation, start: datetime, end: datetime,
               fields: dict) -> tuple[Booking, bool]:
    """Write one new booking and its audit entries; the database's overlap refusal becomes a
    Conflict. Returns the booking and whether its notifications (``booking_made``) were recorded
    with it.

    On PostgreSQL one statement (:func:`_insert_unless_overlapping`): no savepoint, no unit of
    work flush, and concurrent overlapping inserts wait for each other (speculative insertion)
    instead of deadlocking in the constraint check. The same statement writes the outbox rows of
    the booking's notifications (made beforehand from the values about to be stored), so recording
    them costs no round trip. The row it returns becomes the booking, persistent in the session as
    if loaded. Elsewhere (SQLite serialises writers) the flush of :func:`_write_guarded`, and the
    caller records the notifications.
    """
    booking = _new_booking(space, start, end, fields)
    if db.session.get_bind().dialect.name != "postgresql":
        _write_guarded(actor, space, [(start, end, ())], lambda: db.session.add(booking))
        _record_creation(actor, booking)
        return booking, False
    values = _column_values(Booking.__table__, {key: getattr(booking, key) for key in (
        *fields, "start", "end", "blocked_until", "sequence", "opening_hours_overridden")})
    entry = audit.entry_values(actor, "booking.create", object_type=Booking.__tablename__,
                               **_creation_details(booking))
    entry["at"] = utcnow()
    # The messages say what is about to be stored (the snapshot reads these attributes).
    booking.created_at, booking.updated_at = values["created_at"], values["updated_at"]
    booking.organisation = organisation
    messages = notifications.booking_made_rows(actor, booking)
    parameters = {**values, **{f"audit_{key}": value for key, value in entry.items()}}
    if messages:
        parameters["outbox_rows"] = json.dumps(messages, default=_json_value)
    row = db.session.execute(_insert_unless_overlapping(bool(messages)), parameters).first()
    if row is None:
        raise _refused(actor, space, [(start, end, ())])
    for attribute in Booking.__mapper__.column_attrs:
        setattr(booking, attribute.key, row._mapping[attribute.columns[0].key])
    make_transient_to_detached(booking)  # every attribute as loaded; nothing left to flush
    db.session.add(booking)
    _record_override(actor, booking)
    return booking, True


def _new_booking(space: Space, start: datetime, end: datetime, fields: dict, **extra) -> Booking:
    # ``space`` as well as ``space_id``: the reply names the space, and a booking that only knew
    # the id would read it again (flushing the pending audit entry on the way).
    booking = Booking(start=start, end=end, blocked_until=end + timedelta(minutes=space.buffer_minutes or 0),
                      sequence=0, space=space, **fields, **extra)
    booking.opening_hours_overridden = not is_within_opening_hours(space.opening_hours, start, end)
    return booking


def _creation_details(booking: Booking) -> dict:
    """The changes and summary of a booking's "booking.create" audit entry."""
    return {"changes": {k: [None, getattr(booking, k)] for k in AUDITED_FIELDS if k != "sequence"},
            "summary": f"{booking.title} ({booking.status.value})"}


def _record_creation(actor, booking: Booking) -> None:
    audit.record(actor, "booking.create", booking, **_creation_details(booking))
    _record_override(actor, booking)


def _record_override(actor, booking: Booking) -> None:
    if booking.opening_hours_overridden:
        audit.record(actor, "booking.override_opening_hours", booking,
                     summary=f"booked outside opening hours: {_period_text(booking.start, booking.end)}")
