"""Sign-in, profile and account administration pages."""
from __future__ import annotations

import time
from datetime import timedelta

import sqlalchemy as sa
from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, session,
                   url_for)
from flask_babel import get_locale, gettext as _, refresh as refresh_locale
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from accounts import services
from accounts.forms import (ConfirmForm, LanguageForm, LoginForm, NotificationForm, OrganisationForm, PasswordForm,
                            ProfileForm,
                            TokenForm, UserForm)
from accounts.models import ApiToken, Organisation, User
from accounts.permissions import admin_required
from samskap.errors import DomainError, ValidationFailed
from samskap.ids import parse_id
from accounts.permissions import can_choose_any_organisation
from samskap.extensions import db, limiter
from samskap.timeutil import to_local, utcnow
from samskap.security import safe_next_url
from samskap.web import apply_errors, flash_success

auth_bp = Blueprint("auth", __name__)
admin_bp = Blueprint("admin", __name__, url_prefix="/admin")


# --- sign-in ------------------------------------------------------------------------------

# Failed sign-ins are limited three ways: per account AND address (the owner's own address is
# not locked by someone else's guessing), per account from anywhere (a larger ceiling against
# guessing spread over many addresses) and per address (one address trying many accounts).
# Accounts are keyed on the address as authenticate() looks it up, so other spellings of the
# same address count together.

def _login_identity() -> str:
    return services.sign_in_identity(request.form.get("email"))


def _login_pair_key() -> str:
    return f"login-pair:{_login_identity()}|{get_remote_address()}"


def _login_account_key() -> str:
    return "login-account:" + _login_identity()


def _failed_login(response) -> bool:
    return response.status_code != 302  # a successful sign-in redirects


def _try_again_message(request_limit) -> tuple[str, int]:
    """When the limit ends, for people (a local clock time and minutes) and for Retry-After."""
    seconds = max(1, int(request_limit.reset_at - time.time()))
    minutes = max(1, (seconds + 59) // 60)
    at = to_local(utcnow() + timedelta(seconds=seconds)).strftime("%H:%M")
    return _("Too many failed attempts. Try again at %(time)s (in %(n)d minutes).", time=at, n=minutes), seconds


def _login_rate_limited(request_limit):
    form = LoginForm()
    message, seconds = _try_again_message(request_limit)
    form.form_errors.append(message)
    response = current_app.make_response((render_template("auth/login.html", form=form), 429))
    response.headers["Retry-After"] = str(seconds)
    return response


@auth_bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SAMSKAP_LOGIN_LIMIT_PAIR"], key_func=_login_pair_key,
               methods=["POST"], deduct_when=_failed_login, on_breach=_login_rate_limited,
               scope="login-pair")
@limiter.limit(lambda: current_app.config["SAMSKAP_LOGIN_LIMIT_ACCOUNT"], key_func=_login_account_key,
               methods=["POST"], deduct_when=_failed_login, on_breach=_login_rate_limited,
               scope="login-account")
@limiter.limit(lambda: current_app.config["SAMSKAP_LOGIN_LIMIT_ADDRESS"], methods=["POST"],
               deduct_when=_failed_login, on_breach=_login_rate_limited, scope="login-address")
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next_url(request.args.get("next"))
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            form.form_errors.append(_("Wrong email or password, or the account is deactivated."))
        else:
            session.clear()
            login_user(user, remember=bool(form.remember.data))
            session.permanent = True
            refresh_locale()  # from now on this request speaks the user's own language
            db.session.commit()
            flash_success(_("Signed in as %(name)s.", name=user.name))
            return redirect(safe_next_url(form.next.data) or url_for("main.index"))
    status = 200 if request.method == "GET" else 400 if form.form_errors or form.errors else 200
    return render_template("auth/login.html", form=form), status


@auth_bp.route("/logout", methods=["POST"])
def logout():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    language = str(get_locale())
    if current_user.is_authenticated:
        services.end_sessions(current_user._get_current_object())
        db.session.commit()
    logout_user()
    session.clear()
    session["locale"] = language  # signing out keeps the language the user was reading
    flash_success(_("You are signed out."))
    return redirect(url_for("main.index"))


