"""Events with registration, second pass (issue 18): a cancelled or moved event tells its
registrants, registrations in a person's data export and anonymisation, needs erased after the
event, an anonymous repeat registration that reveals nothing, and attendance in the reports."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import sqlalchemy as sa

from accounts import services as accounts
from booking.models import Booking
from booking.registrations.models import Registration, RegistrationStatus
from booking.registrations.personal_data import erase_old_needs
from samskap.extensions import db
from samskap.timeutil import to_local, utcnow
from samskap.worker import PeriodicJobState, run_due_jobs
from tests.conftest import BOTH
from tests.factories import api_headers, make_user
from tests.feeds_ics import parse_calendar
from tests.test_registrations import END, START, iso, link_in, make_event, outbox, register_as, world  # noqa: F401


def anonymous(client, event_id, **body):
    return client.application.test_client().post(f"/api/v1/bookings/{event_id}/registrations", json=body,
                                                  headers={"Accept-Language": "en"})


def registrations(event_id) -> dict[str, Registration]:
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Registration).where(Registration.booking_id == event_id))
    return {r.email: r for r in rows}


def calendar_of(message):
    [(_name, content_type, data)] = message.attachment_items()
    [vevent] = parse_calendar(data.encode()).walk("VEVENT")
    return content_type, vevent


def full_event(client, world):
    """Capacity 1: a confirmed (nb), a waitlisted (en) and a pending (not signed in) registrant."""
    event = make_event(client, world, capacity=1)
    placed = make_user(email="plass@example.no", name="Har Plass", locale="nb")
    waiting = make_user(email="venter@example.no", name="Venter", locale="en")
    assert register_as(client, event["id"], placed).json["status"] == "confirmed"
    assert register_as(client, event["id"], waiting).json["status"] == "waitlisted"
    assert anonymous(client, event["id"], name="Gjest", email="gjest@example.no").status_code == 201
    return event


# --- a cancelled or moved event ------------------------------------------------------------------------

@BOTH
def test_cancelling_the_booking_cancels_every_registration_and_tells_each_registrant(client, world):
    event = full_event(client, world)
    response = client.post(f"/api/v1/bookings/{event['id']}/cancel", json={"reason": "Sykdom"},
                           headers=world["headers"]["organiser"])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert {email: r.status for email, r in registrations(event["id"]).items()} == {
        "plass@example.no": RegistrationStatus.CANCELLED, "venter@example.no": RegistrationStatus.CANCELLED,
        "gjest@example.no": RegistrationStatus.CANCELLED}
    assert all(r.cancelled_at is not None for r in registrations(event["id"]).values())

    messages = {m.to_address: m for m in outbox("registration.event_cancelled")}
    assert set(messages) == {"plass@example.no", "venter@example.no", "gjest@example.no"}
    placed = messages["plass@example.no"]
    assert placed.locale == "nb" and placed.subject == "Arrangement avlyst: Velferdsteknologi-frokost"
    assert "Sykdom" in placed.text
    content_type, vevent = calendar_of(placed)
    assert content_type == "text/calendar; method=CANCEL"
    # No place held, no calendar to take back; each in their own language.
    assert not messages["venter@example.no"].attachment_items() and not messages["gjest@example.no"].attachment_items()
    assert messages["venter@example.no"].subject == "Event cancelled: Velferdsteknologi-frokost"
    invitation = outbox("registration.confirmed", to="plass@example.no")[0]
    _type, invited = calendar_of(invitation)
    assert str(vevent["uid"]) == str(invited["uid"]) == f"booking-{event['id']}@samskap.test"
    assert int(vevent["sequence"]) > int(invited["sequence"]) and str(vevent["status"]) == "CANCELLED"
    # Nobody moved up from the waitlist of a cancelled event.
    assert outbox("registration.promoted") == []


def test_rejecting_a_pending_event_cancels_its_registrations(client, world):
    world["space"].requires_approval = True
    db.session.commit()
    event = make_event(client, world, capacity=2)
    assert event["status"] == "pending"
    assert register_as(client, event["id"], make_user(email="tidlig@example.no")).json["status"] == "confirmed"
    response = client.post(f"/api/v1/bookings/{event['id']}/reject", json={"reason": "Dobbeltbooket"},
                           headers=world["headers"]["staff"])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert registrations(event["id"])["tidlig@example.no"].status == RegistrationStatus.CANCELLED
    [message] = outbox("registration.event_cancelled")
    assert "Dobbeltbooket" in message.text and calendar_of(message)[0] == "text/calendar; method=CANCEL"


def test_a_refused_cancellation_leaves_the_registrations_alone(client, world):
    event = full_event(client, world)
    response = client.post(f"/api/v1/bookings/{event['id']}/cancel", headers=world["headers"]["outsider"])
    assert response.status_code in (403, 404)
    assert registrations(event["id"])["plass@example.no"].status == RegistrationStatus.CONFIRMED
    assert outbox("registration.event_cancelled") == []


def test_a_cancelled_event_takes_no_more_registrations(client, world):
    event = make_event(client, world, capacity=3)
    client.post(f"/api/v1/bookings/{event['id']}/cancel", headers=world["headers"]["organiser"])
    late = register_as(client, event["id"], make_user())
    assert late.status_code in (404, 409)
    assert registrations(event["id"]) == {}


@BOTH
def test_moving_the_event_sends_registrants_with_a_place_an_updated_invitation(client, world):
    event = full_event(client, world)
    moved_start = START + timedelta(hours=1)
    response = client.patch(f"/api/v1/bookings/{event['id']}", json={"start": iso(moved_start)},
                            headers=world["headers"]["organiser"])
    assert response.status_code == 200, response.get_data(as_text=True)
    messages = {m.to_address: m for m in outbox("registration.event_moved")}
    assert set(messages) == {"plass@example.no", "venter@example.no", "gjest@example.no"}
    content_type, vevent = calendar_of(messages["plass@example.no"])
    assert content_type == "text/calendar; method=REQUEST"
    booking = db.session.get(Booking, event["id"])
    assert int(vevent["sequence"]) == booking.sequence
    _type, invited = calendar_of(outbox("registration.confirmed", to="plass@example.no")[0])
    assert int(vevent["sequence"]) > int(invited["sequence"]) and str(vevent["uid"]) == str(invited["uid"])
    assert vevent.decoded("dtstart") == moved_start
    assert not messages["venter@example.no"].attachment_items()
    assert registrations(event["id"])["plass@example.no"].status == RegistrationStatus.CONFIRMED

    # A change of text alone is no news for the registrants.
    client.patch(f"/api/v1/bookings/{event['id']}", json={"title": "Frokostmøte"},
                 headers=world["headers"]["organiser"])
    assert len(outbox("registration.event_moved")) == 3


# --- the same answer for an address already registered -------------------------------------------------------

@BOTH
def test_an_anonymous_repeat_registration_answers_as_a_new_one_and_tells_the_address(client, world):
    event = make_event(client, world, capacity=5)
    known = make_user(email="kjent@example.no", name="Kjent", locale="en")
    assert register_as(client, event["id"], known).json["status"] == "confirmed"

    fresh = anonymous(client, event["id"], name="Ny Person", email="ny@example.no")
    again = anonymous(client, event["id"], name="Ny Person", email="Kjent@example.no")
    assert (again.status_code, sorted(again.json)) == (fresh.status_code, sorted(fresh.json)) == (
        201, ["booking_id", "email", "name", "status"])
    assert again.json["status"] == fresh.json["status"] == "pending_confirmation"
    assert again.json == {**fresh.json, "email": "kjent@example.no"}
    assert again.headers.get("Content-Type") == fresh.headers.get("Content-Type")

    assert registrations(event["id"])["kjent@example.no"].status == RegistrationStatus.CONFIRMED
    [notice] = outbox("registration.already_registered")
    assert notice.to_address == "kjent@example.no" and notice.locale == "en"
    assert notice.subject == "You are already registered: Velferdsteknologi-frokost"
    assert not notice.attachment_items()
    link = link_in(notice)
    assert client.post(link + "/cancel").status_code == 303  # their link, to cancel if they wish
    assert registrations(event["id"])["kjent@example.no"].status == RegistrationStatus.CANCELLED


def test_a_signed_in_person_registering_another_address_goes_through_that_address_email_link(client, world):
    """Signed in, one's own address gets a place at once; another address is treated as anonymous
    registration is: pending until its owner confirms, and the same answer whether or not the
    address is registered already (a signed-in member cannot probe addresses or sign others up)."""
    event = make_event(client, world, capacity=5)
    assert register_as(client, event["id"], make_user(email="kjent@example.no")).json["status"] == "confirmed"
    colleague = make_user(email="kollega@example.no")

    fresh = register_as(client, event["id"], colleague, name="Ny Person", email="ny@example.no")
    again = register_as(client, event["id"], colleague, name="Ny Person", email="kjent@example.no")
    assert (again.status_code, sorted(again.json)) == (fresh.status_code, sorted(fresh.json)) == (
        201, ["booking_id", "email", "name", "status"])
    assert again.json == {**fresh.json, "email": "kjent@example.no"}
    assert fresh.json["status"] == "pending_confirmation"
    pending = registrations(event["id"])["ny@example.no"]
    assert pending.status == RegistrationStatus.PENDING and pending.user_id is None
    assert [m.to_address for m in outbox("registration.already_registered")] == ["kjent@example.no"]
    assert "ny@example.no" in [m.to_address for m in outbox()]
    own = register_as(client, event["id"], colleague)  # their own address: a place at once
    assert own.json["status"] == "confirmed" and "id" in own.json


def test_the_registration_page_answers_the_same_for_a_registered_address(client, world):
    event = make_event(client, world, capacity=5)
    assert register_as(client, event["id"], make_user(email="kjent@example.no")).status_code == 201

    def page(email):
        response = client.post(f"/events/{event['id']}/register", data={"name": "Noen", "email": email},
                               headers={"Accept-Language": "en"})
        return response.status_code, response.get_data(as_text=True).replace(email, "EMAIL")

    assert page("kjent@example.no") == page("ny@example.no")
    assert page("ny@example.no")[0] == 200


# --- personal data ------------------------------------------------------------------------------------------

def test_export_and_anonymising_reach_registrations_by_account_and_by_address(client, world):
    first = make_event(client, world, capacity=5)
    second = make_event(client, world, capacity=5, start=iso(START + timedelta(days=1)),
                        end=iso(END + timedelta(days=1)),
                        registration={"capacity": 5, "closes_at": iso(START), "audience": "public"})
    person = make_user(email="person@example.no", name="Per Son")
    register_as(client, first["id"], person, needs="Glutenfri")
    anonymous(client, second["id"], name="Per S.", email="person@example.no", organisation="Kommunen",
              needs="Rullestol")
    someone_else = make_user(email="annen@example.no")
    register_as(client, first["id"], someone_else, needs="Vegetar")

    data = accounts.export_personal_data(person)
    assert sorted((r["booking_id"], r["needs"], r["status"]) for r in data["event_registrations"]) == [
        (first["id"], "Glutenfri", "confirmed"), (second["id"], "Rullestol", "pending_confirmation")]
    assert all(r["email"] == "person@example.no" for r in data["event_registrations"])

    admin = make_user(role="admin")
    accounts.anonymise_user(admin, person)
    db.session.commit()
    name, email = accounts.anonymous_identity(person)
    mine = [registrations(first["id"])[email], registrations(second["id"])[email]]
    assert [(r.name, r.organisation, r.needs, r.user_id) for r in mine] == [(name, "", "", person.id)] * 2
    assert mine[0].status == RegistrationStatus.CONFIRMED  # still counts for the event and the reports
    assert person.email == email and person.name == name
    assert registrations(first["id"])["annen@example.no"].needs == "Vegetar"
    assert "person@example.no" not in str(accounts.export_personal_data(person))


@BOTH
def test_needs_are_erased_the_configured_days_after_the_event_ended(app, client, world):
    event = make_event(client, world, capacity=5)
    register_as(client, event["id"], make_user(email="a@example.no"), needs="Nøttefri")
    booking = db.session.get(Booking, event["id"])
    app.config["SAMSKAP_REGISTRATION_NEEDS_DAYS"] = 10
    assert erase_old_needs(booking.end + timedelta(days=9)) == 0
    assert registrations(event["id"])["a@example.no"].needs == "Nøttefri"
    assert erase_old_needs(booking.end + timedelta(days=10, minutes=1)) == 1
    db.session.commit()
    assert registrations(event["id"])["a@example.no"].needs == ""


def test_the_worker_runs_the_needs_retention_job(app, client, world):
    event = make_event(client, world, capacity=5)
    register_as(client, event["id"], make_user(email="a@example.no"), needs="Laktosefri")
    booking = db.session.get(Booking, event["id"])
    ran = run_due_jobs("test-worker", now=booking.end + timedelta(days=31))
    assert "registrations.needs_retention" in ran
    assert db.session.get(PeriodicJobState, "registrations.needs_retention").last_error is None
    assert registrations(event["id"])["a@example.no"].needs == ""


# --- attendance in the reports -------------------------------------------------------------------------------

@BOTH
def test_the_behaviour_report_counts_registered_and_attended_per_event(client, world):
    event = make_event(client, world, capacity=3)
    people = [make_user(email=f"p{i}@example.no") for i in range(4)]
    ids = [register_as(client, event["id"], p).json["id"] for p in people]
    for rid, came in zip(ids[:2], (True, False)):
        response = client.post(f"/api/v1/bookings/{event['id']}/registrations/{rid}/attendance",
                               json={"attended": came}, headers=world["headers"]["organiser"])
        assert response.status_code == 200
    other = make_event(client, world, capacity=2, start=iso(START + timedelta(days=1)),
                       end=iso(END + timedelta(days=1)),
                       registration={"capacity": 2, "closes_at": iso(START), "audience": "public"})
    client.post(f"/api/v1/bookings/{other['id']}/cancel", headers=world["headers"]["organiser"])
    day = to_local(START).date()
    query = {"from": (day - timedelta(days=2)).isoformat(), "to": (day + timedelta(days=3)).isoformat()}
    body = client.get("/api/v1/reports/behaviour", query_string=query, headers=world["headers"]["staff"]).json
    attendance = body["attendance"]
    assert {k: attendance[k] for k in ("events", "places", "registered", "waitlisted", "attended", "absent",
                                       "unmarked", "attendance_rate")} == {
        "events": 1, "places": 3, "registered": 3, "waitlisted": 1, "attended": 1, "absent": 1, "unmarked": 1,
        "attendance_rate": 0.5}
    [row] = attendance["by_event"]
    assert (row["booking_id"], row["title"], row["space"], row["registered"], row["attended"]) == (
        event["id"], "Velferdsteknologi-frokost", "Auditoriet", 3, 1)

    alone = client.get("/api/v1/reports/attendance", query_string=query, headers=world["headers"]["staff"]).json
    assert alone == {"from": query["from"], "to": query["to"], **attendance}
    csv_text = client.get("/api/v1/reports/attendance", query_string={**query, "format": "csv"},
                          headers=world["headers"]["staff"]).get_data().decode("utf-8-sig")
    header, line = list(csv.reader(io.StringIO(csv_text)))
    assert header[:2] == ["booking_id", "title"] and dict(zip(header, line))["attended"] == "1"
    assert dict(zip(header, line))["registered"] == "3" and dict(zip(header, line))["attendance_rate"] == "0.5"
    bad = client.get("/api/v1/reports/attendance", query_string={**query, "format": "pdf"},
                     headers=world["headers"]["staff"])
    assert bad.status_code == 422 and "format" in bad.json["error"]["details"]["fields"]
    member = client.get("/api/v1/reports/attendance", query_string=query, headers=world["headers"]["outsider"])
    assert member.status_code == 403

    # A contact of another organisation sees none of it.
    contact = make_user(world["outsider"].organisation, email="kontakt@tryggtek.example")
    contact.is_org_contact = True
    db.session.commit()
    theirs = client.get("/api/v1/reports/behaviour", query_string=query, headers=api_headers(contact)).json
    assert theirs["attendance"]["events"] == 0 and theirs["attendance"]["by_event"] == []


def test_the_reports_page_shows_attendance_at_events(client, auth, world):
    event = make_event(client, world, capacity=3)
    rid = register_as(client, event["id"], make_user()).json["id"]
    client.post(f"/api/v1/bookings/{event['id']}/registrations/{rid}/attendance", json={"attended": True},
                headers=world["headers"]["organiser"])
    auth.as_user(world["staff"])
    day = to_local(START).date()
    page = client.get("/reports", query_string={"first": day.isoformat(), "last": day.isoformat(),
                                                  "group": "day"}, headers={"Accept-Language": "en"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="attendance"' in text and "Velferdsteknologi-frokost" in text
    assert "/api/v1/reports/attendance?" in text and "format=csv" in text


@BOTH
def test_anonymising_someone_with_two_registrations_for_one_event_keeps_them_apart(client, world):
    event = make_event(client, world, capacity=5)
    person = make_user(email="person@example.no", name="Per Son")
    assert register_as(client, event["id"], person, email="per.jobb@example.no").status_code == 201
    # Linked to the account under another address (as registrations made before another address
    # needed its owner's confirmation are): written directly.
    work = registrations(event["id"])["per.jobb@example.no"]
    work.user_id, work.status = person.id, RegistrationStatus.CONFIRMED
    db.session.commit()
    assert anonymous(client, event["id"], name="Per", email="person@example.no").status_code == 201
    accounts.anonymise_user(make_user(role="admin"), person)
    db.session.commit()
    rows = registrations(event["id"]).values()
    assert len(rows) == 2 and {r.name for r in rows} == {accounts.anonymous_identity(person)[0]}
    assert all(r.email.endswith("@invalid.invalid") and r.user_id == person.id for r in rows)


def test_cancelling_a_whole_series_reaches_the_registrations_of_each_occurrence(client, world):
    series = client.post("/api/v1/bookings", headers=world["headers"]["organiser"], json={
        "space_id": world["space"].id, "title": "Ukentlig frokost", "start": iso(START), "end": iso(END),
        "purpose": "event", "visibility": "public", "recurrence": {"freq": "weekly", "count": 3}}).json
    first, second, _third = [o["id"] for o in series["occurrences"]]
    opened = client.patch(f"/api/v1/bookings/{second}", headers=world["headers"]["organiser"], json={
        "registration": {"capacity": 5, "closes_at": iso(START), "audience": "public"}})
    assert opened.status_code == 200, opened.get_data(as_text=True)
    assert register_as(client, second, make_user(email="uke2@example.no")).json["status"] == "confirmed"

    response = client.post(f"/api/v1/bookings/{first}/cancel", json={"scope": "series"},
                           headers=world["headers"]["organiser"])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert registrations(second)["uke2@example.no"].status == RegistrationStatus.CANCELLED
    [message] = outbox("registration.event_cancelled")
    assert message.to_address == "uke2@example.no"
    assert calendar_of(message)[0] == "text/calendar; method=CANCEL"
