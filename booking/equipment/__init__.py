"""Pilot-test equipment reservations: specific units reserved for a period, check-out,
check-in with cleaning turnaround, approvals, overdue loans; pages and JSON API."""
