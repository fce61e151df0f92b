"""The administrators' outbox page: queued, sent and failed mail, the error, a retry button, and
each message's text (in development, what would have been sent)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user

from accounts.forms import ConfirmForm
from accounts.permissions import admin_required
from accounts.views import admin_bp
from samskap.errors import DomainError
from samskap.extensions import db
from samskap.ids import parse_count
from samskap.mail import OutboxMessage, outbox_counts, outbox_page, retry_message
from samskap.web import flash_success

STATUS_LABELS = {
    "queued": _l("Waiting"),
    "sending": _l("Being sent"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
}


@admin_bp.route("/outbox")
@admin_required
def outbox():
    status = request.args.get("status") or ""
    if status not in STATUS_LABELS:
        status = ""
    page = parse_count(request.args.get("page") or "1", maximum=100_000) or 1
    messages, has_next = outbox_page(status or None, page)
    return render_template("admin/outbox/index.html", messages=messages, has_next=has_next, page=page, status=status,
                           counts=outbox_counts(), labels=STATUS_LABELS, confirm_form=ConfirmForm())


@admin_bp.route("/outbox/<int:message_id>")
@admin_required
def outbox_message(message_id: int):
    message = db.session.get(OutboxMessage, message_id) or abort(404)
    return render_template("admin/outbox/message.html", message=message, labels=STATUS_LABELS,
                           confirm_form=ConfirmForm())


@admin_bp.route("/outbox/<int:message_id>/retry", methods=["POST"])
@admin_required
def retry(message_id: int):
    message = db.session.get(OutboxMessage, message_id) or abort(404)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        retry_message(current_user._get_current_object(), message)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash_success(_("The message to %(to)s will be sent again.", to=message.to_address))
    return redirect(url_for("admin.outbox", status=request.args.get("status") or None))


def _register_navigation():
    from samskap.nav import register_admin_link

    register_admin_link("admin.outbox", _l("Outbox (email)"), 70)


_register_navigation()
