"""Idempotency-Key on POST /api/v1/bookings and /api/v1/equipment-reservations: a resend is
answered with the first result, never carried out twice, even when the copies race."""
from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from accounts import services as account_services
from booking.models import Booking, BookingStatus, EquipmentReservation
from samskap.extensions import db
from samskap.idempotency import IdempotencyKey, request_fingerprint
from samskap.timeutil import utcnow
from tests.booking_helpers import clock  # noqa: F401 (a fixture)
from tests.conftest import BOTH, POSTGRES
from tests.factories import make_equipment_type, make_space, make_user
from tests.test_equipment_api import body as reservation_body

THREADS = 8


def token(user) -> dict:
    _, secret = account_services.create_api_token(None, user)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def booking_body(space, hour=9, **fields) -> dict:
    return {"space_id": space.id, "title": "Pilot test", "start": f"2026-03-10T{hour:02d}:00:00+01:00",
            "end": f"2026-03-10T{hour + 1:02d}:00:00+01:00", **fields}


def keyed(headers: dict, key: str) -> dict:
    return {**headers, "Idempotency-Key": key}


def bookings_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Booking.id)))


@BOTH
def test_resend_with_the_same_key_answers_the_first_booking_and_books_once(client, clock):
    user, space = make_user(locale="en"), make_space()
    headers = keyed(token(user), str(uuid.uuid4()))
    first = client.post("/api/v1/bookings", json=booking_body(space), headers=headers)
    again = client.post("/api/v1/bookings", json=booking_body(space), headers=headers)
    assert first.status_code == again.status_code == 201, again.get_data(as_text=True)
    assert again.json == first.json
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert bookings_count() == 1


@BOTH
def test_same_key_with_another_body_answers_422_and_books_nothing_more(client, clock):
    user, space = make_user(locale="en"), make_space()
    headers = keyed(token(user), "booking-2026-03-10")
    assert client.post("/api/v1/bookings", json=booking_body(space), headers=headers).status_code == 201
    other = client.post("/api/v1/bookings", json=booking_body(space, hour=11), headers=headers)
    assert other.status_code == 422
    assert other.json["error"]["code"] == "idempotency_key_reused" and other.json["error"]["message"]
    # The same key on the other endpoint is another request too.
    equipment = make_equipment_type(units=2)
    reservation = client.post("/api/v1/equipment-reservations", json=reservation_body(equipment), headers=headers)
    assert reservation.status_code == 422
    assert bookings_count() == 1 and db.session.scalar(sa.select(sa.func.count(EquipmentReservation.id))) == 0


def test_key_order_and_white_space_do_not_make_another_request():
    a = request_fingerprint("POST", "/api/v1/bookings", b'{"a": 1, "b": [1, 2]}')
    b = request_fingerprint("POST", "/api/v1/bookings", b'{"b":[1,2],"a":1}')
    assert a == b
    assert a != request_fingerprint("POST", "/api/v1/bookings", b'{"b":[1,2],"a":2}')
    assert a != request_fingerprint("POST", "/api/v1/equipment-reservations", b'{"b":[1,2],"a":1}')


def test_keys_belong_to_their_user(client, clock):
    space = make_space()
    first, second = make_user(locale="en"), make_user(locale="en")
    assert client.post("/api/v1/bookings", json=booking_body(space),
                       headers=keyed(token(first), "shared-key")).status_code == 201
    # Another user's request with the same key is not answered from the first user's result.
    response = client.post("/api/v1/bookings", json=booking_body(space, hour=12),
                           headers=keyed(token(second), "shared-key"))
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert bookings_count() == 2


@BOTH
def test_a_failed_request_is_not_kept_so_the_resend_tries_again(client, clock):
    user, space = make_user(locale="en"), make_space()
    headers = keyed(token(user), "retry-me")
    other = make_user()
    assert client.post("/api/v1/bookings", json=booking_body(space), headers=token(other)).status_code == 201
    refused = client.post("/api/v1/bookings", json=booking_body(space), headers=headers)
    assert refused.status_code == 409
    db.session.execute(sa.update(Booking).values(status=BookingStatus.CANCELLED))
    db.session.commit()
    booked = client.post("/api/v1/bookings", json=booking_body(space), headers=headers)
    assert booked.status_code == 201 and "Idempotent-Replayed" not in booked.headers


