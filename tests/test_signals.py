"""Hashtag and watch-term emergence, sentiment shift, reach, and their fusion into one
incident: pure detectors fed numbers and records with answers known in advance."""

from __future__ import annotations

import numpy as np

from detectors import brand, incidents, sentiment_shift, terms
from detectors.types import Mention, Signal
from detectors.watchlist import Watchlist, WatchTerm
from detectors.window import WindowStats

TCFG = terms.TermConfig()
SCFG = sentiment_shift.SentimentConfig()


def test_a_new_hashtag_from_nowhere_with_enough_support_emerges() -> None:
    state = terms.TermState()
    rng = np.random.default_rng(1)
    for w in range(300):  # a day of ordinary tags
        counts = {f"tag{int(rng.integers(30))}": (1, 0, 0, 0) for _ in range(3)}
        assert terms.update(state, w, counts, {}, TCFG) == []
    found = terms.update(state, 300, {"unisuperfail": (40, 35, 1, 0)}, {}, TCFG)
    assert [e.term for e in found] == ["#unisuperfail"]
    assert found[0].observed == 40 and found[0].negatives == 35
    assert found[0].p_value < TCFG.p_threshold


def test_a_tag_needs_support_and_lift_not_just_novelty() -> None:
    state = terms.TermState()
    for w in range(300):
        terms.update(state, w, {"usual": (20, 0, 0, 0)}, {}, TCFG)
    assert terms.update(state, 300, {"rare": (3, 0, 0, 0)}, {}, TCFG) == []
    assert terms.update(state, 301, {"usual": (25, 0, 0, 0)}, {}, TCFG) == []


def test_term_state_stays_bounded_under_a_million_distinct_hashtags() -> None:
    state = terms.TermState()
    for w in range(1000):
        counts = {f"t{w * 1000 + i}": (1, 0, 0, 0) for i in range(1000)}  # 1,000,000 tags
        terms.update(state, w, counts, {}, TCFG)
        assert len(state.terms) <= TCFG.capacity
    assert len(state.terms) == TCFG.capacity
    assert all(len(st.recent) <= max(TCFG.horizons) for st in state.terms.values())


def test_watch_terms_fire_on_a_few_mentions_when_rare_and_on_a_rise_when_common() -> None:
    state = terms.TermState()
    for w in range(300):  # "cancel*" is part of an airline's every day
        terms.update(state, w, {}, {"cancel*": terms.WatchCount(2, 5)}, TCFG)
    watch = {"cancel*": terms.WatchCount(3, 5), "adverse reaction*": terms.WatchCount(1, 1)}
    assert terms.update(state, 300, {}, watch, TCFG)[0].term == "adverse reaction*"
    rise = [terms.update(state, 301 + w, {}, {"cancel*": terms.WatchCount(9, 5)}, TCFG)
            for w in range(6)]
    assert any(e.term == "cancel*" for found in rise for e in found)


def test_watchlist_matches_phrases_and_prefixes_once_per_mention() -> None:
    w = Watchlist((WatchTerm("cancel*"), WatchTerm("no signal"),
                   WatchTerm("adverse reaction*", "critical", 1, ("Pharma",))))
    assert w.match("cancelled flightled again no  signal") == ("cancel*", "no signal")
    assert w.match("uncancelled signals") == ()
    assert w.match("an adverse reactions report") == ("adverse reaction*",)
    assert w.get("adverse reaction*").applies_to("Pharma")  # type: ignore[union-attr]
    assert not w.get("adverse reaction*").applies_to("Telco")  # type: ignore[union-attr]


def test_a_turn_to_negative_is_a_shift_and_a_steady_share_is_not() -> None:
    state = sentiment_shift.SentimentState()
    rng = np.random.default_rng(2)
    for w in range(600):
        n = 20
        neg = int(rng.binomial(n, 0.3))
        assert sentiment_shift.update(state, w, neg, n - neg, n, SCFG) is None
    shifts = [sentiment_shift.update(state, 600 + w, 18, 1, 20, SCFG) for w in range(3)]
    found = [s for s in shifts if s is not None]
    assert found and found[0].share >= 0.65 and 0.25 < found[0].baseline < 0.35
    assert max(s.share for s in found) >= 0.85


