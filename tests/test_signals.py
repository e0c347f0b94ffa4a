"""Hashtag and watch-term emergence, sentiment shift, reach, and their fusion into one
incident: pure detectors fed numbers and records with answers known in advance."""

from __future__ import annotations

import numpy as np
import pytest

from crisiswatch.config.runtime import brand_detector_configs, detector_config
from crisiswatch.detectors import background, brand, incidents, sentiment_shift, terms
from crisiswatch.detectors.types import Mention, Signal
from crisiswatch.detectors.watchlist import Watchlist, WatchTerm
from crisiswatch.detectors.window import WindowStats
from crisiswatch.flows.enrich import Enricher
from crisiswatch.flows.sentiment import FlowSentiment
from crisiswatch.models.sentiment_weights import load

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


def test_term_state_stays_bounded_under_100k_distinct_hashtags() -> None:
    # 780 times the capacity, over more windows than the longest horizon: a million
    # tags (ten times the cost) met no other bound
    state = terms.TermState()
    for w in range(100):
        counts = {f"t{w * 1000 + i}": (1, 0, 0, 0) for i in range(1000)}  # 100,000 tags
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
        versions += brand.observe(state, "B", 1000 + i, w, cfg).incidents
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
    assert last.severity == "info" and last.explanation.positive
    assert "positive burst" in last.explanation.summary
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
    assert not e.positive
    assert e.negative_share > 0.9 and 0.3 < e.negative_share_baseline < 0.4
    assert e.hashtags[0].tag == "fleetfail"
    assert e.signal_counts["volume"] >= 1
    assert 3 <= len(e.examples) <= 5


def test_a_complaint_from_a_large_audience_is_its_own_signal() -> None:
    cfg = brand.DetectorConfig(window_s=300)
    loud = window_of(10, 0.4, start=10**6)
    loud.add(mention(10**7, -0.6, followers=2_500_000, text="worst airline ever"))
    versions = run_brand([*ordinary_day(), loud], cfg)
    assert [v.kinds for v in versions] == [("reach",)]
    assert versions[0].severity == "critical"
    assert versions[0].explanation.loudest_complaints[0].followers == 2_500_000


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


def test_a_text_without_words_of_its_own_gets_an_unknown_tone() -> None:
    enricher = Enricher(FlowSentiment("complaint", load=load), Watchlist((WatchTerm("boycott*"),)))
    texts = ["RT @fedup: @NorthwindTel @ofcom @bbcnews #boycottnorthwind",
             "@NorthwindTel my bill doubled and nobody answers, terrible"]
    mentions = [Mention(id=str(i), ts=0.0, brands=("B",), text=t, hashtags=())
                for i, t in enumerate(texts)]
    enricher.enrich(mentions)
    stub, complaint = mentions
    assert stub.tone is None and stub.sentiment == 0.0
    assert stub.watch == ("boycott*",)  # its watch terms and hashtags still count
    assert complaint.tone == -1 and complaint.sentiment < 0


def test_windows_count_unknown_tone_apart_and_shares_are_over_readable_mentions() -> None:
    w = WindowStats()
    for i in range(6):
        m = mention(i, 0.0, ("dumpit",), text=f"RT @x: @a @b #dumpit {i}")
        m.tone = None
        w.add(m)
    for i in range(3):
        w.add(mention(10 + i, -0.6))
    w.add(mention(20, 0.6))
    assert (w.count, w.unknown, w.readable) == (10, 6, 4)
    assert w.negative_share == 0.75 and w.positive_share == 0.25
    assert w.unknown_share == 0.6 and w.mean_sentiment == pytest.approx(-0.3)
    assert w.hashtag_unknown.counts == {"dumpit": 6}
    merged = WindowStats().merge(w).merge(w)
    assert (merged.unknown, merged.negative_share) == (12, 0.75)


def test_a_young_term_baseline_asks_for_more_support_than_a_mature_one() -> None:
    young, mature = terms.TermState(), terms.TermState()
    for w in range(300):
        terms.update(mature, w, {}, {}, TCFG)
    terms.update(young, 290, {}, {}, TCFG)  # a brand whose stream began an hour ago ...
    for w in range(291, 300):
        terms.update(young, w, {}, {}, TCFG)
    assert young.young(300, TCFG) and not mature.young(300, TCFG)
    burst = {"newtag": (15, 0, 0, 0)}
    assert terms.update(young, 300, burst, {}, TCFG) == []  # ... needs 20 mentions,
    found = terms.update(mature, 300, burst, {}, TCFG)
    assert [e.term for e in found] == ["#newtag"] and not found[0].young
    storm = terms.update(young, 301, {"stormtag": (60, 0, 0, 0)}, {}, TCFG)
    assert [e.term for e in storm] == ["#stormtag"] and storm[0].young  # but not a day


def test_an_emerging_tag_keeps_its_lift_for_as_long_as_its_storm_lasts() -> None:
    state = terms.TermState()
    for w in range(300):
        terms.update(state, w, {}, {}, TCFG)
    lifts = []
    for w in range(300, 336):  # three hours at 40 a window
        found = terms.update(state, w, {"stormtag": (40, 30, 0, 0)}, {}, TCFG)
        assert [e.term for e in found] == ["#stormtag"], w
        lifts.append(40 / state.expected("#stormtag", w + 1, TCFG))
    assert min(lifts) > 4  # the storm did not become its own baseline


