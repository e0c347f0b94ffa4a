"""The detectors judged on the labelled events of the airline sample
(``../shared/data/airline/events.csv``), on the session's real replay."""

from __future__ import annotations

import pytest

from crisiswatch.evaluation import events
from crisiswatch.store import Store
from tests.conftest import SHARED_DATA

EVENTS_CSV = SHARED_DATA / "airline" / "events.csv"


@pytest.fixture(scope="module")
def figures(airline_store: Store) -> dict:
    labels = events.read_labels(EVENTS_CSV)
    alerts = airline_store.alerts(limit=10_000)
    series = {b: airline_store.series(b, limit=1_000_000) for b in airline_store.brands()}
    return events.evaluate(labels, alerts, series, window_s=300)


def test_every_alert_row_is_caught_and_the_earliest_within_two_windows(figures: dict) -> None:
    rows = [e for e in figures["events"] if e["expect"] == "alert"]
    assert len(rows) == 4
    assert all(e["ok"] for e in rows), rows
    assert min(e["delay_windows"] for e in rows) <= 2
    by_kind = {e["kind"]: e for e in rows}
    assert by_kind["pr_gaffe"]["severity"] == "critical"  # the "fleek" backlash
    assert by_kind["delays"]["delay_windows"] <= 2


def test_the_stream_start_is_silent_and_the_campaign_does_not_page(figures: dict) -> None:
    by_expect = {e["expect"]: e for e in figures["events"]}
    assert by_expect["no_alert"]["ok"] and by_expect["no_alert"]["incidents"] == 0
    benign = by_expect["benign"]
    assert benign["ok"] and benign["severity"] in (None, "info")


def test_false_alerts_stay_under_one_per_brand_per_day(figures: dict) -> None:
    assert figures["false_alerts_per_brand_day_mean"] < 0.5
    assert all(rate < 1 for rate in figures["false_alerts_per_brand_day"].values())


def test_nab_style_score_rewards_early_detection(figures: dict) -> None:
    nab = figures["nab"]
    assert nab["standard"]["missed"] == 0
    assert nab["standard"]["score"] > 70
    assert nab["reward_low_FP_rate"]["score"] < nab["standard"]["score"]


def test_the_campaign_incident_explains_itself_as_positive(airline_store: Store) -> None:
    dragons = [a for a in airline_store.alerts(brand="Southwest", limit=1000)
               if "destinationdragons" in dict(a["explanation"]["top_hashtags"])]
    assert dragons
    assert all(a["severity"] == "info" for a in dragons)
    assert any(a["explanation"]["tone"] == "positive" for a in dragons)
