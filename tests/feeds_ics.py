"""Read a feed back the way calendar clients do, with two independent parsers:

* the icalendar package (with recurring-ical-events to expand recurrences), asserting that
  the parser recorded no problems (``component.errors``);
* Mozilla's ical.js, the parser Thunderbird uses, run under node by tests/js/expand_ics.mjs.

Both return the occurrences in a window as ``Occurrence(uid, start, end, status, summary)``
with aware UTC times, sorted by start and UID, so a test compares them to what the database holds.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import pytest
import recurring_ical_events
from icalendar import Calendar

from samskap.timeutil import UTC
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "js" / "expand_ics.mjs"


class Occurrence(NamedTuple):
    uid: str
    start: datetime
    end: datetime
    status: str | None
    summary: str | None


def parse_calendar(body: bytes) -> Calendar:
    """Parse and fail on any problem the icalendar package noticed."""
    calendar = Calendar.from_ical(body)
    problems = [(component.name, component.errors) for component in calendar.walk() if component.errors]
    assert not problems, f"icalendar reported problems: {problems}"
    return calendar


def expand_with_icalendar(body: bytes, start: datetime, end: datetime) -> list[Occurrence]:
    calendar = parse_calendar(body)
    found = []
    for event in recurring_ical_events.of(calendar).between(start, end):
        dtstart, dtend = event.decoded("dtstart"), event.decoded("dtend")
        assert isinstance(dtstart, datetime) and dtstart.tzinfo is not None, "floating or all-day time in feed"
        found.append(Occurrence(str(event["uid"]), dtstart.astimezone(UTC), dtend.astimezone(UTC),
                                str(event["status"]) if "status" in event else None,
                                str(event["summary"]) if "summary" in event else None))
    return sorted(found, key=lambda o: (o.start, o.uid))


def node_command() -> list[str]:
    """``node`` with ical.js installed, or a skip (a failure with CI=true) saying what is missing."""
    node = shutil.which("node")
    problem = None
    if node is None:
        problem = "node is not installed"
    elif not (ROOT / "node_modules" / "ical.js").is_dir():
        problem = "node_modules/ical.js is missing (run `make test-deps`)"
    if problem:
        message = f"ical.js cross-check needs node and ical.js: {problem}"
        if IN_CI:
            pytest.fail("CI=true requires it; " + message, pytrace=False)
        pytest.skip(message)
    return [node, str(SCRIPT)]


def expand_with_icaljs(body: bytes, start: datetime, end: datetime, tmp_path: Path) -> list[Occurrence]:
    command = node_command()
    path = tmp_path / f"feed-{len(list(tmp_path.glob('feed-*.ics')))}.ics"
    path.write_bytes(body)
    result = subprocess.run([*command, str(path), start.isoformat(), end.isoformat()],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"ical.js failed: {result.stderr}"
    parsed = json.loads(result.stdout)
    return [Occurrence(o["uid"], _utc(o["start_utc"]), _utc(o["end_utc"]), o["status"], o["summary"])
            for o in parsed]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def expand_both(body: bytes, start: datetime, end: datetime, tmp_path: Path) -> list[Occurrence]:
    """The occurrences, after checking that both parsers agree on every one of them."""
    by_icalendar = expand_with_icalendar(body, start, end)
    by_icaljs = expand_with_icaljs(body, start, end, tmp_path)
    assert by_icaljs == by_icalendar, f"parsers disagree:\nical.js:   {by_icaljs}\nicalendar: {by_icalendar}"
    return by_icalendar


def timeline(occurrences) -> list[tuple[datetime, datetime, str | None]]:
    """(start, end, status) of each occurrence: what a calendar shows, whatever the UIDs."""
    return [(o.start, o.end, o.status) for o in occurrences]
