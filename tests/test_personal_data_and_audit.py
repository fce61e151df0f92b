"""Personal data export, anonymising departed users, the audit log page, API rate limits."""
import json

import pytest
import sqlalchemy as sa

from accounts import services
from accounts.models import ApiToken, User
from samskap import audit
from samskap.audit import AuditEntry
from samskap.extensions import db
from tests.factories import make_booking, make_user
from tests.servers import RedisServer


def test_user_downloads_their_own_data_only(client, auth):
    me = make_user(name="Kari", email="kari@example.test")
    other = make_user(name="Ola")
    mine = make_booking(user=me, title="My workshop")
    make_booking(user=other, title="Not mine")
    auth.as_user(me)
    response = client.get("/profile/export.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.data)
    assert data["profile"]["email"] == "kari@example.test"
    assert [b["title"] for b in data["bookings"]] == ["My workshop"]
    assert "password" not in json.dumps(data).lower()


def test_export_needs_sign_in(client):
    assert client.get("/profile/export.json").status_code == 302


def test_admin_anonymises_a_departed_user_and_keeps_bookings(app, client, auth):
    admin = make_user(role="admin")
    leaver = make_user(name="Per Avgang", email="per@example.test")
    booking = make_booking(user=leaver)
    _token, secret = services.create_api_token(None, leaver)
    db.session.commit()
    auth.as_user(admin)
    assert client.post(f"/admin/users/{leaver.id}/anonymise").status_code == 302
    db.session.refresh(leaver)
    assert leaver.anonymised_at is not None and not leaver.active
    assert "Per" not in leaver.name and "per@" not in leaver.email and leaver.password_hash is None
    assert db.session.get(type(booking), booking.id).organiser_id == leaver.id
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.anonymise"))
    assert entry.actor_id == admin.id and entry.object_id == leaver.id


def test_export_and_anonymising_reach_what_booking_holds(client, auth):
    """Bookings, reservations and feeds are booking's; it registers their export and erasure
    with accounts (accounts cannot import booking), and both still happen."""
    from booking.feeds.services import create_feed
    from booking.models import Feed
    from tests.factories import make_reservation

    admin = make_user(role="admin")
    leaver = make_user(name="Per Avgang")
    make_reservation(user=leaver, purpose="Fall sensors at home")
    feed, _secret = create_feed(leaver, "mine", name="My calendar")
    db.session.commit()
    data = services.export_personal_data(leaver)
    assert [r["purpose"] for r in data["equipment_reservations"]] == ["Fall sensors at home"]
    assert [(f["name"], f["revoked_at"]) for f in data["calendar_feeds"]] == [("My calendar", None)]
    assert data["bookings"] == []

    services.anonymise_user(admin, leaver)
    db.session.commit()
    assert db.session.get(Feed, feed.id).revoked_at is not None


def test_export_and_anonymising_reach_the_bookings_a_person_is_named_in(client, auth):
    """Named in one booking as a user and in another as a guest by the same address: both are in
    the export, and anonymising gives the guest entry the anonymised name and address."""
    from booking.participants import BookingParticipant

    admin = make_user(role="admin")
    leaver = make_user(name="Gry Gjest", email="gry@example.no")
    as_user, as_guest = make_booking(title="Workshop A"), make_booking(title="Workshop B")
    db.session.add_all([BookingParticipant(booking_id=as_user.id, user_id=leaver.id),
                        BookingParticipant(booking_id=as_guest.id, email="gry@example.no", name="Gry")])
    db.session.commit()
    named = services.export_personal_data(leaver)["booking_participations"]
    assert sorted((p["title"], p["as"]) for p in named) == [("Workshop A", "user"), ("Workshop B", "guest")]

    services.anonymise_user(admin, leaver)
    db.session.commit()
    guest = db.session.scalar(sa.select(BookingParticipant).where(BookingParticipant.booking_id == as_guest.id))
    assert (guest.name, guest.email) == services.anonymous_identity(leaver)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BookingParticipant).where(
        BookingParticipant.email == "gry@example.no")) == 0


def test_admin_cannot_anonymise_themself_and_members_cannot_at_all(client, auth):
    admin = auth.as_user(make_user(role="admin"))
    assert client.post(f"/admin/users/{admin.id}/anonymise").status_code == 302
    db.session.refresh(admin)
    assert admin.anonymised_at is None
    client.post("/logout")
    victim = make_user()
    auth.as_user(make_user(role="staff"))
    assert client.post(f"/admin/users/{victim.id}/anonymise").status_code == 403


def test_audit_log_page_lists_and_filters_entries(client, auth):
    admin = make_user(role="admin", name="Ada Admin")
    target = make_user()
    audit.record(admin, "user.role_change", target, changes={"role": ["member", "staff"]})
    audit.record(admin, "organisation.create", target.organisation)
    db.session.commit()
    auth.as_user(admin)
    page = client.get("/admin/audit?action=user.").get_data(as_text=True)  # the admin reads Norwegian
    # Sentences in the reader's language, values in words; the raw record stays available.
    assert f"Ada Admin endret rollen til <a href=\"/admin/users/{target.id}/edit\">" in page
    assert "la til organisasjonen" not in page
    assert "rolle: Medlem → Verkstedansatt" in page
    raw = client.get("/admin/audit?action=user.&format=json").get_json()
    assert [(e["action"], e["changes"]) for e in raw["entries"]] == [("user.role_change", {"role": ["member", "staff"]})]
    assert client.get("/admin/audit?actor=Ada").status_code == 200
    assert client.get("/admin/audit?from=not-a-date").status_code == 400
    assert client.get("/admin/audit?object_id=abc").status_code == 400
    assert client.get("/admin/audit?page=-3").status_code == 200


def test_audit_log_is_for_admins_only(client, auth):
    auth.as_user(make_user(role="staff"))
    assert client.get("/admin/audit").status_code == 403


@pytest.fixture
def redis_limited(app_config, tmp_path):
    """A Redis of this test's own (a free port, nothing kept): a shared one at 6379 mixed the
    counts and the clean-up of test runs side by side."""
    server = RedisServer(tmp_path / "redis").start()
    app_config.update(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=server.url, SAMSKAP_API_LIMIT="5 per minute")
    try:
        yield server.url
    finally:
        server.stop()


def test_api_rate_limit_shared_through_redis_answers_429_with_retry_after(redis_limited, app, client):
    user = make_user()
    _t, secret = services.create_api_token(None, user)
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert [client.get("/api/v1/me", headers=headers).status_code for _ in range(5)] == [200] * 5
    blocked = client.get("/api/v1/me", headers=headers)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert blocked.json["error"]["code"] == "rate_limited"
    # The count lives in Redis, so a second app server (a new app object) sees it too.
    import contextvars
    from samskap import create_app
    from tests.conftest import BASE_CONFIG
    second = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                         "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": redis_limited,
                         "SAMSKAP_API_LIMIT": "5 per minute"})
    db.session.commit()
    other_server = contextvars.Context().run(second.test_client().get, "/api/v1/me", headers=headers)
    assert other_server.status_code == 429
