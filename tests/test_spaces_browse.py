"""Every signed-in user browses spaces: filters, a page per space with its rules,
opening hours and the week at a glance, where other organisations' private bookings
show only as busy."""
from datetime import date, time

import pytest

from booking.models import Visibility
from samskap.extensions import db
from samskap.timeutil import local_to_utc
from spaces import services
from tests.factories import make_booking, make_org, make_space, make_space_kind, make_user

MARCH_9_WEEK = "2027-W10"  # Monday 8 March to Sunday 14 March 2027


@pytest.fixture
def rooms(app):
    lab_kind = make_space_kind("simulation-lab", "Simuleringslab", "Simulation lab")
    return {
        "small": make_space(name="Small room", slug="small", capacity=4, bookable_by=["company"]),
        "big": make_space(name="Big room", slug="big", capacity=40, bookable_by=["hospital", "municipality"]),
        "lab": make_space(name="Sim lab", slug="lab", capacity=12, kind_id=lab_kind.id, bookable_by=["hospital"]),
        "old": make_space(name="Old room", slug="old", capacity=10, active=False),
    }


def names(response) -> set:
    page = response.get_data(as_text=True)
    return {n for n in ("Small room", "Big room", "Sim lab", "Old room") if f">{n}</a>" in page}


def test_list_shows_active_spaces_and_filters_by_kind_capacity_and_my_organisation(client, auth, rooms):
    auth.as_user(make_user(make_org(kind="hospital"), locale="en"))
    assert names(client.get("/spaces")) == {"Small room", "Big room", "Sim lab"}
    assert names(client.get("/spaces?kind=simulation-lab")) == {"Sim lab"}
    assert names(client.get("/spaces?min_capacity=10")) == {"Big room", "Sim lab"}
    assert names(client.get("/spaces?bookable_by_me=y")) == {"Big room", "Sim lab"}
    assert names(client.get("/spaces?bookable_by_me=y&min_capacity=20")) == {"Big room"}


@pytest.mark.parametrize("query,message", [
    ("min_capacity=lots", "&#39;lots&#39; is not a whole number."),
    ("kind=spaceship", "Unknown kind of space &#39;spaceship&#39;."),
])
def test_bad_filters_get_400_with_a_message(client, auth, rooms, query, message):
    auth.as_user(make_user(locale="en"))
    response = client.get(f"/spaces?{query}")
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_space_page_shows_rules_and_localised_opening_hours(client, auth):
    space = make_space(name="Mjøsa", slug="mjosa", capacity=10, min_minutes=30, max_minutes=480, buffer_minutes=15,
                       max_days_ahead=365, requires_approval=True, bookable_by=["municipality"],
                       opening_hours={"mon": [["08:00", "16:00"]], "fri": [["08:00", "12:00"], ["13:00", "15:00"]]})
    auth.as_user(make_user(make_org(kind="municipality")))
    page = client.get(f"/spaces/{space.slug}").get_data(as_text=True)
    assert "<dt>Mandag</dt>" in page and "<dd>08:00–16:00</dd>" in page
    assert "<dd>08:00–12:00, 13:00–15:00</dd>" in page
    assert "<dt>Søndag</dt>" in page and "Stengt" in page
    assert "30 til 480 minutter" in page and "inntil 365 dager fram i tid" in page and "15 minutter" in page
    assert "Bookinger må godkjennes av verkstedets ansatte" in page
    assert "du kan booke" in page and "Book dette rommet" in page


def test_week_at_a_glance_masks_other_organisations_private_bookings(client, auth):
    space = make_space(slug="mjosa")
    owner = make_user(make_org(kind="hospital"))
    tuesday = date(2027, 3, 9)
    make_booking(space=space, user=owner, start=local_to_utc(tuesday, time(9)), title="Secret pilot")
    make_booking(space=space, user=owner, start=local_to_utc(tuesday, time(13)), minutes=90, title="Open workshop",
                 visibility=Visibility.PARTNERS)

    auth.as_user(make_user(make_org(kind="company")))
    page = client.get(f"/spaces/mjosa?week={MARCH_9_WEEK}").get_data(as_text=True)
    assert "Secret pilot" not in page
    assert "09:00–10:00" in page and "Opptatt" in page
    assert "Open workshop" in page and "13:00–14:30" in page
    assert "Tirsdag 09.03.2027" in page

    auth.as_user(owner)
    assert "Secret pilot" in client.get(f"/spaces/mjosa?date=2027-03-11").get_data(as_text=True)


def test_week_defaults_to_this_week_and_bad_weeks_get_400(client, auth):
    make_space(slug="mjosa")
    auth.as_user(make_user(locale="en"))
    this_week = client.get("/spaces/mjosa")
    assert this_week.status_code == 200 and "Previous week" in this_week.get_data(as_text=True)
    for query in ("week=2027-W99", "week=next", "date=2027-02-30", "date=tomorrow"):
        response = client.get(f"/spaces/mjosa?{query}")
        assert response.status_code == 400
        assert "YYYY-Www" in response.get_data(as_text=True)


def test_deactivated_space_leaves_the_list_but_its_page_and_history_remain_for_admins(client, auth):
    space = make_space(name="Leaving room", slug="leaving")
    booking = make_booking(space=space, start=local_to_utc(date(2027, 3, 9), time(9)), title="Past pilot")
    services.deactivate_space(make_user(role="admin"), space)
    db.session.commit()

    auth.as_user(make_user(locale="en"))
    assert "Leaving room" not in client.get("/spaces").get_data(as_text=True)
    assert client.get("/spaces/leaving").status_code == 404

    auth.as_user(make_user(role="admin", locale="en"))
    assert "Leaving room" not in client.get("/spaces").get_data(as_text=True)
    page = client.get(f"/spaces/leaving?week={MARCH_9_WEEK}").get_data(as_text=True)
    assert "no longer offered for booking" in page and booking.title in page
    admin_page = client.get(f"/admin/spaces/{space.id}/edit").get_data(as_text=True)
    assert "space.deactivate" in admin_page


def test_unknown_space_gives_404_and_anonymous_is_sent_to_sign_in(client, auth):
    assert client.get("/spaces").status_code == 302
    auth.as_user(make_user())
    assert client.get("/spaces/nowhere").status_code == 404


def test_navigation_has_spaces_and_equipment_in_both_languages(client, auth):
    auth.as_user(make_user())
    page = client.get("/").get_data(as_text=True)
    assert ">Rom</a>" in page and ">Utstyr</a>" in page
    auth.as_user(make_user(locale="en"))
    page = client.get("/").get_data(as_text=True)
    assert ">Spaces</a>" in page and ">Equipment</a>" in page


def test_week_at_a_glance_shows_the_preparation_time_after_a_booking(client, auth):
    space = make_space(slug="mjosa", buffer_minutes=30)
    owner = make_user(make_org(kind="hospital"), locale="en")
    make_booking(space=space, user=owner, start=local_to_utc(date(2027, 3, 9), time(9)), title="Pilot")
    auth.as_user(owner)
    page = client.get(f"/spaces/mjosa?week={MARCH_9_WEEK}").get_data(as_text=True)
    assert "09:00–10:00" in page and "Pilot" in page
    assert "10:00–10:30" in page and "Preparation time" in page
