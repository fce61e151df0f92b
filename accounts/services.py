"""Use cases for organisations, users, passwords and API tokens.

Services take the acting user explicitly, validate every rule, add and flush,
and raise domain errors with messages meant for people; the caller commits.
"""
from __future__ import annotations

import secrets
import unicodedata
from datetime import datetime
from typing import Callable

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context
from flask_babel import gettext as _

from accounts.passwords import password_problem
from accounts.models import ApiToken, Organisation, OrganisationKind, Role, User, hash_token
from accounts.permissions import (can_manage_organisations, can_manage_tokens_of, can_manage_users,
                                  can_view_member_list)
from samskap import audit
from samskap.ids import parse_id
from samskap.errors import NotFound, PermissionDenied, ValidationFailed
from samskap.extensions import db
from samskap.timeutil import utcnow

NAME_MAX = 200
ORG_FIELDS = ("name", "kind", "number", "members_share_bookings", "active", "contact_email")
USER_FIELDS = ("email", "name", "organisation_id", "role", "is_org_contact", "locale", "active")


# --- passwords ---------------------------------------------------------------------------

def _hasher() -> PasswordHasher:
    if has_app_context() and current_app.config.get("SAMSKAP_FAST_PASSWORD_HASH"):
        # Tests only: far cheaper parameters, same algorithm.
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password(user: User, password: str) -> bool:
    """Verify, and rehash when the stored parameters are outdated."""
    if not user.password_hash or not password:
        return False
    hasher = _hasher()
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True




# --- validation helpers ------------------------------------------------------------------

