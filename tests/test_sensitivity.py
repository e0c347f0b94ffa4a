"""Sensitivity (``fewer | balanced | more``): the mapping onto the detectors' thresholds,
what it changes in the detectors, and a per-brand setting honoured by the real flow."""

from __future__ import annotations

from pathlib import Path

import pytest

from crisiswatch.config.runtime import brand_detector_configs, detector_config
from crisiswatch.config.settings import ConfigError, load_settings
from crisiswatch.detectors import terms, volume
from crisiswatch.detectors.sensitivity import LEVELS, apply
from crisiswatch.flows.brand_windows import BrandWindows, BrandWindowsState
from crisiswatch.flows.dedup import SeenIds
from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis
from tests.conftest import replay, write_jsonl
from tests.helpers.streams import CLEAR, MODEST, T0, WINDOW, counts, spiky, stream


def anomalous_windows(series: list[int], level: str) -> list[int]:
    cfg = apply(detector_config(load_settings()), level).volume  # type: ignore[arg-type]
    state = volume.VolumeState()
    return [w for w, n in enumerate(series)
            if volume.update(state, T0 // WINDOW + w, n, cfg).anomalous]


def test_balanced_is_the_configuration_as_written() -> None:
    settings = load_settings()
    cfg = detector_config(settings)
    assert settings.sensitivity == "balanced"
    assert apply(cfg, "balanced") is cfg
    assert (cfg.volume.p_threshold, cfg.volume.min_lift, cfg.volume.min_excess) == \
        (settings.volume.p_threshold, settings.volume.min_lift, settings.volume.min_excess)
    assert (cfg.terms.p_threshold, cfg.terms.min_lift, cfg.terms.min_support) == \
        (settings.terms.p_threshold, settings.terms.min_lift, settings.terms.min_support)
    assert (cfg.sentiment.p_threshold, cfg.sentiment.min_rise, cfg.sentiment.horizons) == (
        settings.sentiment_shift.p_threshold, settings.sentiment_shift.min_rise,
        tuple(settings.sentiment_shift.horizons))


def test_levels_order_every_threshold() -> None:
    cfg = detector_config(load_settings())
    fewer, more = apply(cfg, "fewer"), apply(cfg, "more")
    for a, b in ((fewer, cfg), (cfg, more)):  # a is stricter than b
        assert a.volume.p_threshold < b.volume.p_threshold
        assert a.volume.min_lift > b.volume.min_lift > 1
        assert a.volume.min_excess > b.volume.min_excess
        assert a.terms.p_threshold < b.terms.p_threshold
        assert a.terms.watch_p_threshold < b.terms.watch_p_threshold
        assert a.terms.min_lift > b.terms.min_lift
        assert a.terms.min_support > b.terms.min_support
        assert a.terms.young_p_threshold < b.terms.young_p_threshold
        assert a.terms.young_min_support > b.terms.young_min_support
        assert a.sentiment.p_threshold < b.sentiment.p_threshold
        assert a.sentiment.min_rise > b.sentiment.min_rise
        assert a.sentiment.min_mentions > b.sentiment.min_mentions
    assert more.volume.min_lift == 1.5 and fewer.volume.min_lift == 3.0  # 2x as written
    assert more.watchlist == cfg.watchlist == fewer.watchlist  # explicit per-term choices


def test_more_alerts_on_a_spike_that_balanced_lets_pass() -> None:
    series = counts(spiky(400, MODEST))
    assert anomalous_windows(series, "balanced") == []
    assert anomalous_windows(series, "more")
    assert anomalous_windows(counts({}), "more") == []  # a steady brand stays silent


def test_fewer_suppresses_a_spike_that_balanced_raises() -> None:
    series = counts(spiky(400, CLEAR))
    assert anomalous_windows(series, "balanced")
    assert anomalous_windows(series, "fewer") == []
    assert anomalous_windows(counts(spiky(400, 4.0)), "fewer")  # but not a real storm


@pytest.mark.parametrize(("mentions", "raised_by"), [(7, {"more"}),
                                                     (12, {"more", "balanced"}),
                                                     (25, set(LEVELS))])
def test_a_new_hashtag_needs_the_support_its_level_asks(mentions: int,
                                                        raised_by: set[str]) -> None:
    cfg = detector_config(load_settings())
    raised = set()
    for level in LEVELS:
        mature = terms.TermState(since=0, last_window=999)  # a day and more of live data
        found = terms.update(mature, 1000, {"newtag": (mentions, 0, 0, 0)}, {},
                             apply(cfg, level).terms)
        if found:
            raised.add(level)
    assert raised == raised_by


def test_a_brand_sensitivity_in_the_yaml_is_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("sensitivity: fewer\nbrands:\n  Keen: {sensitivity: more}\n"
                    "  Plain: {handles: ['@plain']}\n")
    settings = load_settings(path)
    assert settings.sensitivity_of("Keen") == "more"
    assert settings.sensitivity_of("Plain") == settings.sensitivity_of(None) == "fewer"
    assert set(brand_detector_configs(settings)) == {"Keen"}
    assert detector_config(settings, brand="Keen") == apply(
        detector_config(load_settings(path, sensitivity="balanced")), "more")
    path.write_text("brands:\n  Keen: {sensitivity: louder}\n")
    with pytest.raises(ConfigError, match=r"brands\.Keen\.sensitivity: Input should be "
                       "'fewer', 'balanced' or 'more'"):
        load_settings(path)
    path.write_text("brands:\n  Keen: {sensitivty: more}\n")
    with pytest.raises(ConfigError, match=r"brands\.Keen\.sensitivty: Extra inputs are not "
                       "permitted"):
        load_settings(path)


def test_the_flow_gives_each_brand_its_own_sensitivity(tmp_path: Path,
                                                       redis_server: EmbeddedRedis,
                                                       prefix: str) -> None:
    """Three brands with the same history (a modest spike, later a clear one): the one
    set to ``more`` is told of both, the default brand of the clear one, the one set
    to ``fewer`` of neither."""
    series = counts({**spiky(400, MODEST), **spiky(500, CLEAR)})
    records = sorted((r for b in ("Keen", "Base", "Calm") for r in stream(b, series)),
                     key=lambda r: r["ts"])
    path = write_jsonl(tmp_path / "in.jsonl", records)
    settings = load_settings(brands={"Keen": {"sensitivity": "more"},
                                     "Calm": {"sensitivity": "fewer"}})
    settings.store.prefix = prefix
    replay(settings, [path], redis_server.url)
    store = Store(connect(redis_server.url), prefix)
    opened = {b: sorted((a["first_window"] - T0) // WINDOW for a in store.alerts(brand=b))
              for b in ("Keen", "Base", "Calm")}
    assert [w // 100 for w in opened["Keen"]] == [4, 5], opened
    assert [w // 100 for w in opened["Base"]] == [5], opened
    assert opened["Calm"] == [], opened


def test_a_resumed_brand_keeps_its_own_sensitivity() -> None:
    """After a crash the flow rebuilds each brand's logic from its snapshot, which knows
    the brand: its own settings apply from the first window, before any new batch."""
    settings = load_settings(brands={"Keen": {"sensitivity": "more"}})
    own = brand_detector_configs(settings)
    resumed = BrandWindowsState(SeenIds(72, 1000), brand="Keen")
    logic = BrandWindows(detector_config(settings), 600, resumed, lambda: 0.0,
                         brand_cfgs=own)
    assert logic.cfg is own["Keen"] and logic.cfg.volume.min_lift == 1.5
    fresh = BrandWindows(detector_config(settings), 600, BrandWindowsState(SeenIds(72, 1000)),
                         lambda: 0.0, brand_cfgs=own)
    fresh.on_batch([("Keen", [])])
    assert fresh.cfg is own["Keen"]
