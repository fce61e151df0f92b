"""Signing a person in with the claims an OpenID Connect provider vouched for.

The protocol (redirects, state, PKCE, the ID token's signature, ``iss``, ``aud``, ``exp`` and
``nonce``) is checked in ``views`` with Authlib before anything here runs; this module decides
who the person is in Samskap: the linked user, a user with the same *verified* email (linked
now), or a new user in the organisation the provider's rules name.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import sqlalchemy as sa
from flask_babel import gettext as _

from accounts.models import Organisation, OrganisationKind, Role, User
from accounts.services import NAME_MAX, normalise_email
from accounts.signin.models import LinkPurpose, SignInLink, UserIdentity
from accounts.signin.oidc import Provider
from accounts.signin.rules import Rule, first_match, groups_overage
from samskap import audit
from samskap.errors import ValidationFailed
from samskap.extensions import db
from samskap.timeutil import utcnow

SSO_FIELDS = ("name", "organisation_id", "role", "is_org_contact")


class SignInRefused(Exception):
    """Single sign-on ended without signing anyone in. ``reason`` is a short code for the audit
    log; ``message`` is meant for the person; ``status`` is the page's HTTP status."""

    def __init__(self, reason: str, message: str, *, status: int = 403, detail: str = ""):
        super().__init__(reason)
        self.reason, self.message, self.status, self.detail = reason, message, status, detail


@dataclass
class SignInResult:
    user: User
    created: bool = False
    linked: bool = False


def record_refusal(provider_name: str, refusal: SignInRefused, claims: dict | None = None) -> None:
    """Audit a refused sign-in (the caller commits, after rolling back anything else)."""
    claims = claims or {}
    changes = {"provider": provider_name, "reason": refusal.reason}
    for key in ("sub", "email"):
        if isinstance(claims.get(key), str):
            changes[key] = claims[key][:254]
    if refusal.detail:
        changes["detail"] = refusal.detail[:300]
    audit.record(None, "sso.refused", object_type="sso", changes=changes,
                 summary=f"single sign-on through {provider_name} refused: {refusal.reason}")


def email_verified(claims: dict) -> bool:
    value = claims.get("email_verified")
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _display_name(claims: dict, email: str | None) -> str:
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = [claims.get(k) for k in ("given_name", "family_name")]
        name = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    if not name:
        name = (email or "").split("@")[0] or _("Unnamed person")
    return " ".join(name.split())[:NAME_MAX]


def _contact_hint() -> str:
    return _("Ask your organisation's contact person for Samskap, or the workshop's staff, to give you access.")


def _refuse_without_rule(provider: Provider, claims: dict) -> NoReturn:
    """No rule matched: the refusal that explains why (Entra's groups overage has its own)."""
    if groups_overage(claims):
        raise SignInRefused("groups_overage", _(
            "You belong to so many groups that %(provider)s did not send them with the sign-in, so Samskap "
            "cannot tell which organisation you belong to.", provider=provider.title) + " " + _(
            "Ask your IT department to send only the groups Samskap needs (group filtering), or sign in "
            "with an invitation instead.") + " " + _contact_hint())
    raise SignInRefused("no_rule", _(
        "Your account at %(provider)s does not give access to Samskap: no organisation in Samskap is "
        "set up for it.", provider=provider.title) + " " + _contact_hint())


def _organisation_for(provider: Provider, rule: Rule) -> Organisation:
    org = db.session.scalar(sa.select(Organisation).where(
        sa.func.lower(Organisation.name) == rule.organisation.lower()))
    problem = None
    if org is None:
        problem = f"rule names unknown organisation {rule.organisation!r}"
    elif not org.active:
        problem = f"organisation {org.name!r} is inactive"
    elif rule.role == Role.STAFF and org.kind != OrganisationKind.HOST:
        problem = f"rule grants staff in {org.name!r}, which is not the workshop host"
    if problem:
        raise SignInRefused("rule_invalid", _(
            "Samskap's sign-in settings for %(provider)s do not fit your organisation, so you cannot sign "
            "in this way yet.", provider=provider.title) + " " + _contact_hint(), detail=problem)
    return org


def _new_identity(provider: Provider, issuer: str, subject: str, user: User) -> UserIdentity:
    identity = UserIdentity(user_id=user.id, provider=provider.name, issuer=issuer, subject=subject)
    db.session.add(identity)
    return identity


def _was_invited(user: User) -> bool:
    return db.session.scalar(sa.select(SignInLink.id).where(
        SignInLink.purpose == LinkPurpose.INVITATION, SignInLink.email == user.email,
        SignInLink.used_at.is_not(None)).limit(1)) is not None


