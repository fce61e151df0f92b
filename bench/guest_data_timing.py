"""Does the time of a ``POST /my-data`` answer tell whether Samskap knows the address?

Measures the request for the data link with an address Samskap holds a registration for (a mail is
rendered and queued) and with an unknown one (nothing is done), interleaved, first with the minimum
answer time off (``SAMSKAP_GUEST_DATA_MIN_MS=0``: what the work itself costs) and then at the
default 400 ms. In-process (Flask's test client), on a fresh SQLite database in a temporary folder:

    .venv/bin/python -m bench.guest_data_timing [rounds]

Prints the median, the 90th percentile and the largest time per address and setting.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path


def main(rounds: int = 40) -> None:
    from flask_migrate import upgrade

    from samskap import create_app

    folder = Path(tempfile.mkdtemp(prefix="guest-data-timing-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'db.sqlite3'}", "SECRET_KEY": "bench",
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                      "SAMSKAP_BASE_URL": "http://samskap.test"})
    with app.app_context():
        upgrade()
        _seed()
    client = app.test_client()
    for min_ms in (0, 400):
        app.config["SAMSKAP_GUEST_DATA_MIN_MS"] = min_ms
        times: dict[str, list[float]] = {"known": [], "unknown": []}
        for i in range(rounds):
            for kind, email in (("known", "kjent@example.no"), ("unknown", f"ukjent{i}@example.no")):
                started = time.perf_counter()
                response = client.post("/my-data", data={"email": email})
                times[kind].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.status_code
        for kind, values in times.items():
            values.sort()
            print(f"MIN_MS={min_ms:>3} {kind:>7}: median {statistics.median(values):6.1f} ms, "
                  f"p90 {values[int(len(values) * 0.9) - 1]:6.1f} ms, max {values[-1]:6.1f} ms (n={len(values)})")


def _seed() -> None:
    from booking.models import Visibility
    from booking.registrations.models import Registration, RegistrationStatus
    from samskap.extensions import db
    from samskap.timeutil import utcnow
    from tests.factories import make_booking, make_org, make_space, make_user

    organiser = make_user(make_org("host", name="Helseinn"), email="arrangor@example.no")
    booking = make_booking(space=make_space(name="Rom"), user=organiser, visibility=Visibility.PUBLIC)
    db.session.add(Registration(booking_id=booking.id, name="Kjent Gjest", email="kjent@example.no",
                                status=RegistrationStatus.CONFIRMED, token_hash="0" * 64, queued_at=utcnow()))
    db.session.commit()

if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
