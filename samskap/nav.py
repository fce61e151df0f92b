"""Navigation entries contributed by each blueprint, shown by role."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # lazy string
    audience: str  # "anonymous", "everyone", "user", "org_contact", "contact_only", "staff", "admin"
    order: int
    group: str = "other"  # one of GROUPS' codes: the menu shows the links grouped


# The menu's groups, in order (a compact menu on phones shows them as headings).
GROUPS = [("booking", _l("Booking")), ("equipment", _l("Equipment")), ("calendar", _l("Calendar")),
          ("admin", _l("Administration")), ("other", _l("More"))]
# Groups of the links registered before groups existed (other areas may still register without one).
_DEFAULT_GROUPS = {
    "bookings.day_view": "booking", "bookings.mine": "booking", "bookings.approvals": "booking",
    "spaces.index": "booking", "spaces.equipment": "equipment", "equipment_reservations.mine": "equipment",
    "equipment_reservations.desk": "equipment", "bookings.events": "calendar", "feeds.index": "calendar",
    "auth.organisation_members": "admin", "admin.index": "admin", "bookings.day_sheet": "booking",
}

_ITEMS: list[NavItem] = []


def register_nav(endpoint: str, label, audience: str = "user", order: int = 50, group: str | None = None) -> None:
    if not any(item.endpoint == endpoint for item in _ITEMS):
        _ITEMS.append(NavItem(endpoint, label, audience, order, group or _DEFAULT_GROUPS.get(endpoint, "other")))


# Who sees a link: "everyone", "anonymous" and "user" the core knows; the roles' audiences
# ("staff", "admin", "org_contact", "contact_only") are accounts' to define (register_audience).
_AUDIENCES = {
    "everyone": lambda user: True,
    "anonymous": lambda user: not user.is_authenticated,
    "user": lambda user: user.is_authenticated,
}


def register_audience(name: str, shows_to) -> None:
    """``shows_to(user)`` says whether a link for audience ``name`` is shown to ``user``."""
    _AUDIENCES[name] = shows_to


def _visible(item: NavItem) -> bool:
    return _AUDIENCES[item.audience](current_user)


def nav_items() -> list[NavItem]:
    endpoints = current_app.view_functions
    return [item for item in sorted(_ITEMS, key=lambda i: i.order) if item.endpoint in endpoints and _visible(item)]


def nav_groups() -> list[tuple[str, object, list[NavItem]]]:
    """The visible links by group: ``[(code, label, items)]``, empty groups left out."""
    items = nav_items()
    return [(code, label, [i for i in items if i.group == code]) for code, label in GROUPS
            if any(i.group == code for i in items)]


_ADMIN_LINKS: list[tuple[int, str, object]] = []


def register_admin_link(endpoint: str, label, order: int = 50) -> None:
    if not any(e == endpoint for _, e, _l in _ADMIN_LINKS):
        _ADMIN_LINKS.append((order, endpoint, label))


def admin_links() -> list[tuple[str, object]]:
    endpoints = current_app.view_functions
    return [(e, label) for _, e, label in sorted(_ADMIN_LINKS, key=lambda t: t[0]) if e in endpoints]
