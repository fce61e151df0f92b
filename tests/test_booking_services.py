"""Booking rules through the service: each accepted and refused, plus update, cancel and decisions."""
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from accounts.models import Role
from booking.models import Booking, BookingStatus
from booking.permissions import can_manage, can_view_details, details_visible_clause
from booking.services import (
    approve_booking, book_space, busy_periods, cancel_booking, free_spaces, reject_booking, suggest_free_slots,
    update_booking,
)
from samskap.audit import AuditEntry
from samskap.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from samskap.extensions import db
from spaces.models import Closure
from tests.booking_helpers import UTC, clock, miss_clashes_in_the_check, oslo, request_for  # noqa: F401 (clock is a fixture)
from tests.conftest import BOTH, POSTGRES
from tests.factories import make_org, make_space, make_user

WEEKDAYS_8_TO_16 = {d: [["08:00", "16:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def en_user(**fields):
    return make_user(locale="en", **fields)


def book(user, space, start, end, **fields):
    result = book_space(user, request_for(space, start, end, **fields))
    db.session.commit()
    return result


def audit_actions(obj=None):
    query = sa.select(AuditEntry.action)
    if obj is not None:
        query = query.where(AuditEntry.object_id == obj.id, AuditEntry.object_type == obj.__tablename__)
    return list(db.session.scalars(query.order_by(AuditEntry.id)))


# --- creating ----------------------------------------------------------------------------------

def test_free_slot_is_booked_confirmed_with_buffer_and_audit(app, clock):
    space, user = make_space(buffer_minutes=15), en_user()
    result = book(user, space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10), attendees=4, purpose="pilot test")
    booking = result.bookings[0]
    assert booking.id and booking.status == BookingStatus.CONFIRMED
    assert booking.start == datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
    assert booking.blocked_until == datetime(2026, 3, 10, 9, 15, tzinfo=UTC)
    assert booking.organisation_id == user.organisation_id and booking.organiser_id == user.id
    assert booking.sequence == 0 and result.series is None
    assert audit_actions(booking) == ["booking.create"]


def test_space_requiring_approval_gives_pending_booking_that_holds_the_slot(app, clock):
    space, user = make_space(requires_approval=True), en_user()
    pending = book(user, space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10)).bookings[0]
    assert pending.status == BookingStatus.PENDING
    with pytest.raises(Conflict):
        book(en_user(), space, oslo(2026, 3, 10, 9, 30), oslo(2026, 3, 10, 10, 30))


@pytest.mark.parametrize("space_fields, message", [
    ({"active": False}, "not open for booking"),
])
def test_inactive_space_cannot_be_booked(app, clock, space_fields, message):
    space = make_space(**space_fields)
    with pytest.raises(ValidationFailed) as info:
        book(en_user(), space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10))
    assert message in info.value.fields["space_id"]


def test_unknown_space_is_a_field_error(app, clock):
    space = make_space()
    request = request_for(space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10))
    request.space_id = 9999
    with pytest.raises(ValidationFailed) as info:
        book_space(en_user(), request)
    assert "no space with id 9999" in info.value.fields["space_id"]


def test_member_cannot_book_space_not_open_to_their_organisation_kind(app, clock):
    space = make_space(bookable_by=["hospital"])
    with pytest.raises(PermissionDenied) as info:
        book(en_user(kind="company"), space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10))
    assert "cannot be booked by your organisation" in info.value.message
    assert book(en_user(kind="hospital"), space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10)).bookings


def test_staff_book_on_behalf_of_an_organisation_members_may_not(app, clock):
    space = make_space(bookable_by=["municipality"])
    municipality, company = make_org("municipality"), make_org("company")
    staff = en_user(role=Role.STAFF)
    booking = book(staff, space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10),
                   organisation_id=municipality.id).bookings[0]
    assert booking.organisation_id == municipality.id and booking.organiser_id == staff.id
    with pytest.raises(ValidationFailed) as info:
        book(staff, space, oslo(2026, 3, 11, 9), oslo(2026, 3, 11, 10), organisation_id=company.id)
    assert "organisation_id" in info.value.fields
    with pytest.raises(PermissionDenied):
        book(en_user(kind="municipality"), space, oslo(2026, 3, 12, 9), oslo(2026, 3, 12, 10),
             organisation_id=municipality.id)


