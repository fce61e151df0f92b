"""Language and time zone selection, and the Jinja filters that format for the locale."""
from __future__ import annotations

from datetime import datetime, time
from pathlib import Path

from flask import current_app, has_request_context, request, session
from flask_babel import format_date, format_datetime, format_time, get_locale
from flask_login import current_user

from samskap.extensions import babel
from samskap.timeutil import local_tz, to_local


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return "en"  # the operator CLI and background work speak English
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    best = request.accept_languages.best_match(["nb", "no", "nn", "en"])
    if best in ("nb", "no", "nn"):
        return "nb"
    if best == "en":
        return "en"
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["SAMSKAP_TIMEZONE"]


def translation_directories(root: str) -> str:
    """Every area's catalogue (translations/<area>/nb/...), merged by Flask-Babel."""
    areas = sorted(p for p in Path(root, "translations").iterdir() if p.is_dir())
    return ";".join(str(p) for p in areas)


def register_i18n(app) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", translation_directories(app.root_path))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    app.add_template_filter(local_datetime_text, "localdt")

    @app.template_filter("localdate")
    def localdate(value, fmt="medium"):
        if value is None:
            return ""
        if hasattr(value, "tzinfo") and getattr(value, "hour", None) is not None:
            try:
                value = to_local(value)
            except OverflowError:
                value = value.date()  # shown as the UTC date
        return format_date(value, _date_pattern(fmt))

    @app.template_filter("localtime")
    def localtime(value):
        """HH:mm (24-hour, the same in every language): strftime gives what Babel's "HH:mm" gives,
        at a fraction of the cost, which counts in the grids with hundreds of cells."""
        if value is None:
            return ""
        try:
            if isinstance(value, datetime):
                return to_local(value).strftime("%H:%M") if value.tzinfo is not None else format_time(value, "HH:mm")
            if isinstance(value, time):
                return value.strftime("%H:%M")
            return format_time(value, "HH:mm")
        except OverflowError:  # an instant at the very end of the calendar: shown in UTC
            return value.strftime("%H:%M") + " UTC"

    @app.context_processor
    def inject_locale():
        return {"current_locale": str(get_locale() or "nb"), "site_tz": local_tz().key}


def local_datetime_text(value, fmt="medium") -> str:
    """Date and time in the site's time zone, formatted for the current language ("man. 23. nov.
    10:00" in nb with ``fmt="day"``): the ``localdt`` filter, and for messages that name a time."""
    if value is None:
        return ""
    try:
        return format_datetime(value, _pattern(fmt))
    except OverflowError:
        # An instant so close to the end of the calendar (year 9999) that local time would be
        # past it cannot be converted; such a row is shown in UTC rather than failing the page.
        return format_datetime(value, _pattern(fmt), rebase=False) + " UTC"


def _pattern(fmt: str) -> str:
    locale = str(get_locale() or "nb")
    if fmt == "short":
        return "dd.MM.yyyy HH:mm" if locale == "nb" else "d MMM yyyy HH:mm"
    if fmt == "day":
        return "EEE d. MMM HH:mm" if locale == "nb" else "EEE d MMM HH:mm"
    return "EEE d. MMM yyyy 'kl.' HH:mm" if locale == "nb" else "EEE d MMM yyyy, HH:mm"


def _date_pattern(fmt: str) -> str:
    locale = str(get_locale() or "nb")
    if fmt == "short":
        return "dd.MM.yyyy" if locale == "nb" else "d MMM yyyy"
    return "EEE d. MMM yyyy" if locale == "nb" else "EEE d MMM yyyy"


def duration_text(minutes: int) -> str:
    """A length as people say it, in the reader's language: "21 days", "8 hours", "1 hour 30
    minutes", "2 days 4 hours" (limits are stored in minutes; nobody thinks in 30240 minutes)."""
    from flask_babel import gettext as _

    minutes = int(minutes)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        parts.append(_("1 day") if days == 1 else _("%(num)d days", num=days))
    if hours:
        parts.append(_("1 hour") if hours == 1 else _("%(num)d hours", num=hours))
    if minutes or not parts:
        parts.append(_("1 minute") if minutes == 1 else _("%(num)d minutes", num=minutes))
    return " ".join(parts)


def date_text(value) -> str:
    """A date in words of the reader's language, with the year: "9. desember 2036", "9 December 2036"."""
    locale = str(get_locale() or "nb")
    return format_date(value, "d. MMMM yyyy" if locale == "nb" else "d MMMM yyyy")


def day_range_text(start, end) -> str:
    """The local days a period covers, short and in the reader's language: "3.–10. des." /
    "3–10 Dec", "28. nov.–3. des." / "28 Nov–3 Dec"; with the year when it is not this year.
    A period ending at midnight ends on the day before."""
    from datetime import timedelta

    from samskap.timeutil import utcnow

    locale = str(get_locale() or "nb")
    first = to_local(start).date()
    last_moment = to_local(end)
    last = last_moment.date() - timedelta(days=1) if last_moment.time() == time(0) and last_moment.date() > first \
        else last_moment.date()
    this_year = to_local(utcnow()).year
    nb = locale == "nb"
    day_month = "d. MMM" if nb else "d MMM"
    with_year = day_month + ("" if first.year == last.year == this_year else " yyyy")
    if first == last:
        return format_date(first, with_year)
    if (first.year, first.month) == (last.year, last.month):
        return format_date(first, "d." if nb else "d") + "–" + format_date(last, with_year)
    if first.year == last.year:
        return format_date(first, day_month) + "–" + format_date(last, with_year)
    return format_date(first, day_month + " yyyy") + "–" + format_date(last, day_month + " yyyy")
