"""Spaces, opening hours, closures, equipment types and units: the catalogue that bookings draw on."""


def register_blueprints(app) -> None:
    """The catalogue's pages (browsing and administration) and its JSON API."""
    from spaces.api import api_bp
    from spaces.views import catalogue_admin_bp, spaces_bp
    import spaces.booking_field_views  # noqa: F401 (its pages are catalogue_admin_bp's)

    app.register_blueprint(spaces_bp)
    app.register_blueprint(catalogue_admin_bp)
    app.register_blueprint(api_bp)


def init_app(app) -> None:
    """The catalogue's pages and API, and its demo spaces and equipment."""
    from samskap.demo import register_demo
    from spaces import demo

    register_blueprints(app)
    register_demo("spaces", demo.seed, order=20)
