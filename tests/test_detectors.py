"""Detectors fed plain numbers and records, with answers known in advance."""

from __future__ import annotations

import numpy as np
import pytest

from crisiswatch.detectors import incidents, volume
from crisiswatch.detectors.topk import SLACK, TopK
from crisiswatch.detectors.types import Mention, Signal, VolumeScore
from crisiswatch.detectors.volume import VolumeConfig, VolumeState, count_tail
from crisiswatch.detectors.window import WindowStats

CFG = VolumeConfig()


def feed(counts: list[int], start: int = 0, cfg: VolumeConfig = CFG) -> list[VolumeScore]:
    state = VolumeState()
    return [volume.update(state, start + i, c, cfg) for i, c in enumerate(counts)]


def test_count_tail_matches_poisson_and_grows_heavier_with_dispersion() -> None:
    # P(X >= 3 | Poisson(1)) = 1 - e^-1 (1 + 1 + 1/2)
    assert count_tail(3, 1.0, 1.0) == pytest.approx(1 - np.exp(-1) * 2.5)
    assert count_tail(0, 5.0, 1.0) == 1.0
    assert count_tail(20, 5.0, 3.0) > count_tail(20, 5.0, 1.0) * 100


def test_a_steady_poisson_stream_never_alerts() -> None:
    rng = np.random.default_rng(1)
    for rate in (0.3, 3.0, 40.0, 400.0):
        scores = feed(list(rng.poisson(rate, 288 * 14)))  # two weeks of 5-min windows
        assert not any(s.anomalous for s in scores), rate