def mention(i: int, sentiment: float, tags: tuple[str, ...] = (), followers: int = 10,
            text: str | None = None) -> Mention:
    text = text or f"mention number {i}"
    return Mention(id=str(i), ts=float(i), brands=("B",), text=text, hashtags=tags,
                   followers=followers, norm_text=text.lower(), sentiment=sentiment,
                   tone=(sentiment > 0.05) - (sentiment < -0.05))


def window_of(n: int, sentiment: float, tags: tuple[str, ...] = (), start: int = 0,
              followers: int = 10) -> WindowStats:
    w = WindowStats()
    for i in range(n):
        w.add(mention(start + i, sentiment, tags, followers))
    return w


def run_brand(windows: list[WindowStats], cfg: brand.DetectorConfig) -> list:
    state = brand.BrandState()
    versions = []
    for i, w in enumerate(windows):
        versions += brand.observe(state, "B", 1000 + i, w, cfg).alerts
    return versions


def ordinary_day(n_windows: int = 400) -> list[WindowStats]:
    """Ten mentions a window, a third of them complaints."""
    return [window_of(10, -0.5 if i % 3 == 0 else 0.4, start=i * 100)
            for i in range(n_windows)]


def test_a_campaign_burst_is_reported_as_positive_with_severity_info() -> None:
    cfg = brand.DetectorConfig(window_s=300)
    burst = [window_of(60, 0.8, ("destinationdragons",), start=10**6 + i * 100)
             for i in range(3)]
    versions = run_brand(ordinary_day() + burst, cfg)
    assert versions
    last = versions[-1]
    assert last.severity == "info" and last.explanation["positive"]
    assert "positive burst" in last.explanation["summary"]
    assert {"volume", "hashtag"} <= set(last.kinds)


def test_the_same_burst_turning_negative_is_a_crisis_with_fused_evidence() -> None:
    cfg = brand.DetectorConfig(window_s=300)
    burst = [window_of(60, -0.7, ("fleetfail",), start=10**6 + i * 100) for i in range(3)]
    versions = run_brand(ordinary_day() + burst, cfg)
    ids = {v.id for v in versions}
    assert len(ids) == 1  # one incident, not one per signal or per window
    last = versions[-1]
    assert set(last.kinds) == {"hashtag", "sentiment", "volume"}
    assert last.severity == "critical"  # three kinds of evidence agree
    e = last.explanation
    assert not e["positive"]
    assert e["negative_share"] > 0.9 and 0.3 < e["negative_share_baseline"] < 0.4
    assert e["hashtags"][0]["tag"] == "fleetfail"
    assert e["signal_counts"]["volume"] >= 1
    assert 3 <= len(e["examples"]) <= 5


def test_a_complaint_from_a_large_audience_is_its_own_signal() -> None:
    cfg = brand.DetectorConfig(window_s=300)
    loud = window_of(10, 0.4, start=10**6)
    loud.add(mention(10**7, -0.6, followers=2_500_000, text="worst airline ever"))
    versions = run_brand([*ordinary_day(), loud], cfg)
    assert [v.kinds for v in versions] == [["reach"]]
    assert versions[0].severity == "critical"
    assert versions[0].explanation["loudest_complaints"][0]["followers"] == 2_500_000


def test_severity_never_drops_while_an_incident_is_open() -> None:
    cfg = incidents.IncidentConfig()
    state = incidents.IncidentState()
    score = brand.volume.VolumeScore(10, 10.0, 1, 10, 10.0, 0.5, 0.3, 1.0, False, False)
    severities = []
    for i, sev in enumerate(["warning", "critical", "warning"]):
        sig = [Signal("keyword", i * 300.0, sev, f"term {i}", 5.0, {"term": "x", "observed": 3})]
        out = incidents.step(state, "B", i * 300.0, 300, WindowStats(), score, sig,
                             incidents.Baselines(), cfg)
        severities.append(out[-1].severity)
    assert severities == ["warning", "critical", "critical"]
