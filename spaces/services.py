"""Use cases for the catalogue: spaces, their kinds and closures; equipment types and units.

Services take the acting user explicitly, validate every rule, add and flush, record
an audit entry, and raise domain errors with messages meant for people; the caller
commits. The browser pages and the JSON API call these same functions, so a rule
and its message live here once. Input may come from a form (numbers as text) or
from JSON (numbers as numbers); both are checked the same way.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from accounts.models import OrganisationKind
from accounts.permissions import is_admin
from samskap import audit
from samskap.database import is_unique_violation
from samskap.errors import PermissionDenied, ValidationFailed
from samskap.ids import parse_id
from samskap.extensions import db
from samskap.periods import overlaps_clause
from samskap.timeutil import utcnow
from spaces.hours import parse_opening_hours
from spaces.models import (Closure, EquipmentCategory, EquipmentType, EquipmentUnit, Space, SpaceKind,
                           UnitStatus)
from spaces.permissions import bookable_spaces_clause

NAME_MAX = 200
SLUG_MAX = 100
LOCATION_MAX = 200
DESCRIPTION_MAX = 5000
REASON_MAX = 300
NOTE_MAX = 500
ASSET_TAG_MAX = 64
SERIAL_MAX = 128
KIND_CODE_MAX = 64
KIND_NAME_MAX = 100
# Generous upper bounds: they catch typing mistakes (an extra zero) without limiting real use.
CAPACITY_MAX = 10_000
MINUTES_MAX = 60 * 24 * 366
DAYS_AHEAD_MAX = 3650
LOAN_DAYS_MAX = 3650
TURNAROUND_MAX = 24 * 60

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SPACE_FIELDS = ("name", "slug", "kind_id", "capacity", "description", "location", "opening_hours", "bookable_by",
                "requires_approval", "min_minutes", "max_minutes", "buffer_minutes", "max_days_ahead", "active",
                "check_in_minutes")
SPACE_INPUT = {"name", "slug", "kind", "capacity", "description", "location", "opening_hours", "bookable_by",
               "requires_approval", "min_minutes", "max_minutes", "buffer_minutes", "max_days_ahead", "active",
               "check_in_minutes"}
TYPE_FIELDS = ("name", "category", "description", "max_loan_days", "turnaround_hours", "bookable_by",
               "requires_approval", "active")
TYPE_INPUT = set(TYPE_FIELDS) | {"units"}
UNIT_FIELDS = ("asset_tag", "serial", "status", "status_note", "home_space_id")
ALL_ORG_KINDS = [k.value for k in OrganisationKind]


def _require_admin(actor, message=None) -> None:
    if not is_admin(actor):
        raise PermissionDenied(message or _("Only administrators can manage the catalogue."))


# --- small validators shared by every use case ---------------------------------------------

def _text(value, field: str, errors: dict, *, required: bool = False, max_len: int, label_required=None) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[field] = _("This must be text.")
        return ""
    text = value.strip()
    if required and not text:
        errors[field] = label_required or _("This field is required.")
    elif len(text) > max_len:
        errors[field] = _("This can be at most %(n)d characters long.", n=max_len)
    return text


def _whole_number(value, field: str, errors: dict, *, minimum: int, maximum: int, required: bool,
                  min_message=None) -> int | None:
    """An int from JSON or a form's text; None when blank and not required."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[field] = _("Enter a whole number.")
        return None
    if isinstance(value, bool):
        errors[field] = _("'%(value)s' is not a whole number.", value=str(value).lower())
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]+\s*", value):
        number = int(value)
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        errors[field] = _("'%(value)s' is not a whole number.", value=value)
        return None
    if number < minimum:
        errors[field] = min_message or _("This must be at least %(n)d.", n=minimum)
        return None
    if number > maximum:
        errors[field] = _("This can be at most %(n)d.", n=maximum)
        return None
    return number


def _flag(value, field: str, errors: dict) -> bool:
    if isinstance(value, bool):
        return value
    errors[field] = _("This must be true or false.")
    return False


