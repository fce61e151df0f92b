"""The booking form with equipment: one quantity per type the organisation may borrow, the
booking made whole or not at all (shortages explained next to the quantity), the booking's
page listing its units, and the cancel form asking whether the equipment goes too."""
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from booking.equipment.services import reserve_equipment
from booking.models import Booking, BookingStatus, EquipmentReservation, ReservationStatus
from samskap.extensions import db
from samskap.timeutil import local_to_utc, to_local, utcnow
from tests.conftest import BOTH
from tests.factories import make_booking, make_equipment_type, make_org, make_reservation, make_space, make_user


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
def mjosa(app):
    return make_space(name="Mjøsa", slug="mjosa", capacity=12)


@pytest.fixture
def kits(app):
    return make_equipment_type(units=3, name="Fall sensor kit", max_loan_days=28)


def form_data(space, day: date, start="10:00", end="11:00", **extra) -> dict:
    data = {"space": space.id, "title": "Pilot kick-off", "purpose": "pilot test", "date": day.isoformat(),
            "start_time": start, "end_time": end, "attendees": "4", "visibility": "private",
            "description": "", "repeat": "none", "interval": "1", "repeat_end": "count"}
    data.update(extra)
    return data


def reservations() -> list[EquipmentReservation]:
    return list(db.session.scalars(sa.select(EquipmentReservation).order_by(EquipmentReservation.id)))


def count_bookings() -> int:
    return db.session.scalar(sa.select(sa.func.count(Booking.id)))


# --- the form --------------------------------------------------------------------------------

def test_form_offers_a_labelled_quantity_for_each_type_the_organisation_may_borrow(client, auth, member, kits):
    cameras = make_equipment_type(units=2, name="Camera kit", bookable_by=["hospital"])
    retired = make_equipment_type(units=2, name="Old VR headset", active=False)
    vr = make_equipment_type(units=2, name="VR headset", requires_approval=True, max_loan_days=7)
    auth.as_user(member)
    page = html(client.get("/bookings/new"))
    assert "<legend>Equipment (optional)</legend>" in page
    assert f'<label for="equipment_{kits.id}">Fall sensor kit</label>' in page
    assert f'id="equipment_{kits.id}" inputmode="numeric" max="999" min="0" name="equipment_{kits.id}" type="number" value="0"' in page
    assert f'<label for="equipment_{vr.id}">VR headset</label>' in page
    assert "At most 7 days per loan; needs approval by the workshop staff." in page
    assert "Camera kit" not in page and f"equipment_{cameras.id}" not in page  # hospitals only
    assert "Old VR headset" not in page


def test_form_without_any_reservable_equipment_has_no_equipment_section(client, auth, member):
    make_equipment_type(units=1, name="Hospital-only kit", bookable_by=["hospital"])
    auth.as_user(member)
    assert "Equipment (optional)" not in html(client.get("/bookings/new"))


@BOTH
def test_booking_with_two_kits_reserves_two_units_and_shows_their_asset_tags(client, auth, member, mjosa, kits):
    auth.as_user(member)
    day = in_a_week()
    response = client.post("/bookings/new", data=form_data(mjosa, day, **{f"equipment_{kits.id}": "2"}))
    assert response.status_code == 303, html(response)
    booking = db.session.scalar(sa.select(Booking))
    reservation, = reservations()
    assert reservation.booking_id == booking.id and reservation.quantity == 2
    assert (reservation.start, reservation.end) == (at(day, 10), at(day, 11))
    tags = sorted(a.unit.asset_tag for a in reservation.allocations)
    assert len(tags) == 2

    page = html(client.get(response.headers["Location"]))
    assert "<h2 id=\"equipment-title\">Equipment</h2>" in page
    assert "Fall sensor kit × 2" in page and ", ".join(tags) in page
    assert '<span class="status status--confirmed">Confirmed</span>' in page
    assert f'href="/equipment-reservations/{reservation.id}"' in page


def test_zero_and_empty_quantities_reserve_nothing(client, auth, member, mjosa, kits):
    other = make_equipment_type(units=1, name="VR headset")
    auth.as_user(member)
    response = client.post("/bookings/new", data=form_data(mjosa, in_a_week(), **{
        f"equipment_{kits.id}": "0", f"equipment_{other.id}": ""}))
    assert response.status_code == 303
    assert count_bookings() == 1 and reservations() == []
    assert "<h2 id=\"equipment-title\">" not in html(client.get(response.headers["Location"]))


