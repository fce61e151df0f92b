"""Quotas: limits per organisation or kind of organisation, enforced in the booking service
(single bookings, series, moves), administered through /api/v1/quotas."""
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.fairuse.models import Quota
from booking.fairuse.quotas import period_bounds
from booking.fairuse.models import QuotaPeriod
from booking.models import Booking, BookingStatus
from booking.services import Recurrence, book_space, update_booking
from samskap.audit import AuditEntry
from samskap.errors import Conflict
from samskap.extensions import db
from tests.booking_helpers import clock, oslo, request_for  # noqa: F401 (clock is a fixture)
from tests.conftest import BOTH, POSTGRES
from tests.factories import api_headers, make_org, make_space, make_user, make_space_kind
from tests.sql_count import counted_statements


def quota(**fields) -> Quota:
    fields.setdefault("period", QuotaPeriod.WEEK)
    row = Quota(**fields)
    db.session.add(row)
    db.session.commit()
    return row


def post_booking(client, user, space, start, end, **extra):
    return client.post("/api/v1/bookings", headers=api_headers(user), json={
        "space_id": space.id, "title": "Pilot", "start": start.isoformat(), "end": end.isoformat(), **extra})


# --- the "done when" -------------------------------------------------------------------

@BOTH
def test_two_hours_a_week_for_companies_refuses_the_second_booking_while_a_hospital_books_freely(client, clock):
    space = make_space()
    quota(organisation_kind="company", space_id=space.id, max_hours=2)
    company = make_user(make_org("company"), locale="en")
    hospital = make_user(make_org("hospital"))

    first = post_booking(client, company, space, oslo(2026, 3, 3, 9), oslo(2026, 3, 3, 10, 30))
    assert first.status_code == 201, first.json
    second = post_booking(client, company, space, oslo(2026, 3, 4, 9), oslo(2026, 3, 4, 10))
    assert second.status_code == 409
    error = second.json["error"]
    assert error["code"] == "quota_exceeded"
    assert "at most 2 hours per week" in error["message"] and "1.5 hours are already booked" in error["message"]
    assert "0.5 hours remain" in error["message"]
    assert (error["details"]["limit"], error["details"]["used"], error["details"]["remaining"]) == (2, 1.5, 0.5)

    for day in (4, 5, 6):  # 3 hours in the same week, no quota for hospitals
        response = post_booking(client, hospital, space, oslo(2026, 3, day, 9), oslo(2026, 3, day, 10))
        assert response.status_code == 201, response.json


@BOTH
def test_quota_message_in_norwegian(client, clock):
    space = make_space(name="Simlab")
    company = make_org("company", name="Tryggtek AS")
    quota(organisation_id=company.id, max_hours=1)
    user = make_user(company, locale="nb")
    response = post_booking(client, user, space, oslo(2026, 3, 3, 9), oslo(2026, 3, 3, 11))
    assert response.status_code == 409
    message = response.json["error"]["message"]
    assert "Tryggtek AS kan booke høyst 1 timer per uke i alle rom" in message, message
    assert "er 0 timer allerede booket" in message and "1 timer gjenstår" in message and "trengs 2" in message


@BOTH
def test_a_new_week_starts_on_monday_in_oslo_and_cancelled_bookings_do_not_count(app, clock):
    space = make_space()
    org = make_org("company")
    user = make_user(org)
    quota(organisation_id=org.id, max_hours=1)
    booked = book_space(user, request_for(space, oslo(2026, 3, 8, 22), oslo(2026, 3, 8, 23))).bookings[0]  # Sunday
    db.session.commit()
    book_space(user, request_for(space, oslo(2026, 3, 9, 0), oslo(2026, 3, 9, 1)))  # Monday: a new week
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        book_space(user, request_for(space, oslo(2026, 3, 7, 10), oslo(2026, 3, 7, 10, 30)))
    assert refused.value.code == "quota_exceeded"
    db.session.rollback()
    booked.status = BookingStatus.CANCELLED
    db.session.commit()
    book_space(user, request_for(space, oslo(2026, 3, 7, 10), oslo(2026, 3, 7, 11)))
    db.session.commit()