def normalise_email(raw: str | None) -> str:
    """Lower-cased, syntax-checked email; raises ValidationFailed on a malformed address."""
    text = (raw or "").strip()
    if not text:
        raise ValidationFailed({"email": _("Enter an email address.")})
    if len(text) > 254:
        raise ValidationFailed({"email": _("The email address is too long.")})
    try:
        # test_environment: the reserved ".test" domain (demo accounts) is accepted
        result = validate_email(text, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        raise ValidationFailed({"email": _("'%(email)s' is not a valid email address.", email=text)})
    return result.normalized.lower()


def orgnr_is_valid(number: str) -> bool:
    """Norwegian organisation number: 9 digits, the last a mod-11 check digit."""
    if len(number) != 9 or not number.isascii() or not number.isdigit():
        return False
    weights = (3, 2, 7, 6, 5, 4, 3, 2)
    remainder = sum(int(d) * w for d, w in zip(number[:8], weights)) % 11
    check = 0 if remainder == 0 else 11 - remainder
    return check != 10 and check == int(number[8])


def _clean_name(value, field: str, errors: dict, label=None) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        errors[field] = _("Enter a name.")
    elif len(text) > NAME_MAX:
        errors[field] = _("The name can be at most %(n)d characters long.", n=NAME_MAX)
    return text


def parse_kind(value) -> OrganisationKind | None:
    if isinstance(value, OrganisationKind):
        return value
    try:
        return OrganisationKind(str(value).strip().lower())
    except ValueError:
        return None


def parse_role(value) -> Role | None:
    if isinstance(value, Role):
        return value
    try:
        return Role(str(value).strip().lower())
    except ValueError:
        return None


def _kind_message(value) -> str:
    return _("Unknown organisation kind '%(kind)s'; choose one of: %(kinds)s.",
             kind=value, kinds=", ".join(k.value for k in OrganisationKind))


# --- organisations -------------------------------------------------------------------------

def _validate_organisation(data: dict, existing: Organisation | None) -> dict:
    errors: dict[str, str] = {}
    clean = {}
    if "name" in data or existing is None:
        clean["name"] = _clean_name(data.get("name"), "name", errors)
        if "name" not in errors:
            clash = db.session.scalar(
                sa.select(Organisation.id).where(sa.func.lower(Organisation.name) == clean["name"].lower())
            )
            if clash and (existing is None or clash != existing.id):
                errors["name"] = _("An organisation named '%(name)s' already exists.", name=clean["name"])
    if "kind" in data or existing is None:
        kind = parse_kind(data.get("kind"))
        if kind is None:
            errors["kind"] = _kind_message(data.get("kind"))
        clean["kind"] = kind
    if "number" in data:
        number = (data.get("number") or "").replace(" ", "").strip() or None
        if number is not None:
            if not orgnr_is_valid(number):
                errors["number"] = _("'%(number)s' is not a valid Norwegian organisation number "
                                     "(9 digits with a correct check digit).", number=number)
            else:
                clash = db.session.scalar(sa.select(Organisation.id).where(Organisation.number == number))
                if clash and (existing is None or clash != existing.id):
                    errors["number"] = _("Another organisation already has number %(number)s.", number=number)
        clean["number"] = number
    for flag in ("members_share_bookings", "active"):
        if flag in data:
            clean[flag] = bool(data[flag])
    if "contact_email" in data:
        address = data.get("contact_email")
        if address is None or (isinstance(address, str) and not address.strip()):
            clean["contact_email"] = None
        else:
            try:
                clean["contact_email"] = normalise_email(address)
            except ValidationFailed as exc:
                errors["contact_email"] = exc.fields.get("email") or next(iter(exc.fields.values()))
    if errors:
        raise ValidationFailed(errors)
    return clean


def create_organisation(actor: User | None, data: dict) -> Organisation:
    if actor is not None and not can_manage_organisations(actor):
        raise PermissionDenied(_("Only administrators can manage organisations."))
    clean = _validate_organisation(data, None)
    org = Organisation(**clean)
    db.session.add(org)
    db.session.flush()
    audit.record(actor, "organisation.create", org, changes={k: [None, v] for k, v in clean.items()})
    return org


def update_organisation(actor: User, org: Organisation, data: dict) -> Organisation:
    if not can_manage_organisations(actor):
        raise PermissionDenied(_("Only administrators can manage organisations."))
    clean = _validate_organisation(data, org)
    before = audit.snapshot(org, ORG_FIELDS)
    for key, value in clean.items():
        setattr(org, key, value)
    db.session.flush()
    changes = audit.diff(org, ORG_FIELDS, before)
    if changes:
        audit.record(actor, "organisation.update", org, changes=changes)
    return org


def find_organisation(name_or_id) -> Organisation | None:
    text = str(name_or_id).strip()
    org_id = parse_id(text)
    if org_id:
        org = db.session.get(Organisation, org_id)
        if org:
            return org
    return db.session.scalar(sa.select(Organisation).where(sa.func.lower(Organisation.name) == text.lower()))


# --- users ---------------------------------------------------------------------------------

def _validate_user(data: dict, existing: User | None) -> dict:
    errors: dict[str, str] = {}
    clean: dict = {}
    if "email" in data or existing is None:
        try:
            clean["email"] = normalise_email(data.get("email"))
        except ValidationFailed as exc:
            errors.update(exc.fields)
        else:
            clash = db.session.scalar(sa.select(User.id).where(User.email == clean["email"]))
            if clash and (existing is None or clash != existing.id):
                errors["email"] = _("A user with email %(email)s already exists.", email=clean["email"])
    if "name" in data or existing is None:
        clean["name"] = _clean_name(data.get("name"), "name", errors)
    if "organisation_id" in data or existing is None:
        org = None
        raw = data.get("organisation_id")
        if isinstance(raw, Organisation):
            org = raw
        elif raw not in (None, ""):
            org_id = parse_id(raw)
            org = db.session.get(Organisation, org_id) if org_id else None
        if org is None:
            errors["organisation_id"] = _("Choose an existing organisation.")
        else:
            clean["organisation_id"] = org.id
    if "role" in data or existing is None:
        role = parse_role(data.get("role", Role.MEMBER))
        if role is None:
            errors["role"] = _("Unknown role '%(role)s'; choose admin, staff or member.", role=data.get("role"))
        clean["role"] = role
    if "locale" in data:
        locale = data.get("locale") or "nb"
        if locale not in ("nb", "en"):
            errors["locale"] = _("Choose Norwegian bokmål (nb) or English (en).")
        clean["locale"] = locale
    for flag in ("is_org_contact", "active"):
        if flag in data:
            clean[flag] = bool(data[flag])
    if existing is None or "password" in data:
        if existing is None or data.get("password"):
            problem = password_problem(data.get("password"), email=clean.get("email"), name=clean.get("name"))
            if problem:
                errors["password"] = problem
    if errors:
        raise ValidationFailed(errors)
    return clean


def create_user(actor: User | None, data: dict) -> User:
    """Create a user. ``actor`` None means the operator's CLI."""
    if actor is not None and not can_manage_users(actor):
        raise PermissionDenied(_("Only administrators can manage users."))
    clean = _validate_user(data, None)
    user = User(**clean, password_hash=hash_password(data["password"]))
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.create", user, changes={k: [None, v] for k, v in clean.items()})
    return user


def update_user(actor: User, user: User, data: dict) -> User:
    if not can_manage_users(actor):
        raise PermissionDenied(_("Only administrators can manage users."))
    if user.id == actor.id and (data.get("active") is False or
                                ("role" in data and parse_role(data["role"]) != Role.ADMIN)):
        raise ValidationFailed({"role": _("You cannot remove your own administrator rights or deactivate yourself.")})
    clean = _validate_user({k: v for k, v in data.items() if k != "password"}, user)
    before = audit.snapshot(user, USER_FIELDS)
    for key, value in clean.items():
        setattr(user, key, value)
    changes = audit.diff(user, USER_FIELDS, before)
    if "active" in changes or "role" in changes or "organisation_id" in changes:
        user.session_version += 1  # end existing sessions so the change takes effect now
    db.session.flush()
    if changes:
        action = "user.role_change" if ("role" in changes or "is_org_contact" in changes) else "user.update"
        audit.record(actor, action, user, changes=changes)
    return user


def update_profile(user: User, data: dict) -> User:
    """A user changes their own name and language."""
    allowed = {k: data[k] for k in ("name", "locale") if k in data}
    clean = _validate_user(allowed, user)
    before = audit.snapshot(user, ("name", "locale"))
    for key, value in clean.items():
        setattr(user, key, value)
    db.session.flush()
    # The language is a preference changed by a button in every page's header, not a change of
    # the person's data: only the name is audited.
    changes = audit.diff(user, ("name",), before)
    if changes:
        audit.record(user, "user.profile", user, changes=changes)
    return user


MAX_REMINDER_HOURS = 336  # two weeks


def update_notification_preferences(user: User, data: dict) -> User:
    """A user chooses their optional email: reminders on or off and how many hours before a
    booking starts, and (staff) a daily digest of pending bookings instead of one mail each.
    Mail about the status of their own bookings cannot be turned off."""
    errors: dict[str, str] = {}
    clean: dict = {}
    if "notify_reminders" in data:
        clean["notify_reminders"] = bool(data["notify_reminders"])
    if "reminder_hours" in data:
        raw = data["reminder_hours"]
        text = str(raw).strip() if raw is not None else ""
        if not text:
            clean["reminder_hours"] = None
        elif not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_REMINDER_HOURS:
            errors["reminder_hours"] = _("Give a whole number of hours from 1 to %(max)d, or leave it empty for "
                                         "the default.", max=MAX_REMINDER_HOURS)
        else:
            clean["reminder_hours"] = int(text)
    if "approval_digest" in data:
        clean["approval_digest"] = bool(data["approval_digest"]) and user.is_staff
    if errors:
        raise ValidationFailed(errors)
    fields = ("notify_reminders", "reminder_hours", "approval_digest")
    before = audit.snapshot(user, fields)
    for key, value in clean.items():
        setattr(user, key, value)
    db.session.flush()
    changes = audit.diff(user, fields, before)
    if changes:
        audit.record(user, "user.notifications", user, changes=changes)
    return user


def change_password(user: User, current: str, new: str, confirm: str | None = None) -> None:
    if not check_password(user, current or ""):
        raise ValidationFailed({"current_password": _("The current password is not correct.")})
    problem = password_problem(new, email=user.email, name=user.name)
    if problem:
        raise ValidationFailed({"new_password": problem})
    if confirm is not None and confirm != new:
        raise ValidationFailed({"confirm": _("The two new passwords do not match.")})
    user.password_hash = hash_password(new)
    user.session_version += 1
    db.session.flush()
    audit.record(user, "user.password_change", user)


def sign_in_identity(raw) -> str:
    """The account a sign-in attempt names, spelled as :func:`authenticate` looks it up, so
    that a limit keyed on it cannot be dodged with another spelling of the same address
    (upper case, fullwidth letters in the domain...). Text that is no address at all is
    folded (NFKC, casefold) instead: it names no account, but still counts as one."""
    text = raw if isinstance(raw, str) else ""
    try:
        return normalise_email(text)
    except ValidationFailed:
        return unicodedata.normalize("NFKC", text).strip().casefold()[:254]


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None. Same work either way."""
    try:
        normalised = normalise_email(email)
    except ValidationFailed:
        return None
    user = db.session.scalar(sa.select(User).where(User.email == normalised))
    if user is None:
        _hasher().hash(password or "x")  # equalise timing with a real verification
        return None
    if not check_password(user, password) or not user.is_active:
        return None
    user.last_login_at = utcnow()
    return user


def end_sessions(user: User) -> None:
    """Sign the user out everywhere (remember-me cookies included)."""
    user.session_version += 1
    db.session.flush()


# --- an organisation's members ------------------------------------------------------------

def organisation_members(viewer: User, organisation: Organisation) -> list[User]:
    """The people of ``organisation`` (anonymised ones left out), for its contacts, staff and
    administrators; ordered by name."""
    if not can_view_member_list(viewer, organisation):
        raise PermissionDenied(_("Only the organisation's contacts, workshop staff and administrators can see "
                                 "its members."))
    return list(db.session.scalars(
        sa.select(User).where(User.organisation_id == organisation.id, User.anonymised_at.is_(None))
        .order_by(User.name, User.id)))


# --- API tokens ----------------------------------------------------------------------------

API_TOKEN_PREFIX = "sk_"


def create_api_token(actor: User | None, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Issue a token for ``user``; returns the row and the secret (shown once, stored hashed)."""
    if actor is not None and not can_manage_tokens_of(actor, user):
        raise PermissionDenied(_("You can only create tokens for yourself."))
    name = (name or "").strip()
    if len(name) > 100:
        raise ValidationFailed({"name": _("The name can be at most %(n)d characters long.", n=100)})
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=hash_token(secret), prefix=secret[:10])
    db.session.add(token)
    db.session.flush()
    audit.record(actor or user, "api_token.create", token,
                 changes={"user_id": [None, user.id], "name": [None, name], "prefix": [None, token.prefix]},
                 summary=f"token {token.prefix}… for user {user.id}")
    return token, secret


