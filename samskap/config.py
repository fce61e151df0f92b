"""Configuration read from environment variables, with safe development defaults.

A missing ``SECRET_KEY`` is a loud failure outside debug/testing; in debug a
development key is generated once into ``instance/`` (never used in production).
"""
import os
import secrets
from datetime import timedelta
from pathlib import Path

from limits import parse_many


class ConfigError(RuntimeError):
    """A setting missing or malformed: the app refuses to start and names it."""


def _bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isascii() or not value.isdigit():
        raise ConfigError(f"{name} must be a whole number, not {value!r}")
    return int(value)


def _seconds(name, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 86400:
        raise ConfigError(f"{name} must be a number of seconds from 0 to 86399, not {value!r}")
    return seconds


def _limit(name, default: str) -> str:
    """A rate limit such as "5 per 15 minutes" (several joined by ';'), checked at start-up: a
    malformed one would otherwise be skipped, request by request, leaving its route unlimited."""
    value = (os.environ.get(name) or "").strip() or default
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{name} must be a rate limit such as '10 per hour', not {value!r}") from None
    return value


def _choice(name, choices: tuple[str, ...], default: str) -> str:
    value = (os.environ.get(name) or default).strip().lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def base_config(instance_path: str) -> dict:
    sqlite_path = Path(instance_path) / "samskap.sqlite3"
    return {
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL") or f"sqlite:///{sqlite_path}",
        # PostgreSQL: a pooled connection idle this many seconds or more is pinged before use; one
        # used more recently is not (samskap/database.py). 0 pings on every checkout.
        "SAMSKAP_DB_PING_AFTER_IDLE": _seconds("SAMSKAP_DB_PING_AFTER_IDLE", 1.0),
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
        "SAMSKAP_TIMEZONE": os.environ.get("SAMSKAP_TIMEZONE", "Europe/Oslo"),
        "SAMSKAP_SITE_NAME": os.environ.get("SAMSKAP_SITE_NAME", "Samskap"),
        "SAMSKAP_ADDRESS": os.environ.get(
            "SAMSKAP_ADDRESS", "Helseinn, Teknologivegen 22, 2815 Gjøvik"
        ),
        "SAMSKAP_BASE_URL": os.environ.get("SAMSKAP_BASE_URL"),
        # Single sign-on: path to the JSON list of OpenID Connect providers (accounts/signin/oidc.py).
        "SAMSKAP_OIDC_PROVIDERS": os.environ.get("SAMSKAP_OIDC_PROVIDERS") or None,
        # Whom people are told to write to when they cannot get in (refused sign-in, expired link).
        "SAMSKAP_CONTACT_EMAIL": os.environ.get("SAMSKAP_CONTACT_EMAIL") or None,
        # Password reset requests: per address and per client; every answer takes at least this long
        # (milliseconds), so that timing does not tell whether an address has an account.
        "SAMSKAP_RESET_LIMIT_ADDRESS": _limit("SAMSKAP_RESET_LIMIT_ADDRESS", "3 per hour"),
        "SAMSKAP_RESET_LIMIT_CLIENT": _limit("SAMSKAP_RESET_LIMIT_CLIENT", "20 per hour"),
        "SAMSKAP_RESET_MIN_MS": _int("SAMSKAP_RESET_MIN_MS", 400),
        "SAMSKAP_GUEST_DATA_LIMIT_ADDRESS": _limit("SAMSKAP_GUEST_DATA_LIMIT_ADDRESS", "3 per hour"),
        "SAMSKAP_GUEST_DATA_LIMIT_CLIENT": _limit("SAMSKAP_GUEST_DATA_LIMIT_CLIENT", "10 per hour"),
        "SAMSKAP_GUEST_DATA_MIN_MS": _int("SAMSKAP_GUEST_DATA_MIN_MS", 400),
        # Invitations one person may send (the members page and the API together).
        "SAMSKAP_INVITE_LIMIT": _limit("SAMSKAP_INVITE_LIMIT", "50 per day"),
        "SAMSKAP_REGISTRATION_LIMIT": _limit("SAMSKAP_REGISTRATION_LIMIT", "10 per hour"),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        # Redis down: every limit carries on counting in the process's memory (sign-in stays limited,
        # per process) until Redis answers again; an error in the moment it goes is logged, not a 500.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": _bool("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True),
        "RATELIMIT_SWALLOW_ERRORS": _bool("RATELIMIT_SWALLOW_ERRORS", True),
        # Failed sign-ins: per account and address pair, per account from anywhere, per address.
        "SAMSKAP_LOGIN_LIMIT_PAIR": _limit("SAMSKAP_LOGIN_LIMIT_PAIR", "5 per 15 minutes"),
        "SAMSKAP_LOGIN_LIMIT_ACCOUNT": _limit("SAMSKAP_LOGIN_LIMIT_ACCOUNT", "50 per 15 minutes"),
        "SAMSKAP_LOGIN_LIMIT_ADDRESS": _limit("SAMSKAP_LOGIN_LIMIT_ADDRESS", "20 per 15 minutes"),
        "SAMSKAP_PASSWORD_CHANGE_LIMIT": _limit("SAMSKAP_PASSWORD_CHANGE_LIMIT", "5 per 15 minutes"),
        "SAMSKAP_API_LIMIT": _limit("SAMSKAP_API_LIMIT", "600 per minute"),
        "BABEL_DEFAULT_LOCALE": "nb",
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("SAMSKAP_TIMEZONE", "Europe/Oslo"),
        "LANGUAGES": ("nb", "en"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", True),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", True),
        "REMEMBER_COOKIE_DURATION": timedelta(days=14),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session, which already expires
        "MAIL_SERVER": os.environ.get("MAIL_SERVER"),
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": _bool("MAIL_USE_SSL", False),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "samskap@localhost"),
        # The worker (samskap/worker.py): reminders, and how it retries the outbox.
        "SAMSKAP_REMINDER_HOURS": _int("SAMSKAP_REMINDER_HOURS", 24),
        "SAMSKAP_REGISTRATION_NEEDS_DAYS": _int("SAMSKAP_REGISTRATION_NEEDS_DAYS", 30),
        # Fair use: how long a freed slot is held for the first person on its waitlist.
        "SAMSKAP_WAITLIST_HOLD_MINUTES": _int("SAMSKAP_WAITLIST_HOLD_MINUTES", 30),
        "SAMSKAP_MAIL_MAX_ATTEMPTS": _int("SAMSKAP_MAIL_MAX_ATTEMPTS", 10),
        "SAMSKAP_MAIL_BACKOFF_SECONDS": _int("SAMSKAP_MAIL_BACKOFF_SECONDS", 30),
        "SAMSKAP_MAIL_LEASE_SECONDS": _int("SAMSKAP_MAIL_LEASE_SECONDS", 300),
        "SAMSKAP_HSTS": _bool("SAMSKAP_HSTS", True),
        # How many reverse proxies (setting X-Forwarded-For/-Proto/-Host) stand in front of the app.
        "SAMSKAP_PROXY_COUNT": _int("SAMSKAP_PROXY_COUNT", 0),
        # Built calendar feeds kept per process (booking/feeds/cache.py); 0 turns the cache off.
        "SAMSKAP_FEED_CACHE_BYTES": _int("SAMSKAP_FEED_CACHE_BYTES", 64 * 1024 * 1024),
        # Operations (issue 22): built feeds shared by every host (Redis), /metrics, log format.
        "SAMSKAP_CACHE_URL": os.environ.get("SAMSKAP_CACHE_URL") or None,
        "SAMSKAP_CACHE_PREFIX": os.environ.get("SAMSKAP_CACHE_PREFIX") or None,
        "SAMSKAP_METRICS_TOKEN": os.environ.get("SAMSKAP_METRICS_TOKEN") or None,
        "SAMSKAP_LOG_FORMAT": _choice("SAMSKAP_LOG_FORMAT", ("text", "json"), "text"),
    }


def finalise(app) -> None:
    """Fill in what depends on debug/testing mode and refuse unsafe production setups."""
    if app.config.get("SECRET_KEY"):
        return
    if app.debug or app.testing:
        key_file = Path(app.instance_path) / "dev-secret-key"
        key_file.parent.mkdir(parents=True, exist_ok=True)
        if not key_file.exists():
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        app.config["SECRET_KEY"] = key_file.read_text().strip()
        # Development over plain http on 127.0.0.1: cookies cannot be Secure there.
        app.config["SESSION_COOKIE_SECURE"] = False
        app.config["REMEMBER_COOKIE_SECURE"] = False
        app.config["SAMSKAP_HSTS"] = False
        return
    raise ConfigError(
        "SECRET_KEY must be set in production (or run with --debug for development)."
    )