@BOTH
def test_too_few_free_units_means_no_booking_and_the_shortage_is_told_at_the_quantity(client, auth, member, mjosa,
                                                                                     kits):
    day = in_a_week()
    reserve_equipment(make_user(), kits.id, 2, at(day, 8), at(day, 12))  # two of the three kits are taken
    db.session.commit()
    auth.as_user(member)
    response = client.post("/bookings/new", data=form_data(mjosa, day, title="Too greedy",
                                                           **{f"equipment_{kits.id}": "2"}))
    page = html(response)
    assert response.status_code == 409
    assert "Only 1 of the 2 requested units of Fall sensor kit are free for that period." in page
    assert f'<a href="#equipment_{kits.id}">Only 1 of the 2' in page  # in the summary, linked to the field
    assert f'id="equipment_{kits.id}-error"' in page and 'aria-invalid="true"' in page
    assert "The time is taken" not in page  # the room itself is free: no room alternatives
    assert 'value="Too greedy"' in page and f'name="equipment_{kits.id}" type="number" value="2"' in page
    assert count_bookings() == 0 and len(reservations()) == 1


@pytest.mark.parametrize("quantity,message", [
    ("-1", "Enter a number from 0 (none) to 999."),
    ("1000", "Enter a number from 0 (none) to 999."),
    ("two", "Not a valid integer value."),
])
def test_a_bad_quantity_is_a_field_error_and_nothing_is_written(client, auth, member, mjosa, kits, quantity,
                                                                message):
    auth.as_user(member)
    response = client.post("/bookings/new", data=form_data(mjosa, in_a_week(), **{f"equipment_{kits.id}": quantity}))
    assert response.status_code == 422
    assert f'id="equipment_{kits.id}-error"' in html(response) and message in html(response)
    assert count_bookings() == 0 and reservations() == []


def test_a_loan_longer_than_the_type_allows_is_explained_at_its_quantity(client, auth, member, mjosa):
    short = make_equipment_type(units=2, name="VR headset", max_loan_days=1)
    auth.as_user(member)
    day = in_a_week()
    response = client.post("/bookings/new", data=form_data(mjosa, day, start="09:00", end="10:00",
                                                           end_date=(day + timedelta(days=2)).isoformat(),
                                                           **{f"equipment_{short.id}": "1"}))
    page = html(response)
    assert response.status_code == 422
    assert "A loan of VR headset can last at most 1 days; this one would last" in page
    assert count_bookings() == 0 and reservations() == []


@BOTH
def test_weekly_series_reserves_the_equipment_for_every_time(client, auth, member, mjosa, kits):
    auth.as_user(member)
    day = in_a_week()
    response = client.post("/bookings/new", data=form_data(mjosa, day, repeat="weekly", count="3",
                                                           **{f"equipment_{kits.id}": "1"}))
    assert response.status_code == 303
    made = reservations()
    assert [r.start for r in made] == [at(day + timedelta(days=7 * n), 10) for n in range(3)]
    assert all(r.quantity == 1 and len(r.allocations) == 1 for r in made)


def test_staff_booking_for_an_organisation_that_may_not_borrow_the_type_is_refused(client, auth, mjosa):
    cameras = make_equipment_type(units=2, name="Camera kit", bookable_by=["hospital"])
    company = make_org(kind="company", name="Tryggtek AS")
    staff = make_user(role="staff", locale="en")
    auth.as_user(staff)
    assert f'<label for="equipment_{cameras.id}">Camera kit</label>' in html(client.get("/bookings/new"))
    response = client.post("/bookings/new", data=form_data(mjosa, in_a_week(), organisation=company.id,
                                                           **{f"equipment_{cameras.id}": "1"}))
    assert response.status_code == 403
    assert "Organisations of this kind cannot borrow Camera kit." in html(response)
    assert count_bookings() == 0 and reservations() == []


def test_a_member_cannot_smuggle_in_a_type_their_organisation_may_not_borrow(client, auth, member, mjosa):
    cameras = make_equipment_type(units=2, name="Camera kit", bookable_by=["hospital"])
    auth.as_user(member)
    response = client.post("/bookings/new", data=form_data(mjosa, in_a_week(), **{f"equipment_{cameras.id}": "1"}))
    assert response.status_code == 303  # the field is not on their form: ignored
    assert count_bookings() == 1 and reservations() == []


