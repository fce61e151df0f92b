"""Test factories with defaults: each test states only what matters to it.

Factories add, flush and commit, and return the object (attached to the test's session).
"""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from accounts.models import Organisation, OrganisationKind, Role, User
from accounts.services import hash_password
from samskap.extensions import db

_counter = itertools.count(1)
PASSWORD = "correct horse battery"


def _n() -> int:
    return next(_counter)


def make_org(kind: str | OrganisationKind = OrganisationKind.MUNICIPALITY, name: str | None = None,
             **fields) -> Organisation:
    kind = OrganisationKind(kind)
    org = Organisation(name=name or f"{kind.value.title()} {_n()}", kind=kind, **fields)
    db.session.add(org)
    db.session.commit()
    return org


def make_user(org: Organisation | None = None, role: str | Role = Role.MEMBER, *, email: str | None = None,
              password: str = PASSWORD, kind: str | None = None, **fields) -> User:
    if org is None:
        org = make_org(kind or (OrganisationKind.HOST if Role(role) != Role.MEMBER else OrganisationKind.MUNICIPALITY))
    n = _n()
    user = User(email=(email or f"user{n}@example.test").lower(), name=fields.pop("name", f"User {n}"),
                organisation_id=org.id, role=Role(role), password_hash=hash_password(password), **fields)
    db.session.add(user)
    db.session.commit()
    return user


def make_space(**fields):
    from spaces.models import Space, SpaceKind
    import sqlalchemy as sa

    kind = db.session.scalar(sa.select(SpaceKind).where(SpaceKind.code == "meeting-room"))
    if kind is None:
        kind = SpaceKind(code="meeting-room", name_nb="Møterom", name_en="Meeting room")
        db.session.add(kind)
        db.session.flush()
    n = _n()
    defaults = dict(name=f"Room {n}", slug=f"room-{n}", kind_id=kind.id, capacity=10,
                    bookable_by=["municipality", "hospital", "company", "academia", "host"], opening_hours=None,
                    buffer_minutes=0)
    defaults.update(fields)
    space = Space(**defaults)
    db.session.add(space)
    db.session.commit()
    return space


def make_equipment_type(units: int = 0, **fields):
    from spaces.models import EquipmentCategory, EquipmentType, EquipmentUnit

    n = _n()
    defaults = dict(name=f"Sensor kit {n}", category=EquipmentCategory.SENSOR_KIT, max_loan_days=28,
                    turnaround_hours=0, bookable_by=["municipality", "hospital", "company", "academia", "host"])
    defaults.update(fields)
    etype = EquipmentType(**defaults)
    db.session.add(etype)
    db.session.flush()
    for i in range(units):
        db.session.add(EquipmentUnit(equipment_type_id=etype.id, asset_tag=f"T{n}-{i + 1:03d}", serial=f"S{n}-{i}"))
    db.session.commit()
    return etype


def make_booking(space=None, user=None, start: datetime | None = None, minutes: int = 60, **fields):
    from booking.models import Booking, BookingStatus
    from samskap.timeutil import utcnow

    space = space or make_space()
    user = user or make_user()
    start = start or (utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=2))
    end = start + timedelta(minutes=minutes)
    defaults = dict(space_id=space.id, organiser_id=user.id, organisation_id=user.organisation_id,
                    title=f"Booking {_n()}", start=start, end=end,
                    blocked_until=end + timedelta(minutes=space.buffer_minutes), attendees=1,
                    status=BookingStatus.CONFIRMED)
    defaults.update(fields)
    booking = Booking(**defaults)
    db.session.add(booking)
    db.session.commit()
    return booking


def make_space_kind(code: str = "meeting-room", name_nb: str = "Møterom", name_en: str = "Meeting room"):
    """The space kind with this code, created when missing (the catalogue's tests)."""
    from spaces.models import SpaceKind
    import sqlalchemy as sa

    kind = db.session.scalar(sa.select(SpaceKind).where(SpaceKind.code == code))
    if kind is None:
        kind = SpaceKind(code=code, name_nb=name_nb, name_en=name_en)
        db.session.add(kind)
        db.session.commit()
    return kind


