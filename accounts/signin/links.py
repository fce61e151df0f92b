"""Invitations and password resets: a single-use link sent by email.

The link carries a random token (``secrets.token_urlsafe(32)``); only its SHA-256 is stored. A
link works once (``used_at``) and until it expires: 7 days for an invitation, 2 hours for a
password reset. The mail goes through the outbox (:func:`samskap.mail.enqueue_mail`), in the same
transaction as the link's row.

A reset request answers the same whether or not the address has an account (same status, same
body, and the page waits until a fixed minimum time has passed, so timing does not tell either);
only the mail, or its absence, differs, and that reaches only the address's owner.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import render_template
from flask_babel import force_locale, gettext as _

from accounts.models import Organisation, OrganisationKind, Role, User, hash_token
from accounts.passwords import password_problem
from accounts.permissions import can_invite, is_staff, manages_organisation
from accounts.services import _clean_name, hash_password, normalise_email, parse_role
from accounts.signin.models import LinkPurpose, SignInLink, UserIdentity
from samskap import audit
from samskap.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from samskap.extensions import db
from samskap.ids import parse_id
from samskap.mail import enqueue_mail
from samskap.timeutil import utcnow

INVITATION_LIFETIME = timedelta(days=7)
RESET_LIFETIME = timedelta(hours=2)
INVITATION_KIND = "security.invitation"
RESET_KIND = "security.password_reset"
TOKEN_MAX = 100  # token_urlsafe(32) is 43 characters; anything much longer is not ours


class LinkInvalid(NotFound):
    """The link is unknown, used, or expired (one answer for all three)."""


def _new_secret() -> tuple[str, str]:
    secret = secrets.token_urlsafe(32)
    return secret, hash_token(secret)


def usable_link(secret: str | None, purpose: LinkPurpose) -> SignInLink:
    """The link behind ``secret`` if it may still be used, else LinkInvalid."""
    if not secret or len(secret) > TOKEN_MAX:
        raise LinkInvalid(_("This link is not valid: it may have been used already or have expired."))
    link = db.session.scalar(sa.select(SignInLink).where(SignInLink.token_hash == hash_token(secret),
                                                         SignInLink.purpose == purpose))
    if link is None or not link.usable_at(utcnow()):
        raise LinkInvalid(_("This link is not valid: it may have been used already or have expired."))
    return link


# --- invitations ---------------------------------------------------------------------------------

def _invitation_target(data: dict) -> tuple[str, Organisation, Role]:
    errors = {}
    email = None
    try:
        email = normalise_email(data.get("email") if isinstance(data.get("email"), str) else None)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    org_id = parse_id(data.get("organisation_id"))
    org = db.session.get(Organisation, org_id) if org_id else None
    if org is None or not org.active:
        errors["organisation_id"] = _("Choose an existing, active organisation.")
    role = parse_role(data.get("role") or "member") if isinstance(data.get("role") or "member", str) else None
    if role is None:
        errors["role"] = _("Choose the role member, staff or admin.")
    if errors:
        raise ValidationFailed(errors)
    return email, org, role


def invite(actor: User, data: dict, *, link_url) -> SignInLink:
    """Invite ``data['email']`` into ``data['organisation_id']`` with ``data['role']`` (member by
    default). ``link_url(secret)`` makes the absolute URL of the invitation page."""
    email, org, role = _invitation_target(data)
    if not can_invite(actor, org, role):
        if role != Role.MEMBER:
            raise PermissionDenied(_("Only administrators can invite workshop staff or administrators."))
        raise PermissionDenied(_("You can invite people only into your own organisation."))
    if role != Role.MEMBER and org.kind != OrganisationKind.HOST:
        raise ValidationFailed({"role": _("Workshop staff and administrators belong to the workshop's own "
                                          "organisation.")})
    existing = db.session.execute(sa.select(User.organisation_id, User.locale).where(User.email == email)).first()
    if existing is not None and (is_staff(actor) or manages_organisation(actor, existing.organisation_id)):
        # Someone the inviter can already see in their members list (staff see everyone).
        raise Conflict(_("%(email)s already has an account in Samskap.", email=email), code="already_registered")
    secret, digest = _new_secret()
    link = SignInLink(purpose=LinkPurpose.INVITATION, token_hash=digest, email=email, organisation_id=org.id,
                      role=role, created_by_id=actor.id, expires_at=utcnow() + INVITATION_LIFETIME)
    db.session.add(link)
    db.session.flush()
    if existing is None:
        enqueue_mail(to=email, kind=INVITATION_KIND, reference=f"sign_in_link:{link.id}",
                     subject=_("%(name)s invites you to Samskap", name=actor.name),
                     text=render_template("signin/mail/invitation.txt", inviter=actor, organisation=org, role=role,
                                          url=link_url(secret), expires_at=link.expires_at))
    else:
        # An account in another organisation: the inviter is answered exactly as for a new address
        # (whether an address has an account is not theirs to learn), and the person is told they can
        # sign in as they are. The link cannot create a second account (accept_invitation refuses).
        with force_locale(existing.locale or "nb"):
            enqueue_mail(to=email, kind=INVITATION_KIND, reference=f"sign_in_link:{link.id}",
                         subject=_("%(name)s invites you to Samskap", name=actor.name),
                         text=render_template("signin/mail/invitation_existing.txt", inviter=actor,
                                              organisation=org))
    audit.record(actor, "invitation.create", link, changes={
        "email": [None, email], "organisation_id": [None, org.id], "role": [None, role.value]},
        summary=f"{email} invited into {org.name} as {role.value}")
    return link


def _check_new_password(password, confirm, errors: dict, *, email: str | None, name: str | None) -> None:
    problem = password_problem(password, email=email, name=name)
    if problem:
        errors["password"] = problem
    elif confirm is not None and confirm != password:
        errors["confirm"] = _("The two passwords do not match.")


def accept_invitation(secret: str, data: dict, *, locale: str) -> User:
    """Create the invited person's account with the name and password they chose."""
    link = usable_link(secret, LinkPurpose.INVITATION)
    if db.session.scalar(sa.select(User.id).where(User.email == link.email)) is not None:
        raise LinkInvalid(_("An account with this address exists already: sign in instead."))
    if link.organisation is None or not link.organisation.active:
        raise LinkInvalid(_("The organisation you were invited into no longer uses Samskap."))
    errors: dict[str, str] = {}
    name = _clean_name(data.get("name"), "name", errors)
    _check_new_password(data.get("password"), data.get("confirm"), errors, email=link.email, name=name)
    if errors:
        raise ValidationFailed(errors)
    user = User(email=link.email, name=name, organisation_id=link.organisation_id, role=link.role or Role.MEMBER,
                is_org_contact=False, locale=locale if locale in ("nb", "en") else "nb", active=True,
                password_hash=hash_password(data["password"]), last_login_at=utcnow())
    db.session.add(user)
    link.used_at = utcnow()
    db.session.flush()
    audit.record(user, "invitation.accept", user, changes={
        "email": [None, user.email], "name": [None, user.name], "organisation_id": [None, user.organisation_id],
        "role": [None, user.role.value]}, summary=f"{user.email} accepted invitation {link.id}")
    return user


