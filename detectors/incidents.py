"""Incident fusion: signals of one brand that overlap in time become one incident.

One explained incident, not fifty alerts. An incident opens on the first window with a
signal (volume, hashtag, sentiment, keyword, reach, topic), absorbs the signals of the
windows that follow, escalates when the evidence grows, and resolves after
``cooldown_windows`` of event time without a signal. Its id is a hash of (brand, first
window), so re-emitting a window (Bytewax does after recovery) updates the same incident
instead of creating another.

Severity is derived from the combined evidence: the strongest signal's severity, one
level up when three or more kinds of evidence agree, and capped at ``info`` for a
positive burst (a campaign such as #DestinationDragons: more mentions, more praise, no
more complaints) and for a modest burst that is no more negative than usual: both are
reported, neither pages a crisis team. Tone only ever lowers severity on evidence of its
own: a burst whose posts mostly have no words to read (handle lists, hashtag rows,
retweet stubs) is of *unknown* tone and keeps the severity its volume and hashtags earn,
and a storm (overwhelming volume and emerging hashtags) is called a campaign only when
its praise is itself significant, not merely a few points above usual.

The explanation says what the burst is about by what is unusual in it: its terms and
hashtags ranked by lift against the brand's own background, and its representative
posts picked from a sample of its mentions by those terms, not by follower count alone.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from scipy.special import betainc

from detectors.background import Background, BackgroundConfig
from detectors.text import extract_hashtags, normalise_text, terms
from detectors.types import Alert, Example, Signal, VolumeScore
from detectors.window import WindowStats

SEVERITY_ORDER = ("info", "warning", "critical")
SIGNALS_KEPT = 20


@dataclass(frozen=True)
class IncidentConfig:
    cooldown_windows: int = 12
    escalate_kinds: int = 3
    positive_rise: float = 0.05  # positive share this far above baseline ...
    positive_negative_margin: float = 0.02  # ... and negative share not above it
    calm_surprise: float = 8.0  # a burst no more negative than usual pages only above this
    # ... and a positive one above it is a campaign only if its praise is significant
    positive_p: float = 1e-3
    # a burst's tone is read off its readable mentions: at least this many, and share
    min_readable: int = 10
    min_readable_share: float = 0.4
    examples: int = 5
    min_examples: int = 3
    top: int = 8
    storm_tags: int = 3  # hashtags named in the summary line
    storm_tag_min: int = 5  # mentions a tag needs in the incident to be named


@dataclass(slots=True)
class Baselines:
    """What "normal" looks like for the brand now: explanations compare against it."""

    negative_share: float = 0.0
    positive_share: float = 0.0
    hashtag_rate: dict[str, float] = field(default_factory=dict)  # tag -> per window
    background: Background = field(default_factory=Background)  # the brand's usual terms
    background_cfg: BackgroundConfig = field(default_factory=BackgroundConfig)


@dataclass(slots=True)
class IncidentState:
    open: Alert | None = None
    stats: WindowStats = field(default_factory=WindowStats)
    peak: VolumeScore | None = None
    peak_window: float = 0.0
    signals: list[Signal] = field(default_factory=list)  # the latest SIGNALS_KEPT
    strongest: dict[str, Signal] = field(default_factory=dict)  # per kind, for the summary
    signal_counts: dict[str, int] = field(default_factory=dict)
    windows: int = 0  # windows merged into ``stats`` (lead-in included)
    baselines: Baselines = field(default_factory=Baselines)


def incident_id(brand: str, first_window: float) -> str:
    return hashlib.sha1(f"{brand}|{int(first_window)}".encode()).hexdigest()[:16]


def step(
    state: IncidentState,
    brand: str,
    window_start: float,
    window_s: int,
    stats: WindowStats,
    score: VolumeScore,
    signals: Sequence[Signal],
    baselines: Baselines,
    cfg: IncidentConfig,
    lead_in: Sequence[WindowStats] = (),
) -> list[Alert]:
    """Advance the brand's incident by one window; return the alert versions to store.

    ``lead_in`` holds the windows just before this one: an incident that opens on an
    hour-long rise describes that hour, not only its last five minutes, so its counts,
    shares and examples agree with its "observed".
    """
    out: list[Alert] = []
    alert = state.open
    if alert is not None and window_start - alert.last_window > cfg.cooldown_windows * window_s:
        alert.state = "resolved"
        alert.updated_window = alert.last_window + (cfg.cooldown_windows + 1) * window_s
        out.append(_version(alert))
        state.open = alert = None
    if not signals:
        return out
    if alert is None:
        alert = Alert(id=incident_id(brand, window_start), brand=brand, kinds=[],
                      severity="info", state="open", first_window=window_start,
                      last_window=window_start, window_s=window_s,
                      updated_window=window_start)
        state.open, state.stats, state.peak, state.windows = alert, WindowStats(), None, 0
        state.signals, state.strongest, state.signal_counts = [], {}, {}
        state.baselines = replace(baselines, hashtag_rate=dict(baselines.hashtag_rate))
        span = max((s.details.get("horizon", 1) for s in signals), default=1)
        for earlier in list(lead_in)[len(lead_in) - (span - 1):] if span > 1 else ():
            state.stats.merge(earlier)
            state.windows += 1
    else:  # a tag that joins later is compared with its rate before it joined
        for tag, rate in baselines.hashtag_rate.items():
            state.baselines.hashtag_rate.setdefault(tag, rate)
    state.stats.merge(stats)
    state.windows += 1
    if state.peak is None or score.surprise >= state.peak.surprise:
        state.peak, state.peak_window = score, window_start
    for s in signals:
        state.signal_counts[s.kind] = state.signal_counts.get(s.kind, 0) + 1
        best = state.strongest.get(s.kind)
        if best is None or _rank(s) > _rank(best):
            state.strongest[s.kind] = s
    state.signals = (state.signals + list(signals))[-SIGNALS_KEPT:]
    alert.kinds = sorted(state.signal_counts)
    alert.last_window = alert.updated_window = window_start
    tone, praise_p = _tone(state, cfg)
    alert.severity = _max_severity(alert.severity, _severity(state, cfg))
    modest = state.peak.surprise < cfg.calm_surprise
    # strong volume and hashtags together are a storm: praise must be significant to
    # call it a campaign (a few points above usual could be anything)
    storm = not modest and "hashtag" in state.signal_counts
    demoted = (tone == "positive" and (not storm or praise_p <= cfg.positive_p)) or \
        (tone == "calm" and modest)
    if demoted:
        alert.severity = "info"
    alert.explanation = explain(brand, state, window_s, tone, cfg, demoted)
    out.append(_version(alert))
    return out


def _version(alert: Alert) -> Alert:
    """A frozen copy of the incident as it is now (its explanation is rebuilt, never
    mutated, on each update, so sharing it is safe)."""
    return replace(alert, kinds=list(alert.kinds))


def _rank(s: Signal) -> tuple[int, float]:
    return SEVERITY_ORDER.index(s.severity), s.score


def _severity(state: IncidentState, cfg: IncidentConfig) -> str:
    strongest = max((SEVERITY_ORDER.index(s.severity) for s in state.strongest.values()),
                    default=0)
    if len(state.signal_counts) >= cfg.escalate_kinds:
        strongest = min(strongest + 1, len(SEVERITY_ORDER) - 1)
    return SEVERITY_ORDER[strongest]


def _max_severity(a: str, b: str) -> str:
    """Severity never drops while an incident is open: people were already paged."""
    return a if SEVERITY_ORDER.index(a) >= SEVERITY_ORDER.index(b) else b


def _tone(state: IncidentState, cfg: IncidentConfig) -> tuple[str, float]:
    """How an attention burst feels: ``positive``, ``calm``, ``negative`` or ``unknown``,
    and how significant its praise is (the binomial p-value of its positive mentions
    against the brand's usual positive share; 1 when there is none to speak of).

    Only bursts (volume, hashtags) have a tone; any other evidence (a sentiment shift, a
    watch term, a loud complaint) is ``negative`` by nature. A positive burst is a
    campaign (#DestinationDragons: more mentions, more praise, no more complaints). A
    calm one (no more negative than usual, no more praise) pages only when the volume
    evidence is overwhelming: a PR gaffe going viral is calm at first, a snow day's
    "landed safely, thanks" is calm and harmless. When hashtags drive the incident,
    their own mentions are judged (a campaign tag is positive even while the brand's
    usual complaints go on beside it). Shares are over the mentions whose tone could be
    read; when too few could (a storm of retweeted handle lists), the tone is
    ``unknown``, which neither pages nor reassures anyone by itself.
    """
    if not set(state.signal_counts) <= {"volume", "hashtag"}:
        return "negative", 1.0
    s, b = state.stats, state.baselines
    latest = {x.details["term"]: x.details for x in state.signals if x.kind == "hashtag"}
    if latest:  # the tags' own mentions over each signal's horizon
        count = sum(d["observed"] for d in latest.values())
        unknown = sum(d.get("unknown", 0) for d in latest.values())
        negatives = sum(d["negatives"] for d in latest.values())
        positives = sum(d["positives"] for d in latest.values())
    else:
        count, unknown, negatives, positives = s.count, s.unknown, s.negatives, s.positives
    readable = count - unknown
    if readable < cfg.min_readable or readable < cfg.min_readable_share * count:
        return "unknown", 1.0
    if negatives / readable > b.negative_share + cfg.positive_negative_margin:
        return "negative", 1.0
    if positives / readable < b.positive_share + cfg.positive_rise:
        return "calm", 1.0
    base = min(max(b.positive_share, 0.02), 0.98)
    return "positive", float(betainc(positives, readable - positives + 1, base))


def explain(brand: str, state: IncidentState, window_s: int, tone: str,
            cfg: IncidentConfig, demoted: bool = False) -> dict[str, Any]:
    """What a person reads in ten seconds: how much, how surprising, about what, by whom.

    ``demoted``: the tone lowered the severity to ``info`` (the summary says why)."""
    s, peak, b = state.stats, state.peak, state.baselines
    assert peak is not None
    minutes = peak.horizon * window_s // 60
    at = datetime.fromtimestamp(state.peak_window, UTC).strftime("%Y-%m-%d %H:%M UTC")
    windows_in = max(state.windows, 1)
    tags = []
    for tag, n in s.hashtags.top(cfg.top):
        rate = b.hashtag_rate.get(tag, 0.0) * windows_in
        tags.append({"tag": tag, "count": n, "expected": round(rate, 2),
                     "lift": round(n / rate, 1) if rate > 0 else None,
                     "retweets": s.hashtag_retweets.counts.get(tag, 0)})
    # counts less their space-saving error: a term that took over a counter late must
    # not look frequent (and so distinctive) on the counter's inherited count
    counted = [(t, n - s.terms.errors.get(t, 0)) for t, n in s.terms.counts.items()]
    lifted_terms = b.background.lifts(counted, b.background_cfg)
    summary = f"{brand}: {_lead(tone, demoted, s)}" + "; ".join(
        x.summary for x in sorted(state.strongest.values(), key=_rank, reverse=True)[:3])
    named = [t for t in _storm_tags(state, tags, cfg)
             if not re.search(rf"{re.escape(t)}(?!\w)", summary)]
    if named:
        summary += "; hashtags " + ", ".join(named)
    watch_hits = []
    for x in state.signals:
        if x.kind == "keyword" and all(h["term"] != x.details["term"] for h in watch_hits):
            watch_hits.append({"term": x.details["term"], "severity": x.severity,
                               "count": s.watch.get(x.details["term"], x.details["observed"])})
    topics = {x.details["topic_id"]: {"id": x.details["topic_id"], "terms": x.details["terms"],
                                      "size": x.details["size"], "reason": x.details["reason"]}
              for x in state.signals if x.kind == "topic"}
    return {
        "summary": summary,
        "tone": tone,
        "positive": tone == "positive",
        "observed": peak.horizon_observed,
        "expected": peak.horizon_expected,
        "horizon_minutes": minutes,
        "lift": peak.lift,
        "p_value": peak.p_value,
        "surprise": peak.surprise,
        "score_meaning": (
            f"volume surprise {peak.surprise:.1f} = -log10(p): a count this "
            f"{'low' if peak.drop else 'high'} over {minutes}"
            f" min (to {at}) happens about once in 10^{peak.surprise:.1f} windows when nothing"
            " is going on (negative binomial baseline, corrected for the horizons tested)"
        ),
        "peak_window": state.peak_window,
        "mentions": s.count,
        "retweets": s.retweets,
        "retweet_share": round(s.retweets / s.count, 4) if s.count else 0.0,
        "retweeted_originals": len(s.retweeted),
        "negative_share": round(s.negative_share, 4),
        "negative_share_baseline": round(b.negative_share, 4),
        "positive_share": round(s.positives / s.count, 4) if s.count else 0.0,
        "positive_share_baseline": round(b.positive_share, 4),
        "mean_sentiment": round(s.mean_sentiment, 4),
        "reach": s.reach,
        "max_followers": s.max_followers,
        "top_hashtags": s.hashtags.top(cfg.top),
        "hashtags": tags,
        "top_terms": [(t, n) for t, n, _ in lifted_terms[:cfg.top]],
        "term_lifts": [{"term": t, "count": n, "lift": lift}
                       for t, n, lift in lifted_terms[:cfg.top]],
        "watchlist_hits": watch_hits,
        "topics": list(topics.values()),
        "examples": [_example(e) for e in _representative(
            s, lifted_terms, tags, [h["term"] for h in watch_hits], cfg)],
        "loudest_complaints": [_example(e) for e in sorted(s.loudest, key=lambda e: -e.followers)],
        "signals": [x.to_dict() for x in state.signals],
        "signal_counts": dict(sorted(state.signal_counts.items())),
    }


def _example(e: Any) -> dict[str, Any]:
    return {"id": e.id, "ts": e.ts, "text": e.text, "handle": e.handle,
            "followers": e.followers, "sentiment": round(e.sentiment, 3)}


def _lead(tone: str, demoted: bool, s: WindowStats) -> str:
    """What the tone says about the burst, before the evidence."""
    if tone == "positive":
        return ("positive burst, not a crisis: " if demoted else
                "more praise than usual, but not enough to explain this volume: ")
    if tone == "calm":
        return "attention burst, no more negative than usual: "
    if tone == "unknown":
        return (f"tone unknown ({s.unknown_share:.0%} of its posts have no words the "
                f"sentiment model reads: handles, hashtags, links, or not English): ")
    return ""


def _storm_tags(state: IncidentState, tags: list[dict[str, Any]],
                cfg: IncidentConfig) -> list[str]:
    """The hashtags the burst is about: those that emerged, then frequent ones far above
    their own rate (or never seen before), most mentioned first."""
    emerged = list(dict.fromkeys(x.details["term"] for x in state.signals
                                 if x.kind == "hashtag"))
    frequent = [f"#{t['tag']}" for t in tags if t["count"] >= cfg.storm_tag_min
                and (t["lift"] is None or t["lift"] >= 4)]
    return list(dict.fromkeys(emerged + frequent))[:cfg.storm_tags]


@lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, frozenset[str]]:
    """A candidate post's normalised text and its terms and hashtags: an open incident
    scores much the same candidates at every window, so each text is read once."""
    norm = normalise_text(text)
    return norm, frozenset(terms(f" {norm}")) | {"#" + t for t in extract_hashtags(text)}


def _representative(s: WindowStats, lifted: list[tuple[str, int, float]],
                    tags: list[dict[str, Any]], watch_terms: list[str],
                    cfg: IncidentConfig) -> list[Example]:
    """Posts that show what the burst is about: candidates (the widest-reaching originals,
    the first post of each frequent hashtag, a uniform sample of the mentions) scored by
    the log-lift of the distinctive terms and hashtags they contain; topped up with the
    widest-reaching ones when too few say anything distinctive (an ordinary burst)."""
    weight = {t: math.log(lift) for t, _, lift in lifted}
    for t in tags:
        if t["count"] >= 2 and (t["lift"] is None or t["lift"] >= 2):
            weight["#" + t["tag"]] = math.log(t["lift"] or 10.0)
    # a watch term's hits are what a keyword incident is about, first: "data breach*"
    # matches a text holding "data breach..." (its words in order, the last as a prefix)
    watched = [t.rstrip("*").lower() for t in watch_terms]
    candidates: dict[str, Example] = {}
    for e in [*s.examples, *s.tag_examples.values(), *(e for _, e in s.sample.values())]:
        candidates.setdefault(_words(e.text)[0], e)

    def score(e: Example) -> tuple[int, float]:
        norm, words = _words(e.text)
        norm = f" {norm}"
        # summed in sorted order: the same float in every process (a set's order varies)
        return (sum(f" {w}" in norm for w in watched),
                sum(weight.get(w, 0.0) for w in sorted(words)))

    scored = sorted(((score(e), e) for e in candidates.values()),
                    key=lambda x: (-x[0][0], -x[0][1], -x[1].followers, x[1].id))
    picked = [e for (hits, lift), e in scored if hits or lift > 0][:cfg.examples]
    for e in sorted(s.examples, key=lambda e: (-e.followers, e.id)):
        if len(picked) >= cfg.min_examples:
            break
        if e not in picked:
            picked.append(e)
    return picked