@BOTH
def test_expired_keys_are_deleted_and_an_expired_key_can_be_used_again(client, clock, monkeypatch):
    monkeypatch.setattr("samskap.idempotency.CLEANUP_EVERY", 1)  # every new key cleans up, not every 16th
    user, space, someone = make_user(locale="en"), make_space(), make_user()
    old = utcnow() - timedelta(hours=25)
    db.session.add_all([
        IdempotencyKey(user_id=user.id, key="reused", request_hash="0" * 64, status_code=201,
                       response_body="{}", created_at=old),
        IdempotencyKey(user_id=someone.id, key="forgotten", request_hash="0" * 64, status_code=201,
                       response_body="{}", created_at=old),
        IdempotencyKey(user_id=someone.id, key="recent", request_hash="0" * 64, status_code=201,
                       response_body="{}", created_at=utcnow() - timedelta(hours=23)),
    ])
    db.session.commit()
    response = client.post("/api/v1/bookings", json=booking_body(space), headers=keyed(token(user), "reused"))
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    keys = {k.key: k for k in db.session.scalars(sa.select(IdempotencyKey))}
    assert set(keys) == {"reused", "recent"}
    assert keys["reused"].status_code == 201 and keys["reused"].created_at > old + timedelta(hours=24)


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "nøkkel", "two words"])
def test_malformed_keys_answer_400(client, key):
    user, space = make_user(locale="en"), make_space()
    response = client.post("/api/v1/bookings", json=booking_body(space), headers=keyed(token(user), key))
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"]["code"] == "invalid_idempotency_key"
    assert bookings_count() == 0


@BOTH
def test_a_booking_without_the_header_costs_no_statement_on_the_keys(client, clock):
    user, space = make_user(locale="en"), make_space()
    headers = token(user)
    seen: list[str] = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", remember)
    try:
        assert client.post("/api/v1/bookings", json=booking_body(space), headers=headers).status_code == 201
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", remember)
    assert seen and not [s for s in seen if "idempotency_keys" in s]


@BOTH
def test_equipment_reservation_resend_reserves_once(client):
    user, equipment = make_user(locale="en"), make_equipment_type(units=3)
    headers = keyed(token(user), "kit-for-pilot")
    first = client.post("/api/v1/equipment-reservations", json=reservation_body(equipment), headers=headers)
    again = client.post("/api/v1/equipment-reservations", json=reservation_body(equipment), headers=headers)
    assert first.status_code == again.status_code == 201, again.get_data(as_text=True)
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert db.session.scalar(sa.select(sa.func.count(EquipmentReservation.id))) == 1


def test_openapi_documents_the_header_on_both_writes(client):
    user = make_user()
    spec = client.get("/api/v1/openapi.json", headers=token(user)).json
    for path in ("/bookings", "/equipment-reservations"):
        parameters = spec["paths"][path]["post"]["parameters"]
        assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in parameters)
        assert "503" in spec["paths"][path]["post"]["responses"]


@pytest.fixture
def app_config(request):
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_size": THREADS + 2, "max_overflow": 2}}


@POSTGRES
@pytest.mark.parametrize("what", ["booking", "equipment"])
def test_concurrent_copies_with_one_key_make_one(app, what):
    # Equipment is the sharper case: three units are free, so nothing but the key stops a second
    # reservation of one unit.
    user = make_user(locale="en")
    headers = keyed(token(user), f"race-{what}")
    if what == "booking":
        start = (utcnow() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
        path, payload = "/api/v1/bookings", {"space_id": make_space().id, "title": "Race", "start": start.isoformat(),
                                             "end": (start + timedelta(hours=1)).isoformat()}
    else:
        path, payload = "/api/v1/equipment-reservations", reservation_body(make_equipment_type(units=3))
    db.session.commit()
    barrier = threading.Barrier(THREADS, timeout=30)
    answers: list = [None] * THREADS

    def send(index: int) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(path, json=payload, headers=headers)
        answers[index] = (response.status_code, response.json.get("id"))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    statuses = {status for status, _ in answers}
    assert statuses == {201}, answers
    assert len({ident for _, ident in answers}) == 1
    model = Booking if what == "booking" else EquipmentReservation
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(model.id))) == 1