def diurnal_rates(days: int, peak: float, cfg: VolumeConfig = CFG) -> np.ndarray:
    """Expected counts per window: quiet nights, busy afternoons, quieter weekends."""
    t = np.arange(days * 86400 // cfg.window_s) * cfg.window_s
    hour = (t % 86400) / 3600
    weekday = (t // 86400 + 3) % 7
    daily = 0.08 + 0.92 * np.exp(-((hour - 14) ** 2) / (2 * 3.5**2))
    return peak * daily * np.where(weekday >= 5, 0.6, 1.0)


@pytest.mark.slow
def test_a_diurnal_series_stays_silent_for_a_month() -> None:
    rng = np.random.default_rng(5)
    for peak in (4.0, 40.0, 400.0):
        scores = feed(list(rng.poisson(diurnal_rates(30, peak))))
        assert sum(s.anomalous for s in scores) == 0, peak


def test_the_baseline_learns_the_daily_cycle() -> None:
    rng = np.random.default_rng(6)
    rates = diurnal_rates(14, 40.0)
    state = VolumeState()
    for i, c in enumerate(rng.poisson(rates)):
        volume.update(state, i, int(c), CFG)
    night, afternoon = 86400 * 14 // 300 + 36, 86400 * 14 // 300 + 168  # 03:00 and 14:00
    assert state.expected(afternoon, CFG) > 5 * state.expected(night, CFG)
    assert abs(state.expected(afternoon, CFG) / rates[168] - 1) < 0.25


def test_a_night_burst_is_news_only_when_it_is_the_busiest_stretch_in_two_weeks() -> None:
    """The record gate (module doc of ``detectors.volume``): 25 extra mentions at 03:00
    are far above the night's baseline but fewer than any afternoon brings, so volume
    alone does not call them news; 150 extra are the busiest five minutes in ten days."""
    rng = np.random.default_rng(7)
    rates = diurnal_rates(10, 60.0)
    counts = [int(c) for c in rng.poisson(rates)]
    night = 9 * 288 + 36  # 03:00 on day 10: about 5 expected
    small, large = list(counts), list(counts)
    small[night] += 25
    large[night] += 150
    quiet_burst = feed(small)[night]
    assert quiet_burst.p_value < CFG.p_threshold and not quiet_burst.anomalous
    scores = feed(large)
    assert scores[night].anomalous
    assert not any(s.anomalous for s in scores[:night])


def test_a_spike_is_caught_in_its_first_window() -> None:
    rng = np.random.default_rng(2)
    counts = list(rng.poisson(20.0, 500))
    counts[400] = 20 + int(np.ceil(6 * np.sqrt(20)))  # +6 sigma: 47 against 20
    scores = feed(counts)
    assert scores[400].anomalous
    assert scores[400].p_value < CFG.p_threshold
    assert not any(s.anomalous for s in scores[:400])


def test_a_slow_doubling_is_caught_over_the_hour_horizon() -> None:
    rng = np.random.default_rng(3)
    counts = list(rng.poisson(10.0, 400)) + list(rng.poisson(25.0, 12))
    scores = feed(counts)
    caught = [s for s in scores[400:] if s.anomalous]
    assert caught and max(s.horizon for s in caught) > 1


def test_a_new_stream_does_not_alert_while_warming_up() -> None:
    # nothing, then a busy stream: the start of the stream is not a spike
    scores = feed([50] * 300)
    assert all(s.warming_up for s in scores[: CFG.warmup_windows])
    assert not any(s.anomalous for s in scores)


def test_a_long_silence_restarts_the_warm_up_instead_of_learning_zeros() -> None:
    state = VolumeState()
    for i in range(400):
        volume.update(state, i, 1, CFG)  # a trickle: ~1 per window
    # the collector was down for a day, then the real stream arrives at 30 per window
    late = [volume.update(state, 400 + 288 + i, 30, CFG) for i in range(20)]
    assert all(s.warming_up and not s.anomalous for s in late)


def test_short_silences_are_real_zeros() -> None:
    state = VolumeState()
    for i in range(400):
        volume.update(state, i, 10, CFG)
    before = state.expected(410, CFG)
    volume.update(state, 410, 10, CFG)  # 9 windows without mentions
    assert [c for c, _ in state.recent][-10:] == [0] * 9 + [10]
    assert state.expected(411, CFG) < before * 0.95


def test_a_level_shift_stops_alerting_once_learnt() -> None:
    rng = np.random.default_rng(4)
    scores = feed(list(rng.poisson(10.0, 400)) + list(rng.poisson(40.0, 400)))
    assert any(s.anomalous for s in scores[400:420])
    assert not any(s.anomalous for s in scores[-100:])


def test_state_stays_bounded() -> None:
    state = VolumeState()
    for i in range(10_000):
        volume.update(state, i, i % 7, CFG)
    assert len(state.recent) == max(CFG.horizons) - 1


def mention(i: int, tags: tuple[str, ...] = (), followers: int = 10,
            sentiment: float = -0.5, text: str | None = None) -> Mention:
    text = text or f"complaint number {i} about the outage"
    return Mention(id=str(i), ts=float(i), brands=("B",), text=text, hashtags=tags,
                   followers=followers, norm_text=text.lower(), sentiment=sentiment,
                   tone=(sentiment > 0.05) - (sentiment < -0.05))


def test_topk_keeps_heavy_hitters_within_bounded_memory() -> None:
    top = TopK(64)
    for i in range(200_000):
        top.add(f"noise{i}")
        if i % 10 == 0:
            top.add("outage")
    assert len(top) <= SLACK * 64
    top.seal()
    assert len(top) == 64
    (item, count), = top.top(1)
    assert item == "outage" and count - top.errors.get(item, 0) <= 20_000 <= count


def test_window_stats_are_bounded_and_keep_distinct_examples() -> None:
    w = WindowStats()
    for i in range(5000):
        w.add(mention(i, tags=(f"tag{i}",), followers=i, text=f"text {i % 50}"))
    assert w.count == 5000 and w.negatives == 5000
    assert len(w.hashtags) <= SLACK * 64
    w.seal()
    assert len(w.hashtags) == 64
    assert len(w.examples) == 5
    assert len({e.text for e in w.examples}) == 5
    assert min(e.followers for e in w.examples) > 4000  # the widest-reaching originals


def spike_scores(n_anomalous: int) -> list[VolumeScore]:
    quiet = VolumeScore(10, 10.0, 1, 10, 10.0, 0.5, 0.3, 1.0, False, False)
    loud = VolumeScore(80, 10.0, 1, 80, 10.0, 1e-20, 20.0, 8.0, True, False)
    return [quiet] * 3 + [loud] * n_anomalous + [quiet] * 10


def volume_signal(i: int, score: VolumeScore) -> list[Signal]:
    if not score.anomalous:
        return []
    return [Signal("volume", i * 300.0, "critical", "80 mentions", score.surprise,
                   {"horizon": 1})]


def test_a_lasting_spike_is_one_incident_that_resolves_after_the_cooldown() -> None:
    cfg = incidents.IncidentConfig(cooldown_windows=6)
    state = incidents.IncidentState()
    versions = []
    for i, score in enumerate(spike_scores(5)):
        stats = WindowStats()
        stats.add(mention(i, tags=("fleek",)))
        versions += incidents.step(state, "Delta", i * 300.0, 300, stats, score,
                                   volume_signal(i, score), incidents.Baselines(), cfg)
    ids = {v.id for v in versions}
    assert len(ids) == 1
    assert versions[0].state == "open" and versions[-1].state == "resolved"
    assert versions[-1].first_window == 900.0 and versions[-1].last_window == 7 * 300.0
    assert versions[-1].severity == "critical"
    explanation = versions[-1].explanation
    assert explanation.observed == 80 and explanation.expected == 10.0
    assert explanation.top_hashtags[0] == ("fleek", 5)
    assert "once in 10^20.0 windows" in explanation.score_meaning
    assert explanation.examples
    assert explanation.signal_counts == {"volume": 5}


def test_incident_ids_are_stable_so_a_re_emitted_window_updates_the_same_incident() -> None:
    cfg = incidents.IncidentConfig()
    runs = []
    for _ in range(2):
        state = incidents.IncidentState()
        runs.append([v.id for i, s in enumerate(spike_scores(2))
                     for v in incidents.step(state, "Delta", i * 300.0, 300, WindowStats(), s,
                                             volume_signal(i, s), incidents.Baselines(), cfg)])
    assert runs[0] == runs[1]
    assert incidents.incident_id("Delta", 900) != incidents.incident_id("United", 900)
