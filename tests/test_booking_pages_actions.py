"""The booking pages that act: the booking form (through booking.services.book_space), its
conflict help and DST handling, change and cancel, and the approvals queue."""
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from booking.models import Booking, BookingStatus, Visibility
from samskap.extensions import db
from samskap.timeutil import local_to_utc, to_local, utcnow
from tests.conftest import BOTH
from tests.factories import make_booking, make_org, make_space, make_user


def in_a_week() -> date:
    return to_local(utcnow()).date() + timedelta(days=7)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return local_to_utc(day, time(hour, minute))


def html(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def member(app):
    return make_user(make_org(kind="municipality", name="Gjøvik kommune"), locale="en", name="Mette Member")


@pytest.fixture
def outsider(app):
    return make_user(make_org(kind="hospital", name="Innlandet sykehus"), locale="en")


@pytest.fixture
def staff(app):
    return make_user(role="staff", locale="en", name="Siri Staff")


@pytest.fixture
def mjosa(app):
    return make_space(name="Mjøsa", slug="mjosa", capacity=12)


def form_data(space, day: date, start="10:00", end="11:00", **extra) -> dict:
    data = {"space": space.id, "title": "Pilot planning", "purpose": "meeting", "date": day.isoformat(),
            "start_time": start, "end_time": end, "attendees": "4", "visibility": "private",
            "description": "", "repeat": "none", "interval": "1", "repeat_end": "count"}
    data.update(extra)
    return data


def bookings_titled(title: str) -> list[Booking]:
    return list(db.session.scalars(sa.select(Booking).where(Booking.title == title).order_by(Booking.start)))


# --- the form --------------------------------------------------------------------------------

def test_booking_form_is_prefilled_from_a_grid_link(client, auth, member, mjosa):
    auth.as_user(member)
    page = html(client.get(f"/bookings/new?space={mjosa.id}&start=2026-06-02T09:00&end=2026-06-02T09:30"))
    assert f'<option selected value="{mjosa.id}">' in page
    assert 'value="2026-06-02"' in page and 'value="09:00"' in page and 'value="09:30"' in page
    assert "Book on behalf of" not in page  # staff only


@pytest.mark.parametrize("query", ["space=abc", "start=garbage", "start=2026-02-30T09:00", "end=09:00"])
def test_booking_form_answers_400_for_a_malformed_prefill(client, auth, member, query):
    auth.as_user(member)
    assert client.get(f"/bookings/new?{query}").status_code == 400


def test_booking_form_needs_sign_in(client):
    response = client.get("/bookings/new")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@BOTH
def test_form_books_through_the_service_in_local_time(client, auth, member, mjosa):
    auth.as_user(member)
    day = in_a_week()
    response = client.post("/bookings/new", data=form_data(mjosa, day))
    assert response.status_code == 303
    booking, = bookings_titled("Pilot planning")
    assert response.headers["Location"].endswith(f"/bookings/{booking.id}")
    assert booking.start == at(day, 10) and booking.end == at(day, 11)
    assert booking.organiser_id == member.id and booking.status == BookingStatus.CONFIRMED
    page = html(client.get(response.headers["Location"]))
    assert "Your booking is confirmed." in page and "Pilot planning" in page


def test_form_says_pending_approval_for_a_space_that_needs_it(client, auth, member):
    lab = make_space(name="Simulation lab", requires_approval=True)
    auth.as_user(member)
    response = client.post("/bookings/new", data=form_data(lab, in_a_week()), follow_redirects=True)
    assert "pending approval" in html(response)
    assert bookings_titled("Pilot planning")[0].status == BookingStatus.PENDING


@BOTH
def test_conflict_keeps_the_form_filled_and_offers_free_slots_and_spaces(client, auth, member, outsider, mjosa):
    day = in_a_week()
    make_booking(mjosa, outsider, start=at(day, 10), title="Hospital secret")
    make_space(name="Randsfjorden", capacity=20)
    auth.as_user(member)
    response = client.post("/bookings/new", data=form_data(mjosa, day, start="10:30", end="11:30",
                                                           title="My workshop"))
    page = html(response)
    assert response.status_code == 409
    assert "Hospital secret" not in page and "Busy" in page and "10:00–11:00" in page
    assert 'value="My workshop"' in page and 'value="10:30"' in page  # nothing typed is lost
    assert "Book Randsfjorden instead" in page  # a free space at that time
    assert "/bookings/new?space=" in page and "title=My+workshop" in page  # suggestions reopen the form
    assert "Nearest free times in this space" in page
    assert bookings_titled("My workshop") == []


def test_a_time_in_the_spring_forward_gap_is_a_field_error(client, auth, member, mjosa):
    auth.as_user(member)
    response = client.post("/bookings/new", data=form_data(mjosa, date(2026, 3, 29), start="02:30", end="04:00",
                                                           title="Night test"))
    page = html(response)
    assert response.status_code == 422
    assert "02:30 does not exist on 29 March 2026" in page
    assert 'id="start_time-error"' in page
    assert bookings_titled("Night test") == []


def test_service_rule_errors_appear_next_to_their_field(client, auth, member, mjosa):
    auth.as_user(member)
    response = client.post("/bookings/new", data=form_data(mjosa, in_a_week(), start="11:00", end="10:00"))
    page = html(response)
    assert response.status_code == 422
    assert 'id="end_time-error"' in page and "after the start" in page


def test_form_refuses_missing_fields_without_calling_the_service(client, auth, member, mjosa):
    auth.as_user(member)
    response = client.post("/bookings/new", data=form_data(mjosa, in_a_week(), title="", start="", attendees="x"))
    assert response.status_code == 422
    assert "Enter a title." in html(response) and "Enter the start time" in html(response)
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_weekly_series_skipping_a_clashing_date_lists_the_skipped_date(client, auth, member, outsider, mjosa):
    day = in_a_week()
    make_booking(mjosa, outsider, start=at(day + timedelta(days=7), 10), title="In the way")
    auth.as_user(member)
    data = form_data(mjosa, day, title="Weekly stand-up", repeat="weekly", count="3", skip_conflicts="y")
    response = client.post("/bookings/new", data=data, follow_redirects=True)
    assert response.status_code == 200
    created = bookings_titled("Weekly stand-up")
    assert [b.start for b in created] == [at(day, 10), at(day + timedelta(days=14), 10)]
    assert "skipped" in html(response)


def test_staff_book_on_behalf_of_an_organisation(client, auth, staff, outsider, mjosa):
    auth.as_user(staff)
    assert "Book on behalf of" in html(client.get("/bookings/new"))
    response = client.post("/bookings/new", data=form_data(mjosa, in_a_week(), organisation=outsider.organisation_id))
    assert response.status_code == 303
    assert bookings_titled("Pilot planning")[0].organisation_id == outsider.organisation_id


def test_member_cannot_smuggle_book_on_behalf_fields(client, auth, member, outsider, mjosa):
    auth.as_user(member)
    response = client.post("/bookings/new", data=form_data(mjosa, in_a_week(), organisation=outsider.organisation_id,
                                                           override_opening_hours="y"))
    assert response.status_code == 303
    assert bookings_titled("Pilot planning")[0].organisation_id == member.organisation_id


# --- change and cancel -----------------------------------------------------------------------

def test_organiser_changes_the_title_and_time(client, auth, member, mjosa):
    day = in_a_week()
    booking = make_booking(mjosa, member, start=at(day, 9), title="Old title")
    auth.as_user(member)
    page = html(client.get(f"/bookings/{booking.id}/edit"))
    assert 'value="Old title"' in page and 'value="09:00"' in page and "Apply the change to" not in page
    response = client.post(f"/bookings/{booking.id}/edit", data=form_data(mjosa, day, start="13:00", end="14:00",
                                                                           title="New title"))
    assert response.status_code == 303
    db.session.refresh(booking)
    assert booking.title == "New title" and booking.start == at(day, 13)


def test_cancel_needs_a_reason_and_keeps_the_row(client, auth, member, mjosa):
    booking = make_booking(mjosa, member, title="Retro")
    auth.as_user(member)
    assert "Reason" in html(client.get(f"/bookings/{booking.id}/cancel"))
    missing = client.post(f"/bookings/{booking.id}/cancel", data={"reason": ""})
    assert missing.status_code == 422
    db.session.refresh(booking)
    assert booking.status == BookingStatus.CONFIRMED
    response = client.post(f"/bookings/{booking.id}/cancel", data={"reason": "Project moved"}, follow_redirects=True)
    assert "The booking is cancelled." in html(response)
    db.session.refresh(booking)
    assert booking.status == BookingStatus.CANCELLED and booking.cancel_reason == "Project moved"
    assert "Project moved" in html(response)


def test_series_occurrence_offers_scope_and_cancels_this_and_following(client, auth, member, mjosa):
    auth.as_user(member)
    day = in_a_week()
    client.post("/bookings/new", data=form_data(mjosa, day, title="Weekly", repeat="weekly", count="3"))
    first, second, third = bookings_titled("Weekly")
    assert "Apply the change to" in html(client.get(f"/bookings/{second.id}/edit"))
    page = html(client.get(f"/bookings/{second.id}/cancel"))
    assert "This and all following occurrences" in page
    response = client.post(f"/bookings/{second.id}/cancel", data={"reason": "Pilot ends", "scope": "following"})
    assert response.status_code == 303
    for booking in (first, second, third):
        db.session.refresh(booking)
    assert [b.status for b in (first, second, third)] == [BookingStatus.CONFIRMED, BookingStatus.CANCELLED,
                                                          BookingStatus.CANCELLED]


# --- approvals -------------------------------------------------------------------------------

def test_approvals_queue_is_for_staff_only(client, auth, member, staff):
    assert client.get("/bookings/approvals").status_code == 302
    auth.as_user(member)
    assert client.get("/bookings/approvals").status_code == 403
    auth.as_user(staff)
    assert client.get("/bookings/approvals").status_code == 200


def test_staff_approve_a_pending_booking(client, auth, member, staff):
    lab = make_space(name="Simulation lab", requires_approval=True)
    booking = make_booking(lab, member, title="Sim training", status=BookingStatus.PENDING)
    auth.as_user(staff)
    assert "Sim training" in html(client.get("/bookings/approvals"))
    response = client.post(f"/bookings/{booking.id}/approve", data={f"approve-{booking.id}-reason": ""})
    assert response.status_code == 303
    db.session.refresh(booking)
    assert booking.status == BookingStatus.CONFIRMED
    assert "Sim training" not in html(client.get("/bookings/approvals")).split("<h1>")[1]


def test_rejecting_needs_a_reason(client, auth, member, staff):
    booking = make_booking(make_space(requires_approval=True), member, title="Big fair", status=BookingStatus.PENDING)
    auth.as_user(staff)
    missing = client.post(f"/bookings/{booking.id}/reject", data={f"reject-{booking.id}-reason": " "})
    assert missing.status_code == 422 and "Say why the booking is rejected." in html(missing)
    db.session.refresh(booking)
    assert booking.status == BookingStatus.PENDING
    response = client.post(f"/bookings/{booking.id}/reject", data={f"reject-{booking.id}-reason": "Room renovated"})
    assert response.status_code == 303
    db.session.refresh(booking)
    assert booking.status == BookingStatus.REJECTED and booking.decision_reason == "Room renovated"


def test_members_cannot_approve_or_reject(client, auth, member):
    booking = make_booking(make_space(requires_approval=True), member, status=BookingStatus.PENDING)
    auth.as_user(member)
    assert client.post(f"/bookings/{booking.id}/approve").status_code == 403
    assert client.post(f"/bookings/{booking.id}/reject", data={f"reject-{booking.id}-reason": "no"}).status_code == 403
    db.session.refresh(booking)
    assert booking.status == BookingStatus.PENDING


def test_deciding_an_unknown_booking_is_404(client, auth, staff):
    auth.as_user(staff)
    assert client.post("/bookings/99999/approve").status_code == 404
    assert client.post("/bookings/abc/reject").status_code == 404


def test_public_booking_made_in_the_form_appears_on_the_events_page(client, auth, member, mjosa):
    auth.as_user(member)
    client.post("/bookings/new", data=form_data(mjosa, in_a_week(), title="Open lab day", visibility="public"))
    client.post("/logout")
    assert "Open lab day" in html(client.get("/events"))



def test_the_space_placeholder_is_refused_by_the_form(client, auth, member, mjosa):
    auth.as_user(member)
    response = client.post("/bookings/new", data={**form_data(mjosa, in_a_week()), "space": "0"})
    assert response.status_code == 422 and "Choose a space." in html(response)


def test_a_repeat_needs_a_count_or_a_last_date(client, auth, member, mjosa):
    auth.as_user(member)
    response = client.post("/bookings/new", data=form_data(mjosa, in_a_week(), repeat="weekly", repeat_end="until"))
    assert response.status_code == 422 and "Enter the last date of the series." in html(response)
    response = client.post("/bookings/new", data=form_data(mjosa, in_a_week(), repeat="daily", count=""))
    assert response.status_code == 422 and "Enter how many times the booking repeats." in html(response)
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


@pytest.mark.csrf
def test_booking_and_deciding_need_the_forms_csrf_token(client, auth, member, staff, mjosa):
    auth.as_user(member)
    response = client.post("/bookings/new", data=form_data(mjosa, in_a_week()))
    assert response.status_code == 400 and bookings_titled("Pilot planning") == []
    pending = make_booking(make_space(requires_approval=True), member, status=BookingStatus.PENDING)
    auth.as_user(staff)
    assert client.post(f"/bookings/{pending.id}/approve").status_code == 400
    db.session.refresh(pending)
    assert pending.status == BookingStatus.PENDING
