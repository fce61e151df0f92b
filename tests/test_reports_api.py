"""The utilisation report through the API, with known bookings, on SQLite and PostgreSQL."""
from __future__ import annotations

import io
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Role
from booking.models import BookingStatus
from samskap.extensions import db
from tests.conftest import BOTH
from tests.factories import (api_headers, make_booking, make_equipment_type, make_org, make_reservation, make_space,
                             make_user)

OSLO = ZoneInfo("Europe/Oslo")
URL = "/api/v1/reports/utilisation"


def local(text: str) -> datetime:
    """A wall-clock time in Oslo (the first of a repeated hour), as UTC: adding a timedelta to it
    then adds real time, not wall-clock time."""
    return datetime.fromisoformat(text).replace(tzinfo=OSLO).astimezone(timezone.utc)


@pytest.fixture
def world(app):
    """3 h by a hospital and 2 h by a municipality in one space; a cancelled and a rejected booking
    that count nothing; an academia booking from 22:00 on 24 October to 04:00 on 25 October 2026, across
    midnight and the autumn DST change: 6 hours on the clock, 7 real hours."""
    space = make_space(name="Mjøsa lab")
    other_space = make_space(name="Æ-rommet")
    hospital = make_org("hospital", name="Sykehuset Innlandet Gjøvik – ØÆÅ")
    municipality = make_org("municipality", name="Gjøvik kommune")
    academia = make_org("academia", name="NTNU Gjøvik")
    nurse = make_user(hospital)
    clerk = make_user(municipality, is_org_contact=True)
    member = make_user(municipality)
    researcher = make_user(academia)
    staff = make_user(role=Role.STAFF, locale="en")
    make_booking(space, nurse, start=local("2026-11-10T10:00"), minutes=180, purpose="co-creation workshop")
    make_booking(space, clerk, start=local("2026-11-10T14:00"), minutes=120, purpose="meeting")
    make_booking(space, clerk, start=local("2026-11-10T16:00"), minutes=240, status=BookingStatus.CANCELLED,
                 cancelled_at=local("2026-11-10T12:00"))
    make_booking(space, nurse, start=local("2026-11-11T08:00"), minutes=60, status=BookingStatus.REJECTED)
    make_booking(other_space, researcher, start=local("2026-10-24T22:00"), minutes=7 * 60, purpose="pilot test")
    return dict(space=space, other_space=other_space, hospital=hospital, municipality=municipality, academia=academia,
                nurse=nurse, clerk=clerk, member=member, researcher=researcher, staff=staff)


def rows_by_key(body) -> dict:
    return {row["key"]: row for row in body["rows"]}


@BOTH
def test_hours_by_organisation_kind_are_exact_and_cancelled_counts_nothing(client, world):
    response = client.get(URL, query_string={"from": "2026-10-01", "to": "2026-11-30", "by": "organisation_kind"},
                          headers=api_headers(world["staff"]))
    assert response.status_code == 200, response.get_json()
    rows = rows_by_key(response.get_json())
    assert rows["hospital"]["hours"] == 3
    assert rows["municipality"]["hours"] == 2  # the cancelled 4 h are not there
    assert rows["academia"]["hours"] == 7  # real hours across the DST change
    assert rows["company"]["hours"] == 0 and rows["host"]["hours"] == 0
    assert [rows[k]["sessions"] for k in ("hospital", "municipality", "academia")] == [1, 1, 1]
    assert rows["academia"]["share"] == pytest.approx(7 / 12, abs=1e-4)
    assert response.get_json()["total"] == {"hours": 12, "sessions": 3}


@BOTH
def test_a_booking_across_midnight_and_the_dst_change_counts_its_real_hours_per_local_day(client, world):
    response = client.get(URL, query_string={"from": "2026-10-24", "to": "2026-10-26", "by": "day"},
                          headers=api_headers(world["staff"]))
    assert response.status_code == 200, response.get_json()
    days = {row["period"]: row for row in response.get_json()["rows"]}
    assert days["2026-10-24"]["hours"] == 2  # 22:00-24:00
    assert days["2026-10-25"]["hours"] == 5  # 00:00-04:00 on the clock, with 02:00-03:00 twice
    assert days["2026-10-26"]["hours"] == 0
    # both spaces are open around the clock: the DST day has 25 opening hours each
    assert days["2026-10-25"]["opening_hours"] == 50
    assert days["2026-10-25"]["utilisation"] == pytest.approx(5 / 50, abs=1e-4)
    assert days["2026-10-24"]["opening_hours"] == 48