def test_booking_must_lie_inside_opening_hours(app, clock):
    space, user = make_space(opening_hours=WEEKDAYS_8_TO_16), en_user()
    assert book(user, space, oslo(2026, 3, 10, 8), oslo(2026, 3, 10, 16)).bookings
    with pytest.raises(ValidationFailed) as info:
        book(user, space, oslo(2026, 3, 11, 15), oslo(2026, 3, 11, 17))
    assert "not open for the whole of that time" in info.value.fields["start"]
    assert "08:00–16:00" in info.value.fields["start"]
    with pytest.raises(ValidationFailed) as info:
        book(user, space, oslo(2026, 3, 14, 10), oslo(2026, 3, 14, 11))  # a Saturday
    assert "closed that day" in info.value.fields["start"]


def test_staff_may_override_opening_hours_with_an_audit_entry_members_may_not(app, clock):
    space = make_space(opening_hours=WEEKDAYS_8_TO_16)
    staff = en_user(role=Role.STAFF)
    booking = book(staff, space, oslo(2026, 3, 11, 15), oslo(2026, 3, 11, 18),
                   override_opening_hours=True).bookings[0]
    assert booking.opening_hours_overridden
    assert audit_actions(booking) == ["booking.create", "booking.override_opening_hours"]
    with pytest.raises(PermissionDenied):
        book(en_user(), space, oslo(2026, 3, 12, 15), oslo(2026, 3, 12, 18), override_opening_hours=True)


def test_override_never_overrides_a_conflict(app, clock):
    space = make_space(opening_hours=WEEKDAYS_8_TO_16)
    book(en_user(), space, oslo(2026, 3, 11, 15), oslo(2026, 3, 11, 16))
    with pytest.raises(Conflict):
        book(en_user(role=Role.STAFF), space, oslo(2026, 3, 11, 15), oslo(2026, 3, 11, 18),
             override_opening_hours=True)


def test_closures_of_the_space_or_whole_workshop_refuse_bookings(app, clock):
    space, other, user = make_space(), make_space(), en_user()
    db.session.add_all([
        Closure(space_id=space.id, start=oslo(2026, 3, 10, 0), end=oslo(2026, 3, 11, 0), reason="Painting"),
        Closure(space_id=None, start=oslo(2026, 3, 20, 0), end=oslo(2026, 3, 21, 0), reason="Staff day"),
    ])
    db.session.commit()
    with pytest.raises(Conflict) as info:
        book(user, space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10))
    assert info.value.details["conflicts"][0]["reason"] == "closure"
    assert "Painting" in info.value.message
    with pytest.raises(Conflict):
        book(user, other, oslo(2026, 3, 20, 9), oslo(2026, 3, 20, 10))
    assert book(user, other, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10)).bookings  # closure of another space
    assert book(user, space, oslo(2026, 3, 11, 0), oslo(2026, 3, 11, 1)).bookings  # right after it


@pytest.mark.parametrize("minutes, ok", [(29, False), (30, True), (120, True), (121, False)])
def test_length_must_be_within_min_and_max(app, clock, minutes, ok):
    space = make_space(min_minutes=30, max_minutes=120)
    start = oslo(2026, 3, 10, 9)
    if ok:
        assert book(en_user(), space, start, start + timedelta(minutes=minutes)).bookings
    else:
        with pytest.raises(ValidationFailed) as info:
            book(en_user(), space, start, start + timedelta(minutes=minutes))
        expected = ("must last at least 30 minutes" if minutes < 30
                    else "can last at most 2 hours; this one would last 2 hours 1 minute")
        assert expected in info.value.fields["end"]


def test_start_in_the_past_is_refused(app, clock):
    with pytest.raises(ValidationFailed) as info:
        book(en_user(), make_space(), clock.now - timedelta(minutes=1), clock.now + timedelta(hours=1))
    assert info.value.fields["start"] == "The start is in the past."


