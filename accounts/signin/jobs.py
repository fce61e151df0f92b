"""The worker's housekeeping for sign-in links (registered with :func:`samskap.worker.periodic`).

A delivered invitation or reset mail stays in the outbox with its text, and that text holds a live
link: once the mail server has taken it, the link is cut out of the stored copy. Links that ended
(used or expired) more than 30 days ago are deleted.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import sqlalchemy as sa

from accounts.signin.links import INVITATION_KIND, RESET_KIND
from accounts.signin.models import SignInLink
from samskap.extensions import db
from samskap.mail import OutboxMessage, OutboxStatus
from samskap.worker import periodic

LINK_IN_TEXT = re.compile(r"\S+/(?:invitation|password/reset)/[A-Za-z0-9_-]+")
REMOVED = "[link removed after delivery]"
KEEP_ENDED_LINKS = timedelta(days=30)


@periodic("signin.tidy_links", every_seconds=600)
def tidy_sign_in_links(now: datetime) -> None:
    sent = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.kind.in_((INVITATION_KIND, RESET_KIND)), OutboxMessage.status == OutboxStatus.SENT,
        sa.or_(OutboxMessage.text.contains("/invitation/"), OutboxMessage.text.contains("/password/reset/"))))
    for message in sent:
        message.text = LINK_IN_TEXT.sub(REMOVED, message.text)
        if message.html:
            message.html = LINK_IN_TEXT.sub(REMOVED, message.html)
    db.session.execute(sa.delete(SignInLink).where(
        sa.or_(SignInLink.expires_at < now - KEEP_ENDED_LINKS, SignInLink.used_at < now - KEEP_ENDED_LINKS)))
