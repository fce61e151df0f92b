"""The SAMSKAP_OIDC_PROVIDERS file is checked when the app starts: a broken file stops the app
with a message naming the provider and the field."""
from __future__ import annotations

import json

import pytest

from accounts.signin.oidc import load_providers
from accounts.signin.rules import Rule, first_match, groups_overage
from accounts.models import Role
from samskap import create_app
from samskap.config import ConfigError
from tests.conftest import BASE_CONFIG

GOOD = {"name": "entra", "title": "Sykehuset (Entra ID)", "issuer": "https://login.example.test/tenant/v2.0",
        "client_id": "abc", "client_secret": "s3cret", "scopes": ["openid", "email", "profile"],
        "rules": [{"claim": "groups", "equals": "innovasjon", "organisation": "Sykehuset", "role": "member"}]}


def with_(**changes):
    entry = {**GOOD, **changes}
    return [{k: v for k, v in entry.items() if v is not None}]


def with_rule(**changes):
    rule = {**GOOD["rules"][0], **changes}
    return with_(rules=[{k: v for k, v in rule.items() if v is not None}])


def test_a_good_file_loads(tmp_path):
    path = tmp_path / "providers.json"
    path.write_text(json.dumps([GOOD]))
    [provider] = load_providers(str(path))
    assert provider.name == "entra" and provider.discovery_url == \
        "https://login.example.test/tenant/v2.0/.well-known/openid-configuration"
    assert provider.rules[0] == Rule("groups", "equals", "innovasjon", "Sykehuset", Role.MEMBER)


@pytest.mark.parametrize("data, message", [
    ({"not": "a list"}, "JSON list"),
    (with_(role="x", rules=None), "unknown key(s) 'role'"),
    (with_(rules=None), "'rules' must be a non-empty list"),
    (with_(rules=[]), "'rules' must be a non-empty list"),
    (with_(name="Entra ID"), "'name' may hold only"),
    (with_(issuer="http://idp.example.test"), "must be an https URL"),
    (with_(client_secret=""), "'client_secret' must be a non-empty string"),
    (with_(scopes=["email"]), "must include \"openid\""),
    (with_rule(role="admin"), "never grants administrator"),
    (with_rule(equals=None), "exactly one of equals, endswith, contains"),
    (with_rule(endswith="@x.no"), "exactly one of"),
    (with_rule(equal="typo"), "unknown key(s) 'equal'"),
    (with_rule(organisation=""), "'organisation' must be a non-empty string"),
    ([GOOD, GOOD], "used twice"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_broken_files_stop_the_app_with_a_clear_message(tmp_path, data, message):
    path = tmp_path / "providers.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError) as caught:
        create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SAMSKAP_OIDC_PROVIDERS": str(path)})
    assert "SAMSKAP_OIDC_PROVIDERS" in str(caught.value) and message in str(caught.value)


def test_unreadable_or_invalid_json_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_providers(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("[{,]")
    with pytest.raises(ConfigError, match="is not valid JSON"):
        load_providers(str(bad))


def test_rules_match_list_claims_on_any_element_and_ignore_case():
    rules = [Rule("groups", "equals", "Innovasjon", "H", Role.MEMBER),
             Rule("email", "endswith", "@ntnu.no", "N", Role.MEMBER),
             Rule("eduPersonOrgDN", "contains", "o=ntnu", "N2", Role.MEMBER)]
    assert first_match(rules, {"groups": ["a", "innovasjon"]}).organisation == "H"
    assert first_match(rules, {"groups": "INNOVASJON"}).organisation == "H"
    assert first_match(rules, {"email": "Kari@NTNU.no"}).organisation == "N"
    assert first_match(rules, {"email": "kari@ntnu.no.evil.test"}) is None
    assert first_match(rules, {"eduPersonOrgDN": "dc=x,o=NTNU,dc=no"}).organisation == "N2"
    assert first_match(rules, {"groups": [{"innovasjon": 1}], "email": None}) is None
    assert first_match(rules, {"groups": ["innovasjon"], "email": "x@ntnu.no"}).organisation == "H"


def test_groups_overage_is_recognised():
    assert groups_overage({"_claim_names": {"groups": "src1"}})
    assert groups_overage({"hasgroups": True})
    assert not groups_overage({"groups": ["a"]})


def test_the_readme_example_file_is_valid():
    from pathlib import Path

    from accounts.signin.oidc import parse_providers

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Single sign-on", 1)[1]
    example = section.split("```json", 1)[1].split("```", 1)[0]
    providers = parse_providers(json.loads(example))
    assert [p.name for p in providers] == ["innlandet", "feide"]
    assert providers[1].rules[1].role == Role.STAFF


def test_openapi_describes_invitations(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/invitations"]["post"]
    assert set(operation["requestBody"]["content"]["application/json"]["schema"]["required"]) == \
        {"email", "organisation_id"}
    assert {"201", "403", "409", "422"} <= set(operation["responses"])


def test_a_broken_file_named_in_the_environment_stops_the_cli_with_one_clear_line(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    path = tmp_path / "providers.json"
    path.write_text(json.dumps(with_rule(role="admin")))
    env = {**os.environ, "SAMSKAP_OIDC_PROVIDERS": str(path), "SECRET_KEY": "x" * 32,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "SAMSKAP_INSTANCE_PATH": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "routes"], env=env, text=True,
                            capture_output=True, timeout=120, cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode != 0
    assert "SAMSKAP_OIDC_PROVIDERS: provider 1 ('entra'), rule 1: 'role' must be \"member\" or \"staff\"" in result.stderr
