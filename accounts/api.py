"""Accounts endpoints of the JSON API."""
from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from samskap.api import api_blueprint

api_bp = api_blueprint("accounts_api", __name__)


def user_json(user) -> dict:
    org = user.organisation
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "is_org_contact": user.is_org_contact,
        "locale": user.locale,
        "organisation": {"id": org.id, "name": org.name, "kind": org.kind.value, "number": org.number},
    }


@api_bp.get("/me")
def me():
    return jsonify(user_json(current_user))
