"""Text from the outside world that cannot be stored.

JSON may carry a lone UTF-16 surrogate (``"\\ud800"``): Python reads it into a ``str`` that no
database driver can encode, which used to surface as a 500 deep inside a service. Form and
query text cannot hold one (Werkzeug decodes percent-encoded bytes as UTF-8 and replaces
what is invalid), so the JSON body is the one place to check, and ``samskap.api.json_body``
checks every string in it, keys included, at any depth.
"""
from __future__ import annotations


def is_storable(text: str) -> bool:
    """True when ``text`` can be encoded as UTF-8 (it holds no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unstorable_fields(data, path: str = "") -> list[str]:
    """The fields (top-level names, or ``"body"``) of a parsed JSON value holding text that
    cannot be stored."""
    found: list[str] = []

    def visit(value, field: str) -> None:
        if isinstance(value, str):
            if not is_storable(value) and field not in found:
                found.append(field)
        elif isinstance(value, dict):
            for key, item in value.items():
                name = field or (key if is_storable(key) else "body")
                if not is_storable(key) and name not in found:
                    found.append(name)
                visit(item, name)
        elif isinstance(value, list):
            for item in value:
                visit(item, field or "body")

    visit(data, path)
    return found