def revoke_api_token(actor: User, token: ApiToken) -> None:
    if not can_manage_tokens_of(actor, token.user):
        raise NotFound(_("No such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
        audit.record(actor, "api_token.revoke", token, changes={"revoked_at": [None, token.revoked_at]},
                     summary=f"token {token.prefix}…")


# --- personal data ---------------------------------------------------------------------------

def _identities_of(user: User):
    from accounts.signin.models import UserIdentity

    return db.session.scalars(sa.select(UserIdentity).where(UserIdentity.user_id == user.id)).all()


# What the higher areas hold about a person (bookings, reservations, calendar feeds) is theirs to
# export and erase: each registers its part at start-up (layers point down, so accounts cannot
# import them). ``export(user)`` returns ``{section: [records]}`` of plain JSON-able data;
# ``erase(user, now)`` removes or revokes what must go when the user is anonymised.
_PERSONAL_DATA: dict[str, tuple[Callable[[User], dict], Callable[[User, datetime], None] | None]] = {}


def register_personal_data(name: str, export: Callable[[User], dict],
                           erase: Callable[[User, datetime], None] | None = None) -> None:
    """Let an area contribute to :func:`export_personal_data` and :func:`anonymise_user`
    (registering the same ``name`` again replaces the earlier functions)."""
    _PERSONAL_DATA[name] = (export, erase)


def _iso(value):
    return value.isoformat() if value else None


def export_personal_data(user: User) -> dict:
    """Everything Samskap holds about ``user``, as plain JSON-able data (GDPR art. 15/20)."""
    tokens = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)).all()
    data = {
        "profile": {
            "id": user.id, "email": user.email, "name": user.name, "role": user.role.value,
            "organisation": user.organisation.name, "is_org_contact": user.is_org_contact, "locale": user.locale,
            "active": user.active, "created_at": _iso(user.created_at), "last_login_at": _iso(user.last_login_at),
        },
        "api_tokens": [{"prefix": t.prefix, "name": t.name, "created_at": _iso(t.created_at),
                        "last_used_at": _iso(t.last_used_at), "revoked_at": _iso(t.revoked_at)} for t in tokens],
        "sign_in_identities": [{"provider": i.provider, "issuer": i.issuer, "subject": i.subject,
                                "created_at": _iso(i.created_at), "last_login_at": _iso(i.last_login_at)}
                               for i in _identities_of(user)],
    }
    for export, _erase in _PERSONAL_DATA.values():
        data.update(export(user))
    return data