def invitation_for_sso(secret: str | None, email: str | None) -> SignInLink | None:
    """A still usable invitation for this (verified) email, when the person opened it and then chose
    single sign-on; None otherwise."""
    if not secret or not email:
        return None
    try:
        link = usable_link(secret, LinkPurpose.INVITATION)
    except DomainError:
        return None
    return link if link.email == email and link.organisation is not None and link.organisation.active else None


# --- password reset ------------------------------------------------------------------------------

def request_password_reset(raw_email: str | None, *, link_url, sso_titles: dict[str, str]) -> None:
    """Send a reset link to the account with this address, if there is one. Returns nothing and
    raises nothing, so the caller cannot answer differently for a known and an unknown address.

    An account that signs in only through single sign-on gets a mail saying so instead of a link;
    deactivated and unknown accounts get nothing."""
    try:
        email = normalise_email(raw_email if isinstance(raw_email, str) else None)
    except ValidationFailed:
        email = None
    user = None
    if email is not None:
        user = db.session.scalar(sa.select(User).where(User.email == email, User.active.is_(True),
                                                       User.anonymised_at.is_(None)))
    if user is None:
        return
    with force_locale(user.locale):
        if user.password_hash is None:
            providers = db.session.scalars(sa.select(UserIdentity.provider).where(UserIdentity.user_id == user.id))
            titles = sorted({sso_titles.get(p, p) for p in providers})
            enqueue_mail(to=user.email, kind=RESET_KIND, locale=user.locale, reference=f"user:{user.id}",
                         subject=_("Signing in to Samskap"),
                         text=render_template("signin/mail/reset_sso.txt", user=user, providers=titles))
            return
        secret, digest = _new_secret()
        link = SignInLink(purpose=LinkPurpose.PASSWORD_RESET, token_hash=digest, email=user.email, user_id=user.id,
                          expires_at=utcnow() + RESET_LIFETIME)
        db.session.add(link)
        db.session.flush()
        enqueue_mail(to=user.email, kind=RESET_KIND, locale=user.locale, reference=f"sign_in_link:{link.id}",
                     subject=_("Choose a new password for Samskap"),
                     text=render_template("signin/mail/reset.txt", user=user, url=link_url(secret),
                                          expires_at=link.expires_at))
    audit.record(None, "user.password_reset_request", user, summary=f"reset link {link.id} sent to {user.email}")


def reset_password(secret: str, password: str | None, confirm: str | None) -> User:
    """Set a new password through a reset link; every session of the user ends, and every other
    reset link of theirs stops working."""
    link = usable_link(secret, LinkPurpose.PASSWORD_RESET)
    user = link.user
    if user is None or not user.is_active or user.anonymised_at is not None:
        raise LinkInvalid(_("This link is not valid: it may have been used already or have expired."))
    errors: dict[str, str] = {}
    _check_new_password(password, confirm, errors, email=user.email, name=user.name)
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    user.password_hash = hash_password(password)
    user.session_version += 1
    db.session.execute(sa.update(SignInLink).where(SignInLink.user_id == user.id,
                                                   SignInLink.purpose == LinkPurpose.PASSWORD_RESET,
                                                   SignInLink.used_at.is_(None)).values(used_at=now))
    db.session.flush()
    audit.record(user, "user.password_reset", user, summary=f"password reset through link {link.id}")
    return user