def test_start_beyond_days_ahead_window_is_refused(app, clock):
    space, user = make_space(max_days_ahead=10), en_user()
    assert book(user, space, oslo(2026, 3, 12, 20), oslo(2026, 3, 12, 21)).bookings  # 10 days after 2 March
    with pytest.raises(ValidationFailed) as info:
        book(user, space, oslo(2026, 3, 13, 9), oslo(2026, 3, 13, 10))
    assert "at most 10 days ahead: the last day to start is 12 March 2026" in info.value.fields["start"]


@pytest.mark.parametrize("attendees, ok", [(0, False), (1, True), (10, True), (11, False), ("3", False),
                                           (True, False)])
def test_attendees_between_one_and_capacity(app, clock, attendees, ok):
    space = make_space(capacity=10)
    if ok:
        assert book(en_user(), space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10), attendees=attendees).bookings
    else:
        with pytest.raises(ValidationFailed) as info:
            book(en_user(), space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10), attendees=attendees)
        assert "attendees" in info.value.fields


@pytest.mark.parametrize("minutes", [0, -30])
def test_end_must_be_after_start(app, clock, minutes):
    start = oslo(2026, 3, 10, 9)
    with pytest.raises(ValidationFailed) as info:
        book(en_user(), make_space(), start, start + timedelta(minutes=minutes))
    assert info.value.fields["end"] == "The end must be after the start."


def test_naive_times_and_bad_choices_are_field_errors(app, clock):
    with pytest.raises(ValidationFailed) as info:
        book(en_user(), make_space(), datetime(2026, 3, 10, 9), datetime(2026, 3, 10, 10), title="  ",
             purpose="party", visibility="secret")
    assert set(info.value.fields) == {"start", "end", "title", "purpose", "visibility"}
    assert "time zone" in info.value.fields["start"]
    assert "meeting, co-creation workshop" in info.value.fields["purpose"]


@BOTH
def test_overlap_with_an_active_booking_is_a_conflict_listing_it(app, clock):
    space, mine, theirs = make_space(), en_user(), en_user()
    book(theirs, space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10))
    with pytest.raises(Conflict) as info:
        book(mine, space, oslo(2026, 3, 10, 9, 30), oslo(2026, 3, 10, 11))
    conflict, = info.value.details["conflicts"]
    # Another organisation's private booking is only "Busy", without its id.
    assert conflict == {"start": "2026-03-10T08:00:00Z", "end": "2026-03-10T09:00:00Z",
                        "blocked_until": "2026-03-10T09:00:00Z", "booking_id": None, "title": "Busy",
                        "reason": "booking"}
    assert "already booked at that time (Tue 10 Mar 09:00–10:00)" in info.value.message  # local time, in words
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 1


@BOTH
def test_back_to_back_bookings_are_allowed(app, clock):
    space, user = make_space(), en_user()
    book(user, space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10))
    assert book(user, space, oslo(2026, 3, 10, 10), oslo(2026, 3, 10, 11)).bookings
    assert book(user, space, oslo(2026, 3, 10, 8), oslo(2026, 3, 10, 9)).bookings


@BOTH
def test_buffer_after_each_booking_is_respected(app, clock):
    space, user = make_space(buffer_minutes=15), en_user()
    book(user, space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10))
    with pytest.raises(Conflict):
        book(user, space, oslo(2026, 3, 10, 10, 10), oslo(2026, 3, 10, 11))
    assert book(user, space, oslo(2026, 3, 10, 10, 15), oslo(2026, 3, 10, 11)).bookings
    # A new booking's own buffer may not run into the next booking either.
    with pytest.raises(Conflict):
        book(user, space, oslo(2026, 3, 10, 7), oslo(2026, 3, 10, 8, 50))
    assert book(user, space, oslo(2026, 3, 10, 7), oslo(2026, 3, 10, 8, 45)).bookings


def test_own_organisations_booking_is_named_in_a_conflict(app, clock):
    space, org = make_space(), make_org()
    first = book(en_user(org=org), space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10),
                 title="Steering group").bookings[0]
    with pytest.raises(Conflict) as info:
        book(en_user(org=org), space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10))
    assert info.value.details["conflicts"][0]["booking_id"] == first.id
    assert info.value.details["conflicts"][0]["title"] == "Steering group"


