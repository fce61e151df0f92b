"""Bookings, series, equipment reservations, feeds, notifications, fair use and projects.

Booking sits above accounts and spaces: it imports them, never the other way. Where those
areas show or handle something of booking's (a person's bookings in their data export, the
bookings in a space's week), booking tells them at start-up through their registries.
"""


def init_app(app) -> None:
    """Register what booking contributes to the lower areas."""
    from accounts.services import register_personal_data
    from booking import catalogue, demo, personal_data
    from samskap.demo import register_demo

    register_personal_data("booking", personal_data.export, personal_data.erase)
    catalogue.register()
    register_demo("booking", demo.seed, order=30)
