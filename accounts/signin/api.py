"""JSON API: ``POST /api/v1/invitations``."""
from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from accounts.signin import links
from samskap.api import api_blueprint, json_body
from samskap.extensions import db, limiter
from samskap.openapi import error_responses, register_paths

api_bp = api_blueprint("signin_api", __name__)


def invitation_json(link) -> dict:
    return {"id": link.id, "email": link.email, "organisation_id": link.organisation_id, "role": link.role.value,
            "expires_at": link.expires_at.isoformat()}


def _limit():
    from accounts.signin.views import invite_limit

    return invite_limit()


def _key():
    from accounts.signin.views import inviter_key

    return inviter_key()


@api_bp.post("/invitations")
@limiter.shared_limit(_limit, scope="invite", key_func=_key)
def create_invitation():
    from accounts.signin.views import external_url

    link = links.invite(current_user._get_current_object(), json_body(),
                        link_url=lambda secret: external_url("signin.accept_invitation", token=secret))
    db.session.commit()
    return jsonify({"invitation": invitation_json(link)}), 201


register_paths({
    "/invitations": {"post": {
        "summary": "Invite a person by email: administrators into any organisation with any role (staff and "
                   "administrators only into the workshop host); an organisation's contacts and workshop staff "
                   "members only, contacts only into their own organisation. The link in the mail works once, "
                   "for 7 days.",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["email", "organisation_id"],
            "properties": {"email": {"type": "string", "format": "email"},
                           "organisation_id": {"type": "integer"},
                           "role": {"type": "string", "enum": ["member", "staff", "admin"], "default": "member"}}}}}},
        "responses": {"201": {"description": "The invitation (the link itself is only in the mail)", "content": {
            "application/json": {"schema": {"type": "object", "properties": {"invitation": {
                "type": "object", "properties": {
                    "id": {"type": "integer"}, "email": {"type": "string"}, "organisation_id": {"type": "integer"},
                    "role": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"}}}}}}}},
            **error_responses(400, 401, 403, 409, 422, 429)}}},
})
