"""Rules that map a person's claims (from the ID token or userinfo) to an organisation and role.

Each rule is ``{"claim", "equals" | "endswith" | "contains", "organisation", "role"}``; rules are
tried in order and the first that matches wins. On a list claim (``groups``) a rule matches when
any element matches. Comparison ignores letter case: e-mail domains, Entra group ids and Feide
organisation ids are all case-insensitive.
"""
from __future__ import annotations

from dataclasses import dataclass

from accounts.models import Role

OPERATORS = ("equals", "endswith", "contains")
GRANTABLE_ROLES = (Role.MEMBER, Role.STAFF)  # never admin: administrators are made by hand


@dataclass(frozen=True)
class Rule:
    claim: str
    operator: str
    value: str
    organisation: str
    role: Role

    def matches(self, claims: dict) -> bool:
        wanted = self.value.casefold()
        for candidate in claim_values(claims, self.claim):
            text = candidate.casefold()
            if self.operator == "equals" and text == wanted:
                return True
            if self.operator == "endswith" and text.endswith(wanted):
                return True
            if self.operator == "contains" and wanted in text:
                return True
        return False


def claim_values(claims: dict, name: str) -> list[str]:
    """A claim's values as strings: a list claim gives each element, a plain value itself;
    objects and missing claims give nothing."""
    value = claims.get(name)
    items = value if isinstance(value, list) else [value]
    return [str(item) for item in items if isinstance(item, (str, int)) and not isinstance(item, bool)]


def first_match(rules, claims: dict) -> Rule | None:
    for rule in rules:
        if rule.matches(claims):
            return rule
    return None


def groups_overage(claims: dict) -> bool:
    """Microsoft Entra ID leaves ``groups`` out when a person is in more groups than a token holds
    and points to the Graph API instead (``_claim_names``/``_claim_sources``, or ``hasgroups``)."""
    names = claims.get("_claim_names")
    return (isinstance(names, dict) and "groups" in names) or claims.get("hasgroups") in (True, "true")
