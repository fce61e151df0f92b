"""Registering again. A signed-in person with their own address is told they are registered, with
their registration (it concerns only them); one whose own address waits for its email link takes
the place now (being signed in proves the address). Anyone else entering an address (not signed in,
or signed in as someone else) gets the answer a new registration gets, so it never tells who is
registered (tests/test_registrations_lifecycle.py holds those)."""
from __future__ import annotations

from booking.registrations.models import RegistrationStatus
from tests.conftest import BOTH
from tests.factories import make_user
from tests.test_registrations import link_in, make_event, outbox, register_as, world  # noqa: F401
from tests.test_registrations_lifecycle import anonymous, registrations


@BOTH
def test_ones_own_address_again_answers_409_with_ones_registration_and_changes_nothing(client, world):
    event = make_event(client, world, capacity=1)
    first = make_user(email="forst@example.no", name="Først", locale="en")
    second = make_user(email="andre@example.no", name="Andre", locale="en")
    placed = register_as(client, event["id"], first)
    waiting = register_as(client, event["id"], second)
    assert (placed.status_code, placed.json["status"]) == (201, "confirmed")
    assert (waiting.status_code, waiting.json["status"]) == (201, "waitlisted")
    sent = len(outbox())
    for person, answer in ((first, placed.json), (second, waiting.json)):
        again = register_as(client, event["id"], person, needs="Vegetarian")
        assert again.status_code == 409, again.get_data(as_text=True)
        error = again.json["error"]
        assert error["code"] == "already_registered"
        assert error["message"] == "You are already registered for this event."
        assert error["details"]["registration"] == answer  # the same shape as the first answer
    assert len(outbox()) == sent  # nothing sent for a repeat
    rows = registrations(event["id"])
    assert {email: r.status for email, r in rows.items()} == {
        "forst@example.no": RegistrationStatus.CONFIRMED, "andre@example.no": RegistrationStatus.WAITLISTED}
    assert rows["forst@example.no"].needs == ""  # the repeat changed nothing


@BOTH
def test_ones_own_address_waiting_for_its_link_takes_the_place_when_signed_in(client, world):
    event = make_event(client, world, capacity=5)
    assert anonymous(client, event["id"], name="Kari", email="kari@example.no").status_code == 201
    pending = registrations(event["id"])["kari@example.no"]
    old_link = link_in(outbox("registration.confirm", to="kari@example.no")[0])
    kari = make_user(email="Kari@Example.no", name="Kari Nordmann", locale="en")

    answer = register_as(client, event["id"], kari, needs="Step-free access")
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert answer.json == {"id": pending.id, "booking_id": event["id"], "status": "confirmed",
                           "name": "Kari Nordmann", "email": "kari@example.no"}
    row = registrations(event["id"])["kari@example.no"]
    assert (row.status, row.user_id, row.needs) == (RegistrationStatus.CONFIRMED, kari.id, "Step-free access")
    [invitation] = outbox("registration.confirmed", to="kari@example.no")
    assert invitation.attachment_items()  # the calendar invitation of a place
    assert client.get(old_link).status_code == 404  # the earlier link (perhaps typed by someone else) ends
    again = register_as(client, event["id"], kari)
    assert again.status_code == 409 and again.json["error"]["details"]["registration"]["id"] == pending.id


def test_another_persons_address_never_tells_whether_it_is_registered(client, world):
    event = make_event(client, world, capacity=5)
    assert register_as(client, event["id"], make_user(email="kjent@example.no")).status_code == 201
    asker = make_user(email="spor@example.no")
    known = register_as(client, event["id"], asker, name="X", email="kjent@example.no")
    unknown = register_as(client, event["id"], asker, name="X", email="ukjent@example.no")
    assert known.status_code == unknown.status_code == 201
    assert known.json == {**unknown.json, "email": "kjent@example.no"}
    assert "id" not in known.json and "already_registered" not in known.get_data(as_text=True)


def test_the_page_tells_a_signed_in_person_they_are_already_registered(client, auth, world):
    event = make_event(client, world, capacity=5)
    person = make_user(email="side@example.no", locale="en")
    assert register_as(client, event["id"], person).json["status"] == "confirmed"
    auth.as_user(person)
    response = client.post(f"/events/{event['id']}/register", data={"name": person.name, "email": person.email})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "You are already registered" in page and "You have a place at Velferdsteknologi-frokost." in page
    assert len(registrations(event["id"])) == 1
