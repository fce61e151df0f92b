"""Space services: every rule of issue 3 refused with a clear message and nothing written;
audit entries; kinds; closures and the bookings inside them; the week at a glance."""
import threading
from datetime import date, datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa

from booking.models import BookingStatus, Visibility
from samskap.audit import AuditEntry
from samskap.errors import PermissionDenied, ValidationFailed
from samskap.extensions import db
from samskap.timeutil import local_to_utc
from spaces import services
from spaces.models import Closure, Space
from spaces.usage import bookings_in_closure, week_at_a_glance  # answered by booking (booking/catalogue.py)
from tests.conftest import BOTH, POSTGRES
from tests.factories import make_booking, make_org, make_space, make_space_kind, make_user

UTC = timezone.utc


def valid_space(**changes) -> dict:
    data = {"name": "Lab A", "kind": "meeting-room", "capacity": 8, "location": "2nd floor",
            "opening_hours": {"mon": [["08:00", "12:00"], ["13:00", "16:00"]]}, "bookable_by": ["hospital", "academia"],
            "requires_approval": True, "min_minutes": 30, "max_minutes": 240, "buffer_minutes": 15,
            "max_days_ahead": 90}
    data.update(changes)
    return data


def counts():
    return (db.session.scalar(sa.select(sa.func.count(Space.id))),
            db.session.scalar(sa.select(sa.func.count(AuditEntry.id))))


@pytest.fixture
def admin(app):
    make_space_kind()
    return make_user(role="admin")


def test_admin_creates_space_with_every_field_and_an_audit_entry(admin):
    space = services.create_space(admin, valid_space(description="Whiteboards"))
    db.session.commit()
    assert space.slug == "lab-a"
    assert space.kind.code == "meeting-room"
    assert space.opening_hours == {"mon": [["08:00", "12:00"], ["13:00", "16:00"]]}
    assert space.bookable_by == ["hospital", "academia"]
    assert (space.capacity, space.min_minutes, space.max_minutes, space.buffer_minutes, space.max_days_ahead) == \
        (8, 30, 240, 15, 90)
    assert space.requires_approval and space.active
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "space.create"))
    assert entry.actor_id == admin.id and entry.object_id == space.id
    assert entry.changes["capacity"] == [None, 8]


def test_slug_is_made_url_safe_from_a_norwegian_name(admin):
    space = services.create_space(admin, valid_space(name="Øvre Mjøsa møterom"))
    assert space.slug == "ovre-mjosa-moterom"


@BOTH
@pytest.mark.parametrize("changes,field,message", [
    ({"capacity": 0}, "capacity", "at least 1 person"),
    ({"capacity": -3}, "capacity", "at least 1 person"),
    ({"capacity": "ten"}, "capacity", "'ten' is not a whole number"),
    ({"capacity": True}, "capacity", "not a whole number"),
    ({"capacity": None}, "capacity", "Enter a whole number"),
    ({"min_minutes": 300, "max_minutes": 240}, "min_minutes", "(300 minutes) is longer than the maximum (240"),
    ({"min_minutes": 0}, "min_minutes", "at least 1"),
    ({"buffer_minutes": -5}, "buffer_minutes", "cannot be negative"),
    ({"max_days_ahead": -1}, "max_days_ahead", "at least 0"),
    ({"opening_hours": {"mon": [["08:00", "12:00"], ["11:00", "14:00"]]}}, "opening_hours", "overlap"),
    ({"opening_hours": {"tue": [["16:00", "08:00"]]}}, "opening_hours", "closing time 08:00 is not after"),
    ({"opening_hours": {"funday": [["08:00", "16:00"]]}}, "opening_hours", "Unknown weekday"),
    ({"opening_hours": "08-16"}, "opening_hours", "must map weekdays"),
    ({"bookable_by": ["hospital", "spaceagency"]}, "bookable_by", "Unknown organisation kind 'spaceagency'"),
    ({"bookable_by": "hospital"}, "bookable_by", "Give a list of organisation kinds"),
    ({"bookable_by": []}, "bookable_by", "at least one kind"),
    ({"kind": "spaceship"}, "kind", "Unknown kind of space 'spaceship'"),
    ({"slug": "Not a slug!"}, "slug", "lower-case letters"),
    ({"name": "  "}, "name", "Enter a name"),
    ({"name": "x" * 201}, "name", "at most 200 characters"),
    ({"requires_approval": "yes"}, "requires_approval", "true or false"),
    ({"colour": "blue"}, "colour", "Unknown field 'colour'"),
])
def test_invalid_space_is_refused_with_a_message_and_nothing_written(admin, changes, field, message):
    before = counts()
    with pytest.raises(ValidationFailed) as info:
        services.create_space(admin, valid_space(**changes))
    db.session.rollback()
    assert message in info.value.fields[field]
    assert counts() == before