# --- DST ---------------------------------------------------------------------------------------

def test_booking_across_spring_forward_has_right_length_and_instants(app, clock):
    booking = book(en_user(), make_space(), oslo(2026, 3, 29, 1), oslo(2026, 3, 29, 4)).bookings[0]
    db.session.expire_all()
    booking = db.session.get(Booking, booking.id)
    assert booking.start == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    assert booking.end == datetime(2026, 3, 29, 2, 0, tzinfo=UTC)
    assert booking.end - booking.start == timedelta(hours=2)


def test_booking_across_fall_back_has_right_length_and_instants(app, clock):
    clock.now = datetime(2026, 10, 1, 8, tzinfo=UTC)
    booking = book(en_user(), make_space(), oslo(2026, 10, 25, 1), oslo(2026, 10, 25, 4)).bookings[0]
    db.session.expire_all()
    booking = db.session.get(Booking, booking.id)
    assert booking.start == datetime(2026, 10, 24, 23, 0, tzinfo=UTC)
    assert booking.end == datetime(2026, 10, 25, 3, 0, tzinfo=UTC)
    assert booking.end - booking.start == timedelta(hours=4)


def test_length_rules_count_real_time_across_dst(app, clock):
    # 01:00-04:00 on the spring-forward night is two real hours: within a 150-minute maximum.
    space = make_space(max_minutes=150)
    assert book(en_user(), space, oslo(2026, 3, 29, 1), oslo(2026, 3, 29, 4)).bookings


# --- changing ----------------------------------------------------------------------------------

def test_moving_a_booking_bumps_sequence_and_checks_rules(app, clock):
    space, user = make_space(opening_hours=WEEKDAYS_8_TO_16), en_user()
    booking = book(user, space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10)).bookings[0]
    created_updated_at = booking.updated_at
    clock.now += timedelta(minutes=1)
    update_booking(user, booking, {"title": "Renamed"})
    db.session.commit()
    assert booking.title == "Renamed" and booking.sequence == 0  # no time/place change: same sequence
    update_booking(user, booking, {"start": oslo(2026, 3, 10, 11)})
    db.session.commit()
    assert (booking.start, booking.end, booking.sequence) == (oslo(2026, 3, 10, 11), oslo(2026, 3, 10, 12), 1)
    assert booking.updated_at > created_updated_at
    with pytest.raises(ValidationFailed) as info:
        update_booking(user, booking, {"end": oslo(2026, 3, 10, 17)})
    assert "not open" in info.value.fields["start"]
    assert audit_actions(booking) == ["booking.create", "booking.update", "booking.update"]


def test_moving_onto_another_booking_is_a_conflict_and_changes_nothing(app, clock):
    space, user = make_space(), en_user()
    book(user, space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10))
    second = book(user, space, oslo(2026, 3, 10, 12), oslo(2026, 3, 10, 13)).bookings[0]
    with pytest.raises(Conflict):
        update_booking(user, second, {"start": oslo(2026, 3, 10, 9, 30)})
    db.session.rollback()
    assert db.session.get(Booking, second.id).start == oslo(2026, 3, 10, 12)
    # Moving within its own slot never clashes with itself.
    update_booking(user, second, {"start": oslo(2026, 3, 10, 12, 30)})


def test_moving_to_another_space_uses_its_rules(app, clock):
    user = en_user(kind="company")
    space, hospital_only = make_space(), make_space(bookable_by=["hospital"])
    booking = book(user, space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10)).bookings[0]
    with pytest.raises(PermissionDenied):
        update_booking(user, booking, {"space_id": hospital_only.id})
    bigger = make_space(buffer_minutes=30)
    update_booking(user, booking, {"space_id": bigger.id})
    assert booking.space_id == bigger.id and booking.sequence == 1
    assert booking.blocked_until == oslo(2026, 3, 10, 10, 30)


def test_unknown_fields_cannot_be_changed(app, clock):
    user = en_user()
    booking = book(user, make_space(), oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10)).bookings[0]
    with pytest.raises(ValidationFailed) as info:
        update_booking(user, booking, {"status": "confirmed", "organiser_id": 1})
    assert set(info.value.fields) == {"status", "organiser_id"}


