"""The reports page and the staff's dashboard (their front page)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from accounts.models import Role
from booking.models import BookingStatus, ReservationStatus, Visibility
from samskap.timeutil import local_day_bounds, to_local, utcnow
from tests.conftest import BOTH
from tests.factories import make_booking, make_org, make_reservation, make_space, make_user


@pytest.fixture
def people(app):
    hospital = make_org("hospital", name="Sykehuset Innlandet")
    return dict(staff=make_user(role=Role.STAFF, locale="en"), admin=make_user(role=Role.ADMIN, locale="en"),
                contact=make_user(hospital, is_org_contact=True, locale="en"), member=make_user(hospital, locale="en"),
                hospital=hospital)


@BOTH
def test_staff_front_page_is_the_dashboard_with_today_pending_and_overdue(client, auth, people):
    space = make_space(name="Mjøsa")
    today_start, _end = local_day_bounds(to_local(utcnow()).date())
    make_booking(space, people["member"], start=today_start + timedelta(hours=10), title="Morning workshop",
                 visibility=Visibility.PUBLIC)
    make_booking(space, people["member"], start=utcnow() + timedelta(days=3), title="Waiting for a yes",
                 status=BookingStatus.PENDING)
    make_booking(space, people["member"], start=today_start + timedelta(hours=12), title="Called off",
                 status=BookingStatus.CANCELLED)
    make_reservation(user=people["member"], start=utcnow() - timedelta(days=5), days=2,
                     status=ReservationStatus.CHECKED_OUT)
    auth.as_user(people["staff"])
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1>Dashboard</h1>" in html
    assert "Morning workshop" in html and "Public event" in html
    assert "Called off" not in html
    assert "Waiting for a yes" in html and "Bookings: 1." in html
    assert "Handed out now: 1. Overdue: 1." in html
    assert "This month" in html and "Last month" in html
    assert "@media print" in client.get("/static/css/reports.css").get_data(as_text=True)


def test_members_and_contacts_keep_the_ordinary_front_page(client, auth, people):
    auth.as_user(people["member"])
    assert "Dashboard" not in client.get("/").get_data(as_text=True)
    auth.as_user(people["contact"])
    assert "Dashboard" not in client.get("/").get_data(as_text=True)


@BOTH
def test_reports_page_shows_tables_and_charts_with_text_alternatives(client, auth, people):
    space = make_space(name="Æ-rommet")
    start = local_day_bounds(to_local(utcnow()).date().replace(day=1))[0] + timedelta(hours=9)
    make_booking(space, people["member"], start=start, minutes=180, purpose="co-creation workshop")
    auth.as_user(people["admin"])
    page = client.get("/reports")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for heading in ("Utilisation over time", "Busy hours by weekday", "Sectors over time",
                    "Co-creation across sectors", "Equipment", "How people book"):
        assert heading in html
    assert html.count('role="img"') == 4 and html.count("<desc id=") == 4
    assert "Æ-rommet" in html and "3.0" in html
    assert "/api/v1/reports/utilisation?" in html and "format=csv" in html


def test_reports_page_filters_and_refuses_bad_dates_with_a_message(client, auth, people):
    auth.as_user(people["staff"])
    ok = client.get("/reports", query_string={"first": "2026-01-01", "last": "2026-03-31", "group": "week"})
    assert ok.status_code == 200 and "2026-W01" in ok.get_data(as_text=True)
    bad = client.get("/reports", query_string={"first": "2026-03-31", "last": "2026-01-01", "group": "week"})
    assert bad.status_code == 400 and "must not be before" in bad.get_data(as_text=True)
    bad = client.get("/reports", query_string={"first": "nonsense", "last": "2026-01-01", "group": "fortnight"})
    assert bad.status_code == 400 and "There is a problem" in bad.get_data(as_text=True)


def test_a_member_gets_403_and_a_contact_sees_their_own_organisation(client, auth, people):
    auth.as_user(people["member"])
    assert client.get("/reports").status_code == 403
    auth.as_user(people["contact"])
    page = client.get("/reports")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Sykehuset Innlandet" in html and "All organisations" not in html
    other = make_org("municipality")
    refused = client.get("/reports", query_string={"first": "2026-01-01", "last": "2026-01-31", "group": "month",
                                                   "organisation_id": other.id})
    assert refused.status_code == 400  # not among the choices: the form says so


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/reports")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_reports_link_is_offered_to_staff_and_contacts_only(client, auth, people):
    # Contacts in the menu; staff and administrators on their dashboard (the front page), and
    # administrators on the administration page too.
    for who, offered in (("member", False), ("contact", True), ("staff", False), ("admin", False)):
        auth.as_user(people[who])
        assert ('href="/reports"' in client.get("/spaces").get_data(as_text=True)) is offered, who
    for who, page in (("staff", "/"), ("admin", "/"), ("admin", "/admin/")):
        auth.as_user(people[who])
        assert 'href="/reports"' in client.get(page).get_data(as_text=True), (who, page)
    auth.as_user(people["member"])
    assert 'href="/reports"' not in client.get("/").get_data(as_text=True)
