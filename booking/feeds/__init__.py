"""Calendar feeds: subscription URLs with secret tokens, the public feed, one booking as .ics."""
from __future__ import annotations

import logging
import re

_TOKEN_IN_PATH = re.compile(r"(/feeds/)[A-Za-z0-9_-]{20,}(\.ics)")


class RedactFeedTokens(logging.Filter):
    """Feed URLs are secrets: keep their tokens out of the access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_IN_PATH.sub(r"\1[token]\2", a) if isinstance(a, str) else a
                                for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_PATH.sub(r"\1[token]\2", record.msg)
        return True


def init_app(app) -> None:
    """Register the feeds pages, the feed routes, the API and the navigation entry."""
    from flask_babel import lazy_gettext as _l

    from booking.feeds.api import api_bp
    from booking.feeds.views import feeds_bp
    from samskap.nav import register_nav

    app.register_blueprint(feeds_bp)
    app.register_blueprint(api_bp)
    register_nav("feeds.index", _l("Calendar feeds"), "user", 60)
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactFeedTokens) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(RedactFeedTokens())