def parse_org_kinds(value, field: str, errors: dict) -> list[str]:
    """A non-empty list of organisation kinds (values of OrganisationKind), without repeats."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        errors[field] = _("Give a list of organisation kinds, for example [\"municipality\", \"hospital\"].")
        return []
    kinds: list[str] = []
    for raw in value:
        kind = raw.strip().lower()
        if kind not in ALL_ORG_KINDS:
            errors[field] = _("Unknown organisation kind '%(kind)s'; choose from: %(kinds)s.",
                              kind=raw, kinds=", ".join(ALL_ORG_KINDS))
            return []
        if kind not in kinds:
            kinds.append(kind)
    if not kinds:
        errors[field] = _("Choose at least one kind of organisation that may book.")
    # Keep a stable order so that audit diffs show real changes only.
    return [k for k in ALL_ORG_KINDS if k in kinds]


def _unknown_fields(data: dict, allowed: set, errors: dict) -> None:
    for key in data:
        if key not in allowed and key != "id":
            errors[key] = _("Unknown field '%(field)s'.", field=key)


def slugify(text: str) -> str:
    """A URL-safe slug: "Mjøsa møterom" -> "mjosa-moterom"."""
    text = text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:SLUG_MAX].strip("-")


# --- space kinds ------------------------------------------------------------------------------

def space_kinds() -> list[SpaceKind]:
    return db.session.scalars(sa.select(SpaceKind).order_by(SpaceKind.id)).all()


def _fold_words(text: str) -> str:
    """How a kind or category is compared: NFKC, case-folded, with spaces, hyphens and
    underscores alike ("Meeting room", "meeting-room" and "MEETING_ROOM" agree)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[-_\s]+", " ", folded).split())


def find_space_kind(value) -> SpaceKind | None:
    """The kind of space named by its code or by its name in either language, in any case
    ("meeting-room", "Meeting room", "møterom")."""
    if not isinstance(value, str) or not value.strip():
        return None
    wanted = _fold_words(value)
    kinds = space_kinds()
    for match in (lambda k: _fold_words(k.code), lambda k: _fold_words(k.name_en), lambda k: _fold_words(k.name_nb)):
        found = [kind for kind in kinds if match(kind) == wanted]
        if found:
            return found[0]  # codes are unique; a name shared by two kinds goes to the older one
    return None


def _kind_by_code(code: str) -> SpaceKind | None:
    return db.session.scalar(sa.select(SpaceKind).where(SpaceKind.code == code))


KIND_INPUT = {"code", "name_nb", "name_en"}


def _validate_space_kind(data: dict, existing: SpaceKind | None) -> dict:
    errors: dict[str, str] = {}
    clean: dict = {}
    creating = existing is None
    _unknown_fields(data, KIND_INPUT, errors)
    if "name_nb" in data or creating:
        clean["name_nb"] = _text(data.get("name_nb"), "name_nb", errors, required=True, max_len=KIND_NAME_MAX,
                                 label_required=_("Enter the Norwegian name."))
    if "name_en" in data or creating:
        clean["name_en"] = _text(data.get("name_en"), "name_en", errors, required=True, max_len=KIND_NAME_MAX,
                                 label_required=_("Enter the English name."))
    if "code" in data or creating:
        code = _text(data.get("code"), "code", errors, max_len=KIND_CODE_MAX).lower()
        if creating and not code and "code" not in errors:
            code = slugify(clean.get("name_en") or "")
        if "code" not in errors:
            clash = _kind_by_code(code) if code else None
            if not code or not SLUG_PATTERN.match(code):
                errors["code"] = _("Use lower-case letters a–z, digits and hyphens, for example 'sensor-lab'.")
            elif clash is not None and clash is not existing:
                errors["code"] = _("A kind with code '%(code)s' already exists.", code=code)
        clean["code"] = code
    if errors:
        raise ValidationFailed(errors)
    return clean


