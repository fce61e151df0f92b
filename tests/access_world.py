"""A small world of organisations, users and objects for the access-control tests
(the route-by-role matrix and the IDOR probes).

Every role of issue 7 has a user: a member of each organisation kind, an organisation
contact (in the municipality, whose members do NOT share bookings, so a contact sees
more than a plain member), workshop staff and an administrator. An outside organisation
owns objects none of those roles may see (private booking, series, reservations, feed,
API token), and a colleague of the municipality member owns a private booking only the
contact (and staff) may see.

The world is written once into a SQLite file (:func:`seed_world_file`); each test run
that changes data works on its own copy of that file, so roles never see each other's
writes.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from accounts import services as account_services
from accounts.models import User
from booking.equipment import services as equipment_services
from booking.feeds import services as feed_services
from booking.models import BookingStatus, EquipmentReservation, ReservationStatus, Visibility
from samskap import create_app
from samskap.extensions import db
from samskap.timeutil import utcnow
from spaces.models import Closure
from tests.factories import make_booking, make_equipment_type, make_org, make_series, make_space, make_user

MEMBER_ROLES = ("municipality", "hospital", "company", "academia")
SIGNED_IN_ROLES = (*MEMBER_ROLES, "contact", "staff", "admin")
ROLES = ("anonymous", *SIGNED_IN_ROLES)

# Objects every signed-in role owns (one of each per purpose, so that one request's
# change never disturbs another request's object).
OWN_BOOKINGS = ("booking", "booking_edit", "booking_cancel", "booking_patch", "booking_cancel_api")
OWN_PENDING = ("pending_approve", "pending_reject")
OWN_RESERVATIONS = ("reservation", "reservation_cancel", "reservation_cancel_api", "reservation_checkout")
OWN_PENDING_RESERVATIONS = ("reservation_pending_approve", "reservation_pending_reject")


@dataclass
class World:
    """Ids of everything the tests address, by name; secrets for tokens and feeds."""

    ids: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)         # role -> user id
    api_secrets: dict[str, str] = field(default_factory=dict)   # role -> bearer token
    own: dict[str, dict[str, int]] = field(default_factory=dict)  # role -> name -> id
    secrets: dict[str, str] = field(default_factory=dict)       # feed tokens by name

    def __getitem__(self, name: str) -> int:
        return self.ids[name]


class _Slots:
    """Distinct, non-overlapping periods in the future (the seeded rows never clash)."""

    def __init__(self):
        self.base = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
        self.hours = 0
        self.days = 0

    def hour(self):
        self.hours += 2
        return self.base + timedelta(hours=self.hours)

    def day(self):
        self.days += 2
        return self.base + timedelta(days=self.days)


def _reserve(slots: _Slots, actor, etype, status: ReservationStatus | None = None) -> int:
    start = slots.day()
    reservation = equipment_services.reserve_equipment(actor, etype.id, 1, start, start + timedelta(days=1))
    if status is not None:
        reservation.status = status
        if status == ReservationStatus.CHECKED_OUT:
            reservation.checked_out_at = utcnow()
            reservation.checked_out_by_id = actor.id
    db.session.commit()
    return reservation.id


def build_world() -> World:
    """Write the world into the current application's database (app context pushed)."""
    world = World()
    ids = world.ids
    slots = _Slots()

    orgs = {
        "municipality": make_org("municipality", name="Municipality of Access", members_share_bookings=False),
        "hospital": make_org("hospital", name="Access Hospital"),
        "company": make_org("company", name="Access Company"),
        "academia": make_org("academia", name="Access University"),
        "host": make_org("host", name="The Workshop"),
        "outsider": make_org("company", name="Outsider AS"),
    }
    for kind, org in orgs.items():
        ids[f"org_{kind}"] = org.id

    users = {role: make_user(orgs[role], locale="en", name=f"{role.title()} Member") for role in MEMBER_ROLES}
    users["contact"] = make_user(orgs["municipality"], locale="en", name="Contact Person", is_org_contact=True)
    users["staff"] = make_user(orgs["host"], role="staff", locale="en", name="Staff Person")
    users["admin"] = make_user(orgs["host"], role="admin", locale="en", name="Admin Person")
    outsider = make_user(orgs["outsider"], locale="en", name="Outsider Person")
    colleague = make_user(orgs["municipality"], locale="en", name="Colleague Person")
    leaver = make_user(orgs["outsider"], locale="en", name="Leaver Person")
    ids.update(user_outsider=outsider.id, user_colleague=colleague.id, user_leaver=leaver.id)
    # A second colleague, for the rows that change a member's access (members page).
    ids["user_colleague_2"] = make_user(orgs["municipality"], locale="en", name="Second Colleague").id
    for role, user in users.items():
        world.users[role] = user.id
        _token, secret = account_services.create_api_token(None, user)
        world.api_secrets[role] = secret
    db.session.commit()

    every_kind = ["municipality", "hospital", "company", "academia", "host"]
    space = make_space(name="Open Room", slug="open-room", bookable_by=every_kind)
    approval_space = make_space(name="Approval Lab", slug="approval-lab", bookable_by=every_kind,
                                requires_approval=True)
    inactive_space = make_space(name="Closed Room", slug="closed-room", bookable_by=every_kind, active=False)
    hospital_space = make_space(name="Hospital Lab", slug="hospital-lab", bookable_by=["hospital"])
    spare_space = make_space(name="Spare Room", slug="spare-room", bookable_by=every_kind)
    ids.update(space=space.id, approval_space=approval_space.id, inactive_space=inactive_space.id,
               hospital_space=hospital_space.id, spare_space=spare_space.id, space_kind=space.kind_id)

    etype = make_equipment_type(units=3, name="Sensor Kit", bookable_by=every_kind)
    approval_etype = make_equipment_type(units=3, name="Robot Arm", bookable_by=every_kind, requires_approval=True)
    inactive_etype = make_equipment_type(units=1, name="Old Headset", active=False)
    spare_etype = make_equipment_type(units=2, name="Spare Kit", bookable_by=every_kind)
    # Reservations seeded as handed out hold units of their own type: a unit still out blocks
    # handing it out again, which would spoil the check-out rows.
    lent_etype = make_equipment_type(units=1, name="Lent Kit", bookable_by=every_kind)
    # Likewise each reservation a row hands out has a type of its own.
    checkout_etypes = {name: make_equipment_type(units=1, name=f"Checkout Kit {name}", bookable_by=every_kind)
                       for name in ("web", "api")}
    ids.update(etype=etype.id, approval_etype=approval_etype.id, inactive_etype=inactive_etype.id,
               spare_etype=spare_etype.id, spare_unit=spare_etype.units[0].id, unit=etype.units[0].id)

    far = utcnow() + timedelta(days=300)
    for name in ("closure", "closure_delete"):
        closure = Closure(space_id=spare_space.id, start=far, end=far + timedelta(days=1), reason=f"Test {name}")
        db.session.add(closure)
        db.session.commit()
        ids[name] = closure.id

    # --- what each role owns ---
    for role, user in users.items():
        own = world.own[role] = {}
        for name in OWN_BOOKINGS:
            own[name] = make_booking(space, user, start=slots.hour(), title=f"{role} {name}").id
        for name in OWN_PENDING:
            own[name] = make_booking(approval_space, user, start=slots.hour(), status=BookingStatus.PENDING,
                                     title=f"{role} {name}").id
        # Each role checks out its own kit: a unit shared with an earlier loan may (rightly) not
        # be handed out before that loan ends.
        own_kit = make_equipment_type(units=1, name=f"Checkout Kit own {role}", bookable_by=every_kind)
        for name in OWN_RESERVATIONS:
            own[name] = _reserve(slots, user, own_kit if name == "reservation_checkout" else etype)
        own["reservation_checkin"] = _reserve(slots, user, lent_etype, ReservationStatus.CHECKED_OUT)
        for name in OWN_PENDING_RESERVATIONS:
            own[name] = _reserve(slots, user, etype, ReservationStatus.PENDING)
        for name in ("feed", "feed_revoke", "feed_delete_api"):
            feed, _secret = feed_services.create_feed(user, "mine")
            own[name] = feed.id
        token, _secret = account_services.create_api_token(user, user, "to revoke")
        own["token_revoke"] = token.id
        db.session.commit()

    # --- the outside organisation's objects: no role but staff and admin may see the private ones ---
    def foreign_booking(name, **fields):
        ids[name] = make_booking(fields.pop("space", space), outsider, start=slots.hour(),
                                 title=f"Outsider {name}", **fields).id

    foreign_booking("f_private", visibility=Visibility.PRIVATE)
    foreign_booking("f_partners", visibility=Visibility.PARTNERS)
    foreign_booking("f_public", visibility=Visibility.PUBLIC)
    for name in ("f_edit", "f_patch", "f_cancel", "f_cancel_api"):
        foreign_booking(name)
    for name in ("f_pending_approve", "f_pending_reject", "f_pending_approve_api", "f_pending_reject_api"):
        foreign_booking(name, space=approval_space, status=BookingStatus.PENDING)
    foreign_booking("f_partners_pending", space=approval_space, status=BookingStatus.PENDING,
                    visibility=Visibility.PARTNERS)
    series = make_series(space, outsider, dtstart_local=(slots.day() + timedelta(days=40)).strftime("%Y-%m-%dT10:00:00"),
                         rrule="FREQ=WEEKLY;COUNT=3", title="Outsider series")
    occurrences = series.occurrences
    ids["f_series"] = series.id
    ids["f_occurrence"] = occurrences[1].id
    ids["colleague_private"] = make_booking(space, colleague, start=slots.hour(), title="Colleague private").id

    # A project led by the outsider with the hospital as partner (issue 18): the hospital's member
    # sees its private booking in full; every other role but staff and admin sees only busy.
    from booking.projects import services as project_services

    project = project_services.create_project(users["staff"], {
        "name": "Outsider pilot", "lead_organisation_id": orgs["outsider"].id,
        "organisation_ids": [orgs["hospital"].id]})
    db.session.commit()
    ids["f_project"] = project.id
    foreign_booking("f_project_booking", visibility=Visibility.PRIVATE, project_id=project.id)
    _registration_world(world, foreign_booking)

    for name in ("f_reservation", "f_reservation_cancel", "f_reservation_cancel_api"):
        ids[name] = _reserve(slots, outsider, etype)
    ids["f_reservation_checkout"] = _reserve(slots, outsider, checkout_etypes["web"])
    ids["f_reservation_checkout_api"] = _reserve(slots, outsider, checkout_etypes["api"])
    for name in ("f_reservation_checkin", "f_reservation_checkin_api"):
        ids[name] = _reserve(slots, outsider, lent_etype, ReservationStatus.CHECKED_OUT)
    for name in ("f_reservation_pending_approve", "f_reservation_pending_reject", "f_reservation_pending_approve_api",
                 "f_reservation_pending_reject_api"):
        ids[name] = _reserve(slots, outsider, etype, ReservationStatus.PENDING)
    ids["colleague_reservation"] = _reserve(slots, colleague, etype)

    feed, secret = feed_services.create_feed(outsider, "mine")
    ids["f_feed"] = feed.id
    world.secrets["f_feed"] = secret
    feed, _secret = feed_services.create_feed(outsider, "organisation")
    ids["f_feed_revoke"] = feed.id
    token, _secret = account_services.create_api_token(outsider, outsider, "outsider's")
    ids["f_token"] = token.id
    db.session.commit()
    return world


