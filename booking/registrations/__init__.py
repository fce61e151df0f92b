"""Events with registration: a booking opens registration (places, closing time, audience), people
register (signed in at once; otherwise confirmed by an email link), a full event has a waitlist
that moves up when someone cancels, and the organiser has the list, a CSV export, a sign-in sheet
and attendance at the door.

The database decides capacity: see :mod:`booking.registrations.services`.
"""
from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    """Register the registrations API and pages, the mail renderer and the audit log's texts."""
    import booking.registrations.jobs  # noqa: F401 (registers the retention job for needs)
    import booking.registrations.notices  # noqa: F401 (registers the outbox renderer)
    from accounts.services import register_personal_data
    from booking.registrations import personal_data
    from booking.registrations.api import api_bp
    from booking.registrations.guest_views import guest_data_bp
    from booking.registrations.views import registrations_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(registrations_bp)
    app.register_blueprint(guest_data_bp)
    register_personal_data("registrations", personal_data.export, personal_data.erase)
    _register_audit_text()


def _register_audit_text() -> None:
    import sqlalchemy as sa

    from booking.registrations.models import Registration
    from samskap.audit_text import ACTIONS, OBJECT_TYPES, ObjectRef, register_audit_object
    from samskap.extensions import db

    def registrations(ids):
        rows = db.session.execute(sa.select(Registration.id, Registration.name).where(Registration.id.in_(ids)))
        return {i: ObjectRef(name) for i, name in rows}

    register_audit_object("registrations", registrations)
    OBJECT_TYPES.setdefault("registrations", _l("Registrations"))
    OBJECT_TYPES.setdefault("guest_data", _l("Data of people without an account"))
    for action, title, sentence in (
        ("registration.open", _l("Registration opened"), _l("%(actor)s opened registration for %(object)s")),
        ("registration.change", _l("Registration changed"), _l("%(actor)s changed registration for %(object)s")),
        ("registration.create", _l("Registered"), _l("%(actor)s registered %(object)s")),
        ("registration.confirm", _l("Registration confirmed"), _l("%(object)s confirmed by the email link")),
        ("registration.cancel", _l("Registration cancelled"), _l("%(actor)s cancelled the registration of %(object)s")),
        ("registration.promote", _l("Moved up from the waitlist"), _l("%(object)s moved up from the waitlist")),
        ("registration.attendance", _l("Attendance marked"), _l("%(actor)s marked the attendance of %(object)s")),
        ("guest_data.erase", _l("Data erased by its owner"),
         _l("A person without an account erased their registrations and guest entries through their email link")),
    ):
        ACTIONS.setdefault(action, (title, sentence))