@auth_bp.route("/language", methods=["POST"])
def set_language():
    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400)
    session["locale"] = form.locale.data
    if current_user.is_authenticated:
        services.update_profile(current_user._get_current_object(), {"locale": form.locale.data})
        db.session.commit()
    return redirect(safe_next_url(form.next.data) or url_for("main.index"))


# --- profile ------------------------------------------------------------------------------

@auth_bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    user = current_user._get_current_object()
    form = ProfileForm(obj=user if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            services.update_profile(user, {"name": form.name.data, "locale": form.locale.data})
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            session["locale"] = user.locale
            db.session.commit()
            flash_success(_("Your profile is saved."))
            return redirect(url_for("auth.profile"))
    return _render_profile(profile_form=form)


@auth_bp.route("/profile/notifications", methods=["POST"])
@login_required
def notification_preferences():
    user = current_user._get_current_object()
    form = NotificationForm()
    if form.validate_on_submit():
        data = {"notify_reminders": form.notify_reminders.data, "reminder_hours": form.reminder_hours.data}
        if user.is_staff:
            data["approval_digest"] = form.approval_digest.data
        try:
            services.update_notification_preferences(user, data)
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash_success(_("Your email choices are saved."))
            return redirect(url_for("auth.profile"))
    return _render_profile(notification_form=form)


def _render_profile(*, profile_form=None, password_form=None, token_form=None, new_token=None, status=None,
                    notification_form=None):
    user = current_user._get_current_object()
    tokens = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
    ).all()
    body = render_template(
        "auth/profile.html",
        # The forms that were not submitted start afresh (formdata=None): otherwise the token's
        # "name" from a token post would show up as the user's name.
        form=profile_form or ProfileForm(formdata=None, obj=user),
        password_form=password_form or PasswordForm(formdata=None),
        token_form=token_form or TokenForm(formdata=None),
        notification_form=notification_form or NotificationForm(formdata=None, obj=user),
        confirm_form=ConfirmForm(),
        tokens=tokens,
        new_token=new_token,
    )
    invalid = any(f is not None and (f.errors or f.form_errors)
                  for f in (profile_form, password_form, token_form, notification_form))
    return body, status or (400 if invalid else 200)


def _password_change_key() -> str:
    return f"password-change:{current_user.get_id() if current_user.is_authenticated else get_remote_address()}"


def _password_change_limited(request_limit):
    form = PasswordForm()
    message, seconds = _try_again_message(request_limit)
    form.form_errors.append(message)
    body, _status = _render_profile(password_form=form)
    response = current_app.make_response((body, 429))
    response.headers["Retry-After"] = str(seconds)
    return response


@auth_bp.route("/profile/password", methods=["POST"])
@login_required
@limiter.limit(lambda: current_app.config["SAMSKAP_PASSWORD_CHANGE_LIMIT"], key_func=_password_change_key,
               deduct_when=_failed_login, on_breach=_password_change_limited, scope="password-change")
def change_password():
    form = PasswordForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        try:
            services.change_password(user, form.current_password.data, form.new_password.data, form.confirm.data)
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            login_user(user)  # keep this session; every other one has ended
            flash_success(_("Your password is changed. You have been signed out everywhere else."))
            return redirect(url_for("auth.profile"))
    return _render_profile(password_form=form)


@auth_bp.route("/profile/tokens", methods=["POST"])
@login_required
def create_token():
    form = TokenForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        try:
            _token, secret = services.create_api_token(user, user, form.name.data or "")
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash_success(_("API token created. Copy it now: it is shown only once."))
            response = current_app.make_response(_render_profile(new_token=secret, status=201))
            response.headers["Cache-Control"] = "no-store"  # the secret must not stay in any cache
            return response
    return _render_profile(token_form=form)


@auth_bp.route("/profile/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    token = db.first_or_404(sa.select(ApiToken).where(ApiToken.id == token_id,
                                                       ApiToken.user_id == current_user.id))
    services.revoke_api_token(current_user._get_current_object(), token)
    db.session.commit()
    flash_success(_("The token is revoked."))
    return redirect(url_for("auth.profile"))


@auth_bp.route("/profile/export.json")
@login_required
def export_data():
    data = services.export_personal_data(current_user._get_current_object())
    response = jsonify(data)
    response.headers["Content-Disposition"] = 'attachment; filename="samskap-my-data.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- an organisation's members --------------------------------------------------------------

