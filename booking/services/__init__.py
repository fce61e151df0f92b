"""Booking use cases: book, change, cancel, approve and reject; conflicts, availability and
suggestions. Browser pages and the JSON API both call these, so every rule lives here.

Services take the acting user explicitly, validate every rule, add and flush, record the
audit entry and raise domain errors with messages meant for people; the caller commits.

The functions live in one module per question; this package gathers the ones other areas call
(``from booking import services; services.book_space(...)``):

- :mod:`.create`: booking a space once or as a series (``book_space``), with fair use and equipment
- :mod:`.changes`: changing, cancelling, approving and rejecting a booking
- :mod:`.availability`: busy periods, suggested free times, free and bookable spaces
- :mod:`.conflicts`: what clashes with a period (the overlap queries) and how a refusal reads
- :mod:`.writes`: writing bookings so that the database's exclusion constraint has the last word
- :mod:`.rules`: a space's rules for a period (hours, length, days ahead, who may book it)
- :mod:`.cleaning`: input checked field by field, and the status, purpose and visibility labels
- :mod:`.text`: instants and periods as replies and messages write them
"""
from booking.recurrence import Recurrence
from booking.services.availability import (FEW_SPACES, blocking_rows, bookable_spaces, busy_periods,
                                           busy_periods_by_space, free_spaces, suggest_free_slots)
from booking.services.changes import approve_booking, cancel_booking, reject_booking, update_booking
from booking.services.conflicts import blocked_overlaps, find_clashes, find_conflicts
from booking.services.create import BookingRequest, BookingResult, book_space
from booking.services.text import iso
from samskap.ids import MAX_ID

__all__ = [
    "FEW_SPACES", "MAX_ID", "BookingRequest",
    "BookingResult", "Recurrence", "approve_booking", "blocked_overlaps", "blocking_rows",
    "book_space", "bookable_spaces", "busy_periods", "busy_periods_by_space", "cancel_booking", "find_clashes",
    "find_conflicts", "free_spaces", "iso", "reject_booking", "suggest_free_slots", "update_booking",
]
