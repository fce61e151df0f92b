"""Events with registration (issue 18): places, the waitlist, the email link, the organiser's list.

The issue's done-when: a public event with capacity 2 takes two registrations as ``confirmed`` and
the third as ``waitlisted``; cancelling one confirmed place makes the third ``confirmed`` and sends
them an email; forty concurrent registrations for the last place yield exactly one confirmation;
the CSV export lists the confirmed people.
"""
from __future__ import annotations

import csv
import io
import re
import threading
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from accounts.models import Role
from booking.models import Booking
from booking.registrations import services
from booking.registrations.models import Registration, RegistrationSettings, RegistrationStatus
from samskap.extensions import db
from samskap.mail import OutboxMessage, render_pending
from samskap.timeutil import local_to_utc, to_local, utcnow
from samskap.worker import deliver_batch, new_worker_id
from tests.conftest import BOTH, POSTGRES
from tests.factories import api_headers, make_org, make_space, make_user
from tests.feeds_ics import parse_calendar

# 10:00 in Oslo five days ahead: the reports count events by local day, and from "now + 5 days" the
# start fell on the next local day when the module was imported at 23:xx UTC.
START = local_to_utc(to_local(utcnow()).date() + timedelta(days=5), time(10))
END = START + timedelta(hours=2)
CLOSES = START - timedelta(hours=1)


def iso(value):
    return value.isoformat()


@pytest.fixture
def world(app):
    host = make_org("host", name="Helseinn")
    hospital = make_org("hospital", name="Sykehuset")
    company = make_org("company", name="Tryggtek AS")
    organiser = make_user(hospital, email="arrangor@sykehus.example", locale="en")
    contact = make_user(hospital, email="kontakt@sykehus.example", locale="en")
    contact.is_org_contact = True
    outsider = make_user(company, email="utenfor@tryggtek.example", locale="en")
    staff = make_user(host, role=Role.STAFF, email="stab@helseinn.example", locale="en")
    space = make_space(name="Auditoriet", capacity=100)
    db.session.commit()
    return dict(organiser=organiser, contact=contact, outsider=outsider, staff=staff, space=space,
                headers={"organiser": api_headers(organiser), "outsider": api_headers(outsider),
                         "staff": api_headers(staff), "contact": api_headers(contact)})


def make_event(client, world, *, capacity=2, audience="public", visibility="public", who="organiser", **extra):
    body = {"space_id": world["space"].id, "title": "Velferdsteknologi-frokost", "start": iso(START),
            "end": iso(END), "purpose": "event", "visibility": visibility,
            "registration": {"capacity": capacity, "closes_at": iso(CLOSES), "audience": audience}, **extra}
    response = client.post("/api/v1/bookings", json=body, headers=world["headers"][who])
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def register_as(client, booking_id, user, **body):
    """With the user's API token, from a client of its own (a browser session would win over it)."""
    client = client.application.test_client()
    return client.post(f"/api/v1/bookings/{booking_id}/registrations", json=body, headers=api_headers(user))


def drain(app):
    worker = new_worker_id()
    for _ in range(20):
        handled, reachable = deliver_batch(app, worker)
        if not handled or not reachable:
            return


def outbox(kind=None, to=None):
    db.session.expire_all()
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    if to:
        query = query.where(OutboxMessage.to_address == to)
    messages = list(db.session.scalars(query))
    for message in messages:
        render_pending(message)
    return messages


def link_in(message) -> str:
    return re.search(r"http://samskap\.test(/events/registrations/[A-Za-z0-9_-]+)", message.text).group(1)


# --- the done-when -----------------------------------------------------------------------------------

