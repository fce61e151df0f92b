"""A report as rows for people: JSON, CSV (UTF-8 with BOM, so Excel reads æøå right) and XLSX."""
from __future__ import annotations

import io

from flask_babel import gettext as _

from reports.services import Report, Row


def _round(value: float | None, places: int = 2):
    return None if value is None else round(value, places)


def row_json(report: Report, row: Row) -> dict:
    data = {"key": row.key, "label": row.label, report.unit: _round(row.amount, 4), "sessions": row.sessions,
            "share": _round(row.share, 4)}
    if report.group:
        data["period"] = row.period
    if row.capacity is not None:
        data["available_unit_days" if report.unit == "unit_days" else "opening_hours"] = _round(row.capacity, 4)
        data["utilisation"] = _round(row.utilisation, 4)
    return data


def report_json(report: Report) -> dict:
    return {
        "from": report.period.first_day.isoformat(),
        "to": report.period.last_day.isoformat(),
        "by": report.by,
        "group": report.group,
        "unit": report.unit,
        "rows": [row_json(report, row) for row in report.rows],
        "total": {report.unit: _round(report.total, 4), "sessions": report.total_sessions},
        **report.extra,
    }


def _headers(report: Report) -> list[tuple[str, str]]:
    """(field, heading) pairs: the JSON field names, so a CSV and the API read the same."""
    columns = []
    if report.group:
        columns.append(("period", _("Period")))
    columns += [("key", _("Key")), ("label", _("Name")),
                (report.unit, _("Unit-days") if report.unit == "unit_days" else _("Hours")),
                ("sessions", _("Sessions")), ("share", _("Share"))]
    if any(row.capacity is not None for row in report.rows):
        columns += [("available_unit_days" if report.unit == "unit_days" else "opening_hours",
                     _("Unit-days available") if report.unit == "unit_days" else _("Opening hours")),
                    ("utilisation", _("Utilisation"))]
    return columns


def table(report: Report) -> tuple[list[str], list[list]]:
    columns = _headers(report)
    rows = []
    for row in report.rows:
        data = row_json(report, row)
        rows.append([data.get(name) for name, _heading in columns])
    return [name for name, _heading in columns], rows


def report_csv(report: Report) -> bytes:
    from samskap.csvfile import csv_bytes  # formula-safe (labels are names people typed)

    names, rows = table(report)
    return csv_bytes(names, rows)


def report_xlsx(report: Report) -> bytes:
    import xlsxwriter

    columns = _headers(report)
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet(_("Report")[:31])
    bold = workbook.add_format({"bold": True})
    percent = workbook.add_format({"num_format": "0.0%"})
    number = workbook.add_format({"num_format": "0.00"})
    title = _("%(by)s, %(first)s to %(last)s", by=report.by, first=report.period.first_day.isoformat(),
              last=report.period.last_day.isoformat())
    sheet.write(0, 0, title, bold)
    for col, (_name, heading) in enumerate(columns):
        sheet.write(2, col, heading, bold)
    for r, row in enumerate(report.rows, start=3):
        data = row_json(report, row)
        for col, (name, _heading) in enumerate(columns):
            value = data.get(name)
            if value is None:
                continue
            if name in ("share", "utilisation"):
                sheet.write_number(r, col, value, percent)
            elif name in ("hours", "unit_days", "opening_hours", "available_unit_days"):
                sheet.write_number(r, col, value, number)
            elif name == "sessions":
                sheet.write_number(r, col, value)
            else:
                sheet.write_string(r, col, str(value))
    sheet.set_column(0, len(columns) - 1, 16)
    workbook.close()
    return buffer.getvalue()
