"""OpenID Connect providers: the file named by ``SAMSKAP_OIDC_PROVIDERS``, checked when the app
starts, and one Authlib client per provider (authorization code flow with PKCE, ``state`` and
``nonce``; the provider's settings come from its discovery document).

The file is a JSON list of
``{"name", "title", "issuer", "client_id", "client_secret", "scopes", "rules"}``; a broken file
stops the app with a message that names the provider and the field.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from accounts.models import Role
from accounts.signin.rules import GRANTABLE_ROLES, OPERATORS, Rule
from samskap.config import ConfigError

SETTING = "SAMSKAP_OIDC_PROVIDERS"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
PROVIDER_KEYS = {"name", "title", "issuer", "client_id", "client_secret", "scopes", "rules"}
RULE_KEYS = {"claim", "organisation", "role", *OPERATORS}
HTTP_TIMEOUT_SECONDS = 10
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class Provider:
    name: str
    title: str
    issuer: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    rules: tuple[Rule, ...] = field(default_factory=tuple)

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def _fail(where: str, message: str):
    raise ConfigError(f"{SETTING}: {where}: {message}")


def _text(entry: dict, key: str, where: str, *, max_length: int = 500) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        _fail(where, f"'{key}' must be a non-empty string")
    if len(value) > max_length:
        _fail(where, f"'{key}' is longer than {max_length} characters")
    return value.strip()


def _issuer(entry: dict, where: str) -> str:
    issuer = _text(entry, "issuer", where)
    parts = urlsplit(issuer)
    # Plain http only for a provider on this machine (development and the test suite).
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOCAL_HOSTS):
        _fail(where, f"'issuer' must be an https URL, not {issuer!r}")
    if not parts.hostname or parts.query or parts.fragment:
        _fail(where, f"'issuer' must be a URL without query or fragment, not {issuer!r}")
    return issuer


def _scopes(entry: dict, where: str) -> tuple[str, ...]:
    raw = entry.get("scopes", ["openid", "email", "profile"])
    if isinstance(raw, str):
        raw = raw.split()
    if not isinstance(raw, list) or not all(isinstance(s, str) and s and " " not in s for s in raw):
        _fail(where, "'scopes' must be a list of scope names, such as [\"openid\", \"email\", \"profile\"]")
    if "openid" not in raw:
        _fail(where, "'scopes' must include \"openid\"")
    return tuple(dict.fromkeys(raw))


def _rule(entry, where: str) -> Rule:
    if not isinstance(entry, dict):
        _fail(where, "a rule must be an object {\"claim\", \"equals\"|\"endswith\"|\"contains\", "
                     "\"organisation\", \"role\"}")
    unknown = sorted(set(entry) - RULE_KEYS)
    if unknown:
        _fail(where, f"unknown key(s) {', '.join(map(repr, unknown))}; a rule has claim, one of "
                     f"{'/'.join(OPERATORS)}, organisation and role")
    operators = [op for op in OPERATORS if op in entry]
    if len(operators) != 1:
        _fail(where, f"a rule needs exactly one of {', '.join(OPERATORS)}")
    operator = operators[0]
    value = entry[operator]
    if not isinstance(value, str) or not value:
        _fail(where, f"'{operator}' must be a non-empty string")
    role_text = entry.get("role", "member")
    if role_text not in [r.value for r in GRANTABLE_ROLES]:
        _fail(where, f"'role' must be \"member\" or \"staff\", not {role_text!r} (single sign-on never "
                     "grants administrator rights)")
    return Rule(claim=_text(entry, "claim", where, max_length=100), operator=operator, value=value,
                organisation=_text(entry, "organisation", where, max_length=200), role=Role(role_text))


def parse_providers(data, source: str = SETTING) -> tuple[Provider, ...]:
    """Validate the providers' list; raises ConfigError naming the provider and the field."""
    if not isinstance(data, list):
        raise ConfigError(f"{SETTING} ({source}): the file must hold a JSON list of providers")
    providers, names = [], set()
    for index, entry in enumerate(data, start=1):
        where = f"provider {index}"
        if not isinstance(entry, dict):
            _fail(where, "must be an object")
        if isinstance(entry.get("name"), str):
            where = f"provider {index} ({entry['name']!r})"
        unknown = sorted(set(entry) - PROVIDER_KEYS)
        if unknown:
            _fail(where, f"unknown key(s) {', '.join(map(repr, unknown))}")
        name = _text(entry, "name", where, max_length=64)
        if not NAME_PATTERN.match(name):
            _fail(where, "'name' may hold only lower-case letters, digits, '-' and '_' (it is part of the URL)")
        if name in names:
            _fail(where, f"the name {name!r} is used twice")
        names.add(name)
        rules = entry.get("rules")
        if not isinstance(rules, list) or not rules:
            _fail(where, "'rules' must be a non-empty list (without rules nobody could sign in)")
        providers.append(Provider(
            name=name, title=_text(entry, "title", where, max_length=100), issuer=_issuer(entry, where),
            client_id=_text(entry, "client_id", where), client_secret=_text(entry, "client_secret", where),
            scopes=_scopes(entry, where),
            rules=tuple(_rule(rule, f"{where}, rule {n}") for n, rule in enumerate(rules, start=1))))
    return tuple(providers)


def load_providers(setting) -> tuple[Provider, ...]:
    """The providers named by the setting: a path to the JSON file, a list (tests), or nothing."""
    if not setting:
        return ()
    if isinstance(setting, (list, tuple)):
        return parse_providers(list(setting), "configuration")
    path = Path(str(setting))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{SETTING}: cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{SETTING}: {path} is not valid JSON: {exc}") from None
    return parse_providers(data, str(path))


class ProviderRegistry:
    """The app's providers and their Authlib clients (discovery is fetched on first use and kept)."""

    def __init__(self, app, providers: tuple[Provider, ...]):
        from authlib.integrations.flask_client import OAuth

        self.providers = {p.name: p for p in providers}
        self.oauth = OAuth()
        self.oauth.init_app(app)
        for provider in providers:
            self.oauth.register(
                provider.name,
                client_id=provider.client_id,
                client_secret=provider.client_secret,
                server_metadata_url=provider.discovery_url,
                client_kwargs={"scope": " ".join(provider.scopes), "code_challenge_method": "S256",
                               "default_timeout": HTTP_TIMEOUT_SECONDS},
            )

    def get(self, name: str) -> Provider | None:
        return self.providers.get(name)

    def client(self, name: str):
        return self.oauth.create_client(name)

    def listed(self) -> list[Provider]:
        return list(self.providers.values())


def init_oidc(app) -> None:
    app.extensions["samskap_oidc"] = ProviderRegistry(app, load_providers(app.config.get(SETTING)))


def registry(app) -> ProviderRegistry:
    return app.extensions["samskap_oidc"]