def test_periods_are_local_weeks_months_and_half_year_terms(app):
    week = period_bounds(QuotaPeriod.WEEK, oslo(2026, 3, 29, 12))  # the Sunday the clocks go forward
    assert week == (oslo(2026, 3, 23, 0), oslo(2026, 3, 30, 0))
    assert week[1] - week[0] == timedelta(days=7, hours=-1)
    assert period_bounds(QuotaPeriod.MONTH, oslo(2026, 12, 31, 23, 30)) == (oslo(2026, 12, 1, 0), oslo(2027, 1, 1, 0))
    assert period_bounds(QuotaPeriod.TERM, oslo(2026, 6, 30, 23)) == (oslo(2026, 1, 1, 0), oslo(2026, 7, 1, 0))
    assert period_bounds(QuotaPeriod.TERM, oslo(2026, 7, 1, 0)) == (oslo(2026, 7, 1, 0), oslo(2027, 1, 1, 0))


@BOTH
def test_max_active_counts_bookings_not_yet_over(app, clock):
    space, other_space = make_space(), make_space()
    org = make_org("academia")
    user = make_user(org)
    quota(organisation_kind="academia", max_active=2)  # every space
    book_space(user, request_for(space, oslo(2026, 3, 3, 9), oslo(2026, 3, 3, 10)))
    book_space(user, request_for(other_space, oslo(2026, 4, 3, 9), oslo(2026, 4, 3, 10)))
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        book_space(user, request_for(space, oslo(2026, 5, 3, 9), oslo(2026, 5, 3, 10)))
    assert refused.value.code == "quota_exceeded" and refused.value.details["unit"] == "bookings"
    db.session.rollback()
    clock.now = oslo(2026, 3, 3, 11)  # the first is over now
    book_space(user, request_for(space, oslo(2026, 5, 3, 9), oslo(2026, 5, 3, 10)))


@BOTH
def test_a_quota_on_a_kind_of_space_counts_only_spaces_of_that_kind(app, clock):
    lab_kind = make_space_kind("simulation-lab", "Simuleringslab", "Simulation lab")
    lab, room = make_space(kind_id=lab_kind.id), make_space()
    org = make_org("company")
    user = make_user(org)
    quota(organisation_id=org.id, space_kind_id=lab_kind.id, max_hours=1)
    book_space(user, request_for(lab, oslo(2026, 3, 3, 9), oslo(2026, 3, 3, 10)))
    book_space(user, request_for(room, oslo(2026, 3, 3, 9), oslo(2026, 3, 3, 12)))  # not a lab
    db.session.commit()
    with pytest.raises(Conflict):
        book_space(user, request_for(lab, oslo(2026, 3, 4, 9), oslo(2026, 3, 4, 9, 30)))


@BOTH
def test_a_series_names_the_dates_that_exceed_or_skips_them(client, clock):
    space = make_space()
    org = make_org("company")
    user = make_user(org, locale="en")
    quota(organisation_id=org.id, max_hours=3, period=QuotaPeriod.MONTH)
    weekly = {"freq": "weekly", "count": 6}  # Tuesdays from 3 March: four in March, two in April
    refused = post_booking(client, user, space, oslo(2026, 3, 3, 9), oslo(2026, 3, 3, 10), recurrence=weekly)
    assert refused.status_code == 409
    error = refused.json["error"]
    assert error["code"] == "quota_exceeded"
    assert error["details"]["dates"] == ["2026-03-24", "2026-03-31"]
    assert "2026-03-24, 2026-03-31" in error["message"]
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0

    skipped = post_booking(client, user, space, oslo(2026, 3, 3, 9), oslo(2026, 3, 3, 10), recurrence=weekly,
                           skip_conflicts=True)
    assert skipped.status_code == 201, skipped.json
    assert len(skipped.json["occurrences"]) == 4
    assert [s["reason"] for s in skipped.json["skipped"]] == ["quota_exceeded", "quota_exceeded"]


