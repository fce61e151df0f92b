"""The audit log for people: each entry as a sentence in the reader's language, with values as
people read them, local times and links to the objects that still exist.

The stored entry (:class:`samskap.audit.AuditEntry`) stays as it is, raw, for export and the
API; this module only reads it. The core cannot look into the higher areas, so each area
registers how to name its objects (``register_audit_object``), its actions in words
(``register_audit_action``) and how to read a field's values (``register_audit_value``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from samskap.i18n import duration_text, local_datetime_text


@dataclass
class ObjectRef:
    """How an audited object is named now: its label, a link, and facts a sentence may use."""

    label: str
    url: str | None = None
    facts: dict = field(default_factory=dict)


_OBJECTS: dict[str, Callable[[list[int]], dict[int, ObjectRef]]] = {}
_VALUES: dict[tuple[str | None, str], Callable[[object], str]] = {}


def register_audit_object(object_type: str, loader: Callable[[list[int]], dict[int, ObjectRef]],
                          label=None) -> None:
    """``loader(ids)`` returns ``{id: ObjectRef}`` for the objects of that type that still exist;
    ``label`` (a lazy string) names the type in the audit log's filter."""
    _OBJECTS[object_type] = loader
    if label is not None:
        OBJECT_TYPES[object_type] = label


def register_audit_action(code: str, label, sentence) -> None:
    """An action in words: ``label`` for the filter's choices, ``sentence`` for each entry, with
    %(actor)s for who and %(object)s for the object (both lazy strings)."""
    ACTIONS[code] = (label, sentence)


def register_audit_value(field_name: str, formatter: Callable[[object], str], object_type: str | None = None) -> None:
    """How a field's stored value reads (for one object type, or for every type)."""
    _VALUES[(object_type, field_name)] = formatter


# What happened, in words: the filter's choices and each entry's sentence. %(actor)s is who,
# %(object)s the object (a link when it still exists).
ACTIONS = {
    "booking.create": (_l("Booking made"), _l("%(actor)s booked %(object)s")),
    "booking.update": (_l("Booking changed"), _l("%(actor)s changed the booking %(object)s")),
    "booking.cancel": (_l("Booking cancelled"), _l("%(actor)s cancelled the booking %(object)s")),
    "booking.approve": (_l("Booking approved"), _l("%(actor)s approved the booking %(object)s")),
    "booking.reject": (_l("Booking rejected"), _l("%(actor)s rejected the booking %(object)s")),
    "booking.override_opening_hours": (_l("Booked outside opening hours"),
                                       _l("%(actor)s booked %(object)s outside the opening hours")),
    "booking_series.create": (_l("Recurring booking made"), _l("%(actor)s made the recurring booking %(object)s")),
    "equipment_reservation.create": (_l("Equipment reserved"), _l("%(actor)s reserved %(object)s")),
    "equipment_reservation.move": (_l("Equipment reservation moved"), _l("%(actor)s moved the reservation %(object)s")),
    "equipment_reservation.cancel": (_l("Equipment reservation cancelled"),
                                     _l("%(actor)s cancelled the reservation %(object)s")),
    "equipment_reservation.approve": (_l("Equipment reservation approved"),
                                      _l("%(actor)s approved the reservation %(object)s")),
    "equipment_reservation.reject": (_l("Equipment reservation rejected"),
                                     _l("%(actor)s rejected the reservation %(object)s")),
    "equipment_reservation.check_out": (_l("Equipment handed out"), _l("%(actor)s handed out %(object)s")),
    "equipment_reservation.check_in": (_l("Equipment taken back"), _l("%(actor)s took back %(object)s")),
    "closure.create": (_l("Closure added"), _l("%(actor)s closed %(object)s")),
    "closure.delete": (_l("Closure removed"), _l("%(actor)s removed the closure %(object)s")),
    "space.create": (_l("Space added"), _l("%(actor)s added the space %(object)s")),
    "space.update": (_l("Space changed"), _l("%(actor)s changed the space %(object)s")),
    "space.deactivate": (_l("Space taken out of use"), _l("%(actor)s took the space %(object)s out of use")),
    "space_kind.create": (_l("Kind of space added"), _l("%(actor)s added the kind of space %(object)s")),
    "equipment_type.create": (_l("Equipment type added"), _l("%(actor)s added the equipment type %(object)s")),
    "equipment_type.update": (_l("Equipment type changed"), _l("%(actor)s changed the equipment type %(object)s")),
    "equipment_unit.create": (_l("Unit added"), _l("%(actor)s added the unit %(object)s")),
    "equipment_unit.update": (_l("Unit changed"), _l("%(actor)s changed the unit %(object)s")),
    "equipment_unit.maintenance": (_l("Unit sent to maintenance"),
                                   _l("%(actor)s sent the unit %(object)s to maintenance")),
    "organisation.create": (_l("Organisation added"), _l("%(actor)s added the organisation %(object)s")),
    "organisation.update": (_l("Organisation changed"), _l("%(actor)s changed the organisation %(object)s")),
    "user.create": (_l("User added"), _l("%(actor)s added the user %(object)s")),
    "user.update": (_l("User changed"), _l("%(actor)s changed the user %(object)s")),
    "user.role_change": (_l("Role changed"), _l("%(actor)s changed the role of %(object)s")),
    "user.profile": (_l("Profile changed"), _l("%(actor)s changed their own profile")),
    "user.password_change": (_l("Password changed"), _l("%(actor)s changed their password")),
    "user.anonymise": (_l("User anonymised"), _l("%(actor)s anonymised the user %(object)s")),
    "api_token.create": (_l("API token made"), _l("%(actor)s made the API token %(object)s")),
    "api_token.revoke": (_l("API token revoked"), _l("%(actor)s revoked the API token %(object)s")),
    "feed.create": (_l("Calendar feed made"), _l("%(actor)s made the calendar feed %(object)s")),
    "feed.revoke": (_l("Calendar feed revoked"), _l("%(actor)s revoked the calendar feed %(object)s")),
}

