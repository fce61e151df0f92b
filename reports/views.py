"""The reports page and the staff's dashboard (their front page)."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from accounts.forms import KIND_LABELS
from accounts.models import Organisation
from accounts.permissions import is_staff
from reports import attendance, behaviour, charts, dashboard, services
from reports.forms import ReportFilterForm
from reports.periods import MAX_BUCKETS, Period, parse_period
from samskap.errors import ValidationFailed
from samskap.extensions import db
from samskap.nav import register_nav
from samskap.timeutil import to_local, utcnow
from spaces.hours import weekday_label

reports_bp = Blueprint("reports", __name__)

WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _organisation_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(sa.select(Organisation.id, Organisation.name).order_by(Organisation.name)).all()
    return [("", _("All organisations"))] + [(str(i), name) for i, name in rows]


@reports_bp.context_processor
def _helpers():
    return {"weekday_label": weekday_label}


@reports_bp.route("/reports")
@login_required
def index():
    if not services.can_view_reports(current_user):
        abort(403)
    today = to_local(utcnow()).date()
    form = ReportFilterForm(request.args, meta={"csrf": False})
    if is_staff(current_user):
        form.organisation_id.choices = _organisation_choices()
    else:
        form.organisation_id.choices = [(str(current_user.organisation_id), current_user.organisation.name)]
    if not request.args:
        form.first.data, form.last.data = date(today.year, 1, 1), date(today.year, 12, 31)
        form.group.data = "month"
    if request.args and not form.validate():
        return render_template("reports/index.html", form=form, report=None), 400
    organisation_id = int(form.organisation_id.data) if form.organisation_id.data else None
    try:
        period = parse_period(form.first.data.isoformat(), form.last.data.isoformat())
        context = _report_context(period, form.group.data, organisation_id)
    except ValidationFailed as exc:
        for name, message in exc.fields.items():
            target = {"from": form.first, "to": form.last, "group": form.group}.get(name, form.organisation_id)
            target.errors = list(target.errors or []) + [message]
        return render_template("reports/index.html", form=form, report=None), 400
    return render_template("reports/index.html", form=form, report=context)


def _report_context(period: Period, grouping: str, organisation_id: int | None) -> dict:
    actor = current_user
    over_time = services.utilisation(actor, period, grouping, organisation_id=organisation_id)
    by_space = services.utilisation(actor, period, "space", organisation_id=organisation_id)
    by_kind = services.utilisation(actor, period, "organisation_kind", organisation_id=organisation_id)
    kinds_over_time = services.utilisation(actor, period, "organisation_kind", grouping,
                                           organisation_id=organisation_id)
    by_purpose = services.utilisation(actor, period, "purpose", organisation_id=organisation_id)
    by_organisation = services.utilisation(actor, period, "organisation", organisation_id=organisation_id)
    equipment = services.utilisation(actor, period, "equipment_type", organisation_id=organisation_id)
    sectors = services.utilisation(actor, period, "sector_pair", organisation_id=organisation_id)
    heat = services.heat_map(actor, period, organisation_id) if period.days <= MAX_BUCKETS else None
    habits = behaviour.behaviour(actor, period, organisation_id)
    events = attendance.attendance(actor, period, organisation_id)

    utilisation_chart = charts.bar_chart(
        [(row.period, row.utilisation or 0.0, f"{row.period}: {(row.utilisation or 0) * 100:.1f} %")
         for row in over_time.rows], as_percent=True)
    periods = [row.period for row in over_time.rows]
    series = {kind: {} for kind in services.SECTORS}
    for row in kinds_over_time.rows:
        series[row.key][row.period] = row.amount
    sectors_chart = charts.stacked_chart(periods, series, {k: str(v) for k, v in KIND_LABELS.items()})
    matrix = {row.key: row for row in sectors.rows}
    heat_max = max((max(day) for day in heat), default=0.0) if heat else 0.0
    total = by_space.total
    capacity = sum(row.capacity or 0 for row in by_space.rows)
    api_query = {"from": period.first_day.isoformat(), "to": period.last_day.isoformat()}
    if organisation_id:
        api_query["organisation_id"] = organisation_id

    def attendance_export() -> str:
        return url_for("reports_api.attendance_report", **api_query, format="csv")

    def export(by: str, fmt: str, group: str | None = None) -> str:
        query = dict(api_query, by=by, format=fmt)
        if group:
            query["group"] = group
        return url_for("reports_api.utilisation", **query)

    return dict(
        period=period, grouping=grouping, over_time=over_time, by_space=by_space, by_kind=by_kind,
        kinds_over_time=kinds_over_time, by_purpose=by_purpose, by_organisation=by_organisation, equipment=equipment,
        sectors=sectors, matrix=matrix, heat=heat, heat_max=heat_max, habits=habits, events=events, total=total, capacity=capacity,
        utilisation_chart=utilisation_chart, sectors_chart=sectors_chart, sector_keys=services.SECTORS,
        sector_colours=charts.SECTOR_COLOURS, heat_colour=charts.heat_colour, heat_steps=charts.HEAT_STEPS,
        weekday_keys=WEEKDAY_KEYS, export=export, attendance_export=attendance_export,
    )


def staff_front_page(user):
    """The dashboard is the front page of staff and administrators; everyone else gets the next
    front page (None)."""
    if not is_staff(user):
        return None
    return render_template("reports/dashboard.html", board=dashboard.dashboard(user))


def _register() -> None:
    from samskap.home import register_home_page
    from samskap.nav import register_admin_link

    # Staff and administrators open the reports from their dashboard ("All reports") and the
    # administration page; the menu offers them to organisation contacts.
    register_nav("reports.index", _l("Reports"), "contact_only", 80, group="admin")
    register_admin_link("reports.index", _l("Reports"), 85)
    register_home_page(staff_front_page, order=10)


_register()
