"""Site-wide pages: home and the API specification (health and metrics: samskap/ops.py)."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template

main_bp = Blueprint("main", __name__)

# Higher areas offer a front page for some users (the staff's dashboard from reports/): a function
# returning a response, or None to leave the visitor to the next one and finally to index.html.
_FRONT_PAGES: list = []


def register_front_page(view) -> None:
    if view not in _FRONT_PAGES:
        _FRONT_PAGES.append(view)


@main_bp.route("/")
def index():
    for front_page in _FRONT_PAGES:
        response = front_page()
        if response is not None:
            return response
    return render_template("index.html")


@main_bp.route("/api/v1/openapi.json")
def openapi():
    from samskap.openapi import build_spec

    return jsonify(build_spec())
