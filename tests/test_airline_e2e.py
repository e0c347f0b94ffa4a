"""The airline sample replayed through the real Bytewax flow into a real Redis, checked
through the real HTTP API."""

from __future__ import annotations

import httpx
import pytest

from crisiswatch.store import Store
from tests.conftest import LiveAPI
from tests.helpers.airline import overlaps, ts

pytestmark = pytest.mark.slow  # see pyproject's markers


def test_airline_replay_alerts_and_accounts_for_every_record(airline_store: Store) -> None:
    with LiveAPI(airline_store) as api:
        check_fleek_alert(api)
        check_american_stream_start(api)
        check_accounting(api)
        check_series(api)


def check_fleek_alert(api: httpx.Client) -> None:
    alerts = api.get("/alerts", params={"brand": "Delta"}).json()
    fleek = [a for a in alerts
             if overlaps(a, ts("2015-02-23 10:00 -0800"), ts("2015-02-23 13:00 -0800"))]
    assert len(fleek) == 1, alerts
    alert = fleek[0]
    assert alert["kinds"] == ["volume"]
    assert "fleek" in dict(alert["explanation"]["top_hashtags"])
    assert alert["explanation"]["observed"] > 2 * alert["explanation"]["expected"]
    assert api.get(f"/alerts/{alert['id']}").json() == alert


def check_american_stream_start(api: httpx.Client) -> None:
    start = ts("2015-02-22 11:58 -0800")
    alerts = api.get("/alerts", params={"brand": "American"}).json()
    assert not [a for a in alerts if overlaps(a, start, start + 6 * 3600)]


def check_accounting(api: httpx.Client) -> None:
    stats = api.get("/stats").json()
    assert stats["read"] == 14640
    assert stats["duplicate"] == 155  # the repeated tweet ids of the sample
    assert stats["read"] + stats["fanout"] == (
        stats["processed"] + stats["duplicate"] + stats["late"] + stats["dead_lettered"]
    )
    assert stats["in_flight"] == 0


def check_series(api: httpx.Client) -> None:
    series = api.get("/brands/Delta/series", params={
        "from": "2015-02-23T10:00:00-08:00", "to": "2015-02-23T13:00:00-08:00"}).json()
    points = series["points"]
    assert points and all(ts("2015-02-23 10:00 -0800") <= p["window_start"]
                          <= ts("2015-02-23 13:00 -0800") for p in points)
    assert any(p["anomalous"] for p in points)
    assert sum(p["count"] for p in points) > 150  # 65 + 82 + 46 tweets in those hours
