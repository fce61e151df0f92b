"""Demo data for a newcomer: one organisation of each kind, the accounts listed in the
README, spaces, equipment and a few bookings this week. Running it twice changes nothing."""
from __future__ import annotations

from datetime import time, timedelta

import sqlalchemy as sa

from accounts.models import Organisation, OrganisationKind, Role, User
from accounts.services import hash_password
from booking.models import Booking, BookingStatus, Purpose, Visibility
from samskap.extensions import db
from samskap.timeutil import local_to_utc, to_local, utcnow
from spaces.models import EquipmentCategory, EquipmentType, EquipmentUnit, Space, SpaceKind

DEMO_PASSWORD = "samskap-demo"

ORGANISATIONS = [
    ("Helseinn Gjøvik", OrganisationKind.HOST, "944210008"),
    ("Gjøvik kommune", OrganisationKind.MUNICIPALITY, "983650015"),
    ("Sykehuset Innlandet", OrganisationKind.HOSPITAL, "912124002"),
    ("Tryggtek AS", OrganisationKind.COMPANY, "974800004"),
    ("NTNU Gjøvik", OrganisationKind.ACADEMIA, "923000003"),
]

USERS = [
    ("admin@samskap.test", "Ada Administrator", Role.ADMIN, "Helseinn Gjøvik", False),
    ("staff@samskap.test", "Sindre Stab", Role.STAFF, "Helseinn Gjøvik", False),
    ("kommune@samskap.test", "Kari Kommune", Role.MEMBER, "Gjøvik kommune", True),
    ("sykehus@samskap.test", "Henrik Helse", Role.MEMBER, "Sykehuset Innlandet", False),
    ("bedrift@samskap.test", "Berit Bedrift", Role.MEMBER, "Tryggtek AS", False),
    ("ntnu@samskap.test", "Aksel Akademia", Role.MEMBER, "NTNU Gjøvik", False),
]

SPACE_KINDS = [
    ("meeting-room", "Møterom", "Meeting room"),
    ("workshop-room", "Verkstedrom", "Workshop room"),
    ("simulation-lab", "Simuleringslab", "Simulation lab"),
    ("living-lab", "Living lab", "Living lab"),
    ("auditorium", "Auditorium", "Auditorium"),
    ("testing-area", "Testområde", "Testing area"),
]  # the standard kinds (migration 0005 ships them too; both only add a kind whose code is missing)