@BOTH
def test_space_and_purpose_rows_and_a_period_that_cuts_a_booking(client, world):
    headers = api_headers(world["staff"])
    body = client.get(URL, query_string={"from": "2026-10-25", "to": "2026-11-30", "by": "space"},
                      headers=headers).get_json()
    rows = rows_by_key(body)
    assert rows[str(world["space"].id)]["hours"] == 5
    assert rows[str(world["other_space"].id)]["hours"] == 5  # only the part on 25 October
    purposes = rows_by_key(client.get(URL, query_string={"from": "2026-10-01", "to": "2026-11-30", "by": "purpose"},
                                      headers=headers).get_json())
    assert purposes["co-creation workshop"]["hours"] == 3 and purposes["pilot test"]["hours"] == 7
    assert purposes["training"]["hours"] == 0


@BOTH
def test_opening_hours_are_the_capacity_of_a_space(client, app, world):
    world["space"].opening_hours = {day: [["08:00", "16:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    db.session.commit()
    body = client.get(URL, query_string={"from": "2026-11-09", "to": "2026-11-15", "by": "space"},
                      headers=api_headers(world["staff"])).get_json()
    row = rows_by_key(body)[str(world["space"].id)]
    assert row["opening_hours"] == 40 and row["hours"] == 5 and row["utilisation"] == pytest.approx(0.125)
    # closures of the space and of the whole workshop are not opening hours (overlapping ones count once)
    from spaces.models import Closure

    db.session.add_all([
        Closure(space_id=world["space"].id, start=local("2026-11-09T12:00"), end=local("2026-11-09T16:00"),
                reason="Maintenance"),
        Closure(space_id=None, start=local("2026-11-09T14:00"), end=local("2026-11-10T09:00"), reason="Strike"),
        Closure(space_id=world["other_space"].id, start=local("2026-11-11T08:00"), end=local("2026-11-11T16:00"),
                reason="Another room"),
    ])
    db.session.commit()
    body = client.get(URL, query_string={"from": "2026-11-09", "to": "2026-11-15", "by": "space"},
                      headers=api_headers(world["staff"])).get_json()
    row = rows_by_key(body)[str(world["space"].id)]
    assert row["opening_hours"] == 40 - 4 - 1  # Monday 12-16 and Tuesday 08-09
    assert rows_by_key(body)[str(world["other_space"].id)]["opening_hours"] == 7 * 24 - 19 - 8


@BOTH
def test_grouping_by_month_splits_rows_per_period(client, world):
    body = client.get(URL, query_string={"from": "2026-10-01", "to": "2026-11-30", "by": "organisation_kind",
                                         "group": "month"}, headers=api_headers(world["staff"])).get_json()
    cells = {(row["period"], row["key"]): row["hours"] for row in body["rows"]}
    assert cells[("2026-10", "academia")] == 7 and cells[("2026-11", "hospital")] == 3
    assert cells[("2026-10", "hospital")] == 0
    # a period that cuts a month and a week still finds the bookings of the cut part
    body = client.get(URL, query_string={"from": "2026-10-25", "to": "2026-11-10", "by": "week"},
                      headers=api_headers(world["staff"])).get_json()
    weeks = {row["period"]: row["hours"] for row in body["rows"]}
    assert weeks == {"2026-W43": 5, "2026-W44": 0, "2026-W45": 0, "2026-W46": 5}


@BOTH
def test_equipment_counts_unit_days_against_units_available(client, world):
    etype = make_equipment_type(units=2, name="Fallsensor")
    make_reservation(etype, world["nurse"], start=local("2026-11-02T00:00"), days=3, quantity=2)
    make_reservation(etype, world["nurse"], start=local("2026-11-20T00:00"), days=3,
                     status="cancelled")
    body = client.get(URL, query_string={"from": "2026-11-01", "to": "2026-11-30", "by": "equipment_type"},
                      headers=api_headers(world["staff"])).get_json()
    assert body["unit"] == "unit_days"
    row = rows_by_key(body)[str(etype.id)]
    assert row["unit_days"] == 6 and row["sessions"] == 1
    assert row["available_unit_days"] == 60  # two units over 30 days
    assert row["utilisation"] == pytest.approx(0.1)


@BOTH
def test_sector_pairs_come_from_the_organisations_that_took_part(client, world, monkeypatch):
    headers = api_headers(world["staff"])
    query = {"from": "2026-10-01", "to": "2026-11-30", "by": "sector_pair"}
    body = client.get(URL, query_string=query, headers=headers).get_json()
    assert len(body["rows"]) == 15  # every pair of the five kinds, the same kind included
    assert all(row["sessions"] == 0 for row in body["rows"])  # one organisation per booking today
    sectors = {s["key"]: s for s in body["sectors"]}
    assert sectors["hospital"] == {"period": None, "key": "hospital", "label": "Hospital", "organisations": 1,
                                   "sessions": 1, "hours": 3}
    assert body["multi_sector_sessions"] == [{"period": None, "sessions": 0}]

    # A further source of participants (as projects or registrations will add) fills the matrix.
    import sqlalchemy as sa

    from booking.models import EquipmentReservation
    from reports import services

    def lenders(sessions):
        return sa.select(EquipmentReservation.booking_id.label("booking_id"),
                         EquipmentReservation.organisation_id.label("organisation_id")).where(
            EquipmentReservation.booking_id.in_(sa.select(sessions.c.id)))

    monkeypatch.setattr(services, "PARTICIPATION_SOURCES", list(services.PARTICIPATION_SOURCES) + [lenders])
    hospital_booking = db.session.scalar(sa.select(services.Booking).where(
        services.Booking.organisation_id == world["hospital"].id, services.Booking.status == "confirmed"))
    make_reservation(user=world["clerk"], booking_id=hospital_booking.id, start=hospital_booking.start, days=1)
    body = client.get(URL, query_string=query, headers=headers).get_json()
    rows = rows_by_key(body)
    assert rows["municipality+hospital"]["sessions"] == 1 and rows["municipality+hospital"]["hours"] == 3
    assert body["multi_sector_sessions"] == [{"period": None, "sessions": 1}]


@BOTH
def test_csv_has_a_bom_and_the_norwegian_letters(client, world):
    response = client.get(URL, query_string={"from": "2026-10-01", "to": "2026-11-30", "by": "organisation",
                                             "format": "csv"}, headers=api_headers(world["staff"]))
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    text = response.data.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == "key,label,hours,sessions,share"
    assert f"{world['hospital'].id},Sykehuset Innlandet Gjøvik – ØÆÅ,3.0,1,0.25" in lines


def test_xlsx_opens_with_the_same_rows(client, world):
    import openpyxl

    response = client.get(URL, query_string={"from": "2026-10-01", "to": "2026-11-30", "by": "organisation_kind",
                                             "format": "xlsx"}, headers=api_headers(world["staff"]))
    assert response.status_code == 200 and response.data[:2] == b"PK"
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=3)]
    assert values[0] == ["Key", "Name", "Hours", "Sessions", "Share"]
    assert ["hospital", "Hospital", 3, 1, 0.25] in values


@BOTH
def test_a_member_gets_403_and_a_contact_sees_their_own_organisation_only(client, world):
    query = {"from": "2026-10-01", "to": "2026-11-30", "by": "organisation_kind"}
    assert client.get(URL, query_string=query, headers=api_headers(world["member"])).status_code == 403
    assert client.get(URL, query_string=query).status_code == 401
    contact = api_headers(world["clerk"])
    rows = rows_by_key(client.get(URL, query_string=query, headers=contact).get_json())
    assert rows["municipality"]["hours"] == 2 and rows["hospital"]["hours"] == 0 and rows["academia"]["hours"] == 0
    refused = client.get(URL, query_string={**query, "organisation_id": world["hospital"].id}, headers=contact)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    narrowed = client.get(URL, query_string={**query, "organisation_id": world["academia"].id},
                          headers=api_headers(world["staff"])).get_json()
    assert rows_by_key(narrowed)["academia"]["hours"] == 7 and rows_by_key(narrowed)["hospital"]["hours"] == 0


@pytest.mark.parametrize("query, field", [
    ({"to": "2026-11-30", "by": "space"}, "from"),
    ({"from": "2026-11-31", "to": "2026-12-01", "by": "space"}, "from"),
    ({"from": "26-11-01", "to": "2026-12-01", "by": "space"}, "from"),
    ({"from": "2026-12-01", "to": "2026-11-01", "by": "space"}, "to"),
    ({"from": "2026-11-01", "to": "2026-12-01", "by": "colour"}, "by"),
    ({"from": "2026-11-01", "to": "2026-12-01"}, "by"),
    ({"from": "2026-11-01", "to": "2026-12-01", "by": "space", "group": "hour"}, "group"),
    ({"from": "2020-01-01", "to": "2029-12-31", "by": "day"}, "group"),
    ({"from": "1900-01-01", "to": "2026-12-01", "by": "space"}, "from"),
    ({"from": "2000-01-01", "to": "2026-12-01", "by": "space"}, "to"),
    ({"from": "2026-11-01", "to": "2026-12-01", "by": "space", "format": "pdf"}, "format"),
    ({"from": "2026-11-01", "to": "2026-12-01", "by": "space", "organisation_id": "x"}, "organisation_id"),
    ({"from": "2026-11-01", "to": "2026-12-01", "by": "space", "organisation_id": "99999"}, "organisation_id"),
])
def test_bad_parameters_get_422_naming_the_field(client, world, query, field):
    response = client.get(URL, query_string=query, headers=api_headers(world["staff"]))
    assert response.status_code == 422, response.data
    error = response.get_json()["error"]
    assert field in error["details"]["fields"] and error["message"]


@BOTH
def test_behaviour_counts_cancellations_lead_time_and_approvals(client, world):
    from tests.factories import make_booking as book

    staff = world["staff"]
    created = local("2026-11-01T09:00")
    book(world["space"], world["nurse"], start=local("2026-11-12T10:00"), created_at=created,
         status=BookingStatus.CONFIRMED, decided_at=local("2026-11-01T15:00"), decided_by_id=staff.id)
    response = client.get("/api/v1/reports/behaviour", query_string={"from": "2026-11-01", "to": "2026-11-30"},
                          headers=api_headers(staff))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["bookings"] == 5  # the three counted, the cancelled and the rejected (the DST one is in October)
    assert body["cancellations"]["count"] == 1 and body["cancellations"]["less_than_a_day_before"] == 1
    assert body["cancellations"]["average_notice_hours"] == 4
    assert body["approvals"] == {"decided": 1, "approved": 1, "rejected": 0, "still_pending": 0,
                                 "average_wait_hours": 6, "longest_wait_hours": 6}
    assert body["lead_time"]["more_than_thirty_days"] + body["lead_time"]["seven_to_thirty_days"] >= 1
    assert body["no_shows"] == 0
    assert client.get("/api/v1/reports/behaviour", query_string={"from": "2026-11-01", "to": "2026-11-30"},
                      headers=api_headers(world["member"])).status_code == 403


@BOTH
def test_behaviour_counts_bookings_released_as_no_shows(client, world):
    from tests.factories import make_booking as book

    book(world["space"], world["nurse"], start=local("2026-11-13T10:00"), status=BookingStatus.NO_SHOW)
    body = client.get("/api/v1/reports/behaviour", query_string={"from": "2026-11-01", "to": "2026-11-30"},
                      headers=api_headers(world["staff"])).get_json()
    assert body["no_shows"] == 1


@BOTH
def test_a_contact_sees_the_sector_matrix_of_the_sessions_their_organisation_took_part_in(client, world):
    body = client.get(URL, query_string={"from": "2026-10-01", "to": "2026-11-30", "by": "sector_pair"},
                      headers=api_headers(world["clerk"])).get_json()
    sectors = {s["key"]: s for s in body["sectors"]}
    assert set(sectors) == {"municipality"}
    assert sectors["municipality"]["sessions"] == 1 and sectors["municipality"]["hours"] == 2


@BOTH
def test_time_grouped_reports_keep_every_bucket_and_week_keys_are_iso_weeks(client, world):
    body = client.get(URL, query_string={"from": "2026-12-28", "to": "2027-01-10", "by": "week"},
                      headers=api_headers(world["staff"])).get_json()
    assert [row["period"] for row in body["rows"]] == ["2026-W53", "2027-W01"]
    assert all(row["hours"] == 0 and row["opening_hours"] == 7 * 24 * 2 for row in body["rows"])


def test_the_reports_are_in_the_openapi_description(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    operation = paths["/reports/utilisation"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert {"from", "to", "by", "group", "format", "organisation_id"} <= set(parameters)
    assert "sector_pair" in parameters["by"]["schema"]["enum"] and "month" in parameters["by"]["schema"]["enum"]
    assert {"200", "401", "403", "422"} <= set(operation["responses"])
    assert "text/csv" in operation["responses"]["200"]["content"]
    assert "/reports/behaviour" in paths


@BOTH
def test_heat_map_puts_both_repeated_autumn_hours_on_two_oclock(app, world):
    from datetime import date

    from reports.periods import Period
    from reports.services import heat_map

    grid = heat_map(world["staff"], Period(date(2026, 10, 24), date(2026, 10, 25)))
    saturday, sunday = grid[5], grid[6]
    assert saturday[22] == pytest.approx(1) and saturday[23] == pytest.approx(1)
    assert [round(h, 6) for h in sunday[:5]] == [1, 1, 2, 1, 0]  # 02:00-03:00 happened twice
    assert sum(map(sum, grid)) == pytest.approx(7)
    # a period that starts after midnight counts only what lies inside it
    assert sum(map(sum, heat_map(world["staff"], Period(date(2026, 10, 25), date(2026, 10, 25))))) == pytest.approx(5)
