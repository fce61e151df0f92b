"""The booking pages people read: day and week grids, public events, my and my organisation's
bookings, a booking's own page; who may open them, and what bad query strings get."""
from datetime import date, datetime, time, timedelta

import pytest

from booking.models import BookingStatus, Visibility
from samskap.timeutil import local_to_utc, to_local, utcnow
from tests.conftest import BOTH
from tests.factories import make_booking, make_org, make_space, make_user

ALL_DAYS_8_TO_16 = {day: [["08:00", "16:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def in_a_week() -> date:
    return to_local(utcnow()).date() + timedelta(days=7)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return local_to_utc(day, time(hour, minute))


@pytest.fixture
def orgs(app):
    return make_org(kind="municipality", name="Gjøvik kommune"), make_org(kind="hospital", name="Innlandet sykehus")


@pytest.fixture
def member(orgs):
    return make_user(orgs[0], locale="en", name="Mette Member")


@pytest.fixture
def outsider(orgs):
    return make_user(orgs[1], locale="en", name="Olav Outsider")


@pytest.fixture
def staff(app):
    return make_user(role="staff", locale="en", name="Siri Staff")


@pytest.fixture
def mjosa(app):
    return make_space(name="Mjøsa", slug="mjosa", capacity=12, opening_hours=ALL_DAYS_8_TO_16)


def html(response) -> str:
    return response.get_data(as_text=True)


# --- day view --------------------------------------------------------------------------------

def test_day_view_sends_anonymous_visitors_to_sign_in(client):
    response = client.get("/day")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_day_view_is_an_accessible_table_with_a_booking_link_in_every_free_open_cell(client, auth, member, mjosa):
    auth.as_user(member)
    day = in_a_week()
    page = html(client.get(f"/day?date={day.isoformat()}"))
    assert "<caption" in page
    assert '<th scope="row" class="grid__space">' in page and "Mjøsa" in page
    assert '<th scope="col" class="grid__time">09:00</th>' in page
    assert "Book Mjøsa 09:00–09:30" in page
    assert f"/bookings/new?space={mjosa.id}&amp;start={day.isoformat()}T09:00&amp;end={day.isoformat()}T09:30" in page
    # Outside opening hours: marked closed, and not offered for booking.
    assert "Book Mjøsa 07:00" not in page and "Book Mjøsa 16:00" not in page
    assert '<td class="slot slot--closed" colspan="2">' in page  # 07:00-08:00
    assert '<td class="slot slot--closed" colspan="8">' in page  # 16:00-20:00


def test_day_view_links_to_previous_and_next_day_and_has_a_date_picker(client, auth, member, mjosa):
    auth.as_user(member)
    page = html(client.get("/day?date=2026-05-12"))
    assert "/day?date=2026-05-11" in page and "/day?date=2026-05-13" in page
    assert '<form method="get" action="/day"' in page and 'name="date" value="2026-05-12"' in page


def test_day_view_shows_other_organisations_private_bookings_only_as_busy(client, auth, orgs, member, outsider,
                                                                         staff, mjosa):
    day = in_a_week()
    booker = make_user(orgs[0])
    make_booking(mjosa, booker, start=at(day, 10), minutes=90, title="Budget talks", visibility=Visibility.PRIVATE)
    make_booking(mjosa, booker, start=at(day, 13), title="Sensor pilot briefing", visibility=Visibility.PARTNERS)

    auth.as_user(outsider)
    page = html(client.get(f"/day?date={day.isoformat()}"))
    assert "Budget talks" not in page
    assert "Busy" in page and "10:00–11:30" in page
    assert "Sensor pilot briefing" in page  # shared with partners
    assert "Book Mjøsa 10:00" not in page and "Book Mjøsa 10:30" not in page  # taken cells are not offered
    assert 'colspan="3"' in page  # the 90-minute booking is drawn as one cell over three half hours

    for viewer in (member, staff):  # own organisation (which shares bookings) and staff see the title
        auth.as_user(viewer)
        assert "Budget talks" in html(client.get(f"/day?date={day.isoformat()}"))


def test_day_view_marks_pending_bookings(client, auth, member, mjosa):
    day = in_a_week()
    make_booking(mjosa, member, start=at(day, 9), title="Awaiting staff", status=BookingStatus.PENDING)
    auth.as_user(member)
    page = html(client.get(f"/day?date={day.isoformat()}"))
    assert "Awaiting staff" in page and "pending approval" in page and "slot--pending" in page


def test_day_view_leaves_out_cancelled_bookings_and_offers_their_time_again(client, auth, member, mjosa):
    day = in_a_week()
    make_booking(mjosa, member, start=at(day, 9), title="Called off", status=BookingStatus.CANCELLED)
    auth.as_user(member)
    page = html(client.get(f"/day?date={day.isoformat()}"))
    assert "Called off" not in page and "Book Mjøsa 09:00–09:30" in page


def test_day_view_widens_to_show_an_evening_booking(client, auth, member):
    space = make_space(name="Living lab")
    day = in_a_week()
    make_booking(space, member, start=at(day, 21), title="Night pilot")
    auth.as_user(member)
    page = html(client.get(f"/day?date={day.isoformat()}"))
    assert "Night pilot" in page and '<th scope="col" class="grid__time">21:30</th>' in page


def test_day_view_on_the_spring_forward_day_skips_the_missing_hour(client, auth, member):
    space = make_space(name="Around the clock")
    make_booking(space, member, start=local_to_utc(date(2026, 3, 29), time(1)), minutes=180, title="DST pilot")
    auth.as_user(member)
    page = html(client.get("/day?date=2026-03-29"))
    assert '<th scope="col" class="grid__time">01:30</th>' in page
    assert '<th scope="col" class="grid__time">02:00</th>' not in page
    assert '<th scope="col" class="grid__time">03:00</th>' in page
    # Three real hours from 01:00 end at 05:00 summer time, drawn over six half-hour columns.
    assert "DST pilot" in page and "01:00–05:00" in page and 'colspan="6"' in page


@pytest.mark.parametrize("query", ["garbage", "2026-13-01", "2026-02-30", "99999-01-01", "0001-01-01"])
def test_day_view_answers_400_with_a_message_for_a_bad_date(client, auth, member, query):
    auth.as_user(member)
    response = client.get(f"/day?date={query}")
    assert response.status_code == 400
    assert "YYYY-MM-DD" in html(response) or "between the years" in html(response)


# --- week view -------------------------------------------------------------------------------

def test_week_view_has_days_as_columns_and_masks_private_bookings(client, auth, orgs, outsider, mjosa):
    day = date(2026, 11, 11)  # a Wednesday in ISO week 46
    make_booking(mjosa, make_user(orgs[0]), start=at(day, 10), title="Budget talks")
    auth.as_user(outsider)
    response = client.get(f"/booking/spaces/{mjosa.id}/week?week=2026-W46")
    page = html(response)
    assert response.status_code == 200
    assert page.count('<th scope="col"') == 8  # the corner plus seven days
    assert '<th scope="row" class="grid__time">09:30</th>' in page
    assert "/day?date=2026-11-09" in page and "/day?date=2026-11-15" in page
    assert "Budget talks" not in page and "Busy" in page
    assert "week=2026-W45" in page and "week=2026-W47" in page


def test_week_view_offers_free_future_cells(client, auth, member, mjosa):
    day = in_a_week()
    year, week, _ = day.isocalendar()
    auth.as_user(member)
    page = html(client.get(f"/booking/spaces/{mjosa.id}/week?week={year}-W{week:02d}"))
    assert f"start={day.isoformat()}T08:00" in page and "Book Mjøsa 08:00–08:30" in page


@pytest.mark.parametrize("query", ["2026-W99", "2026-W00", "garbage", "2026-11", "1066-W01"])
def test_week_view_answers_400_for_a_bad_week(client, auth, member, mjosa, query):
    auth.as_user(member)
    response = client.get(f"/booking/spaces/{mjosa.id}/week?week={query}")
    assert response.status_code == 400
    assert "YYYY-Www" in html(response)


def test_week_view_of_an_unknown_inactive_or_non_numeric_space_is_404(client, auth, member):
    retired = make_space(active=False)
    auth.as_user(member)
    assert client.get("/booking/spaces/99999/week").status_code == 404
    assert client.get(f"/booking/spaces/{retired.id}/week").status_code == 404
    assert client.get("/booking/spaces/abc/week").status_code == 404


def test_week_view_needs_sign_in(client, mjosa):
    assert client.get(f"/booking/spaces/{mjosa.id}/week").status_code == 302


# --- public events ---------------------------------------------------------------------------

def test_public_events_are_listed_for_anonymous_visitors_without_private_partner_or_dead_ones(client, orgs, mjosa):
    organiser = make_user(orgs[0])
    day = in_a_week()
    make_booking(mjosa, organiser, start=at(day, 9), title="Open day for welfare tech", visibility=Visibility.PUBLIC,
                 description="Come and try the sensors.")
    make_booking(mjosa, organiser, start=at(day, 11), title="Secret meeting", visibility=Visibility.PRIVATE)
    make_booking(mjosa, organiser, start=at(day, 12), title="Partner seminar", visibility=Visibility.PARTNERS)
    make_booking(mjosa, organiser, start=at(day, 13), title="Cancelled fair", visibility=Visibility.PUBLIC,
                 status=BookingStatus.CANCELLED)
    make_booking(mjosa, organiser, start=at(day, 14), title="Rejected fair", visibility=Visibility.PUBLIC,
                 status=BookingStatus.REJECTED)
    make_booking(mjosa, organiser, start=utcnow() - timedelta(days=3), title="Last week's fair",
                 visibility=Visibility.PUBLIC)
    response = client.get("/events", headers={"Accept-Language": "en"})
    page = html(response)
    assert response.status_code == 200
    assert "Open day for welfare tech" in page and "Mjøsa" in page and "Gjøvik kommune" in page
    for hidden in ("Secret meeting", "Partner seminar", "Cancelled fair", "Rejected fair", "Last week's fair"):
        assert hidden not in page


def test_anonymous_visitor_can_open_a_public_event_but_is_sent_to_sign_in_for_anything_else(client, member, mjosa):
    public = make_booking(mjosa, member, title="Open day", visibility=Visibility.PUBLIC)
    private = make_booking(mjosa, member, start=utcnow() + timedelta(days=5), title="Closed door")
    assert "Open day" in html(client.get(f"/bookings/{public.id}"))
    for booking_id in (private.id, 99999):
        response = client.get(f"/bookings/{booking_id}")
        assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- my bookings, my organisation's bookings ------------------------------------------------

def test_my_bookings_lists_upcoming_and_past_separately(client, auth, member, mjosa):
    make_booking(mjosa, member, start=utcnow() + timedelta(days=3), title="Next planning")
    make_booking(mjosa, member, start=utcnow() - timedelta(days=3), title="Old retro")
    make_booking(mjosa, make_user(member.organisation), title="Colleague's meeting")
    auth.as_user(member)
    page = html(client.get("/bookings/mine"))
    upcoming, past = page.split('id="past"')
    assert "Next planning" in upcoming and "Old retro" not in upcoming
    assert "Old retro" in past
    assert "Colleague's meeting" not in page


def test_my_bookings_needs_sign_in(client):
    assert client.get("/bookings/mine").status_code == 302


def test_organisation_bookings_respect_what_a_member_may_see(client, auth, orgs, mjosa):
    closed_org = make_org(kind="company", name="Quiet AS", members_share_bookings=False)
    me = make_user(closed_org, locale="en")
    colleague = make_user(closed_org)
    make_booking(mjosa, colleague, title="Colleague private")
    make_booking(mjosa, colleague, start=utcnow() + timedelta(days=4), title="Colleague partners",
                 visibility=Visibility.PARTNERS)
    make_booking(mjosa, me, start=utcnow() + timedelta(days=5), title="My own")
    make_booking(mjosa, make_user(orgs[1]), start=utcnow() + timedelta(days=6), title="Other organisation's")
    auth.as_user(me)
    page = html(client.get("/bookings/organisation"))
    assert "Colleague partners" in page and "My own" in page
    assert "Colleague private" not in page and "Other organisation's" not in page
    contact = make_user(closed_org, locale="en", is_org_contact=True)
    auth.as_user(contact)
    page = html(client.get("/bookings/organisation"))
    assert "Colleague private" in page and "/edit" in page  # contacts manage the organisation's bookings


def test_staff_choose_which_organisations_bookings_to_see(client, auth, orgs, staff, mjosa):
    make_booking(mjosa, make_user(orgs[1]), title="Hospital drill")
    auth.as_user(staff)
    assert "Hospital drill" in html(client.get(f"/bookings/organisation?organisation={orgs[1].id}"))
    assert client.get("/bookings/organisation?organisation=abc").status_code == 400
    assert client.get("/bookings/organisation?organisation=99999").status_code == 404


# --- a booking's page ------------------------------------------------------------------------

def test_booking_page_shows_details_and_actions_to_who_may_manage(client, auth, member, mjosa):
    booking = make_booking(mjosa, member, title="Co-design session", description="Bring prototypes",
                           visibility=Visibility.PARTNERS)
    auth.as_user(member)
    page = html(client.get(f"/bookings/{booking.id}"))
    assert "Co-design session" in page and "Bring prototypes" in page and "Mjøsa" in page
    assert f"/bookings/{booking.id}/edit" in page and f"/bookings/{booking.id}/cancel" in page


def test_partner_sees_a_shared_booking_but_may_not_change_it(client, auth, member, outsider, mjosa):
    booking = make_booking(mjosa, member, title="Shared seminar", visibility=Visibility.PARTNERS)
    auth.as_user(outsider)
    page = html(client.get(f"/bookings/{booking.id}"))
    assert "Shared seminar" in page and f"/bookings/{booking.id}/edit" not in page
    assert client.get(f"/bookings/{booking.id}/edit").status_code == 403
    assert client.post(f"/bookings/{booking.id}/cancel", data={"reason": "mine now"}).status_code == 403


def test_other_organisations_private_booking_is_404_everywhere(client, auth, member, outsider, mjosa):
    booking = make_booking(mjosa, member, title="Closed door")
    auth.as_user(outsider)
    for url in (f"/bookings/{booking.id}", f"/bookings/{booking.id}/edit", f"/bookings/{booking.id}/cancel"):
        assert client.get(url).status_code == 404
    assert client.post(f"/bookings/{booking.id}/cancel", data={"reason": "x"}).status_code == 404
    assert booking.status == BookingStatus.CONFIRMED


@pytest.mark.parametrize("url", ["/bookings/abc", "/bookings/1.5/edit", "/bookings/-1/cancel", "/bookings/99999",
                                 "/bookings/0"])
def test_non_numeric_or_unknown_booking_ids_are_404(client, auth, member, url):
    auth.as_user(member)
    assert client.get(url).status_code == 404


HUGE = "9" * 25


@BOTH
def test_ids_too_large_for_the_database_are_404_not_500(client, auth, staff):
    auth.as_user(staff)
    for url in (f"/bookings/{HUGE}", f"/bookings/{HUGE}/edit", f"/booking/spaces/{HUGE}/week",
                f"/bookings/organisation?organisation={HUGE}"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/bookings/{HUGE}/approve").status_code == 404
    assert client.get(f"/bookings/new?space={HUGE}").status_code == 200


# --- navigation ------------------------------------------------------------------------------

def test_navigation_offers_booking_pages_by_role(client, auth, member, staff):
    anonymous = html(client.get("/", headers={"Accept-Language": "en"}))
    assert 'href="/events"' in anonymous and 'href="/day"' not in anonymous
    auth.as_user(member)
    page = html(client.get("/"))
    assert 'href="/day"' in page and 'href="/bookings/mine"' in page and 'href="/bookings/approvals"' not in page
    auth.as_user(staff)
    assert 'href="/bookings/approvals"' in html(client.get("/"))


def test_grids_offer_no_booking_links_in_spaces_closed_to_the_viewers_organisation(client, auth, member, staff):
    space = make_space(name="Hospital ward lab", bookable_by=["hospital"])
    day = in_a_week()
    auth.as_user(member)  # a municipality
    page = html(client.get(f"/day?date={day.isoformat()}"))
    assert "Hospital ward lab" in page and "Not open to your organisation" in page
    assert "Book Hospital ward lab" not in page
    assert "Book Hospital ward lab" not in html(client.get(f"/booking/spaces/{space.id}/week"))
    auth.as_user(staff)  # staff book for anyone
    assert "Book Hospital ward lab 09:00–09:30" in html(client.get(f"/day?date={day.isoformat()}"))
