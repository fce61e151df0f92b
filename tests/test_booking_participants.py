"""Who is in the room (issue 18): participating organisations and named participants on a
booking, their invitations by email with the booking's .ics, and what they may see."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from accounts.models import Role
from booking.feeds.cache import current_generation
from booking.models import Booking
from booking.participants import BookingParticipant
from booking.permissions import can_view_details, details_visible_clause
from samskap.extensions import db
from samskap.mail import OutboxMessage
from tests.conftest import BOTH
from tests.factories import api_headers, make_org, make_space, make_user
from tests.test_notifications_booking import drain, invitation_of, outbox

DAY = date.today() + timedelta(days=4)
START = f"{DAY.isoformat()}T10:00:00+01:00"
END = f"{DAY.isoformat()}T12:00:00+01:00"


@pytest.fixture
def room(app):
    hospital = make_org("hospital", name="Sykehuset Innlandet")
    company = make_org("company", name="Tryggtek AS")
    municipality = make_org("municipality", name="Gjøvik kommune")
    organiser = make_user(municipality, name="Åse Ås", email="ase@kommune.example", locale="en")
    colleague = make_user(municipality, name="Kari Kollega", email="kari@kommune.example", locale="nb")
    nurse = make_user(hospital, name="Nina Nurse", email="nina@sykehus.example", locale="en")
    engineer = make_user(company, name="Erik Engineer", email="erik@tryggtek.example", locale="en")
    outsider = make_user(make_org("academia"), name="Olav Outsider", email="olav@ntnu.example", locale="en")
    staff = make_user(role=Role.STAFF, locale="en")
    space = make_space(name="Verkstedet")
    headers = {name: api_headers(user) for name, user in (("organiser", organiser), ("nurse", nurse),
                                                          ("engineer", engineer), ("outsider", outsider),
                                                          ("staff", staff))}
    return dict(hospital=hospital, company=company, municipality=municipality, organiser=organiser,
                colleague=colleague, nurse=nurse, engineer=engineer, outsider=outsider, staff=staff, space=space,
                headers=headers)


def _book(client, room, participants=None, who="organiser", **extra):
    body = {"space_id": room["space"].id, "title": "Co-creation on falls", "start": START, "end": END,
            "description": "Bring sketches", **extra}
    if participants is not None:
        body["participants"] = participants
    return client.post("/api/v1/bookings", json=body, headers=room["headers"][who])


@BOTH
def test_a_booking_made_without_participants_or_fields_answers_what_reading_it_back_shows(client, room):
    made = _book(client, room)
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["participants"] == {"organisation_ids": [], "organisations": [], "people": []}
    assert body["fields"] == {}
    again = client.get(f"/api/v1/bookings/{body['id']}", headers=room["headers"]["organiser"]).get_json()
    assert (again["participants"], again["fields"]) == (body["participants"], body["fields"])


@BOTH
def test_create_get_and_patch_participants(client, room):
    response = _book(client, room, {"organisation_ids": [room["hospital"].id, room["municipality"].id],
                                    "people": [{"user_id": room["colleague"].id},
                                               {"email": "Guest@Example.NO", "name": "Gina Guest"},
                                               {"email": "guest@example.no"}]})
    assert response.status_code == 201, response.get_data(as_text=True)
    booking_id = response.json["id"]
    # The booker's own organisation is not a participant of its own booking; the duplicate guest is dropped.
    assert response.json["participants"]["organisation_ids"] == [room["hospital"].id]
    assert response.json["participants"]["people"] == [
        {"user_id": room["colleague"].id, "name": "Kari Kollega", "email": None},
        {"user_id": None, "name": "Gina Guest", "email": "guest@example.no"}]

    got = client.get(f"/api/v1/bookings/{booking_id}", headers=room["headers"]["organiser"]).json
    assert got["participants"] == response.json["participants"]

    patched = client.patch(f"/api/v1/bookings/{booking_id}", headers=room["headers"]["organiser"],
                           json={"participants": {"people": [{"email": "ny@example.no"}]}})
    assert patched.status_code == 200, patched.get_data(as_text=True)
    assert patched.json["participants"]["organisation_ids"] == [room["hospital"].id]  # not given: kept
    assert [p["email"] for p in patched.json["participants"]["people"]] == ["ny@example.no"]


@pytest.mark.parametrize("participants, field", [
    ("everyone", "participants"),
    ({"organisation_ids": "1"}, "participants.organisation_ids"),
    ({"organisation_ids": [999999]}, "participants.organisation_ids[0]"),
    ({"people": [{"email": "not an address"}]}, "participants.people[0].email"),
    ({"people": [{"email": 42}]}, "participants.people[0].email"),
    ({"people": [{"user_id": 5, "email": "a@b.no"}]}, "participants.people[0]"),
    ({"people": [{}]}, "participants.people[0]"),
    ({"people": ["a@b.no"]}, "participants.people[0]"),
    ({"people": [{"email": "a@b.no", "phone": "1"}]}, "participants.people[0].phone"),
    ({"people": [{"email": "a@b.no", "name": "x" * 201}]}, "participants.people[0].name"),
    ({"people": [{"user_id": 2 ** 40}]}, "participants.people[0].user_id"),
    ({"people": [{"email": f"p{i}@example.no"} for i in range(201)]}, "participants.people"),
    ({"guests": []}, "participants.guests"),
])
def test_bad_participants_answer_422_naming_the_entry_and_write_nothing(client, room, participants, field):
    response = _book(client, room, participants)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.json["error"]["details"]["fields"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_a_member_cannot_name_a_stranger_by_user_id_but_may_invite_them_by_email(client, room):
    refused = _book(client, room, {"people": [{"user_id": room["outsider"].id}]})
    assert refused.status_code == 422
    assert "Olav" not in refused.get_data(as_text=True)
    # A user of a participating organisation may be named by id.
    allowed = _book(client, room, {"organisation_ids": [room["hospital"].id],
                                   "people": [{"user_id": room["nurse"].id}, {"email": "olav@ntnu.example"}]})
    assert allowed.status_code == 201, allowed.get_data(as_text=True)


@BOTH
def test_participating_organisations_and_named_people_see_the_details_others_see_busy(client, room):
    booking_id = _book(client, room, {"organisation_ids": [room["hospital"].id],
                                      "people": [{"email": "erik@tryggtek.example"}]}).json["id"]
    booking = db.session.get(Booking, booking_id)
    window = {"start": f"{DAY.isoformat()}T00:00:00+01:00",
              "end": f"{(DAY + timedelta(days=1)).isoformat()}T00:00:00+01:00", "space_id": room["space"].id}
    for who, sees in (("nurse", True), ("engineer", True), ("outsider", False)):
        detail = client.get(f"/api/v1/bookings/{booking_id}", headers=room["headers"][who])
        assert detail.status_code == (200 if sees else 404), who
        [listed] = client.get("/api/v1/bookings", query_string=window, headers=room["headers"][who]).json["bookings"]
        assert listed["title"] == ("Co-creation on falls" if sees else "Busy"), who
        user = room[who]
        assert can_view_details(user, booking) is sees
        visible = db.session.scalar(sa.select(details_visible_clause(user)).where(Booking.id == booking_id))
        assert bool(visible) is sees
    # They see it; they cannot change it.
    refused = client.patch(f"/api/v1/bookings/{booking_id}", headers=room["headers"]["nurse"], json={"title": "Mine"})
    assert refused.status_code == 403
    # Taking the hospital off ends what its members see.
    client.patch(f"/api/v1/bookings/{booking_id}", headers=room["headers"]["organiser"],
                 json={"participants": {"organisation_ids": []}})
    assert client.get(f"/api/v1/bookings/{booking_id}", headers=room["headers"]["nurse"]).status_code == 404


@BOTH
def test_a_guest_gets_the_invitation_with_the_bookings_uid_and_a_cancellation(mail_app, client, smtp, room):
    response = _book(client, room, {"people": [{"email": "gina@example.no", "name": "Gina Guest"},
                                               {"user_id": room["colleague"].id}]})
    assert response.status_code == 201, response.get_data(as_text=True)
    booking_id = response.json["id"]
    drain(mail_app)
    uid = f"booking-{booking_id}@samskap.test"
    invited = [m for m in outbox("booking.participant.invited")]
    assert sorted(m.to_address for m in invited) == ["gina@example.no", "kari@kommune.example"]
    guest = next(m for m in invited if m.to_address == "gina@example.no")
    calendar = invitation_of(guest)
    assert calendar["METHOD"] == "REQUEST"
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == uid
    assert "Co-creation on falls" in guest.subject
    # The colleague reads hers in bokmål, the guest in the organiser's language (English).
    colleague = next(m for m in invited if m.to_address == "kari@kommune.example")
    assert colleague.subject.startswith("Invitasjon"), colleague.subject
    assert guest.subject.startswith("Invitation"), guest.subject
    # What the guest's mail server receives: the invitation as text/calendar; method=REQUEST with that UID.
    [delivered] = [r for r in smtp.received if r.rcpt_tos == ["gina@example.no"]]
    parts = [p for p in delivered.message.walk() if p.get_content_type() == "text/calendar"]
    assert parts and all(p.get_param("method") == "REQUEST" for p in parts)
    assert all(f"UID:{uid}" in p.get_content().replace("\r\n ", "") for p in parts)

    # Taken off the list: a cancellation with the same UID, to her alone.
    client.patch(f"/api/v1/bookings/{booking_id}", headers=room["headers"]["organiser"],
                 json={"participants": {"people": [{"user_id": room["colleague"].id}]}})
    [removed] = outbox("booking.participant.removed")
    assert removed.to_address == "gina@example.no"
    cancel = invitation_of(removed)
    assert cancel["METHOD"] == "CANCEL"
    assert str(cancel.walk("VEVENT")[0]["UID"]) == uid

    # The booking cancelled: the remaining participant is told, with STATUS:CANCELLED.
    client.post(f"/api/v1/bookings/{booking_id}/cancel", headers=room["headers"]["organiser"],
                json={"reason": "Sick"})
    [cancelled] = outbox("booking.participant.cancelled")
    assert cancelled.to_address == "kari@kommune.example"
    [event] = invitation_of(cancelled).walk("VEVENT")
    assert str(event["UID"]) == uid and str(event["STATUS"]) == "CANCELLED"
    drain(mail_app)
    assert all(m.status.value == "sent" for m in outbox()), [(m.kind, m.status, m.last_error) for m in outbox()]


def test_moving_the_booking_sends_participants_the_updated_invitation(client, room):
    booking_id = _book(client, room, {"people": [{"email": "gina@example.no"}]}).json["id"]
    later = client.patch(f"/api/v1/bookings/{booking_id}", headers=room["headers"]["organiser"],
                         json={"start": f"{DAY.isoformat()}T13:00:00+01:00",
                               "end": f"{DAY.isoformat()}T14:00:00+01:00"})
    assert later.status_code == 200, later.get_data(as_text=True)
    [changed] = outbox("booking.participant.changed")
    [event] = invitation_of(changed).walk("VEVENT")
    assert int(event["SEQUENCE"]) == 1


def test_the_organiser_is_not_invited_to_their_own_booking(client, room):
    response = _book(client, room, {"people": [{"user_id": room["organiser"].id}, {"email": "ASE@kommune.example"}]})
    assert response.status_code == 201
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BookingParticipant)) == 0
    assert outbox("booking.participant.invited") == []


def test_the_openapi_description_has_participants_and_fields(client):
    spec = client.get("/api/v1/openapi.json").json
    body = spec["paths"]["/bookings"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"participants", "fields"} <= set(body["properties"])
    patch = spec["paths"]["/bookings/{booking_id}"]["patch"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"participants", "fields"} <= set(patch["properties"])


@BOTH
def test_adding_a_participant_moves_the_feed_generation_and_the_migration_goes_down_and_up(app, room):
    """Participants decide who sees details in feeds, so their rows move the feed generation; 0015
    downgrades to 0014 and upgrades again on both databases."""
    from flask_migrate import downgrade, upgrade

    from booking.participants import BookingParticipantOrganisation
    from tests.factories import make_booking

    booking = make_booking(room["space"], room["organiser"])
    before = current_generation()
    db.session.add(BookingParticipantOrganisation(booking_id=booking.id, organisation_id=room["hospital"].id))
    db.session.commit()
    assert current_generation() > before
    db.session.remove()
    db.engine.dispose()
    downgrade(revision="0014")
    inspector = sa.inspect(db.engine)
    assert not {"booking_participants", "booking_field_definitions"} & set(inspector.get_table_names())
    db.engine.dispose()
    upgrade()
    assert {"booking_participants", "booking_participant_organisations", "booking_field_definitions",
            "booking_field_values"} <= set(sa.inspect(db.engine).get_table_names())
    db.engine.dispose()


@BOTH
def test_a_booking_counts_for_its_participating_organisations_sectors_in_the_sector_matrix(client, room):
    _book(client, room, {"organisation_ids": [room["hospital"].id, room["company"].id]})
    query = {"from": (DAY - timedelta(days=1)).isoformat(), "to": (DAY + timedelta(days=1)).isoformat(),
             "by": "sector_pair"}
    body = client.get("/api/v1/reports/utilisation", query_string=query, headers=room["headers"]["staff"]).json
    rows = {row["key"]: row for row in body["rows"]}
    for pair in (("municipality", "hospital"), ("municipality", "company"), ("hospital", "company")):
        row = rows.get("+".join(pair)) or rows.get("+".join(reversed(pair)))
        assert row["sessions"] == 1 and row["hours"] == 2, pair
    assert all(row["sessions"] == 0 for key, row in rows.items() if "academia" in key)


def test_participants_hear_when_a_pending_booking_is_approved_or_rejected(client, room):
    for space_name, decision in (("Simuleringslab", "approve"), ("Simuleringslab 2", "reject")):
        space = make_space(name=space_name, requires_approval=True)
        booking_id = _book(client, room, {"people": [{"email": f"{decision}@example.no"}]},
                           space_id=space.id).json["id"]
        response = client.post(f"/api/v1/bookings/{booking_id}/{decision}", headers=room["headers"]["staff"],
                               json={"reason": "Double-booked by mistake"})
        assert response.status_code == 200, response.get_data(as_text=True)
    [approved] = outbox("booking.participant.approved")
    assert approved.to_address == "approve@example.no" and invitation_of(approved)["METHOD"] == "REQUEST"
    [rejected] = outbox("booking.participant.rejected")
    assert rejected.to_address == "reject@example.no" and invitation_of(rejected)["METHOD"] == "CANCEL"
    assert "Double-booked by mistake" in rejected.text


def test_only_those_who_may_change_the_booking_see_guests_addresses(client, auth, room):
    booking_id = _book(client, room, {"organisation_ids": [room["hospital"].id],
                                      "people": [{"email": "gina@example.no", "name": "Gina Guest"}]}).json["id"]
    seen = client.get(f"/api/v1/bookings/{booking_id}", headers=room["headers"]["nurse"]).json
    assert seen["participants"]["people"] == [{"user_id": None, "name": "Gina Guest", "email": None}]
    auth.as_user(room["nurse"])
    page = client.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Gina Guest" in page and "gina@example.no" not in page
    auth.as_user(room["organiser"])
    assert "gina@example.no" in client.get(f"/bookings/{booking_id}").get_data(as_text=True)


def test_a_series_invites_each_person_once_to_the_whole_series(client, room):
    response = _book(client, room, {"people": [{"email": "gina@example.no"}]},
                     recurrence={"freq": "weekly", "count": 3})
    assert response.status_code == 201, response.get_data(as_text=True)
    ids = [o["id"] for o in response.json["occurrences"]]
    for booking_id in ids:
        got = client.get(f"/api/v1/bookings/{booking_id}", headers=room["headers"]["organiser"]).json
        assert [p["email"] for p in got["participants"]["people"]] == ["gina@example.no"]
    [invited] = outbox("booking.participant.invited")
    [event] = [e for e in invitation_of(invited).walk("VEVENT") if "RRULE" in e]
    assert str(event["UID"]) == f"series-{response.json['series_id']}@samskap.test"
    # Cancelling one occurrence tells her about that date only.
    client.post(f"/api/v1/bookings/{ids[1]}/cancel", headers=room["headers"]["organiser"], json={"reason": "Ill"})
    [cancelled] = outbox("booking.participant.cancelled")
    [event] = invitation_of(cancelled).walk("VEVENT")
    assert "RECURRENCE-ID" in event and str(event["STATUS"]) == "CANCELLED"
