"""What a booking's purpose, visibility and status, an equipment loan's status and a unit's state
are called: written once, in one wording, and translated once.

Every reader takes its words from here: the booking service's messages, the forms' choices,
the pages, the calendar feeds, the mail, the audit log and the reports. The labels are lazy
(``lazy_gettext``), so each one renders in the language of whoever reads it, also in the
worker that writes mail long after the request. Keys are the enums' stored values; the enums
are ``str`` enums, so ``PURPOSE_LABELS[booking.purpose]`` works with a member as well.

A label starts with a capital letter (a heading, a badge, a choice); inside a sentence
("this booking is pending approval") use :func:`status_phrase` and its siblings.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from booking.models import BookingStatus, Purpose, ReservationStatus, Visibility
from spaces.forms import STATUS_LABELS as UNIT_STATUS_LABELS  # a unit's state belongs to spaces/

PURPOSE_LABELS = {
    Purpose.MEETING.value: _l("Meeting"),
    Purpose.CO_CREATION.value: _l("Co-creation workshop"),
    Purpose.PILOT_TEST.value: _l("Pilot test"),
    Purpose.TRAINING.value: _l("Training"),
    Purpose.EVENT.value: _l("Event"),
}
VISIBILITY_LABELS = {
    Visibility.PRIVATE.value: _l("Private (others see only that the space is busy)"),
    Visibility.PARTNERS.value: _l("Partners (signed-in partners see the details)"),
    Visibility.PUBLIC.value: _l("Public event (listed on the public events page)"),
}
STATUS_LABELS = {
    BookingStatus.PENDING.value: _l("Pending approval"),
    BookingStatus.CONFIRMED.value: _l("Confirmed"),
    BookingStatus.REJECTED.value: _l("Rejected"),
    BookingStatus.CANCELLED.value: _l("Cancelled"),
    BookingStatus.NO_SHOW.value: _l("Released (not checked in)"),
}
RESERVATION_STATUS_LABELS = {
    ReservationStatus.PENDING.value: _l("Pending approval"),
    ReservationStatus.CONFIRMED.value: _l("Confirmed"),
    ReservationStatus.CHECKED_OUT.value: _l("Handed out"),
    ReservationStatus.RETURNED.value: _l("Returned"),
    ReservationStatus.REJECTED.value: _l("Rejected"),
    ReservationStatus.CANCELLED.value: _l("Cancelled"),
}

__all__ = ["PURPOSE_LABELS", "VISIBILITY_LABELS", "STATUS_LABELS", "RESERVATION_STATUS_LABELS",
           "UNIT_STATUS_LABELS", "label", "status_label", "status_phrase", "reservation_status_label",
           "reservation_status_phrase", "unit_status_label", "unit_status_phrase"]


def label(labels: dict, value) -> str:
    """``value``'s label from one of the tables above (an enum member or its stored value); an
    unknown value is shown as it is rather than failing a page."""
    key = getattr(value, "value", value)
    return str(labels[key]) if key in labels else str(key)


def _in_sentence(text: str) -> str:
    # The labels are capitalised as headings; inside a sentence the same words start in lower case
    # (true of English and Norwegian alike), so one translation serves both.
    return text[:1].lower() + text[1:]


def status_label(status) -> str:
    return label(STATUS_LABELS, status)


def status_phrase(status) -> str:
    return _in_sentence(status_label(status))


def reservation_status_label(status) -> str:
    return label(RESERVATION_STATUS_LABELS, status)


def reservation_status_phrase(status) -> str:
    return _in_sentence(reservation_status_label(status))


def unit_status_label(status) -> str:
    return label(UNIT_STATUS_LABELS, status)


def unit_status_phrase(status) -> str:
    return _in_sentence(unit_status_label(status))
