"""The spike forecast behind the staffing advice: a storm still rising gets a forecast
that rises, a one-window burst one that falls to nothing within the hour; through the
real flow and store, and as pure functions; and the model learns from what past
incidents did."""

from __future__ import annotations

from pathlib import Path

import pytest

from crisiswatch.config.settings import load_settings
from crisiswatch.evaluation.staffing import error, score_incidents, summarise
from crisiswatch.response.spike_forecast import HOURS, ShapeModel, SpikeView
from crisiswatch.response.spike_history import HOUR_S, alert_time, hourly_excess
from crisiswatch.response.staffing import StaffingConfig, recommend
from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis
from crisiswatch.store.spike import spike_forecast
from tests.conftest import replay, write_jsonl
from tests.helpers.cli import cli
from tests.helpers.streams import QUIET, T0, WINDOW, stream

PER_HOUR = HOUR_S // WINDOW
STORM_AT, STORM_WINDOWS, RISE = 400, 48, 6  # a storm that adds 6 more mentions each window
BURST_AT, BURST = 400, 150  # one window of 150 mentions against 30


def quiet(w: int) -> int:
    return QUIET[w % len(QUIET)]


def view(counts: list[float], expected: float = 30.0, age_s: float = 0.0) -> SpikeView:
    return SpikeView("Acme", tuple(counts), (expected,) * len(counts), WINDOW, age_s=age_s)


def test_a_storm_still_rising_gets_a_forecast_that_rises() -> None:
    rising = view([30 + 6 * k for k in range(1, PER_HOUR + 1)])
    f = ShapeModel().forecast(rising)
    assert f.features.shape == "rising"
    assert f.median[0] > 0 and f.median[1] > f.median[0]  # the next hours grow
    assert all(p >= m for p, m in zip(f.p90, f.median, strict=True))


def test_a_one_window_burst_falls_to_nothing_within_the_hour() -> None:
    burst = view([30.0] * (PER_HOUR - 1) + [150.0])
    f = ShapeModel().forecast(burst)
    assert f.features.shape == "blip"
    assert f.median[1:] == (0.0,) * (HOURS - 1)  # nothing after the first hour
    assert f.median[0] < 120  # the first hour's median is less than the burst itself
    assert f.p90[0] > f.median[0]  # but a team can staff for it turning into more


def test_the_model_learns_what_past_incidents_of_a_shape_did() -> None:
    burst = view([30.0] * (PER_HOUR - 1) + [150.0])
    model = ShapeModel()
    before = model.forecast(burst)
    for _ in range(20):  # this brand's one-window bursts grew into hours of storm
        model.learn(burst, [240.0, 240.0, 120.0, 60.0])
    after = model.forecast(burst)
    assert after.learned_from == 20
    assert after.median[0] > before.median[0] and after.median[1] > 0
    other = SpikeView("Other", burst.counts, burst.expected, WINDOW)
    assert model.forecast(other).median[0] <= after.median[0]  # this brand's weigh more


def test_advice_staffs_the_median_and_the_p90() -> None:
    explanation = {"observed": 150, "expected": 30.0, "horizon_minutes": 5}
    f = ShapeModel().forecast(view([30.0] * (PER_HOUR - 1) + [150.0]))
    advice = recommend(explanation, StaffingConfig(), f)
    assert advice is not None and advice["forecast"]["shape"] == "blip"
    assert [h["excess_mentions"] for h in advice["hours"]] == [round(x, 1) for x in f.median]
    assert [h["excess_mentions_p90"] for h in advice["hours"]] == [round(x, 1) for x in f.p90]
    assert advice["peak_extra_agents_p90"] >= advice["peak_extra_agents"]
    by_hour = ", ".join(f"{h['extra_agents']}/{h['extra_agents_p90']}" for h in advice["hours"])
    assert advice["summary"].endswith(f"median/P90: {by_hour}")  # what the messages say


def storm_and_burst(path: Path) -> Path:
    """A day and more of two steady brands: on one a storm that rises for four hours,
    on the other a single window five times the usual; five quiet hours after."""
    n = STORM_AT + STORM_WINDOWS + 5 * PER_HOUR
    storm = [quiet(w) + (RISE * (w - STORM_AT + 1) if STORM_AT <= w < STORM_AT + STORM_WINDOWS
                         else 0) for w in range(n)]
    burst = [BURST if w == BURST_AT else quiet(w) for w in range(n)]
    records = sorted(stream("Riser", storm) + stream("Blip", burst), key=lambda r: r["ts"])
    return write_jsonl(path, records)


def test_through_the_flow_a_rising_storm_and_a_burst(redis_server: EmbeddedRedis,
                                                     prefix: str, tmp_path: Path) -> None:
    settings = load_settings()
    settings.store.prefix = prefix
    replay(settings, [storm_and_burst(tmp_path / "in.jsonl")], redis_server.url)
    store = Store(connect(redis_server.url), prefix)

    (riser,) = [a for a in store.alerts(brand="Riser") if a["severity"] != "info"]
    start = alert_time(riser)
    assert start - T0 < (STORM_AT + 12) * WINDOW  # alerted in the storm's first hour
    next_hour = []
    for minutes in range(30, 120, 15):  # remade each window; here every quarter-hour
        f = spike_forecast(store, riser, at=start + minutes * 60)
        assert f is not None and f.features.shape == "rising", (minutes, f)
        assert f.median[1] > f.median[0] > 0, (minutes, f)
        next_hour.append(f.median[0])
    assert next_hour == sorted(next_hour)  # and each update rises with the storm

    (blip,) = store.alerts(brand="Blip")
    f = spike_forecast(store, blip, at=alert_time(blip))
    assert f is not None and f.features.shape == "blip", f
    assert f.median[1:] == (0.0,) * (HOURS - 1)
    later = spike_forecast(store, blip, at=alert_time(blip) + HOUR_S)
    assert later is not None and later.median == (0.0,) * HOURS, later
    records_blip = store.series("Blip", limit=10_000)
    assert max(hourly_excess(records_blip, alert_time(blip), HOURS, WINDOW)[1:]) < 30

    # the evaluation scores both as the flow published them: the learned forecast
    # beats the fixed decay, and forecasts nothing where nothing came
    series = {b: store.series(b, limit=10_000) for b in ("Riser", "Blip")}
    scored = {s.incident["brand"]: s for s in score_incidents(store.alerts(limit=100), series)}
    totals = summarise(list(scored.values()))
    assert totals["updated"]["learned"] < totals["updated"]["fixed decay"]
    assert error([scored["Riser"].updated["learned"]], [scored["Riser"].actual]) < 1.0
    # and what it measured is what the advice reads from the store
    advised = spike_forecast(store, riser, at=start)
    assert advised is not None and advised.made_at == start
    assert list(advised.median) == pytest.approx(scored["Riser"].at_alert["learned"])
    if "Blip" in scored:  # a warning: scored, with nothing forecast after its hour
        assert scored["Blip"].updated["learned"][1:] == [0.0] * (HOURS - 1)


def test_eval_staffing_prints_the_table_for_any_mention_file(tmp_path: Path) -> None:
    path = storm_and_burst(tmp_path / "storm.jsonl")
    done = cli("eval", "--staffing", str(path), cwd=tmp_path, env={"COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    out = done.stdout + done.stderr
    assert "storm.jsonl: excess-mention forecast error" in out
    assert "Riser critical" in out and "total (" in out
    assert "the P90 covers the actual hour in" in out
    missing = cli("eval", "--staffing", str(tmp_path / "nope.jsonl"), cwd=tmp_path)
    assert missing.returncode == 2 and "no such input file" in missing.stderr