def anonymous_identity(user: User) -> tuple[str, str]:
    """The name and address an anonymised user goes by (other areas use them for what they keep)."""
    return _("Anonymised user %(id)d", id=user.id), f"anonymised-{user.id}@invalid.invalid"


def anonymise_user(actor: User, user: User) -> None:
    """Remove a departed user's personal data; their bookings stay (for statistics and history)
    under an anonymous name, and the audit log keeps its entries without their name and email.
    Ends sessions and revokes tokens, and whatever the other areas registered (feeds). Irreversible."""
    if not can_manage_users(actor):
        raise PermissionDenied(_("Only administrators can manage users."))
    if user.id == actor.id:
        raise ValidationFailed({"user": _("You cannot anonymise yourself.")})
    if user.anonymised_at is not None:
        raise ValidationFailed({"user": _("This user is already anonymised.")})
    now = utcnow()
    audit.scrub_personal_data(user.id, [user.name, user.email], f"[anonymised user {user.id}]")
    # The other areas first, while the user still has their name and address: what they hold may
    # be found by the address too (an event registration made without signing in).
    for _export, erase in _PERSONAL_DATA.values():
        if erase is not None:
            erase(user, now)
    user.name, user.email = anonymous_identity(user)
    user.password_hash = None
    user.active = False
    user.is_org_contact = False
    user.anonymised_at = now
    user.session_version += 1
    for token in db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id,
                                                              ApiToken.revoked_at.is_(None))):
        token.revoked_at = now
    from accounts.signin.models import SignInLink, UserIdentity

    # Single sign-on links and pending links name the person: they go too.
    db.session.execute(sa.delete(UserIdentity).where(UserIdentity.user_id == user.id))
    db.session.execute(sa.delete(SignInLink).where(SignInLink.user_id == user.id))
    db.session.flush()
    audit.record(actor, "user.anonymise", user, summary=f"user {user.id} anonymised")