@BOTH
def test_moving_a_booking_counts_the_new_week_without_its_old_hours(app, clock):
    space = make_space()
    org = make_org("company")
    user = make_user(org)
    quota(organisation_id=org.id, max_hours=2)
    first = book_space(user, request_for(space, oslo(2026, 3, 3, 9), oslo(2026, 3, 3, 11))).bookings[0]
    second = book_space(user, request_for(space, oslo(2026, 3, 10, 9), oslo(2026, 3, 10, 10))).bookings[0]
    db.session.commit()
    # Lengthening the first within its own week is fine (its old two hours do not count twice).
    update_booking(user, first, {"start": oslo(2026, 3, 3, 8), "end": oslo(2026, 3, 3, 10)})
    db.session.commit()
    with pytest.raises(Conflict) as refused:  # into the week that already has one hour
        update_booking(user, first, {"start": oslo(2026, 3, 11, 8), "end": oslo(2026, 3, 11, 10)})
    assert refused.value.code == "quota_exceeded"
    db.session.rollback()
    update_booking(user, second, {"start": oslo(2026, 3, 11, 8), "end": oslo(2026, 3, 11, 10)})


@BOTH
def test_staff_override_a_quota_only_when_they_ask_and_it_is_audited(client, clock):
    space = make_space()
    org = make_org("company")
    quota(organisation_id=org.id, max_hours=1)
    staff = make_user(role="staff")
    member = make_user(org)
    body = {"organisation_id": org.id}
    refused = post_booking(client, staff, space, oslo(2026, 3, 3, 9), oslo(2026, 3, 3, 11), **body)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "quota_exceeded"
    forbidden = post_booking(client, member, space, oslo(2026, 3, 3, 9), oslo(2026, 3, 3, 11), override_quota=True)
    assert forbidden.status_code == 403
    booked = post_booking(client, staff, space, oslo(2026, 3, 3, 9), oslo(2026, 3, 3, 11), override_quota=True,
                          **body)
    assert booked.status_code == 201, booked.json
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "booking.override_quota"))
    assert entry is not None and entry.object_id == booked.json["id"] and entry.actor_id == staff.id
    assert entry.summary == "quota 1: 0 + 2 hours > 1 per week from 2026-03-02"


@BOTH
def test_a_booking_with_no_quota_costs_one_query_more(app, clock, monkeypatch):
    space = make_space()
    user = make_user()
    quota(organisation_kind="company", max_hours=5)  # binds someone else
    book_space(user, request_for(space, oslo(2026, 3, 3, 7), oslo(2026, 3, 3, 8)))  # warm up
    db.session.commit()

    def statements_for_a_booking(hour):
        db.session.expire_all()
        with counted_statements() as count:
            book_space(user, request_for(space, oslo(2026, 3, 3, hour), oslo(2026, 3, 3, hour + 1)))
        db.session.commit()
        return count[0]

    with_quotas = statements_for_a_booking(9)
    from booking.fairuse.rules import FairUseCheck

    monkeypatch.setattr("booking.services.create._check_fair_use", lambda *args, **kwargs: FairUseCheck())
    without_quotas = statements_for_a_booking(11)
    assert with_quotas == without_quotas + 1


# --- administration ----------------------------------------------------------------------------

@BOTH
def test_admin_creates_lists_changes_and_deletes_quotas(client):
    admin = make_user(role="admin")
    kind = make_space_kind("simulation-lab", "Simuleringslab", "Simulation lab")
    headers = api_headers(admin)
    created = client.post("/api/v1/quotas", headers=headers, json={
        "organisation_kind": "company", "space_kind": "simulation-lab", "period": "term", "max_hours": 40.5})
    assert created.status_code == 201, created.json
    quota_id = created.json["id"]
    assert created.json == {"id": quota_id, "organisation_id": None, "organisation_kind": "company",
                            "space_id": None, "space_kind": kind.code, "period": "term", "max_hours": 40.5,
                            "max_active": None}
    assert client.get("/api/v1/quotas", headers=headers).json["quotas"] == [created.json]
    changed = client.patch(f"/api/v1/quotas/{quota_id}", headers=headers, json={"max_active": 3, "max_hours": None})
    assert changed.status_code == 200 and (changed.json["max_active"], changed.json["max_hours"]) == (3, None)
    assert client.delete(f"/api/v1/quotas/{quota_id}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/quotas/{quota_id}", headers=headers).status_code == 404
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_type == "quotas")).all()
    assert sorted(actions) == ["quota.create", "quota.delete", "quota.update"]


