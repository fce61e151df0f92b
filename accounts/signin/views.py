"""Pages: single sign-on (start and callback); managing an organisation's members; invitations
and password reset."""
from __future__ import annotations

import time

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import get_locale, gettext as _, lazy_gettext as _l, refresh as refresh_locale
from flask_login import current_user, login_required, login_user, logout_user

from accounts.forms import ConfirmForm
from accounts.models import Organisation, Role
from accounts.passwords import PASSWORD_MIN
from accounts.permissions import can_choose_any_organisation, can_invite, can_manage_member
from accounts.services import normalise_email
from accounts.signin import links, members, sso
from accounts.signin.forms import AcceptInvitationForm, ForgotPasswordForm, InviteForm, NewPasswordForm
from accounts.signin.models import LinkPurpose
from accounts.signin.oidc import registry
from accounts.signin.sso import SignInRefused
from samskap.errors import DomainError, PermissionDenied, ValidationFailed
from samskap.extensions import db, limiter
from samskap.ids import parse_id
from samskap.security import safe_next_url
from samskap.web import apply_errors, flash_success


signin_bp = Blueprint("signin", __name__)

NEXT_KEY = "sso_next"
INVITATION_KEY = "invitation"  # an opened invitation, kept for a sign-in through single sign-on
ID_TOKEN_LEEWAY_SECONDS = 60