def _registration_world(world: World, foreign_booking) -> None:
    """The outsider's public event and partners-only event taking registrations (issue 18), with
    registrations on the public one: one whose link ({registration_token}) the rows use, one for
    attendance and one to cancel on each of the page and the API."""
    import secrets

    from booking.models import Booking
    from booking.registrations.models import Audience, Registration, RegistrationSettings, RegistrationStatus
    from booking.registrations.services import hash_token

    ids = world.ids
    foreign_booking("f_event", visibility=Visibility.PUBLIC)
    foreign_booking("f_partners_event", visibility=Visibility.PARTNERS)
    for name, audience in (("f_event", Audience.PUBLIC), ("f_partners_event", Audience.PARTNERS)):
        booking = db.session.get(Booking, ids[name])
        db.session.add(RegistrationSettings(booking_id=booking.id, capacity=50, audience=audience,
                                            closes_at=booking.start - timedelta(minutes=30)))
    for name in ("f_registration", "f_registration_attendance", "f_registration_cancel",
                 "f_registration_cancel_api", "f_registration_guest_data"):
        secret = secrets.token_urlsafe(32)
        registration = Registration(booking_id=ids["f_event"], name=f"Registrant {name}", email=f"{name}@example.test",
                                    status=RegistrationStatus.CONFIRMED, token_hash=hash_token(secret),
                                    queued_at=utcnow())
        db.session.add(registration)
        db.session.flush()
        ids[name] = registration.id
        world.secrets[name] = secret
    from booking.registrations.guest_data import make_token

    # The emailed link to the data of a registrant without an account (/my-data/<token>), for an
    # address of its own: the erase row changes nothing any other row uses.
    world.secrets["guest_data"] = make_token("f_registration_guest_data@example.test")
    db.session.commit()


