"""What the room needs (issue 18): administrators define extra booking fields per kind of space;
they appear in the booking form and the API (``fields``), are checked, and are shown on the
booking and on the staff's day sheet."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from accounts.models import Role
from booking.models import Booking
from samskap.extensions import db
from samskap.mail import OutboxMessage
from spaces.booking_fields import BookingFieldDefinition, create_definition
from tests.booking_helpers import oslo_on, oslo_today
from tests.conftest import BOTH
from tests.factories import api_headers, make_org, make_space, make_space_kind, make_user

# 09:00-11:00 in Oslo 5 days ahead, whatever the season ("+01:00" is 10:00 in summer time,
# and the pages show local times) and the hour the suite runs at.
DAY = oslo_today() + timedelta(days=5)
START = oslo_on(DAY, 9).isoformat()
END = oslo_on(DAY, 11).isoformat()
LAYOUT_CHOICES = [{"code": "u_shape", "label_nb": "U-form", "label_en": "U-shape"},
                  {"code": "islands", "label_nb": "Verkstedøyer", "label_en": "Workshop islands"}]


@pytest.fixture
def workshop(app):
    admin = make_user(role=Role.ADMIN, locale="en")
    member = make_user(make_org("hospital"), locale="en")
    workshop_kind = make_space_kind("workshop-room", "Verkstedrom", "Workshop room")
    room = make_space(name="Verkstedet", kind_id=workshop_kind.id)
    meeting = make_space(name="Møterommet")  # a meeting room: none of these fields
    layout = create_definition(admin, {"space_kind_id": workshop_kind.id, "code": "layout", "field_type": "choice",
                                       "label_nb": "Oppsett", "label_en": "Room layout", "choices": LAYOUT_CHOICES,
                                       "required": True, "position": 1})
    create_definition(admin, {"space_kind_id": workshop_kind.id, "code": "catering", "field_type": "boolean",
                              "label_nb": "Servering", "label_en": "Catering", "position": 2})
    create_definition(admin, {"space_kind_id": workshop_kind.id, "code": "tables", "field_type": "number",
                              "label_nb": "Antall bord", "label_en": "Tables", "position": 3})
    create_definition(admin, {"space_kind_id": workshop_kind.id, "code": "access", "field_type": "text",
                              "label_nb": "Tilrettelegging", "label_en": "Accessibility needs", "position": 4})
    db.session.commit()
    return dict(admin=admin, member=member, room=room, meeting=meeting, kind=workshop_kind, layout=layout,
                headers=api_headers(member), staff=make_user(role=Role.STAFF, locale="en"))


def _book(client, workshop, fields=None, space=None, **extra):
    body = {"space_id": (space or workshop["room"]).id, "title": "Idea workshop", "start": START, "end": END,
            **extra}
    if fields is not None:
        body["fields"] = fields
    return client.post("/api/v1/bookings", json=body, headers=workshop["headers"])


@BOTH
def test_fields_are_stored_returned_and_changed(client, workshop):
    response = _book(client, workshop, {"layout": "u_shape", "catering": True, "tables": 6,
                                        "access": "Step-free entrance"})
    assert response.status_code == 201, response.get_data(as_text=True)
    booking_id = response.json["id"]
    assert response.json["fields"] == {"layout": "u_shape", "catering": True, "tables": 6,
                                       "access": "Step-free entrance"}
    got = client.get(f"/api/v1/bookings/{booking_id}", headers=workshop["headers"]).json
    assert got["fields"] == response.json["fields"]
    patched = client.patch(f"/api/v1/bookings/{booking_id}", headers=workshop["headers"],
                           json={"fields": {"layout": "islands", "tables": None}})
    assert patched.status_code == 200, patched.get_data(as_text=True)
    assert patched.json["fields"] == {"layout": "islands", "catering": True, "access": "Step-free entrance"}


@pytest.mark.parametrize("fields, key", [
    ({"catering": True}, "fields.layout"),                    # required, left out
    ({"layout": "circle"}, "fields.layout"),                  # not one of the choices
    ({"layout": "u_shape", "catering": "yes"}, "fields.catering"),
    ({"layout": "u_shape", "tables": "6"}, "fields.tables"),
    ({"layout": "u_shape", "tables": -1}, "fields.tables"),
    ({"layout": "u_shape", "tables": True}, "fields.tables"),
    ({"layout": "u_shape", "access": 5}, "fields.access"),
    ({"layout": "u_shape", "access": "x" * 2001}, "fields.access"),
    ({"layout": "u_shape", "projector": True}, "fields.projector"),  # not a field of this kind
    (["layout"], "fields"),
    ("u_shape", "fields"),
])
def test_bad_fields_answer_422_per_field_and_write_nothing(client, workshop, fields, key):
    response = _book(client, workshop, fields)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert key in response.json["error"]["details"]["fields"], response.json
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_a_required_field_left_out_is_named_with_the_other_problems(client, workshop):
    response = _book(client, workshop, {}, title=None)
    assert response.status_code == 422
    assert {"title", "fields.layout"} <= set(response.json["error"]["details"]["fields"])


def test_a_space_of_another_kind_takes_no_such_fields(client, workshop):
    assert _book(client, workshop, space=workshop["meeting"]).status_code == 201
    refused = _book(client, workshop, {"layout": "u_shape"}, space=workshop["meeting"],
                    start=f"{DAY.isoformat()}T12:00:00+01:00", end=f"{DAY.isoformat()}T13:00:00+01:00")
    assert refused.status_code == 422
    assert "fields.layout" in refused.json["error"]["details"]["fields"]


def test_moving_to_a_workshop_room_asks_for_its_required_fields(client, workshop):
    booking_id = _book(client, workshop, space=workshop["meeting"]).json["id"]
    refused = client.patch(f"/api/v1/bookings/{booking_id}", headers=workshop["headers"],
                           json={"space_id": workshop["room"].id})
    assert refused.status_code == 422
    assert "fields.layout" in refused.json["error"]["details"]["fields"]
    assert db.session.get(Booking, booking_id).space_id == workshop["meeting"].id
    moved = client.patch(f"/api/v1/bookings/{booking_id}", headers=workshop["headers"],
                         json={"space_id": workshop["room"].id, "fields": {"layout": "islands"}})
    assert moved.status_code == 200, moved.get_data(as_text=True)
    assert moved.json["fields"] == {"layout": "islands"}


def test_a_deactivated_field_is_no_longer_asked(client, workshop):
    from spaces.booking_fields import update_definition

    update_definition(workshop["admin"], workshop["layout"], {"label_nb": "Oppsett", "label_en": "Room layout",
                                                              "choices": LAYOUT_CHOICES, "active": False})
    db.session.commit()
    assert _book(client, workshop, {}).status_code == 201


@pytest.mark.parametrize("locale, texts", [
    ("en", ["Booking fields", "Room layout", "Workshop room", "Choice from a list"]),
    ("nb", ["Bookingfelt", "Oppsett", "Verkstedrom", "Valg fra en liste"]),
])
def test_admin_pages_list_and_define_fields_in_both_languages(client, auth, workshop, locale, texts):
    workshop["admin"].locale = locale
    db.session.commit()
    auth.as_user(workshop["admin"])
    page = client.get("/admin/booking-fields")
    assert page.status_code == 200
    for text in texts:
        assert text in page.get_data(as_text=True), text
    assert client.get("/admin/booking-fields/new").status_code == 200
    created = client.post("/admin/booking-fields/new", data={
        "space_kind_id": str(workshop["kind"].id), "label_nb": "Lyd og bilde", "label_en": "AV", "code": "av",
        "field_type": "choice", "choices": "none | Ingen | None\nmic | Mikrofon | Microphone", "position": "5",
        "active": "y"})
    assert created.status_code == 303, created.get_data(as_text=True)
    av = db.session.scalar(sa.select(BookingFieldDefinition).where(BookingFieldDefinition.code == "av"))
    assert av.choices[1] == {"code": "mic", "label_nb": "Mikrofon", "label_en": "Microphone"}
    edit = client.post(f"/admin/booking-fields/{av.id}/edit", data={
        "label_nb": "Lyd og bilde", "label_en": "Sound and vision", "choices": "mic | Mikrofon | Microphone",
        "required": "y", "position": "5", "active": "y"})
    assert edit.status_code == 303
    db.session.refresh(av)
    assert av.label_en == "Sound and vision" and av.required and av.choice_codes == ["mic"]


@pytest.mark.parametrize("data, field", [
    ({"label_nb": "", "label_en": "X", "code": "x", "field_type": "text"}, "label_nb"),
    ({"label_nb": "X", "label_en": "X", "code": "Not A Code", "field_type": "text"}, "code"),
    ({"label_nb": "X", "label_en": "X", "code": "layout", "field_type": "text"}, "code"),  # taken
    ({"label_nb": "X", "label_en": "X", "code": "x", "field_type": "choice", "choices": ""}, "choices"),
    ({"label_nb": "X", "label_en": "X", "code": "x", "field_type": "choice", "choices": "a | A\na | B"}, "choices"),
    ({"label_nb": "X", "label_en": "X", "code": "x", "field_type": "colour"}, "field_type"),
])
def test_bad_field_definitions_are_refused_with_the_message_on_the_field(client, auth, workshop, data, field):
    auth.as_user(workshop["admin"])
    response = client.post("/admin/booking-fields/new", data={"space_kind_id": str(workshop["kind"].id),
                                                              "position": "0", **data})
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)


def test_only_administrators_define_fields(client, auth, workshop):
    for user in (workshop["member"], workshop["staff"]):
        auth.as_user(user)
        assert client.get("/admin/booking-fields").status_code == 403
        assert client.post("/admin/booking-fields/new", data={"label_nb": "X"}).status_code == 403
        assert client.get(f"/admin/booking-fields/{workshop['layout'].id}/edit").status_code == 403
    auth.as_user(workshop["admin"])
    assert client.get("/admin/booking-fields/999999/edit").status_code == 404


def test_the_booking_form_asks_for_the_fields_and_links_errors_to_them(client, auth, workshop):
    auth.as_user(workshop["member"])
    page = client.get(f"/bookings/new?space={workshop['room'].id}").get_data(as_text=True)
    layout_id = workshop["layout"].id
    assert f'<label for="bf_{layout_id}">Room layout' in page
    assert "Workshop islands" in page
    form = {"space": str(workshop["room"].id), "title": "Idea workshop", "date": DAY.isoformat(),
            "start_time": "09:00", "end_time": "11:00", "attendees": "4", "visibility": "private",
            "purpose": "meeting", "repeat": "none", "length": "",
            "participant_people": "Gina Guest <gina@example.no>\nnot-an-address"}
    refused = client.post("/bookings/new", data=form)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert f'href="#bf_{layout_id}"' in text and f'id="bf_{layout_id}-error"' in text
    assert 'href="#participant_people"' in text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0
    form.update({f"bf_{layout_id}": "islands", "participant_people": "Gina Guest <gina@example.no>"})
    made = client.post("/bookings/new", data=form)
    assert made.status_code == 303, made.get_data(as_text=True)[:3000]
    detail = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "Room layout" in detail and "Workshop islands" in detail and "Gina Guest" in detail


def test_the_day_sheet_shows_how_to_set_up_the_room(client, auth, workshop):
    booking_id = _book(client, workshop, {"layout": "u_shape", "catering": True, "tables": 6}).json["id"]
    auth.as_user(workshop["staff"])
    sheet = client.get(f"/today?date={DAY.isoformat()}").get_data(as_text=True)
    row = sheet[sheet.index(f"/bookings/{booking_id}"):]
    row = row[:row.index("</tr>")]
    assert "Room layout:</dt><dd>U-shape" in row
    assert "Catering:</dt><dd>Yes" in row and "Tables:</dt><dd>6" in row


def test_the_edit_form_changes_fields_and_participants_and_keeps_named_users(client, auth, workshop):
    colleague = make_user(workshop["member"].organisation, name="Kari Kollega", email="kari@sykehus.example")
    booking_id = _book(client, workshop, {"layout": "u_shape"},
                       participants={"people": [{"user_id": colleague.id}, {"email": "gina@example.no"}]}).json["id"]
    auth.as_user(workshop["member"])
    page = client.get(f"/bookings/{booking_id}/edit").get_data(as_text=True)
    layout_id = workshop["layout"].id
    assert '<option selected value="u_shape">' in page
    assert "Kari Kollega &lt;kari@sykehus.example&gt;" in page and "gina@example.no" in page
    form = {"space": str(workshop["room"].id), "title": "Idea workshop", "date": DAY.isoformat(),
            "start_time": "09:00", "end_time": "11:00", "attendees": "1", "visibility": "private",
            "purpose": "meeting", f"bf_{layout_id}": "islands",
            "participant_people": "Kari Kollega <kari@sykehus.example>"}
    saved = client.post(f"/bookings/{booking_id}/edit", data=form)
    assert saved.status_code == 303, saved.get_data(as_text=True)[:2000]
    got = client.get(f"/api/v1/bookings/{booking_id}").json
    assert got["fields"] == {"layout": "islands", "catering": False}  # an unticked yes/no is a "no"
    # Kari stays the same participant (no new invitation); the guest is taken off.
    assert got["participants"]["people"] == [{"user_id": colleague.id, "name": "Kari Kollega", "email": None}]
    kinds = [m.kind for m in db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))]
    assert kinds.count("booking.participant.invited") == 2 and kinds.count("booking.participant.removed") == 1
    again = client.post(f"/bookings/{booking_id}/edit", data=form, follow_redirects=True)
    assert "Nothing was changed." in again.get_data(as_text=True)
    form[f"bf_{layout_id}"] = ""
    refused = client.post(f"/bookings/{booking_id}/edit", data=form)
    assert refused.status_code == 422 and f'href="#bf_{layout_id}"' in refused.get_data(as_text=True)


def test_another_organisation_cannot_read_the_room_details(client, auth, workshop):
    booking_id = _book(client, workshop, {"layout": "u_shape", "access": "Hearing loop"}).json["id"]
    other = make_user(make_org("company"), locale="en")
    headers = api_headers(other)
    assert client.get(f"/api/v1/bookings/{booking_id}", headers=headers).status_code == 404
    window = {"start": f"{DAY.isoformat()}T00:00:00+01:00", "end": f"{DAY.isoformat()}T23:00:00+01:00"}
    [listed] = client.get("/api/v1/bookings", query_string=window, headers=headers).json["bookings"]
    assert listed["masked"] and "fields" not in listed
    auth.as_user(other)
    assert client.get(f"/bookings/{booking_id}").status_code == 404
    assert client.get(f"/today?date={DAY.isoformat()}").status_code == 403  # the day sheet is the staff's
