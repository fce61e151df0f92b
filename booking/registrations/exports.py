"""The confirmed people of an event as CSV (formula-safe, :mod:`samskap.csvfile`)."""
from __future__ import annotations

from samskap.csvfile import csv_bytes

COLUMNS = ("name", "email", "organisation", "needs", "status", "attended", "registered_at")


def registrations_csv(registrations) -> bytes:
    rows = [[r.name, r.email, r.organisation, r.needs, r.status.value,
             "" if r.attended is None else ("yes" if r.attended else "no"),
             (r.queued_at or r.created_at).isoformat()] for r in registrations]
    return csv_bytes(list(COLUMNS), rows)