# A booking made: the sentence the issue asks for ("Kari Kommune booked Mjøsa for Gjøvik
# kommune, 3 Dec 10:00–11:00"), when the booking's facts are known.
BOOKING_CREATED = _l("%(actor)s booked %(space)s for %(organisation)s, %(when)s: %(object)s")

OBJECT_TYPES = {
    "bookings": _l("Bookings"), "booking_series": _l("Recurring bookings"),
    "equipment_reservations": _l("Equipment reservations"), "closures": _l("Closures"), "spaces": _l("Spaces"),
    "space_kinds": _l("Kinds of space"), "equipment_types": _l("Equipment types"),
    "equipment_units": _l("Equipment units"), "organisations": _l("Organisations"), "users": _l("Users"),
    "api_tokens": _l("API tokens"), "feeds": _l("Calendar feeds"),
}

FIELD_LABELS = {
    "title": _l("title"), "description": _l("description"), "purpose": _l("purpose"), "visibility": _l("visibility"),
    "attendees": _l("attendees"), "start": _l("start"), "end": _l("end"), "space_id": _l("space"),
    "status": _l("status"), "name": _l("name"), "email": _l("email"), "role": _l("role"),
    "organisation_id": _l("organisation"), "locale": _l("language"), "active": _l("in use"), "kind": _l("kind"),
    "kind_id": _l("kind"), "number": _l("organisation number"), "capacity": _l("capacity"),
    "opening_hours": _l("opening hours"), "bookable_by": _l("who may book"),
    "requires_approval": _l("needs approval"), "min_minutes": _l("shortest booking"),
    "max_minutes": _l("longest booking"), "buffer_minutes": _l("preparation time"),
    "max_days_ahead": _l("days ahead"), "slug": _l("address name"), "location": _l("location"),
    "category": _l("category"), "max_loan_days": _l("longest loan"), "turnaround_hours": _l("cleaning time"),
    "asset_tag": _l("asset tag"), "serial": _l("serial number"), "status_note": _l("status note"),
    "home_space_id": _l("home space"), "quantity": _l("quantity"), "checked_out_at": _l("handed out"),
    "returned_at": _l("returned"), "decision_reason": _l("reason"), "reason": _l("reason"),
    "revoked_at": _l("revoked"), "is_org_contact": _l("organisation contact"),
    "members_share_bookings": _l("members share bookings"), "code": _l("code"), "name_nb": _l("Norwegian name"),
    "name_en": _l("English name"), "scope": _l("scope"), "space": _l("space"),
}
HIDDEN_FIELDS = {"sequence"}  # internal counters: nothing for a reader
MINUTE_FIELDS = {"min_minutes", "max_minutes", "buffer_minutes"}
DAY_FIELDS = {"max_days_ahead", "max_loan_days"}
HOUR_FIELDS = {"turnaround_hours"}
LOCALES = {"nb": "norsk bokmål", "en": "English"}


@dataclass
class Change:
    label: str
    old: str
    new: str


@dataclass
class AuditLine:
    """One entry as the audit page shows it; ``entry`` is the raw record."""

    entry: object
    sentence: Markup
    changes: list[Change]
    note: str


