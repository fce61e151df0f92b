"""Demo organisations (one of each kind) and the accounts the README lists (see samskap/demo.py)."""
from __future__ import annotations

import sqlalchemy as sa

from accounts.models import Organisation, OrganisationKind, Role, User
from accounts.services import hash_password
from samskap.demo import get_or_create
from samskap.extensions import db

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


def seed() -> int:
    created = 0
    orgs = {}
    for name, kind, number in ORGANISATIONS:
        orgs[name], new = get_or_create(Organisation, {"name": name}, {"kind": kind, "number": number})
        created += new
    password_hash = None
    for email, name, role, org_name, contact in USERS:
        if db.session.scalar(sa.select(User.id).where(User.email == email)) is None:
            password_hash = password_hash or hash_password(DEMO_PASSWORD)
            db.session.add(User(email=email, name=name, role=role, organisation_id=orgs[org_name].id,
                                is_org_contact=contact, password_hash=password_hash))
            created += 1
    return created