@BOTH
def test_capacity_two_confirms_two_waitlists_the_third_and_a_cancellation_moves_them_up_by_email(
        client, world, mail_app, smtp):
    event = make_event(client, world, capacity=2)
    assert event["registration"]["capacity"] == 2 and event["registration"]["audience"] == "public"
    people = [make_user(email=f"deltaker{i}@example.no", name=f"Deltaker {i}", locale="nb") for i in range(3)]
    statuses = [register_as(client, event["id"], person).json["status"] for person in people]
    assert statuses == ["confirmed", "confirmed", "waitlisted"]

    listing = client.get(f"/api/v1/bookings/{event['id']}/registrations", headers=world["headers"]["organiser"]).json
    first = next(r for r in listing["registrations"] if r["email"] == "deltaker0@example.no")
    response = client.post(f"/api/v1/bookings/{event['id']}/registrations/{first['id']}/cancel",
                           headers=world["headers"]["organiser"])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["status"] == "cancelled"
    assert response.json["promoted"]["email"] == "deltaker2@example.no"
    assert response.json["promoted"]["status"] == "confirmed"
    listing = client.get(f"/api/v1/bookings/{event['id']}/registrations", headers=world["headers"]["staff"]).json
    assert {r["email"]: r["status"] for r in listing["registrations"]} == {
        "deltaker0@example.no": "cancelled", "deltaker1@example.no": "confirmed", "deltaker2@example.no": "confirmed"}

    drain(mail_app)
    received = [r for r in smtp.wait_for(5) if r.rcpt_tos == ["deltaker2@example.no"]]
    assert len(received) == 2  # on the waitlist, then moved up
    subjects = sorted(str(r.message["Subject"]) for r in received)
    assert subjects == ["Du har plass: Velferdsteknologi-frokost", "På venteliste: Velferdsteknologi-frokost"]
    [promoted] = [r.message for r in received if str(r.message["Subject"]).startswith("Du har plass")]
    assert "rykket opp fra ventelisten" in promoted.get_body(("plain",)).get_content()
    part = next(p for p in promoted.walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == "REQUEST"
    cal = parse_calendar(part.get_content().encode())
    [vevent] = cal.walk("VEVENT")
    assert str(vevent["uid"]) == f"booking-{event['id']}@samskap.test"  # the feeds' UID
    assert "deltaker2@example.no" in str(vevent["attendee"])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("app_config", [{"SQLALCHEMY_ENGINE_OPTIONS": {
    "pool_pre_ping": True, "pool_size": 45, "max_overflow": 5}}])
def test_forty_concurrent_registrations_for_the_last_place_confirm_exactly_one(app, backend, client, world):
    event = make_event(client, world, capacity=3)
    for i in range(2):
        assert register_as(client, event["id"], make_user(email=f"tidlig{i}@example.no")).json["status"] == "confirmed"
    user_ids = [make_user(email=f"samtidig{i}@example.no").id for i in range(40)]
    db.session.commit()
    db.session.close()
    barrier = threading.Barrier(len(user_ids), timeout=60)
    outcomes = [""] * len(user_ids)

    def attempt(index, user_id):
        from accounts.models import User

        with app.app_context():
            try:
                if backend == "postgresql":
                    user = db.session.get(User, user_id)  # inside the transaction before the barrier
                barrier.wait()
                if backend != "postgresql":
                    user = db.session.get(User, user_id)
                wanted = services.parse_registration({"name": user.name, "email": user.email}, user)
                registration, _token = services.register(user, event["id"], wanted)
                db.session.commit()
                outcomes[index] = registration.status.value
            except Exception as exc:  # noqa: BLE001 - reported in the assertion
                db.session.rollback()
                outcomes[index] = f"error: {exc!r}"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(i, uid)) for i, uid in enumerate(user_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["confirmed"] + ["waitlisted"] * 39, outcomes
    assert services.confirmed_count(event["id"]) == 3


def test_the_csv_lists_the_confirmed_people_and_is_safe_in_a_spreadsheet(client, world):
    event = make_event(client, world, capacity=2)
    register_as(client, event["id"], make_user(email="kari@example.no", name="Kari Nordmann"),
                organisation="Gjøvik kommune", needs="Glutenfri")
    register_as(client, event["id"], make_user(email="ola@example.no", name="=HYPERLINK(\"http://x\")"))
    register_as(client, event["id"], make_user(email="venter@example.no", name="Venter"))
    client.post(f"/api/v1/bookings/{event['id']}/registrations", json={"name": "Anonym", "email": "a@example.no"})
    response = client.get(f"/api/v1/bookings/{event['id']}/registrations?format=csv",
                          headers=world["headers"]["organiser"])
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert [(r["name"], r["email"]) for r in rows] == [("Kari Nordmann", "kari@example.no"),
                                                        ("'=HYPERLINK(\"http://x\")", "ola@example.no")]
    assert rows[0]["organisation"] == "Gjøvik kommune" and rows[0]["needs"] == "Glutenfri"


# --- anonymous registration by email link -------------------------------------------------------------

@BOTH
def test_anonymous_registration_takes_a_place_only_when_the_email_link_is_used(client, world):
    event = make_event(client, world, capacity=1)
    response = client.post(f"/api/v1/bookings/{event['id']}/registrations",
                           json={"name": "Åse Gjest", "email": "Ase@Example.no", "needs": "Rullestol"},
                           headers={"Accept-Language": "nb"})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["status"] == "pending_confirmation" and response.json["email"] == "ase@example.no"
    assert "token" not in response.json
    assert services.confirmed_count(event["id"]) == 0  # no place held before the link is used
    [message] = outbox("registration.confirm")
    assert message.to_address == "ase@example.no" and message.locale == "nb"
    assert "Bekreft" in message.subject and not message.attachment_items()
    link = link_in(message)

    page = client.get(link)
    assert page.status_code == 200 and "Åse Gjest" in page.get_data(as_text=True)
    assert client.post(link + "/confirm").status_code == 303
    registration = db.session.scalar(sa.select(Registration))
    assert registration.status == RegistrationStatus.CONFIRMED
    [placed] = outbox("registration.confirmed")
    [(name, content_type, data)] = placed.attachment_items()
    assert content_type == "text/calendar; method=REQUEST"
    assert f"UID:booking-{event['id']}@samskap.test" in data
    assert client.post(link + "/confirm").status_code == 303  # a second click changes nothing
    assert len(outbox("registration.confirmed")) == 1

    assert client.post(link + "/cancel").status_code == 303
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).status == RegistrationStatus.CANCELLED
    assert client.get("/events/registrations/" + "x" * 43).status_code == 404