def create_space_kind(actor, data: dict) -> SpaceKind:
    """An administrator adds a kind of space (code plus its Norwegian and English names; the
    code is made from the English name when not given)."""
    _require_admin(actor)
    clean = _validate_space_kind(data, None)
    kind = SpaceKind(**clean)
    db.session.add(kind)
    db.session.flush()
    audit.record(actor, "space_kind.create", kind, changes={k: [None, v] for k, v in clean.items()})
    return kind


def update_space_kind(actor, kind: SpaceKind, data: dict) -> SpaceKind:
    """An administrator renames a kind of space or changes its code; only the fields given change."""
    _require_admin(actor)
    clean = _validate_space_kind(data, kind)
    fields = tuple(sorted(KIND_INPUT))
    before = audit.snapshot(kind, fields)
    for key, value in clean.items():
        setattr(kind, key, value)
    db.session.flush()
    changes = audit.diff(kind, fields, before)
    if changes:
        audit.record(actor, "space_kind.update", kind, changes=changes)
    return kind


# --- spaces -----------------------------------------------------------------------------------

def _validate_space(data: dict, existing: Space | None) -> dict:
    """Check every field present in ``data`` (all required ones on create); returns clean values."""
    errors: dict[str, str] = {}
    clean: dict = {}
    creating = existing is None
    _unknown_fields(data, SPACE_INPUT, errors)

    if "name" in data or creating:
        clean["name"] = _text(data.get("name"), "name", errors, required=True, max_len=NAME_MAX,
                              label_required=_("Enter a name."))
        if "name" not in errors:
            clash = db.session.scalar(sa.select(Space.id).where(sa.func.lower(Space.name) == clean["name"].lower()))
            if clash and (creating or clash != existing.id):
                errors["name"] = _("A space named '%(name)s' already exists.", name=clean["name"])
    if "slug" in data or creating:
        raw = data.get("slug")
        slug = _text(raw, "slug", errors, max_len=SLUG_MAX)
        if "slug" not in errors:
            if not slug and creating:
                slug = slugify(clean.get("name", ""))
            if not SLUG_PATTERN.match(slug):
                errors["slug"] = _("The short name for addresses may hold only lower-case letters a–z, digits "
                                   "and single hyphens, for example 'meeting-room-2'.")
            else:
                clash = db.session.scalar(sa.select(Space.id).where(Space.slug == slug))
                if clash and (creating or clash != existing.id):
                    errors["slug"] = _("Another space already uses the address name '%(slug)s'.", slug=slug)
        clean["slug"] = slug
    if "kind" in data or creating:
        raw = data.get("kind")
        kind = raw if isinstance(raw, SpaceKind) else find_space_kind(raw)
        if kind is None:
            if raw is None or raw == "":
                errors["kind"] = _("Choose a kind of space.")
            else:
                errors["kind"] = _("Unknown kind of space '%(kind)s'; choose from: %(kinds)s.",
                                   kind=raw, kinds=", ".join(k.code for k in space_kinds()))
        else:
            clean["kind_id"] = kind.id
    if "capacity" in data or creating:
        clean["capacity"] = _whole_number(data.get("capacity"), "capacity", errors, minimum=1, maximum=CAPACITY_MAX,
                                          required=True, min_message=_("The capacity must be at least 1 person."))
    for name, maximum in (("description", DESCRIPTION_MAX), ("location", LOCATION_MAX)):
        if name in data:
            clean[name] = _text(data.get(name), name, errors, max_len=maximum)
    if "opening_hours" in data:
        try:
            clean["opening_hours"] = parse_opening_hours(data.get("opening_hours"))
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if "bookable_by" in data or creating:
        clean["bookable_by"] = parse_org_kinds(data.get("bookable_by", ALL_ORG_KINDS), "bookable_by", errors)
    for flag in ("requires_approval", "active"):
        if flag in data:
            clean[flag] = _flag(data[flag], flag, errors)
    for name in ("min_minutes", "max_minutes"):
        if name in data:
            clean[name] = _whole_number(data.get(name), name, errors, minimum=1, maximum=MINUTES_MAX,
                                        required=False)
    if "buffer_minutes" in data:
        value = _whole_number(data.get("buffer_minutes"), "buffer_minutes", errors, minimum=0,
                              maximum=24 * 60, required=False,
                              min_message=_("The buffer cannot be negative."))
        clean["buffer_minutes"] = value or 0
    if "check_in_minutes" in data:
        # Check-in within this many minutes of the start, or the booking is released (no_show).
        clean["check_in_minutes"] = _whole_number(data.get("check_in_minutes"), "check_in_minutes", errors,
                                                  minimum=1, maximum=24 * 60, required=False)
    if "max_days_ahead" in data:
        clean["max_days_ahead"] = _whole_number(data.get("max_days_ahead"), "max_days_ahead", errors, minimum=0,
                                                maximum=DAYS_AHEAD_MAX, required=False)
    if "min_minutes" not in errors and "max_minutes" not in errors:
        low = clean["min_minutes"] if "min_minutes" in clean else getattr(existing, "min_minutes", None)
        high = clean["max_minutes"] if "max_minutes" in clean else getattr(existing, "max_minutes", None)
        if low is not None and high is not None and low > high:
            errors["min_minutes"] = _("The minimum booking length (%(min)d minutes) is longer than the maximum "
                                      "(%(max)d minutes).", min=low, max=high)
    if errors:
        raise ValidationFailed(errors)
    return clean