def test_a_burst_of_a_tag_declared_routine_for_its_brand_is_info_not_a_page() -> None:
    """``brands.<name>.routine``: a brand's daily reply tag, set in the settings, is
    reported at info with the reason; the same burst at another brand is a warning."""
    from crisiswatch.config.settings import BrandQuerySettings, Settings

    settings = Settings(brands={"Skyways": BrandQuerySettings(routine=["#AskSkyways"])})
    routine_cfg = brand_detector_configs(settings)["Skyways"]
    assert routine_cfg.routine == {"#askskyways"}
    assert "Skyways" not in brand_detector_configs(Settings())
    burst = []
    for i in range(3):  # the usual volume and tone, every mention with the tag
        w = WindowStats()
        for j in range(10):
            w.add(mention(10**6 + i * 100 + j, -0.5 if j % 3 == 0 else 0.4, ("askskyways",)))
        burst.append(w)
    found = {name: [a for a in run_brand(ordinary_day(300) + burst, cfg)
                    if "hashtag" in a.kinds]
             for name, cfg in (("routine", routine_cfg), ("other", detector_config(settings)))}
    assert found["other"] and found["other"][-1].severity == "warning"
    assert found["routine"] and all(a.severity == "info" for a in found["routine"])
    assert "routine for this brand" in found["routine"][-1].explanation.summary


def test_a_burst_twice_the_size_of_yesterdays_at_this_time_is_not_recurring() -> None:
    state = terms.TermState()
    day = TCFG.day_windows
    seen: dict[int, list[bool]] = {}  # day -> whether each emergence was recurring
    for w in range(4 * day):
        n = 0
        if w % day < 12 and w >= day:  # every morning from the second day: 3 a window,
            n = 3 if w < 3 * day else 8  # on the fourth 8
        for e in terms.update(state, w, {"askus": (n, 0, 0, 0)} if n else {}, {}, TCFG):
            seen.setdefault(w // day, []).append(bool(e.recurring))
    assert sorted(seen) == [1, 2, 3]
    assert not any(seen[1]) and all(seen[2])  # news, then the same as yesterday's
    assert not any(seen[3])  # far more intense: news again


def test_a_watch_terms_severity_needs_support_or_an_explicit_rule() -> None:
    breach = WatchTerm("data breach*", "critical", 1)
    assert breach.severity_for(1, 1, 150) == "info"  # one post: a lead, not a page
    assert breach.severity_for(3, 1, 450) == "info"  # one person, three times
    assert breach.severity_for(2, 0, 450) == "info"  # only questions ("data breach?")
    assert breach.severity_for(2, 2, 300) == "warning"  # two witnesses, not yet three
    assert breach.severity_for(3, 3, 450) == "critical"
    assert breach.severity_for(1, 1, 2_000_000) == "critical"  # one post, a huge audience
    assert WatchTerm("outage").severity_for(2, 1, 0) == "info"
    pharmacovigilance = WatchTerm("adverse reaction*", "critical", 1, unsupported="critical")
    assert pharmacovigilance.severity_for(1, 1, 0) == "critical"


def test_top_terms_are_those_unusual_for_the_brand_not_the_most_frequent() -> None:
    cfg = background.BackgroundConfig()
    bg = background.Background()
    for w in range(500):
        bg.learn(w, {"flight": 6, "delayed": 2, "bag": 1}, cfg)
    burst = [("flight", 60), ("fleek", 50), ("fleet's", 45), ("delayed", 20), ("bag", 3)]
    ranked = [t for t, _, _ in bg.lifts(burst, cfg)]
    assert ranked[:2] == ["fleek", "fleet's"]
    assert "flight" not in ranked and "bag" not in ranked


def unreadable_window(n: int, tags: tuple[str, ...], start: int) -> WindowStats:
    w = WindowStats()
    for i in range(n):
        m = mention(start + i, 0.66, tags, text="RT @x: @a @b @c " + " ".join(
            f"#{t}" for t in tags))
        m.tone = None
        w.add(m)
    return w


def test_a_storm_of_unknown_tone_keeps_the_severity_its_evidence_earns() -> None:
    cfg = brand.DetectorConfig(window_s=300)
    storm = [unreadable_window(60, ("dumpb",), 10**6 + i * 100) for i in range(3)]
    last = run_brand(ordinary_day() + storm, cfg)[-1]
    assert last.explanation.tone == "unknown" and last.severity in ("warning", "critical")
    assert "#dumpb" in last.explanation.summary


def test_a_storm_a_little_more_positive_than_usual_is_not_called_a_campaign() -> None:
    cfg = brand.DetectorConfig(window_s=300)
    storm = []
    for i in range(3):  # 60 a window, 72 % positive against about 67 % usually
        w = window_of(43, 0.4, ("stormtag",), start=10**6 + i * 100)
        w.merge(window_of(17, -0.5, ("stormtag",), start=2 * 10**6 + i * 100))
        storm.append(w)
    last = run_brand(ordinary_day() + storm, cfg)[-1]
    assert last.explanation.tone == "positive"
    assert last.severity != "info"
    assert "not enough to explain this volume" in last.explanation.summary


def test_reach_and_sentiment_do_not_wait_for_the_volume_warm_up() -> None:
    cfg = brand.DetectorConfig(window_s=300)
    first_hour = ordinary_day(12)
    loud = window_of(10, 0.4, start=10**6)
    loud.add(mention(10**7, -0.6, followers=2_500_000, text="worst airline ever"))
    sour = [window_of(20, -0.7, start=2 * 10**6 + i * 100) for i in range(3)]
    state = brand.BrandState()
    versions = []
    for i, w in enumerate([*first_hour, loud, *ordinary_day(12), *sour]):
        out = brand.observe(state, "B", 1000 + i, w, cfg)
        assert out.record["warming_up"]  # the volume baseline is a few hours old at most
        versions += out.incidents
    kinds = {k for v in versions for k in v.kinds}
    assert {"reach", "sentiment"} <= kinds
    assert any(v.severity == "critical" and v.kinds == ("reach",) for v in versions)