def api_headers(user) -> dict:
    """Bearer-token headers for ``user`` (the catalogue's API tests)."""
    from accounts.services import create_api_token

    _token, secret = create_api_token(None, user)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}
def make_series(space=None, user=None, *, dtstart_local: str = "2027-03-15T10:00:00",
                rrule: str = "FREQ=WEEKLY;COUNT=4", minutes: int = 60, tzid: str = "Europe/Oslo", **fields):
    """A recurring booking written directly: the BookingSeries and one Booking row per
    instance of ``rrule`` (with ``original_start`` = its start), as the booking service stores them."""
    from zoneinfo import ZoneInfo

    from dateutil.rrule import rrulestr

    from booking.models import Booking, BookingSeries, BookingStatus
    from samskap.timeutil import UTC

    space = space or make_space()
    user = user or make_user()
    series = BookingSeries(rrule=rrule, tzid=tzid, dtstart_local=dtstart_local, created_by_id=user.id)
    db.session.add(series)
    db.session.flush()
    title = fields.pop("title", f"Series {_n()}")
    zone = ZoneInfo(tzid)
    for local in rrulestr(rrule, dtstart=datetime.fromisoformat(dtstart_local).replace(tzinfo=zone)):
        start = local.astimezone(UTC)
        if start.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
            continue  # in the spring-forward gap: the booking service skips such dates
        end = start + timedelta(minutes=minutes)
        row = dict(space_id=space.id, organiser_id=user.id, organisation_id=user.organisation_id, title=title,
                   start=start, end=end, blocked_until=end + timedelta(minutes=space.buffer_minutes),
                   attendees=1, status=BookingStatus.CONFIRMED, series_id=series.id, original_start=start)
        row.update(fields)
        db.session.add(Booking(**row))
    db.session.commit()
    db.session.refresh(series)
    return series


def make_reservation(equipment_type=None, user=None, start: datetime | None = None, days: int = 2,
                     quantity: int = 1, **fields):
    """An equipment reservation written directly (allocations are not needed by every test)."""
    from booking.models import EquipmentReservation, ReservationStatus
    from samskap.timeutil import utcnow

    equipment_type = equipment_type or make_equipment_type(units=quantity)
    user = user or make_user()
    start = start or (utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=3))
    defaults = dict(equipment_type_id=equipment_type.id, quantity=quantity, organisation_id=user.organisation_id,
                    user_id=user.id, start=start, end=start + timedelta(days=days), purpose=f"Pilot {_n()}",
                    status=ReservationStatus.CONFIRMED)
    defaults.update(fields)
    reservation = EquipmentReservation(**defaults)
    db.session.add(reservation)
    db.session.commit()
    return reservation


def make_pilot_project(client) -> dict:
    """A pilot across organisations, made through the API by staff: the hospital leads it, the
    company is its partner, the municipality stands outside. People: ``staff``, ``nurse``
    (hospital), ``engineer`` (company), ``clerk`` (municipality), each with API headers."""
    hospital = make_org("hospital", name="Sykehuset Innlandet")
    company = make_org("company", name="Sensorfabrikken AS")
    municipality = make_org("municipality", name="Gjøvik kommune")
    people = {"staff": make_user(role=Role.STAFF, locale="en"), "nurse": make_user(hospital, locale="en"),
              "engineer": make_user(company, locale="en"), "clerk": make_user(municipality, locale="en")}
    headers = {k: api_headers(u) for k, u in people.items()}
    response = client.post("/api/v1/projects", headers=headers["staff"], json={
        "name": "Fall detection at home", "lead_organisation_id": hospital.id, "organisation_ids": [company.id],
        "status": "active"})
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(hospital=hospital, company=company, municipality=municipality, people=people, headers=headers,
                project=response.json["id"])