def action_choices() -> list[tuple[str, str]]:
    return sorted(((code, str(label)) for code, (label, _sentence) in ACTIONS.items()), key=lambda c: c[1])


def object_type_label(code: str) -> str:
    return str(OBJECT_TYPES.get(code, code))


def _parse_instant(value: str) -> datetime | None:
    if not isinstance(value, str) or len(value) < 16 or value[4:5] != "-" or "T" not in value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def value_text(object_type: str, field_name: str, value) -> str:
    """A stored value as people read it: local times in words, lengths in days or hours,
    yes/no, names instead of ids and codes (where the owning area told how)."""
    if value is None or value == "" or value == []:
        return "–"
    formatter = _VALUES.get((object_type, field_name)) or _VALUES.get((None, field_name))
    if formatter is not None:
        try:
            return formatter(value)
        except Exception:  # an old value the area no longer knows: shown as stored
            pass
    if isinstance(value, bool):
        return _yes_no(value)
    if field_name in MINUTE_FIELDS and isinstance(value, int):
        return duration_text(value)
    if field_name in DAY_FIELDS and isinstance(value, int):
        return duration_text(value * 24 * 60)
    if field_name in HOUR_FIELDS and isinstance(value, int):
        return duration_text(value * 60)
    if field_name == "locale":
        return LOCALES.get(value, str(value))
    moment = _parse_instant(value)
    if moment is not None:
        return local_datetime_text(moment, "medium")
    if isinstance(value, list):
        return ", ".join(value_text(object_type, f"{field_name}[]", v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {value_text(object_type, field_name + '.' + str(k), v)}" for k, v in value.items())
    return str(value)


def _list_text(value) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value) and len(value) == 2:
        return "–".join(value)
    return str(value)


def describe(entries) -> list[AuditLine]:
    """The entries of one page as sentences (one query per object type on the page)."""
    wanted: dict[str, set[int]] = {}
    for e in entries:
        if e.object_id is not None:
            wanted.setdefault(e.object_type, set()).add(e.object_id)
    refs: dict[tuple[str, int], ObjectRef] = {}
    for object_type, ids in wanted.items():
        loader = _OBJECTS.get(object_type)
        if loader is not None:
            for object_id, ref in loader(sorted(ids)).items():
                refs[(object_type, object_id)] = ref
    return [_line(e, refs.get((e.object_type, e.object_id))) for e in entries]


def _object_markup(entry, ref: ObjectRef | None) -> Markup:
    if ref is not None:
        if ref.url:
            return Markup('<a href="{}">{}</a>').format(ref.url, ref.label)
        return escape(ref.label)
    label = _("%(type)s no. %(id)s (no longer exists)", type=object_type_label(entry.object_type).lower(),
              id=entry.object_id) if entry.object_id is not None else object_type_label(entry.object_type)
    return escape(label)


def _line(entry, ref: ObjectRef | None) -> AuditLine:
    actor = escape(entry.actor.name if entry.actor else _("The system"))
    values = {"actor": actor, "object": _object_markup(entry, ref)}
    _label, sentence = ACTIONS.get(entry.action, (None, None))
    if entry.action == "booking.create" and ref is not None and {"space", "organisation", "when"} <= ref.facts.keys():
        template = BOOKING_CREATED
        values.update({k: escape(ref.facts[k]) for k in ("space", "organisation", "when")})
    elif sentence is not None:
        template = sentence
    else:
        template = _l("%(actor)s: %(action)s on %(object)s")
        values["action"] = escape(entry.action)
    text = Markup(escape(str(template))) % values
    changes = []
    for name, pair in (entry.changes or {}).items():
        if name in HIDDEN_FIELDS:
            continue
        old, new = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
        changes.append(Change(str(FIELD_LABELS.get(name, name.replace("_", " "))),
                              value_text(entry.object_type, name, old), value_text(entry.object_type, name, new)))
    return AuditLine(entry, text, changes, _note(entry))


SCOPES = {"this": _l("this occurrence only"), "following": _l("this and the following occurrences"),
          "series": _l("the whole series")}


def _note(entry) -> str:
    """The entry's free-text summary, unless it is bookkeeping a reader has no use for."""
    summary = entry.summary or ""
    if summary.startswith("scope="):
        scope = summary[len("scope="):]
        return "" if scope == "this" else _("Applied to %(scope)s.", scope=SCOPES.get(scope, scope))
    if entry.action in ("user.anonymise", "booking.create"):  # a code, or the title and status code again
        return ""
    return summary