@pytest.mark.parametrize("payload, field", [
    ({"max_hours": 2}, "organisation_id"),
    ({"organisation_kind": "company", "organisation_id": 1, "max_hours": 2}, "organisation_id"),
    ({"organisation_kind": "pirates", "max_hours": 2}, "organisation_kind"),
    ({"organisation_kind": "company"}, "max_hours"),
    ({"organisation_kind": "company", "max_hours": -1}, "max_hours"),
    ({"organisation_kind": "company", "max_hours": "NaN"}, "max_hours"),
    ({"organisation_kind": "company", "max_hours": 1e300}, "max_hours"),
    ({"organisation_kind": "company", "max_hours": True}, "max_hours"),
    ({"organisation_kind": "company", "max_active": 0}, "max_active"),
    ({"organisation_kind": "company", "max_active": 1.5}, "max_active"),
    ({"organisation_kind": "company", "max_hours": 2, "period": "year"}, "period"),
    ({"organisation_kind": "company", "max_hours": 2, "space_id": 99999}, "space_id"),
    ({"organisation_kind": "company", "max_hours": 2, "space_kind": "nope"}, "space_kind"),
    ({"organisation_id": 2 ** 40, "max_hours": 2}, "organisation_id"),
    ({"organisation_kind": "company", "max_hours": 2, "colour": "red"}, "colour"),
])
def test_bad_quotas_answer_422_naming_the_field(client, payload, field):
    make_org("company")
    admin = make_user(role="admin")
    response = client.post("/api/v1/quotas", headers=api_headers(admin), json=payload)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["details"]["fields"]


def test_only_administrators_manage_quotas(client):
    staff, member = make_user(role="staff"), make_user()
    for user in (staff, member):
        headers = api_headers(user)
        assert client.get("/api/v1/quotas", headers=headers).status_code == 403
        assert client.post("/api/v1/quotas", headers=headers, data="garbage").status_code == 403


# --- concurrency -------------------------------------------------------------------------------

THREADS = 8


@pytest.fixture
def app_config(request):
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_size": THREADS + 5, "max_overflow": 5}}


@POSTGRES
def test_simultaneous_bookings_cannot_together_pass_a_limit(app, backend, clock):
    """Eight bookings of one hour, in eight different rooms (no overlap to stop them), each
    alone within a limit of three hours: exactly three get through."""
    from accounts.models import User
    from spaces.models import Space

    org = make_org("company")
    org_id = org.id
    quota(organisation_id=org.id, max_hours=3)
    user_ids = [make_user(org).id for _ in range(THREADS)]
    space_ids = [make_space().id for _ in range(THREADS)]
    db.session.commit()
    db.session.close()
    barrier = threading.Barrier(THREADS, timeout=60)
    outcomes = [""] * THREADS

    def attempt(index):
        with app.app_context():
            try:
                user, space = db.session.get(User, user_ids[index]), db.session.get(Space, space_ids[index])
                barrier.wait()
                book_space(user, request_for(space, oslo(2026, 3, 3, 9), oslo(2026, 3, 3, 10)))
                db.session.commit()
                outcomes[index] = "booked"
            except Conflict as exc:
                db.session.rollback()
                outcomes[index] = exc.code
            except Exception as exc:  # noqa: BLE001 - shown in the assertion
                db.session.rollback()
                outcomes[index] = repr(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["booked"] * 3 + ["quota_exceeded"] * 5, outcomes
    total = db.session.scalar(sa.select(sa.func.count(Booking.id)).where(Booking.organisation_id == org_id))
    assert total == 3


def test_openapi_describes_quotas_waitlist_and_check_in(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert set(paths["/quotas"]) == {"get", "post"} and set(paths["/quotas/{quota_id}"]) == {"get", "patch", "delete"}
    assert "term" in paths["/quotas"]["post"]["requestBody"]["content"]["application/json"]["schema"]["description"]
    assert "post" in paths["/waitlist"] and "delete" in paths["/waitlist/{entry_id}"]
    assert "post" in paths["/bookings/{booking_id}/check-in"]
    assert "override_quota" in paths["/bookings"]["post"]["requestBody"]["content"]["application/json"]["schema"][
        "properties"]
