"""People without an account see, download and erase their data (GDPR art. 15 and 17): event
registrants and guests named on bookings by address ask on /my-data for an emailed link, signed and
valid for one hour; behind it are their registrations and guest entries, a JSON download and an
erase button that cancels what is still to come (the waitlist moves up) and anonymises the rest."""
from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from accounts.models import User
from booking.models import Booking
from booking.participants import BookingParticipant
from booking.registrations import guest_data
from booking.registrations.models import Registration, RegistrationStatus
from samskap.audit import AuditEntry
from samskap.extensions import db
from tests.conftest import BOTH
from tests.factories import make_user
from tests.test_registrations import make_event, outbox, world  # noqa: F401 (world: a fixture)

GUEST = "ase@example.no"
LINK = re.compile(r"http://samskap\.test(/my-data/[A-Za-z0-9_-]+)")


@pytest.fixture(autouse=True)
def english(client):
    """The pages in English unless a test asks for Norwegian (the site's default)."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


def register_anonymously(client, event_id, email=GUEST, name="Åse Gjest", *, confirm=True, **extra):
    fresh = client.application.test_client()
    response = fresh.post(f"/api/v1/bookings/{event_id}/registrations",
                          json={"name": name, "email": email, **extra})
    assert response.status_code == 201, response.get_data(as_text=True)
    if confirm:
        message = outbox("registration.confirm", to=email)[-1]
        path = re.search(r"http://samskap\.test(/events/registrations/[A-Za-z0-9_-]+)", message.text).group(1)
        assert fresh.post(path + "/confirm").status_code == 303


def ask_for_link(client, email=GUEST, **headers):
    return client.post("/my-data", data={"email": email}, headers=headers)


def data_link(email=GUEST) -> str:
    [message] = outbox(guest_data.MAIL_KIND, to=email)
    return LINK.search(message.text).group(1)


@BOTH
def test_the_full_path_shows_downloads_and_erases_a_guests_data(client, world):
    event = make_event(client, world, capacity=1,
                       participants={"people": [{"email": "Ase@Example.no", "name": "Åse som gjest"}]})
    register_anonymously(client, event["id"], organisation="Gjøvik kommune", needs="Glutenfri")
    register_anonymously(client, event["id"], email="neste@example.no", name="Neste i køen")
    waiting = db.session.scalar(sa.select(Registration).where(Registration.email == "neste@example.no"))
    assert waiting.status == RegistrationStatus.WAITLISTED

    page = ask_for_link(client, "  ASE@example.no ")
    assert page.status_code == 200 and "Check your email" in page.get_data(as_text=True)
    link = data_link()
    shown = client.get(link)
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    text = shown.get_data(as_text=True)
    for expected in ("Velferdsteknologi-frokost", "Åse Gjest", "Gjøvik kommune", "Glutenfri", "Åse som gjest"):
        assert expected in text
    assert "Neste i køen" not in text  # only the address's own entries

    download = client.get(link + "/download")
    assert download.status_code == 200 and download.headers["Content-Type"].startswith("application/json")
    data = json.loads(download.get_data(as_text=True))
    assert data["email"] == GUEST
    [registration] = data["event_registrations"]
    assert (registration["name"], registration["organisation"], registration["needs"], registration["status"]) == (
        "Åse Gjest", "Gjøvik kommune", "Glutenfri", "confirmed")
    assert [(p["title"], p["name"], p["as"]) for p in data["booking_participations"]] == [
        ("Velferdsteknologi-frokost", "Åse som gjest", "guest")]

    erased = client.post(link + "/erase")
    assert erased.status_code == 303
    db.session.expire_all()
    mine = db.session.get(Registration, registration["id"])
    assert mine.status == RegistrationStatus.CANCELLED  # the event is still to come
    assert (mine.name, mine.organisation, mine.needs) == ("Anonymised guest", "", "")
    assert mine.email.endswith("@invalid.invalid") and GUEST not in mine.email
    assert db.session.get(Registration, waiting.id).status == RegistrationStatus.CONFIRMED  # moved up
    assert outbox("registration.promoted", to="neste@example.no")
    assert len(outbox("registration.cancelled_by_you", to=GUEST)) == 1  # their calendar is told
    [guest] = db.session.scalars(sa.select(BookingParticipant))
    assert guest.name == "Anonymised guest" and guest.email.endswith("@invalid.invalid")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)
                             .where(Registration.email == GUEST)) == 0
    [entry] = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "guest_data.erase"))
    assert entry.changes == {"registrations_cancelled": 1, "registrations_anonymised": 1,
                             "guest_entries_anonymised": 1}
    for audited in db.session.scalars(sa.select(AuditEntry)):
        assert GUEST not in json.dumps(audited.changes or {}) + (audited.summary or ""), audited.action

    change = client.patch(f"/api/v1/bookings/{event['id']}", json={"title": "Velferdsteknologi-lunsj"},
                          headers=world["headers"]["organiser"])
    assert change.status_code == 200, change.get_data(as_text=True)
    assert not outbox("booking.participant.changed")  # the anonymised guest is not written to
    after = client.get(link).get_data(as_text=True)
    assert "Samskap holds nothing about this address." in after and "Åse" not in after
    assert client.post(link + "/erase").status_code == 303  # a second click changes nothing


def test_a_past_registration_is_anonymised_not_cancelled_and_keeps_its_attendance(client, world):
    event = make_event(client, world, capacity=5)
    register_anonymously(client, event["id"], needs="Rullestol")
    booking = db.session.get(Booking, event["id"])
    booking.start, booking.end = booking.start - timedelta(days=30), booking.end - timedelta(days=30)
    registration = db.session.scalar(sa.select(Registration))
    registration.attended = True
    db.session.commit()
    ask_for_link(client)
    assert client.post(data_link() + "/erase").status_code == 303
    db.session.expire_all()
    registration = db.session.get(Registration, registration.id)
    assert registration.status == RegistrationStatus.CONFIRMED and registration.attended is True
    assert (registration.name, registration.needs) == ("Anonymised guest", "")
    assert not outbox("registration.cancelled_by_you")


@BOTH
def test_known_and_unknown_addresses_get_the_same_answer_and_only_a_known_one_gets_mail(app, client, world):
    event = make_event(client, world)
    register_anonymously(client, event["id"])
    known, unknown = ask_for_link(client, GUEST), ask_for_link(client, "nobody@example.no")
    account = ask_for_link(client, world["outsider"].email)
    assert known.status_code == unknown.status_code == account.status_code == 200
    assert known.get_data() == unknown.get_data() == account.get_data()
    assert len(outbox(guest_data.MAIL_KIND, to=GUEST)) == 1
    assert outbox(guest_data.MAIL_KIND, to="nobody@example.no") == []
    # The answer waits for the same minimum time whatever the address.
    app.config["SAMSKAP_GUEST_DATA_MIN_MS"] = 150
    for email in (GUEST, "nobody@example.no"):
        started = time.monotonic()
        ask_for_link(client, email)
        assert time.monotonic() - started >= 0.15


def test_an_account_address_is_told_to_sign_in_behind_the_link_and_cannot_erase_here(client, world):
    outsider = world["outsider"]
    ask_for_link(client, outsider.email)
    link = data_link(outsider.email)
    page = client.get(link).get_data(as_text=True)
    assert "belongs to a Samskap account" in page and "Erase my data" not in page
    assert client.get(link + "/download").status_code == 303
    refused = client.post(link + "/erase")
    assert refused.status_code == 409 and "profile" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, outsider.id).anonymised_at is None


def test_expired_tampered_and_foreign_links_get_a_clear_page_not_a_500(client, world):
    token = guest_data.make_token(GUEST, now=time.time() - 3601)
    for path in (f"/my-data/{token}", f"/my-data/{token}/download"):
        response = client.get(path)
        assert response.status_code == 410 and "expired" in response.get_data(as_text=True)
    assert client.post(f"/my-data/{token}/erase").status_code == 410
    fresh = guest_data.make_token(GUEST)
    tampered = fresh[:-6] + ("AAAAAA" if not fresh.endswith("AAAAAA") else "BBBBBB")
    other_key = fresh  # a link made with another SECRET_KEY
    client.application.config["SECRET_KEY"] = "another-secret"
    try:
        assert client.get(f"/my-data/{other_key}").status_code == 400
    finally:
        client.application.config["SECRET_KEY"] = "test-secret-key-not-for-production"
    for bad in (tampered, "x" * 43, "x" * 5000, "%C2%B2", "gAAAAA" + "A" * 100):
        response = client.get(f"/my-data/{bad}")
        assert response.status_code == 400, bad
        assert "not valid" in response.get_data(as_text=True)
        assert client.post(f"/my-data/{bad}/erase").status_code == 400
    assert client.get(f"/my-data/{fresh}").status_code == 200


def test_bad_form_input_is_a_422_with_the_field_named(client):
    for data in ({}, {"email": ""}, {"email": "not an address"}, {"email": "x" * 400}):
        response = client.post("/my-data", data=data)
        assert response.status_code == 422, data
        assert 'class="error-summary"' in response.get_data(as_text=True)
    assert client.post("/my-data", data={"email": "a@b\x00.no"}).status_code == 400  # refused before the page


@pytest.mark.csrf
def test_erasing_needs_the_csrf_token(client, world):
    event = make_event(client, world)
    register_anonymously(client, event["id"], confirm=False)  # this client sends no CSRF token
    link = LINK.search(_send_link_directly(GUEST)).group(1)
    assert client.post(link + "/erase").status_code == 400
    db.session.expire_all()
    assert db.session.scalar(sa.select(Registration.name)) == "Åse Gjest"


def _send_link_directly(email: str) -> str:
    return f"http://samskap.test/my-data/{guest_data.make_token(email)}"


@pytest.mark.ratelimit
def test_requests_are_limited_per_address(app, client):
    app.config["SAMSKAP_GUEST_DATA_LIMIT_ADDRESS"] = "2 per hour"
    codes = [ask_for_link(client, "Same@example.no" if i else "same@example.no").status_code for i in range(3)]
    assert codes == [200, 200, 429]
    assert ask_for_link(client, "other@example.no").status_code == 200


@pytest.mark.ratelimit
def test_requests_are_limited_per_client(app, client):
    app.config["SAMSKAP_GUEST_DATA_LIMIT_CLIENT"] = "2 per hour"
    codes = [ask_for_link(client, f"person{i}@example.no").status_code for i in range(3)]
    assert codes == [200, 200, 429]
    limited = ask_for_link(client, "person9@example.no")
    assert limited.status_code == 429 and limited.headers["Retry-After"]


def test_the_pages_and_the_mail_speak_norwegian(client, world):
    event = make_event(client, world)
    register_anonymously(client, event["id"])
    nb = {"Accept-Language": "nb"}
    assert "Dine data i Samskap" in client.get("/my-data", headers=nb).get_data(as_text=True)
    assert "Sjekk e-posten" in ask_for_link(client, GUEST, **nb).get_data(as_text=True)
    [message] = outbox(guest_data.MAIL_KIND, to=GUEST)
    assert message.locale == "nb" and message.subject == "Dine data i Samskap" and "minutter" in message.text
    page = client.get(data_link(), headers=nb).get_data(as_text=True)
    assert "Slett dataene mine" in page and "Last ned" in page
    expired = client.get(f"/my-data/{guest_data.make_token(GUEST, now=time.time() - 7200)}", headers=nb)
    assert expired.status_code == 410 and "utløpt" in expired.get_data(as_text=True)


def test_registration_and_guest_mails_say_where_to_see_and_erase_the_data(client, world):
    member = make_user(world["organiser"].organisation, email="kollega@sykehus.example")
    db.session.commit()
    event = make_event(client, world, participants={"people": [{"email": GUEST, "name": "Åse"},
                                                                {"user_id": member.id}]})
    [guest_mail] = outbox("booking.participant.invited", to=GUEST)
    [member_mail] = outbox("booking.participant.invited", to=member.email)
    assert "http://samskap.test/my-data" in guest_mail.text
    assert "/my-data" not in member_mail.text
    client.application.test_client().post(f"/api/v1/bookings/{event['id']}/registrations",
                                          json={"name": "Per", "email": "per@example.no"})
    [confirm] = outbox("registration.confirm", to="per@example.no")
    assert "http://samskap.test/my-data" in confirm.text
    assert 'href="/my-data"' in client.get("/events").get_data(as_text=True)  # the footer


def test_the_link_leaves_no_address_in_the_url_or_the_logs():
    from samskap.logs import redact_path

    import base64

    token = guest_data.make_token(GUEST)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert GUEST.encode() not in raw and b"example" not in raw  # encrypted, not only encoded
    for path in (f"/my-data/{token}", f"/my-data/{token}/download", f"/my-data/{token}/erase"):
        assert token not in redact_path(path) and "[token]" in redact_path(path)


def test_a_registration_tied_to_an_account_is_left_to_that_accounts_profile(client, world):
    event = make_event(client, world)
    register_anonymously(client, event["id"])
    registration = db.session.scalar(sa.select(Registration))
    registration.user_id = world["outsider"].id  # e.g. an account whose address has since changed
    db.session.commit()
    ask_for_link(client)
    assert outbox(guest_data.MAIL_KIND, to=GUEST) == []  # nothing of its own for the address
    link = f"/my-data/{guest_data.make_token(GUEST)}"
    assert "Samskap holds nothing about this address." in client.get(link).get_data(as_text=True)
    client.post(link + "/erase")
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).name == "Åse Gjest"


def test_the_erasure_reads_as_a_sentence_in_the_audit_log(client, auth, world):
    event = make_event(client, world)
    register_anonymously(client, event["id"])
    client.post(f"/my-data/{guest_data.make_token(GUEST)}/erase")
    auth.as_user(make_user(role="admin"))
    page = client.get("/admin/audit")
    assert page.status_code == 200
    assert "slettet påmeldingene og gjesteoppføringene sine med lenken i e-posten" in page.get_data(as_text=True)
    assert GUEST not in page.get_data(as_text=True)
    exported = client.get("/admin/audit?format=json").get_data(as_text=True)
    assert "guest_data.erase" in exported and GUEST not in exported
