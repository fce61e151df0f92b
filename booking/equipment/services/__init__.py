"""Equipment reservations: reserve specific units, decide, cancel, check out and check in.

The use cases are split by the question they answer; import from here, which keeps the
public names in one list:

* :mod:`.rules`: input cleaning and the rules every use case shares (the loan's period,
  the borrowing organisation, staff only, the audit record of a change);
* :mod:`.allocation`: free units, when enough are free, holding specific units (conflicts);
* :mod:`.reservations`: reserve (alone or for a room booking), move with the booking,
  cancel, approve, reject;
* :mod:`.desk`: hand out, take back, find a loan or a unit at the lending desk;
* :mod:`.queries`: lists of reservations and the units × days timeline.

The words for statuses are in :mod:`booking.labels`.
"""
from booking.equipment.services.allocation import (ALLOCATION_CONSTRAINT, allocated_units, earliest_free,
                                                   format_local, free_units)
from booking.equipment.services.desk import (SEARCH_MAX, FoundUnit, ReturnReceipt, check_in, check_out,
                                             find_units, matches_desk_filter, reservation_title)
from booking.equipment.services.queries import (TimelineCell, TimelineRow, desk_reservations,
                                                get_visible_reservation, overdue_reservations,
                                                pending_reservations, timeline, visible_reservations)
from booking.equipment.services.reservations import (approve_reservation, cancel_for_booking,
                                                     cancel_reservation, move_for_booking,
                                                     reject_reservation, reserve_equipment,
                                                     reserve_for_booking)
from booking.equipment.services.rules import (CANCELLABLE_STATUSES, HOLDING_STATUSES, NOTE_MAX, PAST_GRACE,
                                              PURPOSE_MAX, as_id)

__all__ = [
    "ALLOCATION_CONSTRAINT", "CANCELLABLE_STATUSES", "HOLDING_STATUSES", "NOTE_MAX", "PAST_GRACE", "PURPOSE_MAX",
    "SEARCH_MAX", "FoundUnit", "ReturnReceipt", "TimelineCell", "TimelineRow", "allocated_units",
    "approve_reservation", "as_id", "cancel_for_booking", "cancel_reservation", "check_in", "check_out",
    "desk_reservations", "earliest_free", "find_units", "format_local", "free_units",
    "get_visible_reservation", "matches_desk_filter", "move_for_booking", "overdue_reservations",
    "pending_reservations", "reject_reservation", "reservation_title", "reserve_equipment", "reserve_for_booking",
    "timeline", "visible_reservations",
]
