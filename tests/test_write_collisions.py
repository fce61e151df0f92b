"""A deadlock or serialisation failure reaching a view (two requests changing the same rows at the
same moment) is answered 409 "try again", never 500; other database errors stay server errors."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError


class _DriverError(Exception):
    def __init__(self, sqlstate: str):
        super().__init__(f"driver error {sqlstate}")
        self.sqlstate = sqlstate


@pytest.fixture
def collide(app):
    app.config["SAMSKAP_RENDER_500_IN_TESTS"] = True

    def raise_state(state: str):
        raise OperationalError("UPDATE bookings ...", {}, _DriverError(state))

    app.add_url_rule("/api/v1/_collide/<state>", "collide_api", raise_state)
    app.add_url_rule("/_collide/<state>", "collide_page", raise_state)
    return app


@pytest.mark.parametrize("state", ["40P01", "40001"])
def test_a_collision_is_a_409_that_says_try_again(client, collide, state):
    api = client.get(f"/api/v1/_collide/{state}")
    assert api.status_code == 409
    assert api.get_json()["error"]["code"] == "concurrent_change"
    page = client.get(f"/_collide/{state}", headers={"Accept-Language": "en"})
    assert page.status_code == 409 and b"Please try again" in page.data


def test_any_other_database_error_is_still_a_server_error(client, collide):
    # (53300, too many connections, is a 503 with Retry-After now: see tests/test_connection_loss.py.)
    assert client.get("/api/v1/_collide/42P01").status_code == 500
    assert client.get("/_collide/XX000").status_code == 500


@pytest.mark.parametrize("state", ["53300", "57P01", "57P03", "08006"])
def test_a_database_that_is_going_away_or_full_is_a_503(client, collide, state):
    response = client.get(f"/api/v1/_collide/{state}")
    assert response.status_code == 503 and response.headers["Retry-After"].isdigit()
    assert response.get_json()["error"]["code"] == "unavailable"