WEEKDAYS_8_16 = {day: [["08:00", "16:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
ALL_PARTNERS = ["municipality", "hospital", "company", "academia", "host"]

SPACES = [
    dict(name="Mjøsa møterom", slug="mjosa", kind="meeting-room", capacity=10, location="1. etasje",
         description="Møterom med skjerm og videokonferanse.", opening_hours=WEEKDAYS_8_16,
         bookable_by=ALL_PARTNERS, min_minutes=30, max_minutes=480, max_days_ahead=365, buffer_minutes=15,
         check_in_minutes=15),
    dict(name="Verkstedet", slug="verkstedet", kind="workshop-room", capacity=30, location="1. etasje",
         description="Stort rom for samskapingsverksteder, med tavler og flyttbare bord.",
         opening_hours={**WEEKDAYS_8_16, "sat": [["10:00", "14:00"]]}, bookable_by=ALL_PARTNERS,
         min_minutes=60, max_minutes=600, max_days_ahead=365, buffer_minutes=30),
    dict(name="Simuleringslaben", slug="simlab", kind="simulation-lab", capacity=12, location="2. etasje",
         description="Simuleringslab med pasientsimulator og observasjonsrom.", opening_hours=WEEKDAYS_8_16,
         bookable_by=["hospital", "academia", "municipality", "host"], requires_approval=True,
         min_minutes=60, max_minutes=480, max_days_ahead=180, buffer_minutes=30),
    dict(name="Leiligheten (living lab)", slug="leiligheten", kind="living-lab", capacity=6, location="2. etasje",
         description="Fullt utstyrt leilighet for utprøving av velferdsteknologi.", opening_hours=None,
         bookable_by=["municipality", "hospital", "company", "academia", "host"], requires_approval=True,
         min_minutes=60, max_minutes=60 * 24 * 21, max_days_ahead=365, buffer_minutes=60),
    dict(name="Auditoriet", slug="auditoriet", kind="auditorium", capacity=80, location="1. etasje",
         description="Auditorium for seminarer og åpne arrangementer.", opening_hours=WEEKDAYS_8_16,
         bookable_by=["host", "municipality", "hospital", "academia"], min_minutes=60, max_minutes=480,
         max_days_ahead=365, buffer_minutes=30),
]

EQUIPMENT = [
    dict(name="Fallsensor-sett", category=EquipmentCategory.SENSOR_KIT, max_loan_days=28, turnaround_hours=24,
         description="Fallsensor med basestasjon og armbånd.", bookable_by=ALL_PARTNERS, prefix="FALL", count=6),
    dict(name="Digitalt tilsyn (kamera)", category=EquipmentCategory.WELFARE_TECHNOLOGY, max_loan_days=21,
         turnaround_hours=24, description="Digitalt tilsyn med samtykkebasert kamera.",
         bookable_by=["municipality", "hospital", "host"], requires_approval=True, prefix="TILSYN", count=3),
    dict(name="VR-sett for opplæring", category=EquipmentCategory.VR, max_loan_days=7, turnaround_hours=4,
         description="VR-briller med opplæringsscenarier.", bookable_by=ALL_PARTNERS, prefix="VR", count=4),
]


def _get_or_create(model, lookup: dict, defaults: dict) -> tuple[object, bool]:
    obj = db.session.scalar(sa.select(model).filter_by(**lookup))
    if obj is not None:
        return obj, False
    obj = model(**lookup, **defaults)
    db.session.add(obj)
    db.session.flush()
    return obj, True


def seed() -> str:
    created = 0
    orgs = {}
    for name, kind, number in ORGANISATIONS:
        orgs[name], new = _get_or_create(Organisation, {"name": name}, {"kind": kind, "number": number})
        created += new
    users = {}
    password_hash = None
    for email, name, role, org_name, contact in USERS:
        existing = db.session.scalar(sa.select(User).where(User.email == email))
        if existing is None:
            password_hash = password_hash or hash_password(DEMO_PASSWORD)
            existing = User(email=email, name=name, role=role, organisation_id=orgs[org_name].id,
                            is_org_contact=contact, password_hash=password_hash)
            db.session.add(existing)
            created += 1
        users[email] = existing
    kinds = {}
    for code, nb, en in SPACE_KINDS:
        kinds[code], new = _get_or_create(SpaceKind, {"code": code}, {"name_nb": nb, "name_en": en})
        created += new
    spaces = {}
    for spec in SPACES:
        spec = dict(spec)
        kind = kinds[spec.pop("kind")]
        slug = spec.pop("slug")
        spaces[slug], new = _get_or_create(Space, {"slug": slug}, {"kind_id": kind.id, **spec})
        created += new
    for spec in EQUIPMENT:
        spec = dict(spec)
        prefix, count = spec.pop("prefix"), spec.pop("count")
        etype, new = _get_or_create(EquipmentType, {"name": spec.pop("name")}, spec)
        created += new
        for n in range(1, count + 1):
            _unit, new = _get_or_create(
                EquipmentUnit, {"asset_tag": f"{prefix}-{n:03d}"},
                {"equipment_type_id": etype.id, "serial": f"SN-{prefix}-{1000 + n}",
                 "home_space_id": spaces["leiligheten"].id},
            )
            created += new
    # Fair use: companies share the living lab at most 20 hours a week each (booking/fairuse).
    from booking.fairuse.models import Quota, QuotaPeriod

    _quota, new = _get_or_create(Quota, {"organisation_kind": OrganisationKind.COMPANY,
                                         "space_id": spaces["leiligheten"].id},
                                 {"period": QuotaPeriod.WEEK, "max_hours": 20})
    created += new
    db.session.flush()
    created += _seed_bookings(orgs, users, spaces)
    return f"Demo data ready ({created} new records). Demo password: {DEMO_PASSWORD}"


def _seed_bookings(orgs, users, spaces) -> int:
    if db.session.scalar(sa.select(sa.func.count(Booking.id))):
        return 0
    today = to_local(utcnow()).date()
    monday = today - timedelta(days=today.weekday())
    plans = [
        # (days after next Monday, space, start, end, title, organiser, purpose, visibility)
        (0, "mjosa", time(9), time(11), "Prosjektmøte trygg hjemme", "kommune@samskap.test",
         Purpose.MEETING, Visibility.PRIVATE),
        (0, "verkstedet", time(12), time(15), "Samskapingsverksted: digital hjemmeoppfølging",
         "sykehus@samskap.test", Purpose.CO_CREATION, Visibility.PARTNERS),
        (1, "mjosa", time(10), time(12), "Leverandørmøte", "bedrift@samskap.test",
         Purpose.MEETING, Visibility.PRIVATE),
        (2, "auditoriet", time(13), time(15), "Åpent seminar: velferdsteknologi i praksis",
         "staff@samskap.test", Purpose.EVENT, Visibility.PUBLIC),
        (3, "simlab", time(9), time(12), "Simuleringstrening for hjemmesykepleien", "ntnu@samskap.test",
         Purpose.TRAINING, Visibility.PARTNERS),
    ]
    count = 0
    for offset, slug, start, end, title, email, purpose, visibility in plans:
        day = monday + timedelta(days=7 + offset)  # next week, so always in the future
        space = spaces[slug]
        user = users[email]
        start_utc, end_utc = local_to_utc(day, start), local_to_utc(day, end)
        db.session.add(Booking(
            space_id=space.id, organiser_id=user.id, organisation_id=user.organisation_id, title=title,
            purpose=purpose, visibility=visibility, start=start_utc, end=end_utc,
            blocked_until=end_utc + timedelta(minutes=space.buffer_minutes), attendees=min(space.capacity, 6),
            status=BookingStatus.CONFIRMED,
        ))
        count += 1
    db.session.flush()
    return count