@BOTH
def test_duplicate_slug_and_name_are_refused(admin):
    make_space(slug="mjosa", name="Mjøsa")
    before = counts()
    with pytest.raises(ValidationFailed) as info:
        services.create_space(admin, valid_space(name="Mjøsa", slug="mjosa"))
    db.session.rollback()
    assert "'mjosa'" in info.value.fields["slug"]
    assert "'Mjøsa' already exists" in info.value.fields["name"]
    assert counts() == before


@POSTGRES
def test_two_admins_creating_the_same_slug_at_once_get_one_space_and_one_message(app, admin):
    barrier = threading.Barrier(2)
    results = []
    admin_id = admin.id
    db.session.commit()

    def create(name):
        with app.app_context():
            actor = db.session.get(type(admin), admin_id)
            barrier.wait()
            try:
                services.create_space(actor, valid_space(name=name, slug="same-slug"))
                db.session.commit()
                results.append("created")
            except ValidationFailed as exc:
                db.session.rollback()
                results.append(exc.fields)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=create, args=(f"Room {i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("created") == 1
    (error,) = [r for r in results if r != "created"]
    assert "slug" in error or "name" in error
    assert db.session.scalar(sa.select(sa.func.count(Space.id)).where(Space.slug == "same-slug")) == 1


def test_update_changes_only_given_fields_and_checks_min_against_stored_max(admin):
    space = services.create_space(admin, valid_space())
    db.session.commit()
    with pytest.raises(ValidationFailed) as info:
        services.update_space(admin, space, {"min_minutes": 500})
    db.session.rollback()
    assert "min_minutes" in info.value.fields
    services.update_space(admin, space, {"capacity": 12, "opening_hours": None})
    db.session.commit()
    assert space.capacity == 12 and space.opening_hours is None and space.min_minutes == 30
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "space.update"))
    assert entry.changes["capacity"] == [8, 12]
    assert entry.changes["opening_hours"][1] is None


def test_an_unchanged_update_keeps_its_own_slug(admin):
    space = services.create_space(admin, valid_space())
    db.session.commit()
    slug, name = space.slug, space.name
    # Its own slug and name are no clash with "another" space: no ValidationFailed, nothing changes.
    services.update_space(admin, space, {"slug": slug, "name": name})
    db.session.commit()
    db.session.refresh(space)
    assert (space.slug, space.name) == (slug, name)
    updates = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "space.update")).all()
    assert updates == []  # an update that changes nothing leaves no audit entry either


@pytest.mark.parametrize("role", ["member", "staff"])
def test_only_admins_may_use_the_catalogue_services(admin, role):
    user = make_user(role=role)
    space = make_space()
    etype_data = {"name": "Kit", "category": "vr"}
    for call in (lambda: services.create_space(user, valid_space()),
                 lambda: services.update_space(user, space, {"capacity": 3}),
                 lambda: services.deactivate_space(user, space),
                 lambda: services.create_space_kind(user, {"name_nb": "Lab", "name_en": "Lab"}),
                 lambda: services.add_closure(user, None, datetime(2027, 1, 1, tzinfo=UTC),
                                              datetime(2027, 1, 2, tzinfo=UTC), "Holiday"),
                 lambda: services.create_equipment_type(user, etype_data)):
        with pytest.raises(PermissionDenied):
            call()
    assert space.capacity == 10 and space.active


def test_deactivating_keeps_the_space_and_its_bookings(admin):
    space = make_space()
    booking = make_booking(space=space)
    services.deactivate_space(admin, space)
    db.session.commit()
    assert db.session.get(Space, space.id).active is False
    assert booking.space_id == space.id and booking.status == BookingStatus.CONFIRMED
    assert space not in services.list_spaces(admin)
    assert space in services.list_spaces(admin, services.SpaceFilters(include_inactive=True))
    assert db.session.scalar(sa.select(AuditEntry.changes).where(AuditEntry.action == "space.deactivate")) == \
        {"active": [True, False]}


def test_admin_adds_a_space_kind_and_spaces_can_use_it(admin):
    kind = services.create_space_kind(admin, {"name_nb": "Sensorlab", "name_en": "Sensor lab"})
    db.session.commit()
    assert kind.code == "sensor-lab" and kind.label("nb") == "Sensorlab" and kind.label("en") == "Sensor lab"
    assert services.create_space(admin, valid_space(kind="sensor-lab")).kind_id == kind.id
    with pytest.raises(ValidationFailed) as info:
        services.create_space_kind(admin, {"name_nb": "Sensorlab", "name_en": "Sensor lab"})
    assert "already exists" in info.value.fields["code"]
    with pytest.raises(ValidationFailed) as info:
        services.create_space_kind(admin, {"name_nb": "", "name_en": "X", "code": "Bad Code"})
    assert set(info.value.fields) == {"name_nb", "code"}


# --- closures ----------------------------------------------------------------------------------

def at(day: date, hour: int) -> datetime:
    return local_to_utc(day, time(hour))


