"""The explanation of an incident: what a person reads in ten seconds.

How much, how surprising, about what, by whom: the evidence of the incident's signals
(``detectors.incidents`` fuses them), its terms and hashtags ranked by lift against the
brand's own background, its representative posts picked by those terms, and who was
talking (``detectors.support``).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from crisiswatch.detectors.feedback import Pattern
from crisiswatch.detectors.support import Quiet
from crisiswatch.detectors.text import extract_hashtags, normalise_text, terms
from crisiswatch.detectors.timefmt import minute
from crisiswatch.detectors.types import (
    SEVERITY_RANK,
    Example,
    Explanation,
    HashtagLift,
    Signal,
    TermLift,
    Tone,
    TopicRef,
    WatchHit,
)
from crisiswatch.detectors.window import WindowStats

if TYPE_CHECKING:
    from crisiswatch.detectors.incidents import IncidentConfig, IncidentState


def rank(s: Signal) -> tuple[int, float]:
    """A signal's weight among its incident's: severity first, then its score."""
    return SEVERITY_RANK[s.severity], s.score


def explain(brand: str, state: IncidentState, window_s: int, tone: Tone,
            cfg: IncidentConfig, pattern: Pattern, demoted: bool = False,
            quiet: Quiet | None = None) -> Explanation:
    """What a person reads in ten seconds: how much, how surprising, about what, by whom.

    ``pattern``: what the incident is about, as feedback remembers it; ``demoted``: the
    tone lowered the severity to ``info``; ``quiet``: why the bursts page nobody (who is
    talking); the summary says either."""
    s, peak, b = state.stats, state.peak, state.baselines
    assert peak is not None
    minutes = peak.horizon * window_s // 60
    at = minute(state.peak_window)
    windows_in = max(state.windows, 1)
    tags = []
    for tag, n in s.hashtags.top(cfg.top):
        rate = b.hashtag_rate.get(tag, 0.0) * windows_in
        tags.append(HashtagLift(tag, n, round(rate, 2), round(n / rate, 1) if rate > 0 else None,
                                s.hashtag_retweets.counts.get(tag, 0)))
    # counts less their space-saving error: a term that took over a counter late must
    # not look frequent (and so distinctive) on the counter's inherited count
    counted = [(t, n - s.terms.errors.get(t, 0)) for t, n in s.terms.counts.items()]
    lifted_terms = b.background.lifts(counted, b.background_cfg)
    lead = f"{quiet.reason}, not paged: " if quiet else _lead(tone, demoted, s)
    summary = f"{brand}: {lead}" + "; ".join(
        x.summary for x in sorted(state.strongest.values(), key=rank, reverse=True)[:3])
    named = [t for t in _storm_tags(state, tags, cfg)
             if not re.search(rf"{re.escape(t)}(?!\w)", summary)]
    if named:
        summary += "; hashtags " + ", ".join(named)
    watch_hits: list[WatchHit] = []
    for x in state.signals:
        if x.kind == "keyword" and all(h.term != x.details["term"] for h in watch_hits):
            watch_hits.append(WatchHit(x.details["term"], x.severity,
                                       s.watch.get(x.details["term"], x.details["observed"])))
    topics = {x.details["topic_id"]: TopicRef(x.details["topic_id"], tuple(x.details["terms"]),
                                              x.details["size"], x.details["reason"])
              for x in state.signals if x.kind == "topic"}
    return Explanation(
        summary=summary,
        tone=tone,
        positive=tone == "positive",
        observed=peak.horizon_observed,
        expected=peak.horizon_expected,
        horizon_minutes=minutes,
        lift=peak.lift,
        p_value=peak.p_value,
        surprise=peak.surprise,
        score_meaning=(
            f"volume surprise {peak.surprise:.1f} = -log10(p): a count this "
            f"{'low' if peak.drop else 'high'} over {minutes}"
            f" min (to {at}) happens about once in 10^{peak.surprise:.1f} windows when nothing"
            " is going on (negative binomial baseline, corrected for the horizons tested)"
        ),
        peak_window=state.peak_window,
        mentions=s.count,
        retweets=s.retweets,
        retweet_share=round(s.retweets / s.count, 4) if s.count else 0.0,
        retweeted_originals=len(s.retweeted),
        negative_share=round(s.negative_share, 4),
        negative_share_baseline=round(b.negative_share, 4),
        positive_share=round(s.positives / s.count, 4) if s.count else 0.0,
        positive_share_baseline=round(b.positive_share, 4),
        mean_sentiment=round(s.mean_sentiment, 4),
        reach=s.reach,
        max_followers=s.max_followers,
        top_hashtags=tuple(s.hashtags.top(cfg.top)),
        hashtags=tuple(tags),
        top_terms=tuple((t, n) for t, n, _ in lifted_terms[:cfg.top]),
        term_lifts=tuple(TermLift(t, n, lift) for t, n, lift in lifted_terms[:cfg.top]),
        watchlist_hits=tuple(watch_hits),
        topics=tuple(topics.values()),
        examples=tuple(_example(e) for e in _representative(
            s, lifted_terms, tags, [h.term for h in watch_hits], cfg)),
        loudest_complaints=tuple(_example(e) for e in sorted(s.loudest,
                                                              key=lambda e: -e.followers)),
        support=s.support(),
        quiet_reason=quiet.reason if quiet else None,
        quiet_kind=quiet.kind if quiet else None,
        signals=tuple(state.signals),
        signal_counts=dict(sorted(state.signal_counts.items())),
        pattern=pattern,
    )


def _example(e: Example) -> Example:
    """The post as the explanation shows it (its score to three places)."""
    return Example(e.id, e.ts, e.text, e.handle, e.followers, round(e.sentiment, 3))


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


def _storm_tags(state: IncidentState, tags: list[HashtagLift],
                cfg: IncidentConfig) -> list[str]:
    """The hashtags the burst is about: those that emerged, then frequent ones far above
    their own rate (or never seen before), most mentioned first."""
    emerged = list(dict.fromkeys(x.details["term"] for x in state.signals
                                 if x.kind == "hashtag"))
    frequent = [f"#{t.tag}" for t in tags if t.count >= cfg.storm_tag_min
                and (t.lift is None or t.lift >= 4)]
    return list(dict.fromkeys(emerged + frequent))[:cfg.storm_tags]


@lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, frozenset[str]]:
    """A candidate post's normalised text and its terms and hashtags: an open incident
    scores much the same candidates at every window, so each text is read once."""
    norm = normalise_text(text)
    return norm, frozenset(terms(f" {norm}")) | {"#" + t for t in extract_hashtags(text)}


def _representative(s: WindowStats, lifted: list[tuple[str, int, float]],
                    tags: list[HashtagLift], watch_terms: list[str],
                    cfg: IncidentConfig) -> list[Example]:
    """Posts that show what the burst is about: candidates (the widest-reaching originals,
    the first post of each frequent hashtag, a uniform sample of the mentions) scored by
    the log-lift of the distinctive terms and hashtags they contain; topped up with the
    widest-reaching ones when too few say anything distinctive (an ordinary burst)."""
    weight = {t: math.log(lift) for t, _, lift in lifted}
    for t in tags:
        if t.count >= 2 and (t.lift is None or t.lift >= 2):
            weight["#" + t.tag] = math.log(t.lift or 10.0)
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