def external_url(endpoint: str, **values) -> str:
    """An absolute URL on this site: from SAMSKAP_BASE_URL when set (links in mail, redirect URIs
    registered at a provider), else from the request."""
    base = current_app.config.get("SAMSKAP_BASE_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def _provider_or_404(name: str):
    provider = registry(current_app).get(name)
    if provider is None:
        abort(404)
    return provider


def _refuse(provider, refusal: SignInRefused, claims: dict | None = None):
    db.session.rollback()
    sso.record_refusal(provider.name, refusal, claims)
    db.session.commit()
    current_app.logger.info("Single sign-on through %s refused: %s %s", provider.name, refusal.reason,
                            refusal.detail)
    return render_template("signin/refused.html", provider=provider, message=refusal.message), refusal.status


def _unreachable(provider, exc: Exception) -> SignInRefused:
    return SignInRefused("unreachable", _("The sign-in service %(provider)s could not be reached, or answered "
                                          "in a way Samskap does not understand. Try again later.",
                                          provider=provider.title), status=502,
                         detail=f"{type(exc).__name__}: {exc}")


@signin_bp.route("/login/oidc/<name>")
def oidc_start(name: str):
    provider = _provider_or_404(name)
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    client = registry(current_app).client(name)
    try:
        metadata = client.load_server_metadata()
    except Exception as exc:  # network, HTTP status, JSON: the provider is not usable now
        return _refuse(provider, _unreachable(provider, exc))
    if metadata.get("issuer") != provider.issuer or not metadata.get("authorization_endpoint"):
        # OIDC Discovery 4.3: the document must name the issuer it was fetched for.
        return _refuse(provider, _unreachable(provider, ValueError(
            f"discovery names issuer {metadata.get('issuer')!r}, expected {provider.issuer!r}")))
    session[NEXT_KEY] = safe_next_url(request.args.get("next"))
    # Authlib keeps state, nonce and the PKCE verifier in the (signed) session until the callback.
    return client.authorize_redirect(external_url("signin.oidc_callback", name=name))


def _verified_claims(provider, client) -> dict:
    """The callback's code exchanged and the ID token checked: signature against the provider's
    JWKS, ``iss``, ``aud``, ``exp`` and ``nonce``; userinfo claims added. Raises SignInRefused."""
    from authlib.integrations.base_client import OAuthError
    from joserfc.errors import JoseError
    from requests import RequestException

    if request.args.get("error"):
        raise SignInRefused("provider_error", _("%(provider)s did not sign you in.", provider=provider.title),
                            detail=f"{request.args.get('error')}: {request.args.get('error_description', '')}")
    state = request.args.get("state") or ""
    if not state or not request.args.get("code") or not session.get(f"_state_{provider.name}_{state}"):
        raise SignInRefused("state", _("This sign-in was already used or has expired. Start again from the "
                                       "sign-in page."), status=400)
    invalid = _("The answer from %(provider)s could not be verified, so you were not signed in. Start again "
                "from the sign-in page.", provider=provider.title)
    try:
        token = client.authorize_access_token(
            claims_options={"iss": {"essential": True, "value": provider.issuer},
                            "aud": {"essential": True, "value": provider.client_id}},
            leeway=ID_TOKEN_LEEWAY_SECONDS)
        if not token.get("userinfo"):
            raise SignInRefused("token_invalid", invalid, status=400, detail="no ID token in the token response")
        claims = dict(token["userinfo"])
        if client.load_server_metadata().get("userinfo_endpoint"):
            extra = dict(client.userinfo(token=token))
            if extra.get("sub") != claims.get("sub"):
                raise SignInRefused("token_invalid", invalid, status=400, detail="userinfo names another subject")
            claims = {**extra, **claims}  # what the signed ID token says wins
    except SignInRefused:
        raise
    except (JoseError, OAuthError) as exc:
        raise SignInRefused("token_invalid", invalid, status=400, detail=f"{type(exc).__name__}: {exc}")
    except (RequestException, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise _unreachable(provider, exc)
    return claims


@signin_bp.route("/login/oidc/<name>/callback")
def oidc_callback(name: str):
    provider = _provider_or_404(name)
    client = registry(current_app).client(name)
    try:
        claims = _verified_claims(provider, client)
    except SignInRefused as refusal:
        return _refuse(provider, refusal)
    invitation = None
    if session.get(INVITATION_KEY) and sso.email_verified(claims) and isinstance(claims.get("email"), str):
        try:
            invitation = links.invitation_for_sso(session[INVITATION_KEY], normalise_email(claims["email"]))
        except ValidationFailed:
            invitation = None
    try:
        result = sso.sign_in(provider, provider.issuer, claims, invitation=invitation)
    except SignInRefused as refusal:
        return _refuse(provider, refusal, claims)
    next_url = safe_next_url(session.get(NEXT_KEY))
    _sign_in_fresh(result.user)
    db.session.commit()
    flash_success(_("Signed in as %(name)s.", name=result.user.name))
    return redirect(next_url or url_for("main.index"))


# --- an organisation's members -----------------------------------------------------------------

MEMBER_ACTIONS = {
    "deactivate": (members.set_active, False, _l("%(name)s is deactivated and signed out everywhere.")),
    "reactivate": (members.set_active, True, _l("%(name)s can sign in again.")),
    "make-contact": (members.set_contact, True, _l("%(name)s is now an organisation contact.")),
    "remove-contact": (members.set_contact, False, _l("%(name)s is no longer an organisation contact.")),
}


@signin_bp.route("/organisation/members/<int:user_id>/<any('deactivate', 'reactivate', 'make-contact', 'remove-contact'):action>",
                 methods=["POST"])
@login_required
def member_action(user_id: int, action: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    actor = current_user._get_current_object()
    member = members.member_for(actor, user_id)  # another organisation's people: 404
    change, value, done = MEMBER_ACTIONS[action]
    change(actor, member, value)  # PermissionDenied: 403; ValidationFailed: 422
    db.session.commit()
    flash_success(str(done) % {"name": member.name})
    chosen = member.organisation_id if can_choose_any_organisation(actor) else None
    return redirect(url_for("auth.organisation_members", organisation=chosen))


def _link_url(endpoint: str):
    return lambda secret: external_url(endpoint, token=secret)


def _sign_in_fresh(user) -> None:
    """Start a new session for ``user`` (nothing of the previous one survives)."""
    session.clear()
    login_user(user, remember=False)
    session.permanent = True
    refresh_locale()


# --- invitations ---------------------------------------------------------------------------------

def invite_form_for(organisation: Organisation, formdata=None) -> InviteForm:
    """The members page's invitation form; roles beyond member only for administrators."""
    form = InviteForm(formdata=formdata, organisation_id=str(organisation.id))
    if not can_invite(current_user, organisation, Role.STAFF):
        form.role.choices = [c for c in form.role.choices if c[0] == "member"]
    return form


def invite_limit() -> str:
    return current_app.config["SAMSKAP_INVITE_LIMIT"]


def inviter_key() -> str:
    return f"invite:{current_user.id}" if current_user.is_authenticated else f"invite-addr:{request.remote_addr}"


@signin_bp.route("/organisation/members/invite", methods=["POST"])
@login_required
@limiter.shared_limit(invite_limit, scope="invite", key_func=inviter_key)
def invite():
    from accounts.services import organisation_members

    actor = current_user._get_current_object()
    org_id = parse_id(request.form.get("organisation_id", ""))
    organisation = db.session.get(Organisation, org_id) if org_id else None
    if organisation is None:
        abort(404)
    form = invite_form_for(organisation, request.form)
    status = 400
    if form.validate_on_submit():
        try:
            links.invite(actor, {"email": form.email.data, "organisation_id": organisation.id,
                                 "role": form.role.data}, link_url=_link_url("signin.accept_invitation"))
        except PermissionDenied:
            raise  # the error page: 403
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc, {"organisation_id": "email"})
            status = exc.status
        else:
            db.session.commit()
            flash_success(_("The invitation is sent to %(email)s. The link works for 7 days.", email=form.email.data))
            chosen = organisation.id if can_choose_any_organisation(actor) else None
            return redirect(url_for("auth.organisation_members", organisation=chosen))
    members_list = organisation_members(actor, organisation)  # PermissionDenied for anyone else
    return render_template("auth/members.html", organisation=organisation, members=members_list,
                           organisations=[], invite_form=form), status


@signin_bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    link = links.usable_link(token, LinkPurpose.INVITATION)  # unknown, used or expired: 404 page
    session[INVITATION_KEY] = token
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            user = links.accept_invitation(token, {"name": form.name.data, "password": form.password.data,
                                                   "confirm": form.confirm.data}, locale=str(get_locale()))
        except links.LinkInvalid:
            raise
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            _sign_in_fresh(user)
            db.session.commit()
            flash_success(_("Welcome to Samskap, %(name)s.", name=user.name))
            return redirect(url_for("main.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("signin/invitation.html", form=form, link=link), status


# --- password reset ------------------------------------------------------------------------------

def _reset_address_key() -> str:
    return "reset-address:" + (request.form.get("email") or "").strip().lower()[:254]


def _reset_rate_limited(request_limit):
    form = ForgotPasswordForm()
    minutes = max(1, int(request_limit.reset_at - time.time() + 59) // 60)
    form.form_errors.append(_("Too many reset requests. Try again in %(n)d minutes.", n=minutes))
    response = current_app.make_response((render_template("signin/forgot.html", form=form), 429))
    response.headers["Retry-After"] = str(max(1, int(request_limit.reset_at - time.time())))
    return response


@signin_bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SAMSKAP_RESET_LIMIT_ADDRESS"], key_func=_reset_address_key,
               methods=["POST"], on_breach=_reset_rate_limited, scope="reset-address")
@limiter.limit(lambda: current_app.config["SAMSKAP_RESET_LIMIT_CLIENT"], methods=["POST"],
               on_breach=_reset_rate_limited, scope="reset-client")
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        started = time.monotonic()
        titles = {p.name: p.title for p in registry(current_app).listed()}
        links.request_password_reset(form.email.data, link_url=_link_url("signin.reset_password"), sso_titles=titles)
        db.session.commit()
        # Known and unknown addresses get the same page after the same time.
        remaining = current_app.config["SAMSKAP_RESET_MIN_MS"] / 1000 - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)
        return render_template("signin/reset_requested.html")
    status = 400 if request.method == "POST" else 200
    return render_template("signin/forgot.html", form=form), status


@signin_bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    links.usable_link(token, LinkPurpose.PASSWORD_RESET)  # unknown, used or expired: 404 page
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            links.reset_password(token, form.password.data, form.confirm.data)
        except links.LinkInvalid:
            raise
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc, {"password": "password", "confirm": "confirm"})
        else:
            db.session.commit()
            logout_user()
            flash_success(_("Your password is changed, and you are signed out everywhere. Sign in with the new "
                            "password."))
            return redirect(url_for("auth.login"))
    status = 400 if request.method == "POST" else 200
    return render_template("signin/reset.html", form=form), status


def init_app(app) -> None:
    from accounts.signin.oidc import init_oidc

    init_oidc(app)
    app.register_blueprint(signin_bp)
    app.jinja_env.globals["sso_providers"] = lambda: registry(app).listed()
    app.jinja_env.globals["can_manage_member"] = can_manage_member
    app.jinja_env.globals["can_invite_members"] = lambda user, org: can_invite(user, org, Role.MEMBER)
    app.jinja_env.globals["invite_form_for"] = invite_form_for
    app.jinja_env.globals["password_min"] = PASSWORD_MIN

    from accounts.signin import jobs  # noqa: F401  (registers the worker's housekeeping)
    from accounts.signin.api import api_bp
    from samskap.mail import register_security_kind

    app.register_blueprint(api_bp)
    from accounts.signin.cli import sso_check

    app.cli.add_command(sso_check)
    register_security_kind(links.INVITATION_KIND, links.RESET_KIND)
