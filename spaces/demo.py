"""Demo kinds of space, spaces and pilot-test equipment (see samskap/demo.py)."""
from __future__ import annotations

from samskap.demo import get_or_create
from spaces.models import EquipmentCategory, EquipmentType, EquipmentUnit, Space, SpaceKind

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


def seed() -> int:
    created = 0
    kinds = {}
    for code, nb, en in SPACE_KINDS:
        kinds[code], new = get_or_create(SpaceKind, {"code": code}, {"name_nb": nb, "name_en": en})
        created += new
    spaces = {}
    for spec in SPACES:
        spec = dict(spec)
        kind = kinds[spec.pop("kind")]
        slug = spec.pop("slug")
        spaces[slug], new = get_or_create(Space, {"slug": slug}, {"kind_id": kind.id, **spec})
        created += new
    for spec in EQUIPMENT:
        spec = dict(spec)
        prefix, count = spec.pop("prefix"), spec.pop("count")
        etype, new = get_or_create(EquipmentType, {"name": spec.pop("name")}, spec)
        created += new
        for n in range(1, count + 1):
            _unit, new = get_or_create(
                EquipmentUnit, {"asset_tag": f"{prefix}-{n:03d}"},
                {"equipment_type_id": etype.id, "serial": f"SN-{prefix}-{1000 + n}",
                 "home_space_id": spaces["leiligheten"].id},
            )
            created += new
    return created
