"""Pilot and co-creation projects: several organisations working together over a period,
with the bookings (and, through them, the equipment) made for the project.

A project's partner organisations see its bookings in full, as their own organisation's
(:func:`booking.permissions.can_view_details` asks :func:`booking.projects.services.partner_project_ids`).
"""


def init_app(app) -> None:
    """Register the projects API."""
    from booking.projects.api import api_bp

    app.register_blueprint(api_bp)