@pytest.mark.csrf
def test_the_registrants_buttons_need_the_csrf_token(client, world):
    event = make_event(client, world, capacity=1)
    client.post(f"/api/v1/bookings/{event['id']}/registrations", json={"name": "Gjest", "email": "g@example.no"})
    link = link_in(outbox("registration.confirm")[0])
    assert client.post(link + "/cancel").status_code == 400
    assert db.session.scalar(sa.select(Registration.status)) == RegistrationStatus.PENDING


@pytest.mark.ratelimit
def test_anonymous_registrations_are_rate_limited_per_address(app, client, world):
    app.config["SAMSKAP_REGISTRATION_LIMIT"] = "2 per hour"
    event = make_event(client, world, capacity=10)
    codes = [client.post(f"/api/v1/bookings/{event['id']}/registrations",
                         json={"name": f"Gjest {i}", "email": f"gjest{i}@example.no"}).status_code for i in range(3)]
    assert codes == [201, 201, 429]
    page = client.post(f"/events/{event['id']}/register", data={"name": "Gjest", "email": "gjest9@example.no"})
    assert page.status_code == 429  # the form shares the limit
    # Signed-in people registering themselves are held only to the API's own limit; registering
    # another address sends a mail to it, so it counts as anonymous registrations do.
    member = make_user()
    assert register_as(client, event["id"], member).status_code == 201
    assert register_as(client, event["id"], member, email="annen@example.no").status_code == 429


@pytest.mark.ratelimit
def test_signed_in_people_registering_themselves_are_held_to_the_api_limit(app, client, world):
    event = make_event(client, world, capacity=10)
    member = make_user()
    app.config["SAMSKAP_API_LIMIT"] = "2 per minute"
    codes = [register_as(client, event["id"], member).status_code for _ in range(4)]
    assert codes == [201, 409, 429, 429]  # the second: already registered


# --- who sees what ------------------------------------------------------------------------------------