def check_space_input(data: dict, existing: Space | None = None) -> None:
    """Raise ValidationFailed naming every invalid field of ``data``; writes nothing. Lets a
    form that found its own problems (unreadable opening hours) show the others too."""
    _validate_space(data, existing)


def create_space(actor, data: dict) -> Space:
    """An administrator adds a space. ``data`` as in the API (``kind`` is a kind's code)."""
    _require_admin(actor)
    clean = _validate_space(data, None)
    clean.setdefault("buffer_minutes", 0)
    space = Space(**clean)
    db.session.add(space)
    _flush_unique(_("Another space already has this name or address name."), "name")
    audit.record(actor, "space.create", space, changes={k: [None, getattr(space, k)] for k in SPACE_FIELDS})
    return space


def update_space(actor, space: Space, data: dict) -> Space:
    """Change any of a space's fields; only the fields present in ``data`` change."""
    _require_admin(actor)
    clean = _validate_space(data, space)
    before = audit.snapshot(space, SPACE_FIELDS)
    for key, value in clean.items():
        setattr(space, key, value)
    _flush_unique(_("Another space already has this name or address name."), "name")
    changes = audit.diff(space, SPACE_FIELDS, before)
    if changes:
        action = "space.deactivate" if changes.get("active") == [True, False] else "space.update"
        audit.record(actor, action, space, changes=changes)
    return space


def deactivate_space(actor, space: Space) -> Space:
    """Take a space out of booking choices; its bookings, feeds and audit history stay."""
    _require_admin(actor)
    if space.active:
        space.active = False
        db.session.flush()
        audit.record(actor, "space.deactivate", space, changes={"active": [True, False]})
    return space


