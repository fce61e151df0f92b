"""Organisations, users, roles, sign-in, API tokens and permissions: the first area above the core."""


def init_app(app) -> None:
    """Register what accounts contributes to the core: who sees which menu links, the operator
    commands for organisations, users and tokens, and the demo organisations and accounts."""
    from accounts import demo
    from accounts.cli import register_cli
    from samskap.demo import register_demo

    _register_audiences()
    register_cli(app)
    register_demo("accounts", demo.seed, order=10, note=f"Demo password: {demo.DEMO_PASSWORD}")


def _register_audiences() -> None:
    from accounts.permissions import is_admin, is_staff, manages_organisation
    from samskap.nav import register_audience

    def org_contact(user) -> bool:
        """Organisation contacts, and staff and administrators (who manage every organisation)."""
        return user.is_authenticated and manages_organisation(user, user.organisation_id)

    def contact_only(user) -> bool:
        """Organisation contacts who are not staff: staff and administrators reach such pages from
        their own front page (the dashboard) and the administration page, keeping their menu short."""
        return org_contact(user) and not is_staff(user)

    register_audience("org_contact", org_contact)
    register_audience("contact_only", contact_only)
    register_audience("staff", is_staff)
    register_audience("admin", is_admin)
