"""Pages for people without an account to see, download and erase their data: ask for the link
(``/my-data``), the page behind it, its JSON download, and the erase button. The rules are in
:mod:`booking.registrations.guest_data`."""
from __future__ import annotations

import json
import time
from functools import wraps

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _

from booking.registrations import guest_data
from booking.registrations.forms import ConfirmForm, GuestDataForm
from samskap.errors import DomainError, ValidationFailed
from samskap.extensions import db, limiter
from samskap.web import apply_errors, flash_success

guest_data_bp = Blueprint("guest_data", __name__)


def address_limit() -> str:
    return current_app.config["SAMSKAP_GUEST_DATA_LIMIT_ADDRESS"]


def client_limit() -> str:
    return current_app.config["SAMSKAP_GUEST_DATA_LIMIT_CLIENT"]


def _address_key() -> str:
    return "guest-data-address:" + (request.form.get("email") or "").strip().lower()[:254]


def _client_key() -> str:
    return f"guest-data-client:{request.remote_addr}"


def _rate_limited(request_limit):
    form = GuestDataForm()
    minutes = max(1, int(request_limit.reset_at - time.time() + 59) // 60)
    form.form_errors.append(_("Too many requests. Try again in %(n)d minutes.", n=minutes))
    response = make_response(render_template("guest_data/request.html", form=form), 429)
    response.headers["Retry-After"] = str(max(1, int(request_limit.reset_at - time.time())))
    return response


def _link_url(token: str) -> str:
    base = current_app.config.get("SAMSKAP_BASE_URL")
    if base:
        return base.rstrip("/") + url_for("guest_data.data_page", token=token)
    return url_for("guest_data.data_page", token=token, _external=True)


@guest_data_bp.route("/my-data", methods=["GET", "POST"])
@limiter.limit(address_limit, key_func=_address_key, methods=["POST"], on_breach=_rate_limited,
               scope="guest-data-address")
@limiter.limit(client_limit, key_func=_client_key, methods=["POST"], on_breach=_rate_limited,
               scope="guest-data-client")
def request_page():
    form = GuestDataForm()
    status = 200
    if form.validate_on_submit():
        started = time.monotonic()
        try:
            guest_data.request_link(form.email.data, locale=str(get_locale() or "nb"), link_url=_link_url)
        except ValidationFailed as exc:  # a malformed address: the same for everyone who types it
            db.session.rollback()
            apply_errors(form, exc)
            status = 422
        else:
            db.session.commit()
            # Known and unknown addresses get the same page after the same time.
            remaining = current_app.config["SAMSKAP_GUEST_DATA_MIN_MS"] / 1000 - (time.monotonic() - started)
            if remaining > 0:
                time.sleep(remaining)
            return render_template("guest_data/requested.html")
    elif request.method == "POST":
        status = 422
    return render_template("guest_data/request.html", form=form), status


def _private(response):
    response.headers["Cache-Control"] = "no-store"  # a personal page behind a secret link
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _link_refused(error: DomainError):
    db.session.rollback()
    return _private(make_response(render_template("guest_data/link.html", error=error,
                                                  expired=isinstance(error, guest_data.LinkExpired)),
                                  error.status))


def _with_address(view):
    """The view gets the address its link was made for; a link that is not one answers its page."""
    @wraps(view)
    def resolved(token: str):
        try:
            email = guest_data.address_of(token)
        except DomainError as exc:
            return _link_refused(exc)
        return view(token, email)
    return resolved


@guest_data_bp.get("/my-data/<token>")
@_with_address
def data_page(token: str, email: str):
    account = guest_data.has_account(email)
    return _private(make_response(render_template(
        "guest_data/data.html", token=token, email=email, account=account, form=ConfirmForm(),
        registrations=[] if account else guest_data.registration_rows(email),
        entries=[] if account else guest_data.guest_entry_rows(email))))


@guest_data_bp.get("/my-data/<token>/download")
@_with_address
def download(token: str, email: str):
    if guest_data.has_account(email):
        return redirect(url_for("guest_data.data_page", token=token), 303)
    body = json.dumps(guest_data.export(email), ensure_ascii=False, indent=2)
    response = make_response(body, 200)
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="samskap-my-data.json"'
    return _private(response)


@guest_data_bp.post("/my-data/<token>/erase")
def erase(token: str):
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _link_refused(guest_data.LinkTampered(_("The form has expired. Open the link in the email again.")))
    try:
        email = guest_data.address_of(token)
        counts = guest_data.erase(email)
    except DomainError as exc:
        return _link_refused(exc)
    db.session.commit()
    flash_success(_("Your data is erased: %(cancelled)d registrations cancelled, %(registrations)d registrations "
                    "and %(entries)d guest entries anonymised.", cancelled=counts["registrations_cancelled"],
                    registrations=counts["registrations_anonymised"], entries=counts["guest_entries_anonymised"]))
    return redirect(url_for("guest_data.data_page", token=token), 303)