def sign_in(provider: Provider, issuer: str, claims: dict, *, invitation: SignInLink | None = None) -> SignInResult:
    """The user these verified claims belong to, created or linked or brought up to date.

    The provider's rules give the organisation and role. When none matches, an invitation the person
    opened before choosing single sign-on (``invitation``, already checked against their verified
    email) gives them instead, and a person who came in by invitation keeps what they have.

    Raises SignInRefused when nothing gives an organisation, the account is deactivated, or an
    existing account's email is not verified by the provider (never linked then)."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise SignInRefused("no_subject", _("The sign-in service sent no usable identity."), status=400)
    identity = db.session.scalar(sa.select(UserIdentity).where(UserIdentity.issuer == issuer,
                                                               UserIdentity.subject == subject))
    if identity is not None and not identity.user.is_active:
        raise SignInRefused("deactivated", _("Your Samskap account is deactivated.") + " " + _contact_hint())
    rule = first_match(provider.rules, claims)
    if rule is not None:
        organisation, role = _organisation_for(provider, rule), rule.role
    elif invitation is not None:
        organisation, role = invitation.organisation, invitation.role or Role.MEMBER
        invitation.used_at = utcnow()
    elif identity is not None and _was_invited(identity.user):
        organisation, role = identity.user.organisation, identity.user.role
    else:
        _refuse_without_rule(provider, claims)
    if identity is None:
        result = _link_or_create(provider, issuer, subject, claims, organisation, role)
        identity = db.session.scalar(sa.select(UserIdentity).where(UserIdentity.issuer == issuer,
                                                                   UserIdentity.subject == subject))
    else:
        result = SignInResult(user=identity.user)
    if not result.created:
        _bring_up_to_date(provider, result.user, claims, organisation, role)
    now = utcnow()
    identity.last_login_at = now
    result.user.last_login_at = now
    db.session.flush()
    return result


def _link_or_create(provider: Provider, issuer: str, subject: str, claims: dict, organisation: Organisation,
                    role: Role) -> SignInResult:
    try:
        email = normalise_email(claims.get("email") if isinstance(claims.get("email"), str) else None)
    except ValidationFailed:
        raise SignInRefused("no_email", _(
            "%(provider)s did not send a usable email address, which Samskap needs for your account.",
            provider=provider.title) + " " + _contact_hint())
    existing = db.session.scalar(sa.select(User).where(User.email == email))
    if existing is not None:
        if not email_verified(claims):
            # An email claim is not proof of ownership unless the provider says it verified it.
            raise SignInRefused("email_unverified", _(
                "A Samskap account with the address %(email)s exists, but %(provider)s has not confirmed that "
                "the address is yours, so the two cannot be joined. Sign in with your password instead.",
                email=email, provider=provider.title) + " " + _contact_hint(), detail=f"existing user {existing.id}")
        if not existing.is_active:
            raise SignInRefused("deactivated", _("Your Samskap account is deactivated.") + " " + _contact_hint())
        if existing.organisation_id != organisation.id:
            # A provider vouches for its own people: it may not take over an account of another
            # organisation by naming its address (a wrongly set up or hostile provider could).
            raise SignInRefused("email_other_organisation", _(
                "A Samskap account with the address %(email)s belongs to another organisation than the one "
                "%(provider)s signs you in for, so the two cannot be joined. Sign in with your password instead.",
                email=email, provider=provider.title) + " " + _contact_hint(),
                detail=f"existing user {existing.id} in organisation {existing.organisation_id}, "
                       f"rules give {organisation.id}")
        _new_identity(provider, issuer, subject, existing)
        db.session.flush()
        audit.record(existing, "user.sso_link", existing,
                     changes={"provider": [None, provider.name], "subject": [None, subject]},
                     summary=f"{existing.email} linked to {provider.name} by verified email")
        return SignInResult(user=existing, linked=True)
    user = User(email=email, name=_display_name(claims, email), organisation_id=organisation.id, role=role,
                is_org_contact=False, locale=_locale(claims), active=True, password_hash=None)
    db.session.add(user)
    db.session.flush()
    _new_identity(provider, issuer, subject, user)
    db.session.flush()
    audit.record(user, "user.sso_create", user, changes={
        "email": [None, email], "name": [None, user.name], "organisation_id": [None, organisation.id],
        "role": [None, role.value], "provider": [None, provider.name]},
        summary=f"{email} created by single sign-on through {provider.name}")
    return SignInResult(user=user, created=True)


def _locale(claims: dict) -> str:
    from flask_babel import get_locale

    value = claims.get("locale")
    if isinstance(value, str) and value[:2].lower() in ("nb", "no", "nn"):
        return "nb"
    if isinstance(value, str) and value[:2].lower() == "en":
        return "en"
    return str(get_locale() or "nb")


def _bring_up_to_date(provider: Provider, user: User, claims: dict, organisation: Organisation, role: Role) -> None:
    """Name, organisation and role as the provider and the rules now say; audited. An
    administrator's organisation and role are never changed by single sign-on."""
    before = audit.snapshot(user, SSO_FIELDS)
    if isinstance(claims.get("name"), str) or isinstance(claims.get("given_name"), str):
        user.name = _display_name(claims, user.email)
    if user.role != Role.ADMIN:
        if user.organisation_id != organisation.id:
            user.organisation_id = organisation.id
            user.is_org_contact = False  # a contact of the old organisation is not one of the new
        user.role = role
    db.session.flush()
    db.session.expire(user, ["organisation"])
    changes = audit.diff(user, SSO_FIELDS, before)
    if "organisation_id" in changes or "role" in changes:
        user.session_version += 1  # other sessions carried the old rights
        db.session.flush()
    if changes:
        audit.record(user, "user.sso_update", user, changes=changes,
                     summary=f"{user.email} updated by single sign-on through {provider.name}")