# --- cancelling and deciding -------------------------------------------------------------------

@BOTH
def test_cancelling_keeps_the_row_bumps_sequence_and_frees_the_slot(app, clock):
    space, user = make_space(), en_user()
    booking = book(user, space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10)).bookings[0]
    cancel_booking(user, booking, "Plans changed")
    db.session.commit()
    db.session.expire_all()
    booking = db.session.get(Booking, booking.id)
    assert booking.status == BookingStatus.CANCELLED and booking.sequence == 1
    assert (booking.cancelled_by_id, booking.cancel_reason) == (user.id, "Plans changed")
    assert booking.cancelled_at == clock.now
    assert book(en_user(), space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10)).bookings
    with pytest.raises(Conflict):
        cancel_booking(user, booking)  # already cancelled
    assert audit_actions(booking) == ["booking.create", "booking.cancel"]


def test_member_cannot_touch_another_organisations_private_booking(app, clock):
    owner, stranger = en_user(), en_user()
    booking = book(owner, make_space(), oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10)).bookings[0]
    for act in (lambda: update_booking(stranger, booking, {"title": "Mine now"}),
                lambda: cancel_booking(stranger, booking, "no"),
                lambda: approve_booking(stranger, booking)):
        with pytest.raises(NotFound):
            act()


def test_member_sees_but_cannot_change_a_partners_booking(app, clock):
    owner, stranger = en_user(), en_user()
    booking = book(owner, make_space(), oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10),
                   visibility="partners", title="Partner workshop").bookings[0]
    db.session.commit()
    # Sees: the details, alone and in a list of bookings.
    assert can_view_details(stranger, booking)
    listed = db.session.scalars(sa.select(Booking).where(details_visible_clause(stranger))).all()
    assert booking in listed
    # Cannot change: both attempts refused, and the booking is as it was.
    assert not can_manage(stranger, booking)
    with pytest.raises(PermissionDenied):
        update_booking(stranger, booking, {"title": "Mine now"})
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        cancel_booking(stranger, booking)
    db.session.rollback()
    db.session.refresh(booking)
    assert (booking.title, booking.status) == ("Partner workshop", BookingStatus.CONFIRMED)
    assert not db.session.scalars(sa.select(AuditEntry).where(AuditEntry.actor_id == stranger.id)).all()


def test_colleague_of_sharing_organisation_and_staff_may_cancel(app, clock):
    org = make_org(members_share_bookings=True)
    booking = book(en_user(org=org), make_space(), oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10)).bookings[0]
    cancel_booking(en_user(org=org), booking)
    other = book(en_user(org=org), make_space(), oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10)).bookings[0]
    cancel_booking(en_user(role=Role.STAFF), other, "Room needed")
    assert booking.status == other.status == BookingStatus.CANCELLED


def test_staff_approve_and_reject_pending_bookings_members_cannot(app, clock):
    space, member, staff = make_space(requires_approval=True), en_user(), en_user(role=Role.STAFF)
    first = book(member, space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10)).bookings[0]
    second = book(member, space, oslo(2026, 3, 11, 9), oslo(2026, 3, 11, 10)).bookings[0]
    with pytest.raises(PermissionDenied):
        approve_booking(member, first)
    with pytest.raises(PermissionDenied):
        reject_booking(member, first, "no")
    approve_booking(staff, first)
    assert (first.status, first.decided_by_id, first.sequence) == (BookingStatus.CONFIRMED, staff.id, 1)
    with pytest.raises(Conflict):
        approve_booking(staff, first)  # not pending any more
    with pytest.raises(ValidationFailed) as info:
        reject_booking(staff, second, "  ")
    assert "reason" in info.value.fields
    reject_booking(staff, second, "Reserved for a training day")
    db.session.commit()
    assert (second.status, second.decision_reason) == (BookingStatus.REJECTED, "Reserved for a training day")
    assert book(en_user(), space, oslo(2026, 3, 11, 9), oslo(2026, 3, 11, 10)).bookings  # rejection freed it
    assert audit_actions(first)[-1] == "booking.approve" and audit_actions(second)[-1] == "booking.reject"


