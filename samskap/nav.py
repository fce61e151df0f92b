"""Navigation entries contributed by each blueprint, shown by role."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_login import current_user

from accounts.permissions import is_admin, is_staff, manages_organisation


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # lazy string
    audience: str  # "anonymous", "everyone", "user", "org_contact", "staff", "admin"
    order: int


_ITEMS: list[NavItem] = []


def register_nav(endpoint: str, label, audience: str = "user", order: int = 50) -> None:
    if not any(item.endpoint == endpoint for item in _ITEMS):
        _ITEMS.append(NavItem(endpoint, label, audience, order))


def _visible(item: NavItem) -> bool:
    signed_in = current_user.is_authenticated
    return {
        "everyone": True,
        "anonymous": not signed_in,
        "user": signed_in,
        # organisation contacts, and staff and administrators (who manage every organisation)
        "org_contact": signed_in and manages_organisation(current_user, current_user.organisation_id),
        "staff": is_staff(current_user),
        "admin": is_admin(current_user),
    }[item.audience]


def nav_items() -> list[NavItem]:
    endpoints = current_app.view_functions
    return [item for item in sorted(_ITEMS, key=lambda i: i.order) if item.endpoint in endpoints and _visible(item)]


_ADMIN_LINKS: list[tuple[int, str, object]] = []


def register_admin_link(endpoint: str, label, order: int = 50) -> None:
    if not any(e == endpoint for _, e, _l in _ADMIN_LINKS):
        _ADMIN_LINKS.append((order, endpoint, label))


def admin_links() -> list[tuple[str, object]]:
    endpoints = current_app.view_functions
    return [(e, label) for _, e, label in sorted(_ADMIN_LINKS, key=lambda t: t[0]) if e in endpoints]