def _requested_organisation(user) -> Organisation:
    """The organisation named by ``?organisation=`` (staff and admins may pick any); everyone
    else sees their own, and another organisation is "not found" for them."""
    chosen = request.args.get("organisation", "").strip()
    if not chosen or chosen == str(user.organisation_id):
        return user.organisation
    organisation_id = parse_id(chosen)
    if organisation_id is None:
        if chosen.isascii() and chosen.isdigit():
            abort(404)  # a number, but no organisation can have it
        raise DomainError(_("Choose an organisation from the list."))
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None or not can_choose_any_organisation(user):
        abort(404)
    return organisation


@auth_bp.route("/organisation/members")
@login_required
def organisation_members():
    user = current_user._get_current_object()
    organisation = _requested_organisation(user)
    members = services.organisation_members(user, organisation)  # PermissionDenied: 403 for plain members
    organisations = (db.session.scalars(sa.select(Organisation).order_by(Organisation.name)).all()
                     if can_choose_any_organisation(user) else [])
    return render_template("auth/members.html", organisation=organisation, members=members,
                           organisations=organisations)


# --- administration: organisations and users ------------------------------------------------

@admin_bp.route("/")
@admin_required
def index():
    return render_template("admin/index.html")


@admin_bp.route("/organisations")
@admin_required
def organisations():
    orgs = db.session.scalars(sa.select(Organisation).order_by(Organisation.name)).all()
    counts = dict(db.session.execute(
        sa.select(User.organisation_id, sa.func.count(User.id)).group_by(User.organisation_id)
    ).all())
    return render_template("admin/organisations.html", organisations=orgs, counts=counts)


@admin_bp.route("/organisations/new", methods=["GET", "POST"])
@admin_required
def new_organisation():
    return _organisation_form(None)