# --- availability ------------------------------------------------------------------------------

def test_busy_periods_mask_private_bookings_of_others(app, clock):
    space, org = make_space(), make_org()
    book(en_user(org=org), space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10), title="Ours")
    book(en_user(), space, oslo(2026, 3, 10, 11), oslo(2026, 3, 10, 12), title="Secret")
    book(en_user(), space, oslo(2026, 3, 10, 13), oslo(2026, 3, 10, 14), title="Open day", visibility="public")
    periods = busy_periods(space, oslo(2026, 3, 10, 0), oslo(2026, 3, 11, 0), en_user(org=org))
    assert [p["title"] for p in periods] == ["Ours", "Busy", "Open day"]
    assert periods[1]["booking_id"] is None and periods[0]["booking_id"] is not None


def test_suggestions_are_nearest_free_slots_obeying_hours_and_buffer(app, clock):
    space, user = make_space(opening_hours=WEEKDAYS_8_TO_16, buffer_minutes=15), en_user()
    book(user, space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 11))
    slots = suggest_free_slots(space, oslo(2026, 3, 10, 9, 30), oslo(2026, 3, 10, 10, 30))
    # Before the booking a slot would have to end by 08:45 (its buffer must end by 09:00), so
    # it would start before opening: the nearest free hours follow the booking and its buffer,
    # and do not overlap each other.
    assert slots == [(oslo(2026, 3, 10, 11, 15), oslo(2026, 3, 10, 12, 15)),
                     (oslo(2026, 3, 10, 12, 15), oslo(2026, 3, 10, 13, 15)),
                     (oslo(2026, 3, 10, 13, 15), oslo(2026, 3, 10, 14, 15))]


def test_suggestions_look_both_ways(app, clock):
    space, user = make_space(), en_user()
    book(user, space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 12))
    slots = suggest_free_slots(space, oslo(2026, 3, 10, 10), oslo(2026, 3, 10, 11), limit=2)
    assert slots == [(oslo(2026, 3, 10, 8), oslo(2026, 3, 10, 9)), (oslo(2026, 3, 10, 12), oslo(2026, 3, 10, 13))]


def test_free_spaces_leave_out_busy_closed_small_and_not_bookable_ones(app, clock):
    user = en_user(kind="company")
    free = make_space(name="Free room")
    busy = make_space(name="Busy room")
    make_space(name="Small room", capacity=2)
    make_space(name="Hospital room", bookable_by=["hospital"])
    closed = make_space(name="Closed room")
    make_space(name="Inactive room", active=False)
    make_space(name="Weekend room", opening_hours={"sat": [["08:00", "16:00"]]})
    db.session.add(Closure(space_id=closed.id, start=oslo(2026, 3, 10, 0), end=oslo(2026, 3, 11, 0), reason="Works"))
    db.session.commit()
    book(en_user(), busy, oslo(2026, 3, 10, 9, 30), oslo(2026, 3, 10, 10, 30))
    found = free_spaces(user, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10), attendees=4)
    assert [s.name for s in found] == [free.name]


def test_cancelled_booking_does_not_appear_busy(app, clock):
    space, user = make_space(), en_user()
    booking = book(user, space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10)).bookings[0]
    cancel_booking(user, booking)
    assert busy_periods(space, oslo(2026, 3, 10, 0), oslo(2026, 3, 11, 0), user) == []


@POSTGRES
def test_database_refusal_becomes_a_conflict_and_the_session_stays_usable(app, clock, monkeypatch):
    space, user = make_space(), en_user()
    book(user, space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10))
    miss_clashes_in_the_check(monkeypatch)
    with pytest.raises(Conflict) as info:
        book_space(user, request_for(space, oslo(2026, 3, 10, 9, 30), oslo(2026, 3, 10, 10, 30)))
    assert "at the same moment" in info.value.message
    # Only the refused write was undone: the same transaction goes on.
    book(user, space, oslo(2026, 3, 10, 11), oslo(2026, 3, 10, 12))
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 2
    # The refused booking left no audit entry behind.
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "booking.create")) == 2