def _flush_unique(message: str, field: str) -> None:
    """Flush; a unique violation that slipped past the check (a concurrent request) becomes a 422.
    The caller rolls back on the domain error, as it does for every other one."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise ValidationFailed({field: message}) from exc
        raise


@dataclass
class SpaceFilters:
    kind: str | None = None
    min_capacity: int | None = None
    bookable_by_me: bool = False
    include_inactive: bool = False


def list_spaces(viewer, filters: SpaceFilters | None = None) -> list[Space]:
    """Spaces for browsing: active ones (administrators may include inactive ones)."""
    filters = filters or SpaceFilters()
    query = sa.select(Space).order_by(Space.name)
    if not (filters.include_inactive and is_admin(viewer)):
        query = query.where(Space.active.is_(True))
    if filters.kind:
        query = query.join(SpaceKind, Space.kind_id == SpaceKind.id).where(SpaceKind.code == filters.kind)
    if filters.min_capacity:
        query = query.where(Space.capacity >= filters.min_capacity)
    if filters.bookable_by_me:
        query = query.where(bookable_spaces_clause(viewer))
    return db.session.scalars(query).unique().all()


def visible_space(viewer, *, space_id: int | None = None, slug: str | None = None) -> Space | None:
    """A space the viewer may look at: active ones, and inactive ones for administrators."""
    query = sa.select(Space)
    query = query.where(Space.id == space_id) if space_id is not None else query.where(Space.slug == slug)
    space = db.session.scalar(query)
    if space is None or (not space.active and not is_admin(viewer)):
        return None
    return space


# --- closures ---------------------------------------------------------------------------------

def add_closure(actor, space: Space | None, start: datetime, end: datetime, reason) -> Closure:
    """Close one space (or, with ``space`` None, the whole workshop) from ``start`` to ``end``.

    Existing bookings inside the period are not touched: :func:`spaces.usage.bookings_in_closure`
    lists them for the administrator to handle.
    """
    _require_admin(actor)
    errors: dict[str, str] = {}
    reason = _text(reason, "reason", errors, required=True, max_len=REASON_MAX,
                   label_required=_("Give a reason, for example 'Christmas holiday' or 'Maintenance'."))
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, datetime) or value.tzinfo is None:
            errors[name] = _("Give a date and time.")
    if "start" not in errors and "end" not in errors and end <= start:
        errors["end"] = _("The closure must end after it starts.")
    if errors:
        raise ValidationFailed(errors)
    closure = Closure(space_id=space.id if space else None, start=start, end=end, reason=reason,
                      created_by_id=getattr(actor, "id", None))
    db.session.add(closure)
    db.session.flush()
    audit.record(actor, "closure.create", closure,
                 changes={"space_id": [None, closure.space_id], "start": [None, start], "end": [None, end],
                          "reason": [None, reason]})
    return closure


def remove_closure(actor, closure: Closure) -> None:
    _require_admin(actor)
    audit.record(actor, "closure.delete", closure,
                 changes={"space_id": [closure.space_id, None], "start": [closure.start, None],
                          "end": [closure.end, None], "reason": [closure.reason, None]})
    db.session.delete(closure)
    db.session.flush()


def list_closures(*, include_past: bool = False) -> list[Closure]:
    query = sa.select(Closure).order_by(Closure.start)
    if not include_past:
        query = query.where(Closure.end > utcnow())
    return db.session.scalars(query).all()


def closures_between(space: Space, start: datetime, end: datetime) -> list[Closure]:
    """Closures of this space or of the whole workshop overlapping [start, end)."""
    return db.session.scalars(
        sa.select(Closure)
        .where(sa.or_(Closure.space_id == space.id, Closure.space_id.is_(None)),
               overlaps_clause(Closure.start, Closure.end, start, end))
        .order_by(Closure.start)
    ).all()


def week_monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


# --- equipment types --------------------------------------------------------------------------

def _parse_category(value, errors: dict) -> EquipmentCategory | None:
    if isinstance(value, EquipmentCategory):
        return value
    try:
        # "sensor kit", "Sensor-kit" and "sensor_kit" are all the code sensor_kit
        return EquipmentCategory(_fold_words(value).replace(" ", "_")) if isinstance(value, str) \
            else EquipmentCategory(value)
    except ValueError:
        errors["category"] = _("Unknown category '%(category)s'; choose from: %(categories)s.",
                               category=value, categories=", ".join(c.value for c in EquipmentCategory))
        return None


def _validate_type(data: dict, existing: EquipmentType | None) -> dict:
    errors: dict[str, str] = {}
    clean: dict = {}
    creating = existing is None
    _unknown_fields(data, TYPE_INPUT, errors)
    if "name" in data or creating:
        clean["name"] = _text(data.get("name"), "name", errors, required=True, max_len=NAME_MAX,
                              label_required=_("Enter a name."))
        if "name" not in errors:
            clash = db.session.scalar(sa.select(EquipmentType.id)
                                      .where(sa.func.lower(EquipmentType.name) == clean["name"].lower()))
            if clash and (creating or clash != existing.id):
                errors["name"] = _("An equipment type named '%(name)s' already exists.", name=clean["name"])
    if "category" in data or creating:
        clean["category"] = _parse_category(data.get("category"), errors)
    if "description" in data:
        clean["description"] = _text(data.get("description"), "description", errors, max_len=DESCRIPTION_MAX)
    if "max_loan_days" in data or creating:
        clean["max_loan_days"] = _whole_number(data.get("max_loan_days", 14), "max_loan_days", errors, minimum=1,
                                               maximum=LOAN_DAYS_MAX, required=True,
                                               min_message=_("A loan must be allowed for at least 1 day."))
    if "turnaround_hours" in data or creating:
        clean["turnaround_hours"] = _whole_number(data.get("turnaround_hours", 0), "turnaround_hours", errors,
                                                  minimum=0, maximum=TURNAROUND_MAX, required=True,
                                                  min_message=_("The cleaning time cannot be negative."))
    if "bookable_by" in data or creating:
        clean["bookable_by"] = parse_org_kinds(data.get("bookable_by", ALL_ORG_KINDS), "bookable_by", errors)
    for flag in ("requires_approval", "active"):
        if flag in data:
            clean[flag] = _flag(data[flag], flag, errors)
    if errors:
        raise ValidationFailed(errors)
    return clean


def _validate_new_units(raw_units, errors: dict) -> list[dict]:
    """The ``units`` list of POST /api/v1/equipment; every asset tag new and unique."""
    if raw_units is None:
        return []
    if not isinstance(raw_units, list) or not all(isinstance(u, dict) for u in raw_units):
        errors["units"] = _("Give units as a list of objects with 'asset_tag' and 'serial'.")
        return []
    units, seen = [], set()
    for index, raw in enumerate(raw_units):
        unit_errors: dict[str, str] = {}
        unknown = sorted(set(raw) - {"asset_tag", "serial"})
        if unknown:
            errors[f"units[{index}]"] = _("Unknown field '%(field)s'.", field=unknown[0])
            continue
        tag = _clean_asset_tag(raw.get("asset_tag"), unit_errors)
        serial = _text(raw.get("serial"), "serial", unit_errors, max_len=SERIAL_MAX)
        if not unit_errors and tag.lower() in seen:
            unit_errors["asset_tag"] = _("Asset tag %(tag)s is given twice.", tag=tag)
        if not unit_errors:
            seen.add(tag.lower())
        for name, message in unit_errors.items():
            errors[f"units[{index}].{name}"] = message
        units.append({"asset_tag": tag, "serial": serial})
    return units


def _clean_asset_tag(value, errors: dict, existing: EquipmentUnit | None = None) -> str:
    tag = _text(value, "asset_tag", errors, required=True, max_len=ASSET_TAG_MAX,
                label_required=_("Enter the asset tag."))
    if "asset_tag" in errors:
        return tag
    clash = db.session.scalar(sa.select(EquipmentUnit.id)
                              .where(sa.func.lower(EquipmentUnit.asset_tag) == tag.lower()))
    if clash and (existing is None or clash != existing.id):
        errors["asset_tag"] = _("Asset tag %(tag)s is already in use.", tag=tag)
    return tag


def create_equipment_type(actor, data: dict) -> EquipmentType:
    """An administrator adds an equipment type, optionally with its units (all or nothing)."""
    _require_admin(actor)
    errors: dict[str, str] = {}
    try:
        clean = _validate_type({k: v for k, v in data.items() if k != "units"}, None)
    except ValidationFailed as exc:
        errors.update(exc.fields)
        clean = {}
    units = _validate_new_units(data.get("units"), errors)
    if errors:
        raise ValidationFailed(errors)
    etype = EquipmentType(**clean)
    db.session.add(etype)
    _flush_unique(_("An equipment type with this name already exists."), "name")
    for spec in units:
        db.session.add(EquipmentUnit(equipment_type_id=etype.id, status=UnitStatus.AVAILABLE, **spec))
    _flush_unique(_("One of the asset tags is already in use."), "units")
    audit.record(actor, "equipment_type.create", etype,
                 changes={**{k: [None, getattr(etype, k)] for k in TYPE_FIELDS},
                          "units": [None, [u["asset_tag"] for u in units]]})
    return etype


def update_equipment_type(actor, etype: EquipmentType, data: dict) -> EquipmentType:
    _require_admin(actor)
    if "units" in data:
        raise ValidationFailed({"units": _("Add units one by one to an existing equipment type.")})
    clean = _validate_type(data, etype)
    before = audit.snapshot(etype, TYPE_FIELDS)
    for key, value in clean.items():
        setattr(etype, key, value)
    _flush_unique(_("An equipment type with this name already exists."), "name")
    changes = audit.diff(etype, TYPE_FIELDS, before)
    if changes:
        audit.record(actor, "equipment_type.update", etype, changes=changes)
    return etype


# --- equipment units --------------------------------------------------------------------------

def _home_space(value, errors: dict) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, Space):
        return value.id
    space_id = parse_id(value)
    space = db.session.get(Space, space_id) if space_id else None
    if space is None:
        errors["home_space_id"] = _("Choose an existing space.")
        return None
    return space.id


def add_unit(actor, etype: EquipmentType, data: dict) -> EquipmentUnit:
    """Add a physical unit. A unit may start in maintenance (with a note), never retired."""
    _require_admin(actor)
    errors: dict[str, str] = {}
    tag = _clean_asset_tag(data.get("asset_tag"), errors)
    serial = _text(data.get("serial"), "serial", errors, max_len=SERIAL_MAX)
    home = _home_space(data.get("home_space_id"), errors)
    status = _parse_status(data.get("status", UnitStatus.AVAILABLE.value), errors)
    note = _text(data.get("status_note"), "status_note", errors, max_len=NOTE_MAX)
    if status == UnitStatus.RETIRED:
        errors["status"] = _("A new unit cannot start retired.")
    elif status == UnitStatus.MAINTENANCE and not note and "status_note" not in errors:
        errors["status_note"] = _("Say what maintenance the unit needs.")
    if errors:
        raise ValidationFailed(errors)
    unit = EquipmentUnit(equipment_type_id=etype.id, asset_tag=tag, serial=serial, home_space_id=home,
                         status=status, status_note=note if status == UnitStatus.MAINTENANCE else "")
    db.session.add(unit)
    _flush_unique(_("Asset tag %(tag)s is already in use.", tag=tag), "asset_tag")
    audit.record(actor, "equipment_unit.create", unit, changes={k: [None, getattr(unit, k)] for k in UNIT_FIELDS})
    return unit


def _parse_status(value, errors: dict) -> UnitStatus | None:
    try:
        return UnitStatus(value)
    except ValueError:
        errors["status"] = _("Unknown status '%(status)s'; choose available or maintenance.", status=value)
        return None


def update_unit(actor, unit: EquipmentUnit, data: dict) -> EquipmentUnit:
    """Change a unit's asset tag, serial number or home space. Status changes go through
    :func:`set_maintenance`, :func:`clear_maintenance` and :func:`retire_unit`."""
    _require_admin(actor)
    errors: dict[str, str] = {}
    clean: dict = {}
    if "asset_tag" in data:
        clean["asset_tag"] = _clean_asset_tag(data.get("asset_tag"), errors, existing=unit)
    if "serial" in data:
        clean["serial"] = _text(data.get("serial"), "serial", errors, max_len=SERIAL_MAX)
    if "home_space_id" in data:
        clean["home_space_id"] = _home_space(data.get("home_space_id"), errors)
    if errors:
        raise ValidationFailed(errors)
    before = audit.snapshot(unit, UNIT_FIELDS)
    for key, value in clean.items():
        setattr(unit, key, value)
    _flush_unique(_("This asset tag is already in use."), "asset_tag")
    changes = audit.diff(unit, UNIT_FIELDS, before)
    if changes:
        audit.record(actor, "equipment_unit.update", unit, changes=changes)
    return unit


def _change_status(actor, unit: EquipmentUnit, status: UnitStatus, note: str, action: str) -> EquipmentUnit:
    before = audit.snapshot(unit, ("status", "status_note"))
    unit.status = status
    unit.status_note = note
    db.session.flush()
    audit.record(actor, action, unit, changes=audit.diff(unit, ("status", "status_note"), before))
    return unit


def set_maintenance(actor, unit: EquipmentUnit, note) -> EquipmentUnit:
    """Take a unit out of reservation choices for maintenance; the note says why."""
    _require_admin(actor)
    errors: dict[str, str] = {}
    note = _text(note, "note", errors, required=True, max_len=NOTE_MAX,
                 label_required=_("Say what maintenance the unit needs."))
    if unit.status == UnitStatus.RETIRED:
        errors["note"] = _("Unit %(tag)s is retired and cannot go into maintenance.", tag=unit.asset_tag)
    if errors:
        raise ValidationFailed(errors)
    return _change_status(actor, unit, UnitStatus.MAINTENANCE, note, "equipment_unit.maintenance")


def clear_maintenance(actor, unit: EquipmentUnit, note="") -> EquipmentUnit:
    """Maintenance is done: the unit can be reserved again."""
    _require_admin(actor)
    errors: dict[str, str] = {}
    note = _text(note, "note", errors, max_len=NOTE_MAX)
    if unit.status != UnitStatus.MAINTENANCE:
        errors["note"] = _("Unit %(tag)s is not in maintenance.", tag=unit.asset_tag)
    if errors:
        raise ValidationFailed(errors)
    return _change_status(actor, unit, UnitStatus.AVAILABLE, note, "equipment_unit.maintenance_done")


def retire_unit(actor, unit: EquipmentUnit, note="") -> EquipmentUnit:
    """Retire a unit for good: never offered again, kept for the history of past loans."""
    _require_admin(actor)
    errors: dict[str, str] = {}
    note = _text(note, "note", errors, max_len=NOTE_MAX)
    if unit.status == UnitStatus.RETIRED:
        errors["note"] = _("Unit %(tag)s is already retired.", tag=unit.asset_tag)
    if errors:
        raise ValidationFailed(errors)
    return _change_status(actor, unit, UnitStatus.RETIRED, note, "equipment_unit.retire")


# --- equipment for browsing -------------------------------------------------------------------

@dataclass
class UnitCounts:
    units: int = 0  # not retired
    available: int = 0  # loanable: neither in maintenance nor retired


def unit_counts(type_ids=None) -> dict[int, UnitCounts]:
    query = sa.select(EquipmentUnit.equipment_type_id, EquipmentUnit.status, sa.func.count(EquipmentUnit.id)) \
        .group_by(EquipmentUnit.equipment_type_id, EquipmentUnit.status)
    if type_ids is not None:
        query = query.where(EquipmentUnit.equipment_type_id.in_(list(type_ids)))
    counts: dict[int, UnitCounts] = {}
    for type_id, status, count in db.session.execute(query).all():
        entry = counts.setdefault(type_id, UnitCounts())
        if status != UnitStatus.RETIRED:
            entry.units += count
        if status == UnitStatus.AVAILABLE:
            entry.available += count
    return counts


def list_equipment_types(viewer, *, include_inactive: bool = False) -> list[EquipmentType]:
    query = sa.select(EquipmentType).order_by(EquipmentType.name)
    if not (include_inactive and is_admin(viewer)):
        query = query.where(EquipmentType.active.is_(True))
    return db.session.scalars(query).all()


def visible_equipment_type(viewer, type_id: int) -> EquipmentType | None:
    etype = db.session.get(EquipmentType, type_id)
    if etype is None or (not etype.active and not is_admin(viewer)):
        return None
    return etype