@pytest.mark.parametrize("start,end,reason,field", [
    (datetime(2027, 1, 2, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), "Holiday", "end"),
    (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), "Holiday", "end"),
    (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC), "  ", "reason"),
    (datetime(2027, 1, 1), datetime(2027, 1, 2, tzinfo=UTC), "Holiday", "start"),
])
def test_invalid_closure_is_refused_and_nothing_written(admin, start, end, reason, field):
    with pytest.raises(ValidationFailed) as info:
        services.add_closure(admin, None, start, end, reason)
    db.session.rollback()
    assert field in info.value.fields
    assert db.session.scalar(sa.select(sa.func.count(Closure.id))) == 0


def test_bookings_in_closure_lists_active_overlapping_bookings_only(admin):
    room, other_room = make_space(), make_space()
    day = date(2027, 3, 10)
    inside = make_booking(space=room, start=at(day, 9), minutes=60)
    overlapping_start = make_booking(space=room, start=at(day, 7), minutes=120)  # 07-09 overlaps 08-...
    make_booking(space=room, start=at(day, 6), minutes=120)  # 06-08 ends as the closure starts
    make_booking(space=room, start=at(day, 10), minutes=60, status=BookingStatus.CANCELLED)
    pending = make_booking(space=room, start=at(day, 11), minutes=60, status=BookingStatus.PENDING)
    elsewhere = make_booking(space=other_room, start=at(day, 9), minutes=60)

    room_closure = services.add_closure(admin, room, at(day, 8), at(day, 16), "New floor")
    whole = services.add_closure(admin, None, at(day, 8), at(day, 16), "Strike")
    db.session.commit()

    assert bookings_in_closure(room_closure) == [overlapping_start, inside, pending]
    assert elsewhere in bookings_in_closure(whole) and len(bookings_in_closure(whole)) == 4
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "closure.create",
                                                          AuditEntry.object_id == room_closure.id))
    assert entry.changes["reason"] == [None, "New floor"]


def test_removing_a_closure_is_audited(admin):
    closure = services.add_closure(admin, None, datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC),
                                   "Holiday")
    db.session.commit()
    services.remove_closure(admin, closure)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Closure.id))) == 0
    assert db.session.scalar(sa.select(AuditEntry.changes).where(AuditEntry.action == "closure.delete"))["reason"] \
        == ["Holiday", None]


# --- the week at a glance --------------------------------------------------------------------

def test_week_at_a_glance_masks_private_bookings_of_other_organisations(admin):
    space = make_space(opening_hours={"tue": [["08:00", "16:00"]]})
    owner_org, other_org = make_org(kind="hospital"), make_org(kind="company")
    owner, outsider = make_user(owner_org), make_user(other_org)
    tuesday = date(2027, 3, 9)
    private = make_booking(space=space, user=owner, start=at(tuesday, 9), title="Secret pilot")
    shared = make_booking(space=space, user=owner, start=at(tuesday, 12), title="Workshop",
                          visibility=Visibility.PARTNERS)
    days = week_at_a_glance(outsider, space, date(2027, 3, 8))
    assert [d.day for d in days] == [date(2027, 3, 8) + timedelta(days=i) for i in range(7)]
    periods = days[1].periods
    assert [(p.booking, p.visible) for p in periods] == [(private, False), (shared, True)]
    assert periods[0].start.hour == 9 and periods[0].end.hour == 10  # local time
    assert days[1].opening[0][0].hour == 8 and days[0].opening == []
    assert [p.visible for p in week_at_a_glance(owner, space, date(2027, 3, 8))[1].periods] == [True, True]


def test_week_at_a_glance_splits_multi_day_bookings_and_shows_closures(admin):
    space = make_space()
    monday = date(2027, 3, 8)
    make_booking(space=space, start=at(monday, 20), minutes=60 * 30)  # Mon 20:00 to Wed 02:00
    services.add_closure(admin, None, at(monday + timedelta(days=4), 0), at(monday + timedelta(days=5), 0), "Holiday")
    db.session.commit()
    days = week_at_a_glance(admin, space, monday)
    assert [len(d.periods) for d in days] == [1, 1, 1, 0, 1, 0, 0]
    assert days[0].periods[0].continues_after and days[1].periods[0].continues_before
    assert days[4].periods[0].closure.reason == "Holiday"


def test_week_at_a_glance_shows_preparation_time_after_bookings_like_the_booking_rules(admin):
    """The glance asks the booking area which rows block the space, so a buffer counts here too."""
    space = make_space(buffer_minutes=30)
    owner, outsider = make_user(make_org(kind="hospital")), make_user(make_org(kind="company"))
    monday = date(2027, 3, 8)
    make_booking(space=space, user=owner, start=at(monday, 9), title="Pilot")
    make_booking(space=space, user=owner, start=at(monday, 0) - timedelta(minutes=30), minutes=15)  # Sun 23:30-23:45
    days = week_at_a_glance(outsider, space, monday)
    shown = [(f"{p.start:%H:%M}", f"{p.end:%H:%M}", p.preparation, p.visible, p.continues_before)
             for p in days[0].periods]
    assert shown == [("00:00", "00:15", True, False, True),  # the buffer of Sunday night's booking
                     ("09:00", "10:00", False, False, False),
                     ("10:00", "10:30", True, False, False)]
    assert all(p.booking is not None for p in days[0].periods)
