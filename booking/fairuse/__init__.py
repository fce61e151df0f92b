"""Fair use of shared rooms: quotas, check-in and release of no-shows, waitlists.

``quotas``: limits per organisation and their enforcement inside the booking service;
``checkin``: check-in and the no-show release; ``waitlist``: waiting for a taken slot.
"""


def init_app(app) -> None:
    """Register the fair-use API and pages, and the worker's jobs."""
    import booking.fairuse.jobs  # noqa: F401 (registers the periodic jobs)
    from booking.fairuse.api import api_bp
    from booking.fairuse.views import fairuse_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(fairuse_bp)