@admin_bp.route("/organisations/<int:org_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_organisation(org_id: int):
    return _organisation_form(db.get_or_404(Organisation, org_id))


def _organisation_form(org: Organisation | None):
    form = OrganisationForm(obj=org if request.method == "GET" else None)
    if form.validate_on_submit():
        data = {
            "name": form.name.data,
            "kind": form.kind.data,
            "number": form.number.data,
            "members_share_bookings": form.members_share_bookings.data,
            "active": form.active.data,
            "contact_email": form.contact_email.data,
        }
        actor = current_user._get_current_object()
        try:
            if org is None:
                org = services.create_organisation(actor, data)
            else:
                services.update_organisation(actor, org, data)
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash_success(_("Organisation %(name)s is saved.", name=org.name))
            return redirect(url_for("admin.organisations"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/organisation_form.html", form=form, organisation=org), status


@admin_bp.route("/users")
@admin_required
def users():
    query = sa.select(User).order_by(User.name)
    raw_org = request.args.get("organisation", "").strip()
    org_id = parse_id(raw_org) if raw_org else None
    if raw_org and org_id is None:
        raise DomainError(_("Choose an organisation from the list."))
    if org_id:
        query = query.where(User.organisation_id == org_id)
    return render_template("admin/users.html", users=db.session.scalars(query).all(),
                           organisations=db.session.scalars(sa.select(Organisation).order_by(Organisation.name)).all(),
                           selected_org=org_id)


@admin_bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user():
    return _user_form(None)


@admin_bp.route("/users/<int:user_id>/anonymise", methods=["POST"])
@admin_required
def anonymise_user(user_id: int):
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    user = db.get_or_404(User, user_id)
    try:
        services.anonymise_user(current_user._get_current_object(), user)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.edit_user", user_id=user_id))
    db.session.commit()
    flash_success(_("The user is anonymised. Their bookings are kept without personal data."))
    return redirect(url_for("admin.users"))


AUDIT_PAGE_SIZE = 50


@admin_bp.route("/audit")
@admin_required
def audit_log():
    """The audit log as sentences in the reader's language; ``?format=json`` gives the same
    entries raw (as stored: codes, ids, UTC times), for export."""
    from accounts.audit_log import AuditSearch, object_types, search
    from samskap.audit_text import action_choices, describe, object_type_label

    filters = {key: request.args.get(key, "").strip()
               for key in ("action", "actor", "object_type", "object_id", "from", "to", "page")}
    raw = request.args.get("format") == "json"
    choices = {"object_types": [(t, object_type_label(t)) for t in object_types()], "actions": action_choices()}
    try:
        result = search(AuditSearch.from_args(filters), page_size=AUDIT_PAGE_SIZE)
    except ValidationFailed as exc:
        if raw:
            raise
        return render_template("admin/audit.html", lines=[], filters=filters, errors=list(exc.fields.values()),
                               page=1, has_next=False, **choices), 400
    if raw:
        return jsonify({"entries": [_raw_entry(e) for e in result.entries], "page": result.page,
                        "has_next": result.has_next})
    return render_template("admin/audit.html", lines=describe(result.entries), filters=filters, errors=[],
                           page=result.page, has_next=result.has_next, **choices)


def _raw_entry(entry) -> dict:
    return {"id": entry.id, "at": entry.at.isoformat(), "actor_id": entry.actor_id,
            "actor": entry.actor.name if entry.actor else None, "action": entry.action,
            "object_type": entry.object_type, "object_id": entry.object_id, "changes": entry.changes,
            "summary": entry.summary}


@admin_bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int):
    return _user_form(db.get_or_404(User, user_id))


def _user_form(user: User | None):
    form = UserForm(obj=user if request.method == "GET" else None)
    if request.method == "GET" and user is not None:
        form.role.data = user.role.value
    form.organisation_id.choices = [
        (o.id, o.name) for o in db.session.scalars(sa.select(Organisation).order_by(Organisation.name))
    ]
    if form.validate_on_submit():
        data = {
            "email": form.email.data,
            "name": form.name.data,
            "organisation_id": form.organisation_id.data,
            "role": form.role.data,
            "is_org_contact": form.is_org_contact.data,
            "locale": form.locale.data,
            "active": form.active.data,
        }
        actor = current_user._get_current_object()
        try:
            if user is None:
                data["password"] = form.password.data
                user = services.create_user(actor, data)
            else:
                services.update_user(actor, user, data)
        except DomainError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash_success(_("User %(email)s is saved.", email=user.email))
            return redirect(url_for("admin.users"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/user_form.html", form=form, user=user), status


def _register_navigation():
    from flask_babel import lazy_gettext as _l
    from samskap.nav import register_admin_link, register_nav

    register_nav("auth.organisation_members", _l("Members"), "org_contact", 65)
    register_nav("admin.index", _l("Administration"), "admin", 90)
    register_admin_link("admin.organisations", _l("Organisations"), 10)
    register_admin_link("admin.users", _l("Users"), 20)
    register_admin_link("admin.audit_log", _l("Audit log"), 80)


_register_navigation()


def _register_audit_names():
    """How the audit log names organisations, users and tokens, and reads their values."""
    from samskap.audit_text import ObjectRef, register_audit_object, register_audit_value
    from accounts.forms import KIND_LABELS, ROLE_LABELS

    def organisations(ids):
        rows = db.session.execute(sa.select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids)))
        return {i: ObjectRef(name, url_for("admin.edit_organisation", org_id=i)) for i, name in rows}

    def users(ids):
        rows = db.session.execute(sa.select(User.id, User.name).where(User.id.in_(ids)))
        return {i: ObjectRef(name, url_for("admin.edit_user", user_id=i)) for i, name in rows}

    def tokens(ids):
        rows = db.session.execute(sa.select(ApiToken.id, ApiToken.name).where(ApiToken.id.in_(ids)))
        return {i: ObjectRef(name or f"#{i}") for i, name in rows}

    def organisation_name(value):
        return db.session.scalar(sa.select(Organisation.name).where(Organisation.id == int(value))) or f"#{value}"

    register_audit_object("organisations", organisations)
    register_audit_object("users", users)
    register_audit_object("api_tokens", tokens)
    register_audit_value("organisation_id", organisation_name)
    register_audit_value("role", lambda value: str(ROLE_LABELS[value]))
    register_audit_value("kind", lambda value: str(KIND_LABELS[value]), object_type="organisations")
    register_audit_value("bookable_by[]", lambda value: str(KIND_LABELS[value]))


_register_audit_names()
from accounts import outbox_views  # noqa: E402,F401 (the outbox page, on the admin blueprint)
