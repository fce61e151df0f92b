"""Reports: utilisation of spaces and equipment, who uses the arena, co-creation across sectors,
booking behaviour, and the staff's dashboard. The top layer: it reads booking, spaces and accounts;
nothing imports it except the application factory."""


def init_app(app) -> None:
    from reports.api import api_bp
    from reports.services import _project_partners, register_participation_source
    from reports.views import reports_bp

    app.register_blueprint(reports_bp)
    app.register_blueprint(api_bp)
    register_participation_source(_project_partners)  # a project's partners take part in its sessions
    from booking.participants import participating_organisations

    register_participation_source(participating_organisations)  # and a booking's participating organisations
