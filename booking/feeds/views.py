"""The "Calendar feeds" page, the feeds themselves and one booking as an .ics file."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from accounts.forms import ConfirmForm
from booking.feeds import services
from booking.feeds.cache import BuiltFeed, built_feed, generation_for_cache
from booking.feeds.calendar import FeedOrigin, build_feed, build_single
from booking.feeds.forms import FeedForm
from booking.permissions import sees_every_booking
from samskap.errors import DomainError
from samskap.extensions import db
from samskap.timeutil import local_tz, utcnow
from samskap.web import apply_errors, flash_success

feeds_bp = Blueprint("feeds", __name__)

# One fixed answer for every token that opens nothing: unknown, malformed or revoked
# tokens and deactivated owners cannot be told apart.
NOT_FOUND_BODY = b"Not found\n"


# --- helpers shared with the API ---------------------------------------------------------------

def site() -> FeedOrigin:
    """Host and base URL from SAMSKAP_BASE_URL (the request's when unset)."""
    base = (current_app.config.get("SAMSKAP_BASE_URL") or request.url_root).rstrip("/")
    host = urlsplit(base).hostname or request.host.split(":")[0]
    return FeedOrigin(host=host, base_url=base, address=current_app.config.get("SAMSKAP_ADDRESS") or "",
                tzid=local_tz().key)


def feed_urls(token: str) -> dict:
    """The subscription URL in its https (or configured) form and its webcal:// form."""
    url = site().base_url + url_for("feeds.feed", token=token)
    return {"url": url, "webcal_url": "webcal://" + url.split("://", 1)[1]}


def feed_clock() -> datetime:
    """The instant a feed is built for: its window and the last-used touch."""
    return utcnow()


def _calendar_response(built: BuiltFeed, *, cache: str) -> Response:
    response = Response(built.body, mimetype="text/calendar")  # Flask adds "; charset=utf-8"
    response.set_etag(built.etag)
    if built.watermark is not None:
        last_modified = built.watermark.replace(microsecond=0)
        # HTTP dates have whole seconds. While the watermark's second is still running, another
        # change could follow within it and get the same date, hiding it from a client that
        # revalidates by date only (Apple). Such a date is not sent yet; the ETag still works.
        if utcnow() >= last_modified + timedelta(seconds=1):
            response.last_modified = last_modified
    response.headers["Cache-Control"] = cache
    response.headers["Referrer-Policy"] = "no-referrer"  # a token URL is never passed on
    # No compression on this route: Outlook's subscriptions fail on gzip-encoded feeds.
    return response.make_conditional(request)


def _not_found() -> Response:
    response = Response(NOT_FOUND_BODY, status=404, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the feeds page ----------------------------------------------------------------------------

def _feed_form(user, *, fresh: bool = False) -> FeedForm:
    """The create form; ``fresh`` leaves out what was just posted (after a feed is made)."""
    from booking.projects.services import list_projects
    from spaces.models import EquipmentType, Space

    form = FeedForm(formdata=None) if fresh else FeedForm()
    form.set_choices(
        staff=sees_every_booking(user),
        spaces=db.session.scalars(sa.select(Space).where(Space.active.is_(True)).order_by(Space.name)),
        equipment_types=db.session.scalars(sa.select(EquipmentType).where(EquipmentType.active.is_(True))
                                           .order_by(EquipmentType.name)),
        projects=list_projects(user),
    )
    return form


def _render_page(form: FeedForm, *, new_urls: dict | None = None, status: int = 200):
    user = current_user._get_current_object()
    body = render_template("feeds/index.html", form=form, feeds=services.list_feeds(user),
                           scope_label=services.scope_label, new_urls=new_urls, confirm_form=ConfirmForm(),
                           public_urls=_public_urls())
    return body, status


def _public_urls() -> dict:
    url = site().base_url + url_for("feeds.public_feed")
    return {"url": url, "webcal_url": "webcal://" + url.split("://", 1)[1]}


@feeds_bp.route("/feeds", methods=["GET", "POST"])
@login_required
def index():
    user = current_user._get_current_object()
    form = _feed_form(user)
    if request.method == "GET":
        return _render_page(form)
    if not form.validate_on_submit():
        return _render_page(form, status=400)
    try:
        feed, token = services.create_feed(user, form.scope.data, space_id=form.space_id.data or None,
                                           equipment_type_id=form.equipment_id.data or None,
                                           project_id=form.project_id.data or None, name=form.name.data)
    except DomainError as exc:
        db.session.rollback()
        apply_errors(form, exc)
        return _render_page(form, status=exc.status)
    db.session.commit()
    # The token is not stored: this page is the only time its URL can be shown.
    flash_success(_("Your feed is ready. Copy its address now: it is shown only once."))
    response = make_response(_render_page(_feed_form(user, fresh=True), new_urls=feed_urls(token)))
    response.headers["Cache-Control"] = "no-store"  # the address holds the secret token
    return response


@feeds_bp.route("/feeds/<int:feed_id>/revoke", methods=["POST"])
@login_required
def revoke(feed_id: int):
    if not ConfirmForm().validate_on_submit():
        flash(_("The form had expired. Please try again."), "error")
        return redirect(url_for("feeds.index"))
    services.revoke_feed(current_user._get_current_object(), feed_id)
    db.session.commit()
    flash_success(_("The feed is revoked: its address no longer works."))
    return redirect(url_for("feeds.index"))


# --- the feeds themselves ----------------------------------------------------------------------

def _built(slot, contents: Callable[[], services.FeedContents], *, generation: int | None, now: datetime,
           locale: str, key: tuple) -> BuiltFeed:
    """The feed's text, from the per-process cache while nothing it shows has changed.

    ``key`` holds everything besides the database rows that the text depends on; the rows are
    covered by the feed generation (booking/feeds/cache.py)."""
    where = site()

    def build():
        with force_locale(locale):
            shown = contents()
            return build_feed(shown, where), shown.watermark

    return built_feed(slot, (key, locale, where, services.FeedPeriod.around(now).anchor), generation, build)


def _asked_language() -> str:
    """The public feed's language: ``?lang=nb`` or ``?lang=en``, else the visitor's language
    (their choice on the site, or their browser's Accept-Language), else the site's default."""
    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang", "").strip().lower()
    if asked in languages:
        return asked
    from flask_babel import get_locale

    locale = str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
    return locale if locale in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


@feeds_bp.route("/feeds/public.ics")
def public_feed():
    generation = generation_for_cache()
    now = feed_clock()
    built = _built("public", lambda: services.public_contents(now), generation=generation, now=now,
                   locale=_asked_language(), key=())
    response = _calendar_response(built, cache="public, no-cache")
    response.vary.add("Accept-Language")  # the calendar's name and description follow the language
    return response


@feeds_bp.route("/feeds/<token>.ics")
def feed(token: str):
    generation = generation_for_cache()  # before the token, owner and organisation are loaded
    now = feed_clock()
    feed = services.feed_for_token(token, now)
    if feed is None:
        return _not_found()
    touched = db.session.is_modified(feed)
    owner = feed.owner
    built = _built(("feed", feed.id), lambda: services.feed_contents(feed, now), generation=generation, now=now,
                   locale=owner.locale, key=services.feed_cache_key(feed))
    if touched:
        db.session.commit()  # the hourly last-used touch; otherwise a fetch writes nothing
    return _calendar_response(built, cache="private, no-cache")


@feeds_bp.route("/bookings/<int:booking_id>.ics")
@login_required
def booking_ics(booking_id: int):
    booking = services.booking_for_download(current_user._get_current_object(), booking_id)
    response = Response(build_single(booking, site()), mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="booking-{booking.id}.ics"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