def seed_world_file(template: Path, target: Path, config: dict) -> World:
    """Copy the migrated template to ``target`` and write the world into it."""
    shutil.copyfile(template, target)
    app = create_app({**config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}"})
    with app.app_context():
        world = build_world()
        db.session.remove()
        db.engine.dispose()
    engine = sa.create_engine(f"sqlite:///{target}")
    with engine.connect() as conn:  # fold the WAL into the file, so that a copy has everything
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return world


def copy_world(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    return target


def session_id(user_id: int) -> str:
    """Flask-Login's session value for the user as stored now (its session version may have moved)."""
    user = db.session.get(User, user_id)
    return user.get_id()


def reservation_status(reservation_id: int) -> ReservationStatus:
    return db.session.get(EquipmentReservation, reservation_id).status


def names_for(world: World, role: str) -> dict:
    """Placeholders for paths and bodies: world ids by name, the role's own objects as
    ``own_<name>`` (the municipality member's for anonymous requests), ``feed_token``, and
    ``actor`` (the role)."""
    own_role = role if role in world.own else "municipality"
    names = dict(world.ids)
    names.update({f"own_{name}": value for name, value in world.own[own_role].items()})
    names["feed_token"] = world.secrets["f_feed"]
    names["registration_token"] = world.secrets["f_registration"]
    names["guest_data_token"] = world.secrets["guest_data"]
    names["actor"] = role
    return names


def request_as(app, world: World, role: str, method: str, path: str, **kwargs):
    """One request by ``role`` in a fresh client: pages with a signed-in session, the API with
    the role's bearer token (a cookie-less client, as an API caller is)."""
    client = app.test_client()
    if role != "anonymous":
        if path.startswith("/api/"):
            kwargs["headers"] = {"Authorization": f"Bearer {world.api_secrets[role]}", **kwargs.get("headers", {})}
        else:
            with app.app_context():
                ident = session_id(world.users[role])
                db.session.remove()
            with client.session_transaction() as session:
                session["_user_id"] = ident
                session["_fresh"] = True
    return client.open(path, method=method, **kwargs)


def snapshot_database(app) -> dict:
    """Every row of every table, to prove that a refused request changed nothing."""
    with app.app_context():
        rows = {}
        with db.engine.connect() as conn:
            for table in db.metadata.sorted_tables:
                rows[table.name] = [tuple(row) for row in conn.execute(
                    table.select().order_by(*table.primary_key.columns))]
        db.session.remove()
    return rows