# --- the booking's page ------------------------------------------------------------------------

def test_booking_page_links_to_its_calendar_file(client, auth, member, mjosa):
    booking = make_booking(mjosa, member)
    auth.as_user(member)
    page = html(client.get(f"/bookings/{booking.id}"))
    assert f'href="/bookings/{booking.id}.ics" download>Add to your calendar (.ics file)</a>' in page
    assert client.get(f"/bookings/{booking.id}.ics").status_code == 200


def test_equipment_of_a_booking_is_shown_only_to_those_who_may_see_the_reservation(client, auth, member, mjosa, kits):
    booking = make_booking(mjosa, member, title="Shared workshop", visibility="partners")
    make_reservation(kits, user=member, booking_id=booking.id, start=booking.start, days=1)
    partner = make_user(make_org(kind="hospital"), locale="en")
    auth.as_user(partner)
    page = html(client.get(f"/bookings/{booking.id}"))
    assert "Shared workshop" in page and "Fall sensor kit" not in page
    auth.as_user(member)
    assert "Fall sensor kit × 1" in html(client.get(f"/bookings/{booking.id}"))


# --- cancelling --------------------------------------------------------------------------------

def book_with_kits(client, member, space, kits, **extra) -> Booking:
    response = client.post("/bookings/new", data=form_data(space, in_a_week(), **{f"equipment_{kits.id}": "2"},
                                                            **extra))
    assert response.status_code == 303, html(response)
    return db.session.scalars(sa.select(Booking).order_by(Booking.start)).first()


def test_cancel_form_asks_about_equipment_only_when_there_is_some(client, auth, member, mjosa, kits):
    auth.as_user(member)
    plain = make_booking(mjosa, member, start=at(in_a_week() + timedelta(days=1), 9))
    assert "Cancel the equipment" not in html(client.get(f"/bookings/{plain.id}/cancel"))
    booking = book_with_kits(client, member, mjosa, kits)
    page = html(client.get(f"/bookings/{booking.id}/cancel"))
    assert ('<input aria-describedby="cancel_equipment-hint" checked id="cancel_equipment" name="cancel_equipment" '
            'type="checkbox" value="y">') in page  # ticked unless the user unticks it
    assert '<label for="cancel_equipment">Cancel the equipment reserved with the booking too</label>' in page


@BOTH
def test_cancelling_with_the_box_ticked_frees_the_units(client, auth, member, mjosa, kits):
    auth.as_user(member)
    booking = book_with_kits(client, member, mjosa, kits)
    response = client.post(f"/bookings/{booking.id}/cancel", data={"reason": "Pilot postponed",
                                                                   "cancel_equipment": "y"})
    assert response.status_code == 303
    reservation, = reservations()
    assert reservation.status == ReservationStatus.CANCELLED
    assert not any(a.active for a in reservation.allocations)
    page = html(client.get(f"/bookings/{booking.id}"))
    assert '<span class="status status--cancelled">Cancelled</span>' in page


def test_cancelling_with_the_box_unticked_keeps_the_equipment_reserved(client, auth, member, mjosa, kits):
    auth.as_user(member)
    booking = book_with_kits(client, member, mjosa, kits)
    response = client.post(f"/bookings/{booking.id}/cancel", data={"reason": "Room not needed"})
    assert response.status_code == 303
    db.session.refresh(booking)
    reservation, = reservations()
    assert booking.status == BookingStatus.CANCELLED
    assert reservation.status == ReservationStatus.CONFIRMED and all(a.active for a in reservation.allocations)


def test_cancel_form_of_a_series_asks_when_another_occurrence_has_equipment(client, auth, member, mjosa, kits):
    auth.as_user(member)
    book_with_kits(client, member, mjosa, kits, repeat="weekly", count="2")
    first, second = db.session.scalars(sa.select(Booking).order_by(Booking.start)).all()
    client.post(f"/bookings/{first.id}/cancel", data={"reason": "Holiday", "scope": "this", "cancel_equipment": "y"})
    assert "Cancel the equipment" in html(client.get(f"/bookings/{second.id}/cancel"))
    statuses = [r.status for r in reservations()]
    assert statuses == [ReservationStatus.CANCELLED, ReservationStatus.CONFIRMED]