def test_a_partners_only_event_is_invisible_to_anyone_not_signed_in(client, auth, world):
    event = make_event(client, world, capacity=5, audience="partners", visibility="partners")
    assert "Velferdsteknologi-frokost" not in client.get("/events").get_data(as_text=True)
    response = client.post(f"/api/v1/bookings/{event['id']}/registrations",
                           json={"name": "Gjest", "email": "g@example.no"})
    assert response.status_code == 404
    assert client.get(f"/events/{event['id']}/register").status_code == 404
    auth.as_user(world["outsider"])
    page = client.get("/events").get_data(as_text=True)
    assert "Velferdsteknologi-frokost" in page and f"/events/{event['id']}/register" in page
    response = register_as(client, event["id"], world["outsider"])
    assert response.get_json().get("status") == "confirmed", response.get_data(as_text=True)


def test_a_public_event_shows_a_register_button_to_everyone(client, world):
    event = make_event(client, world, capacity=5)
    page = client.get("/events", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"/events/{event['id']}/register" in page and "5 of 5 places left" in page
    assert client.get(f"/events/{event['id']}/register").status_code == 200


@pytest.mark.parametrize("who, status", [("organiser", 200), ("contact", 200), ("staff", 200), ("outsider", 403)])
def test_who_may_list_registrations(client, world, who, status):
    event = make_event(client, world, capacity=2)
    assert client.get(f"/api/v1/bookings/{event['id']}/registrations",
                      headers=world["headers"][who]).status_code == status
    assert client.get(f"/api/v1/bookings/{event['id']}/registrations?format=csv",
                      headers=world["headers"][who]).status_code == status


def test_another_organisations_member_cannot_cancel_or_see_registrations_of_a_private_booking(client, auth, world):
    event = make_event(client, world, capacity=2)
    registration = register_as(client, event["id"], make_user()).json
    url = f"/api/v1/bookings/{event['id']}/registrations/{registration['id']}"
    assert client.post(url + "/cancel", headers=world["headers"]["outsider"]).status_code == 403
    assert client.post(url + "/attendance", json={"attended": True},
                       headers=world["headers"]["outsider"]).status_code == 403
    private = client.post("/api/v1/bookings", headers=world["headers"]["organiser"], json={
        "space_id": world["space"].id, "title": "Intern", "start": iso(END + timedelta(hours=1)),
        "end": iso(END + timedelta(hours=2))}).json
    assert client.get(f"/api/v1/bookings/{private['id']}/registrations",
                      headers=world["headers"]["outsider"]).status_code == 404
    auth.as_user(world["outsider"])
    for path in ("registrations", "registrations/sheet", "registration"):
        assert client.get(f"/bookings/{event['id']}/{path}").status_code == 403
    assert db.session.get(Registration, registration["id"]).status == RegistrationStatus.CONFIRMED


# --- settings on the booking ----------------------------------------------------------------------------

@pytest.mark.parametrize("registration, field", [
    ({"capacity": 0, "closes_at": iso(CLOSES)}, "registration.capacity"),
    ({"capacity": "ten", "closes_at": iso(CLOSES)}, "registration.capacity"),
    ({"capacity": True, "closes_at": iso(CLOSES)}, "registration.capacity"),
    ({"capacity": 10}, "registration.closes_at"),
    ({"capacity": 10, "closes_at": "2026-03-16T09:00"}, "registration.closes_at"),
    ({"capacity": 10, "closes_at": iso(END)}, "registration.closes_at"),
    ({"capacity": 10, "closes_at": iso(CLOSES), "audience": "everyone"}, "registration.audience"),
    ({"capacity": 10, "closes_at": iso(CLOSES), "seats": 3}, "registration.seats"),
    ("yes", "registration"),
])
def test_bad_registration_settings_are_refused_before_the_booking_is_written(client, world, registration, field):
    response = client.post("/api/v1/bookings", headers=world["headers"]["organiser"], json={
        "space_id": world["space"].id, "title": "Frokostmøte", "start": iso(START), "end": iso(END),
        "visibility": "public", "registration": registration})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.json["error"]["details"]["fields"]
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_public_registration_needs_a_public_event(client, world):
    response = client.post("/api/v1/bookings", headers=world["headers"]["organiser"], json={
        "space_id": world["space"].id, "title": "Intern", "start": iso(START), "end": iso(END),
        "visibility": "partners", "registration": {"capacity": 5, "closes_at": iso(CLOSES), "audience": "public"}})
    assert response.status_code == 422
    assert "registration.audience" in response.json["error"]["details"]["fields"]


def test_more_places_by_patch_move_the_waitlist_up_and_a_private_change_is_refused(client, world):
    event = make_event(client, world, capacity=1)
    register_as(client, event["id"], make_user(email="en@example.no"))
    assert register_as(client, event["id"], make_user(email="to@example.no")).json["status"] == "waitlisted"
    response = client.patch(f"/api/v1/bookings/{event['id']}", headers=world["headers"]["organiser"],
                            json={"registration": {"capacity": 2}})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["registration"]["capacity"] == 2 and response.json["registration"]["confirmed"] == 2
    assert len(outbox("registration.promoted", to="to@example.no")) == 1
    response = client.patch(f"/api/v1/bookings/{event['id']}", headers=world["headers"]["organiser"],
                            json={"visibility": "private"})
    assert response.status_code == 422 and "registration.audience" in response.json["error"]["details"]["fields"]
    assert client.get(f"/api/v1/bookings/{event['id']}", headers=world["headers"]["organiser"]).json[
        "visibility"] == "public"
    response = client.patch(f"/api/v1/bookings/{event['id']}", headers=world["headers"]["outsider"],
                            json={"registration": {"capacity": 50}})
    assert response.status_code == 403
    assert db.session.get(RegistrationSettings, event["id"]).capacity == 2


def test_registration_is_refused_when_closed_or_twice_for_one_address(client, world):
    event = make_event(client, world, capacity=5)
    person = make_user(email="dobbel@example.no")
    assert register_as(client, event["id"], person).status_code == 201
    again = register_as(client, event["id"], person)
    assert again.status_code == 409 and again.json["error"]["code"] == "already_registered"
    db.session.get(RegistrationSettings, event["id"]).closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    late = register_as(client, event["id"], make_user())
    assert late.status_code == 409 and late.json["error"]["code"] == "registration_closed"


@pytest.mark.parametrize("body", [
    {}, {"name": "X"}, {"email": "x@example.no"}, {"name": "", "email": "x@example.no"},
    {"name": "X", "email": "not an address"}, {"name": ["X"], "email": "x@example.no"},
    {"name": "X", "email": 5}, {"name": "X" * 500, "email": "x@example.no"},
    {"name": "X", "email": "x@example.no", "needs": {"diet": "vegan"}},
    {"name": "X", "email": "x@example.no", "organisation": "O" * 300},
    {"name": "X", "email": "x@example.no", "extra": 1},
    {"name": "\ud800", "email": "x@example.no"},
])
def test_bad_registrations_get_a_clear_answer_never_a_500(client, world, body):
    event = make_event(client, world, capacity=5)
    response = client.post(f"/api/v1/bookings/{event['id']}/registrations", json=body)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.json["error"]["details"]["fields"]
    for raw in (b"[]", b"{", b"null"):
        assert client.post(f"/api/v1/bookings/{event['id']}/registrations", data=raw,
                           content_type="application/json").status_code == 400
    assert client.post("/api/v1/bookings/99999999999/registrations", json={"name": "X"}).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 0


# --- the organiser's pages ---------------------------------------------------------------------------------

def test_the_organiser_opens_registration_marks_attendance_and_prints_the_sheet(client, auth, world):
    booking = client.post("/api/v1/bookings", headers=world["headers"]["organiser"], json={
        "space_id": world["space"].id, "title": "Brukerverksted", "start": iso(START), "end": iso(END),
        "visibility": "partners"}).json
    auth.as_user(world["organiser"])
    detail = client.get(f"/bookings/{booking['id']}").get_data(as_text=True)
    assert f"/bookings/{booking['id']}/registration" in detail
    bad = client.post(f"/bookings/{booking['id']}/registration", data={
        "capacity": "3", "closes_date": (END + timedelta(days=1)).date().isoformat(), "closes_time": "10:00",
        "audience": "partners"})
    assert bad.status_code == 422
    assert 'aria-describedby="closes_date-error"' in bad.get_data(as_text=True).replace("closes_date-hint ", "")
    closes = CLOSES.astimezone(__import__("samskap.timeutil", fromlist=["local_tz"]).local_tz())
    response = client.post(f"/bookings/{booking['id']}/registration", data={
        "capacity": "3", "closes_date": closes.date().isoformat(), "closes_time": closes.strftime("%H:%M"),
        "audience": "partners"})
    assert response.status_code == 303
    settings = db.session.get(RegistrationSettings, booking["id"])
    assert settings.capacity == 3 and settings.closes_at == CLOSES
    kari = make_user(email="kari@example.no", name="Kari")
    ola = make_user(email="ola@example.no", name="Ola")
    ids = [register_as(client, booking["id"], person).json["id"] for person in (kari, ola)]
    page = client.get(f"/bookings/{booking['id']}/registrations").get_data(as_text=True)
    assert "Kari" in page and "Ola" in page and 'name="present"' in page
    assert client.post(f"/bookings/{booking['id']}/registrations/attendance",
                       data={"present": [str(ids[0])]}).status_code == 303
    db.session.expire_all()
    assert [db.session.get(Registration, i).attended for i in ids] == [True, False]
    sheet = client.get(f"/bookings/{booking['id']}/registrations/sheet").get_data(as_text=True)
    assert sheet.index("Kari") < sheet.index("Ola")
    assert client.post(f"/bookings/{booking['id']}/registrations/{ids[0]}/cancel").status_code == 303
    assert db.session.get(Registration, ids[0]).status == RegistrationStatus.CANCELLED


def test_a_repeating_booking_cannot_open_registration(client, world):
    response = client.post("/api/v1/bookings", headers=world["headers"]["organiser"], json={
        "space_id": world["space"].id, "title": "Ukentlig", "start": iso(START), "end": iso(END),
        "visibility": "public", "recurrence": {"freq": "weekly", "count": 3},
        "registration": {"capacity": 5, "closes_at": iso(CLOSES)}})
    assert response.status_code == 422 and "registration" in response.json["error"]["details"]["fields"]
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_a_cancelled_registration_frees_the_address_and_the_registrant_page_is_not_cached(client, world):
    event = make_event(client, world, capacity=1)
    client.post(f"/api/v1/bookings/{event['id']}/registrations", json={"name": "Gjest", "email": "g@example.no"})
    link = link_in(outbox("registration.confirm")[0])
    assert client.get(link).headers["Cache-Control"] == "no-store"
    assert client.post(link + "/cancel").status_code == 303
    again = client.post(f"/api/v1/bookings/{event['id']}/registrations", json={"name": "Gjest", "email": "g@example.no"})
    assert again.status_code == 201 and again.json["status"] == "pending_confirmation"


def test_the_edit_page_cannot_make_an_event_with_registration_private(client, auth, world):
    event = make_event(client, world, capacity=3)
    auth.as_user(world["organiser"])
    local = START.astimezone(__import__("samskap.timeutil", fromlist=["local_tz"]).local_tz())
    local_end = END.astimezone(local.tzinfo)
    response = client.post(f"/bookings/{event['id']}/edit", data={
        "space": world["space"].id, "title": event["title"], "purpose": "event", "date": local.date().isoformat(),
        "start_time": local.strftime("%H:%M"), "end_date": local_end.date().isoformat(),
        "end_time": local_end.strftime("%H:%M"), "attendees": "1", "visibility": "private"},
        headers={"Accept-Language": "en"})
    assert response.status_code == 422, response.status_code
    text = response.get_data(as_text=True)
    assert "Anyone may register only for a public event" in text
    assert db.session.get(Booking, event["id"]).visibility.value == "public"
