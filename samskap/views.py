"""Site-wide pages: home and the API specification (health and metrics: samskap/ops.py)."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template

main_bp = Blueprint("main", __name__)

@main_bp.route("/")
def index():
    from flask_login import current_user

    from samskap.home import home_page

    if current_user.is_authenticated:
        page = home_page(current_user._get_current_object())
        if page is not None:
            return page
    return render_template("main/index.html")


@main_bp.route("/api/v1/openapi.json")
def openapi():
    from samskap.openapi import build_spec

    return jsonify(build_spec())


@main_bp.app_context_processor
def navigation_groups():
    from samskap.nav import nav_groups

    return {"nav_groups": nav_groups}
