"""The volume detector on the streams that decide whether a crisis team trusts it: a
storm in a stream's first hour, a morning on day one, the same evening burst every day,
a source that goes quiet and the incident that says so (``detectors.volume``'s module
doc gives the rules)."""

from __future__ import annotations

import numpy as np

from crisiswatch.config.runtime import detector_config
from crisiswatch.config.settings import load_settings
from crisiswatch.detectors import volume
from crisiswatch.detectors.brand import BrandState, observe
from crisiswatch.detectors.types import VolumeScore
from crisiswatch.detectors.volume import VolumeConfig, VolumeState
from crisiswatch.detectors.window import WindowStats

CFG = VolumeConfig()
HOUR = 3600 // CFG.window_s
DAY = 24 * HOUR


def feed(counts: list[int], cfg: VolumeConfig = CFG) -> list[VolumeScore]:
    state = VolumeState()
    return [volume.update(state, i, int(c), cfg) for i, c in enumerate(counts)]


def test_a_tenfold_storm_in_the_first_hour_alerts_inside_that_hour() -> None:
    rng = np.random.default_rng(11)
    counts = list(rng.poisson(5.0, 4)) + list(rng.poisson(50.0, 8))  # 20 min, then 10x
    scores = feed(counts)
    assert all(s.warming_up for s in scores)
    assert any(s.anomalous for s in scores[4:HOUR])
    assert not any(s.anomalous for s in scores[:4])


def test_a_first_morning_is_followed_by_the_young_baseline_not_called_a_storm() -> None:
    """Day one of a tracked brand: a quiet night, then volume rises fifteenfold over three
    hours as people wake up; the young baseline has never seen a morning. Over 40 such
    days one alerts (seed 12: 21 mentions where the ramp stood at 8, a 4.5-sigma draw that
    the stricter young threshold still passes), the other 39 stay silent."""
    rates = [2.0] * (6 * HOUR) + list(np.linspace(2.0, 30.0, 3 * HOUR)) + [30.0] * (6 * HOUR)
    alerting = [seed for seed in range(40)
                if any(s.anomalous for s in feed(list(np.random.default_rng(seed).poisson(rates))))]
    assert len(alerting) <= 1, alerting


def test_the_same_evening_burst_every_day_alerts_once() -> None:
    """A nightly show's hashtag crowd: the first evening is news, the next four are not
    (each is no busier than the first)."""
    rng = np.random.default_rng(13)
    rates = np.full(7 * DAY, 20.0)
    for day in range(2, 7):
        start = day * DAY + 20 * HOUR
        rates[start:start + HOUR] = 120.0
    scores = feed(list(rng.poisson(rates)))
    opened = [i // DAY for i, s in enumerate(scores)
              if s.anomalous and not scores[i - 1].anomalous]
    assert opened == [2]


def test_a_source_gone_quiet_is_a_drop_and_a_night_lull_is_not() -> None:
    rng = np.random.default_rng(14)
    counts = list(rng.poisson(40.0, 3 * DAY))
    counts[-HOUR:] = [1] * HOUR  # the collector stalls for an hour
    scores = feed(counts)
    assert any(s.drop for s in scores[-HOUR:])
    assert not any(s.drop or s.anomalous for s in scores[:-HOUR])
    quiet_nights = feed([0 if (i // HOUR) % 24 < 6 else 40 for i in range(4 * DAY)])
    assert not any(s.drop for s in quiet_nights)
    assert not any(s.drop for s in feed(counts, VolumeConfig(detect_drops=False)))


def test_the_daily_records_stay_bounded() -> None:
    state = VolumeState()
    for i in range(30 * DAY):
        volume.update(state, i, i % 11, CFG)
    assert len(state.day_maxima) == len(state.day_minima) == CFG.record_days - 1


def test_a_silence_is_an_info_incident_that_says_how_low_and_what_to_check() -> None:
    """Through the brand's detectors and incident fusion: three days of a busy brand,
    then one mention a window."""
    cfg = detector_config(load_settings())
    state, alerts = BrandState(), []
    for i in range(3 * DAY + HOUR):
        n = 40 if i < 3 * DAY else 1
        alerts += observe(state, "B", 5_666_688 + i, WindowStats(count=n), cfg).incidents
    (first, *_) = [a for a in alerts if a.first_window >= (5_666_688 + 3 * DAY) * 300]
    assert first.kinds == ("silence",) and first.severity == "info"
    assert "check that the source is live" in first.explanation.summary
    assert "a count this low" in first.explanation.score_meaning
    assert first.explanation.observed < first.explanation.expected / 2
    assert all(a.kinds == ("silence",) for a in alerts)  # and nothing before it
