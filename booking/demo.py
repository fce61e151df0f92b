"""Demo fair-use quota and a few bookings next week, in the demo spaces by the demo accounts
(accounts/demo.py and spaces/demo.py seed those first; see samskap/demo.py)."""
from __future__ import annotations

from datetime import time, timedelta

import sqlalchemy as sa

from accounts.models import OrganisationKind, User
from booking.fairuse.models import Quota, QuotaPeriod
from booking.models import Booking, BookingStatus, Purpose, Visibility
from samskap.demo import get_or_create
from samskap.extensions import db
from samskap.timeutil import local_to_utc, to_local, utcnow
from spaces.models import Space

# (days after next Monday, space, start, end, title, organiser, purpose, visibility)
BOOKINGS = [
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


def seed() -> int:
    spaces = {s.slug: s for s in db.session.scalars(sa.select(Space).where(Space.slug.in_(
        {"leiligheten"} | {plan[1] for plan in BOOKINGS})))}
    # Fair use: companies share the living lab at most 20 hours a week each (booking/fairuse).
    _quota, created = get_or_create(Quota, {"organisation_kind": OrganisationKind.COMPANY,
                                            "space_id": spaces["leiligheten"].id},
                                    {"period": QuotaPeriod.WEEK, "max_hours": 20})
    return created + _seed_bookings(spaces)


def _seed_bookings(spaces) -> int:
    if db.session.scalar(sa.select(sa.func.count(Booking.id))):
        return 0
    users = {u.email: u for u in db.session.scalars(sa.select(User).where(User.email.in_(
        {plan[5] for plan in BOOKINGS})))}
    today = to_local(utcnow()).date()
    monday = today - timedelta(days=today.weekday())
    for offset, slug, start, end, title, email, purpose, visibility in BOOKINGS:
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
    db.session.flush()
    return len(BOOKINGS)
