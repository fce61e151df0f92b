"""Site-wide pages: home and the API specification (health and metrics: samskap/ops.py)."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template

main_bp = Blueprint("main", __name__)


@main_bp.route("/")
def index():
    return render_template("index.html")


@main_bp.route("/api/v1/openapi.json")
def openapi():
    from samskap.openapi import build_spec

    return jsonify(build_spec())
