"""Everything a brand's detectors know, advanced one closed window at a time.

The flow keeps one ``BrandState`` per brand (Bytewax snapshots it for recovery) and
calls ``observe`` for each closed window in event-time order. Each detector answers in
its own terms (a tail probability, an emerging term, a share shift); this module turns
those answers into ``Signal``s with a severity and a one-line summary, and hands them
to incident fusion.

Only the volume detector waits for its day of warm-up: hashtags and watch terms are
tested from the first window (with stricter thresholds while their baseline is young),
the sentiment shift once it has read enough mentions, and a loud complaint is news at
any age. A storm in a brand's first hour is still a storm; and a stream a few hours old
whose complaints rise while its tone turns pages before its young baseline can follow
the rise (``_young_onset``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from crisiswatch.detectors import (
    background,
    incidents,
    sentiment_shift,
    terms,
    topic_clustering,
    topics,
    volume,
)
from crisiswatch.detectors.embeddings import Embedder
from crisiswatch.detectors.feedback import NoiseMark
from crisiswatch.detectors.support import SupportConfig
from crisiswatch.detectors.targeting import Lenses
from crisiswatch.detectors.types import Incident, Signal, VolumeScore
from crisiswatch.detectors.watchlist import Watchlist
from crisiswatch.detectors.window import WindowStats


@dataclass(frozen=True)
class ReachConfig:
    min_followers: int = 100_000
    critical_followers: int = 1_000_000


@dataclass(frozen=True)
class DetectorConfig:
    window_s: int
    volume: volume.VolumeConfig = field(default_factory=volume.VolumeConfig)
    terms: terms.TermConfig = field(default_factory=terms.TermConfig)
    sentiment: sentiment_shift.SentimentConfig = field(
        default_factory=sentiment_shift.SentimentConfig)
    reach: ReachConfig = field(default_factory=ReachConfig)
    incidents: incidents.IncidentConfig = field(default_factory=incidents.IncidentConfig)
    watchlist: Watchlist = field(default_factory=Watchlist)
    topics: topics.TopicConfig | None = None  # None: no topic clustering
    background: background.BackgroundConfig = field(
        default_factory=background.BackgroundConfig)
    critical_surprise: float = 12.0
    critical_lift: float = 4.0
    # hashtags ("#askus") and watch terms whose bursts people declared routine for the
    # brand (a daily reply tag, a weekly show): reported as info, never paged
    routine: frozenset[str] = frozenset()
    # how brands are named: the brand a post is aimed at, the brand's own accounts
    lenses: Lenses = field(default_factory=Lenses)
    # patterns the brand's team marked noise (``detectors.feedback``): not paged again
    noise: tuple[NoiseMark, ...] = ()


def routine_term(term: str) -> str:
    """A term as the detectors name it, for ``DetectorConfig.routine``: a hashtag
    lower-case with its '#' ("#AskSkyways" -> "#askskyways"), a watch term as the
    watchlist writes it."""
    term = term.strip()
    return "#" + term.lstrip("#").lower() if term.startswith("#") else term


@dataclass(slots=True)
class BrandState:
    volume: volume.VolumeState = field(default_factory=volume.VolumeState)
    terms: terms.TermState = field(default_factory=terms.TermState)
    sentiment: sentiment_shift.SentimentState = field(
        default_factory=sentiment_shift.SentimentState)
    incident: incidents.IncidentState = field(default_factory=incidents.IncidentState)
    topics: topics.BrandTopics = field(default_factory=topics.BrandTopics)
    background: background.Background = field(default_factory=background.Background)
    recent: deque[tuple[int, WindowStats]] = field(default_factory=deque)


@dataclass(slots=True)
class Observation:
    """What one closed window produced: its series record, incident versions, topics."""

    record: dict[str, Any]
    incidents: list[Incident]
    topics: list[dict[str, Any]]


def observe(state: BrandState, brand: str, window: int, stats: WindowStats,
            cfg: DetectorConfig, embedder: Embedder | None = None) -> Observation:
    """Score one closed window (sealed here: ``WindowStats.seal``). ``embedder`` turns
    the window's distinct texts into vectors for topic clustering (only when
    ``cfg.topics`` is set and the window kept its texts)."""
    stats.seal()
    start = window * cfg.window_s
    rise, turn = _young_onset(state, window, stats, cfg)
    score = volume.update(state.volume, window, stats.count, cfg.volume)
    if rise is not None and not score.anomalous:
        score = rise
    watch = {t: terms.WatchCount(n, w.min_count, frozenset(stats.watch_authors.get(t, ())),
                                 stats.watch_reach.get(t, 0))
             for t, n in stats.watch.items()
             if (w := cfg.watchlist.get(t)) is not None and w.applies_to(brand)}
    hashtag_counts = {t: (n, stats.hashtag_negatives.counts.get(t, 0),
                          stats.hashtag_positives.counts.get(t, 0),
                          stats.hashtag_unknown.counts.get(t, 0))
                      for t, n in stats.hashtags.counts.items()}
    baselines = incidents.Baselines(
        negative_share=state.sentiment.negative_share,
        positive_share=state.sentiment.positive_share,
        hashtag_rate={t: state.terms.expected("#" + t, window, cfg.terms)
                      for t in hashtag_counts},
        background=state.background,
        background_cfg=cfg.background,
    )
    emerging = terms.update(state.terms, window, hashtag_counts, watch, cfg.terms,
                            stats.count)
    # tone shares are over the mentions whose tone could be read
    shift = sentiment_shift.update(state.sentiment, window, stats.negatives, stats.positives,
                                   stats.readable, cfg.sentiment)

    signals = []
    if score.anomalous:
        signals.append(_volume_signal(start, score, cfg))
    elif score.drop:
        signals.append(_silence_signal(start, score, cfg))
    signals += [_term_signal(start, e, stats, cfg) for e in emerging]
    shift = shift or turn
    if shift is not None:
        signals.append(_sentiment_signal(start, shift))
    signals += _reach_signals(start, stats, cfg.reach)
    topic_records: list[dict[str, Any]] = []
    if cfg.topics is not None and embedder is not None and stats.texts is not None:
        items = stats.texts.items()
        vectors = embedder.embed([i.text for i in items])
        found = topic_clustering.update(state.topics, brand, start, items, vectors, cfg.topics,
                                        brand_count=stats.texts.total)
        topic_records = found.topics
        signals += [s.to_signal() for s in found.signals]

    longest = max(cfg.volume.horizons)
    lead_in = [s for w, s in state.recent if w > window - longest]
    versions = incidents.step(state.incident, brand, start, cfg.window_s, stats, score, signals,
                              baselines, cfg.incidents, lead_in, cfg.noise)
    if not signals:  # a burst must not become its own background
        state.background.learn(window, stats.terms.counts, cfg.background)
    state.recent.append((window, stats))
    if len(state.recent) >= longest:
        state.recent.popleft()
    record = {
        "brand": brand,
        "window_start": start,
        "window_end": start + cfg.window_s,
        **stats.summary(),
        "expected": score.expected,
        "p_value": score.p_value,
        "surprise": score.surprise,
        "lift": score.lift,
        "horizon": score.horizon,
        "anomalous": score.anomalous,
        "warming_up": score.warming_up,
        "negative_share_baseline": round(baselines.negative_share, 4),
        "signals": [s.kind for s in signals],
    }
    return Observation(record, versions, topic_records)


def _young_onset(state: BrandState, window: int, stats: WindowStats, cfg: DetectorConfig
                 ) -> tuple[VolumeScore | None, sentiment_shift.Shift | None]:
    """A young stream's onset, read before the window is learnt: its complaints rising
    against the hour before while its tone turns against the stream so far
    (``sentiment_shift.young_turn``), with its volume's rise when that shows too
    (``volume.young_rise``). A stream a few hours old going from 50 to 130 mentions an
    hour, its complaints from 15 to 70, is an onset the young baseline would follow; a
    first morning (more mentions, the same mood) is not. None, None: no onset now."""
    if state.volume.live_windows >= cfg.volume.warmup_windows:
        return None, None
    level = volume.lagged_expected(state.volume, window, cfg.volume)
    if level is None:
        return None, None
    turn = sentiment_shift.young_turn(state.sentiment, window, stats.negatives,
                                      stats.readable, level, cfg.sentiment)
    if turn is None:
        return None, None
    return volume.young_rise(state.volume, window, stats.count, cfg.volume), turn


def _volume_signal(start: float, score: VolumeScore, cfg: DetectorConfig) -> Signal:
    minutes = score.horizon * cfg.window_s // 60
    critical = score.surprise >= cfg.critical_surprise and score.lift >= cfg.critical_lift
    return Signal(
        kind="volume", window_start=start, severity="critical" if critical else "warning",
        summary=(f"{score.horizon_observed} mentions in {minutes} min against "
                 f"{score.horizon_expected:.1f} expected ({score.lift:.1f}x, "
                 f"p = {score.p_value:.1e})"),
        score=score.surprise,
        details={"observed": score.horizon_observed, "expected": score.horizon_expected,
                 "horizon": score.horizon, "lift": score.lift, "p_value": score.p_value},
    )


def _silence_signal(start: float, score: VolumeScore, cfg: DetectorConfig) -> Signal:
    """Far fewer mentions than the baseline, the quietest stretch in ``record_days``: on a
    brand that is usually talked about, that is more often a collector, a quota or a
    query gone wrong than a public that fell silent, so it is ``info`` for whoever runs
    the sources, not a page for the crisis team."""
    minutes = score.horizon * cfg.window_s // 60
    return Signal(
        kind="silence", window_start=start, severity="info",
        summary=(f"only {score.horizon_observed} mention"
                 f"{'' if score.horizon_observed == 1 else 's'} in {minutes} min against "
                 f"{score.horizon_expected:.1f} expected, the quietest in "
                 f"{cfg.volume.record_days} days: check that the source is live"),
        score=0.0,
        details={"observed": score.horizon_observed, "expected": score.horizon_expected,
                 "horizon": score.horizon, "log_z": score.log_z},
    )


def _term_signal(start: float, e: terms.Emergence, stats: WindowStats,
                 cfg: DetectorConfig) -> Signal:
    minutes = e.horizon * cfg.window_s // 60
    routine = e.term in cfg.routine
    figures = {"term": e.term, "observed": e.observed, "expected": e.expected,
               "horizon": e.horizon, "lift": round(e.lift, 1), "p_value": e.p_value,
               "negatives": e.negatives, "positives": e.positives, "unknown": e.unknown,
               "young_baseline": e.young, "recurring": list(e.recurring),
               **({"routine": True} if routine else {})}
    recurring = ("routine for this brand, as people declared it: " if routine
                 else _recurring(e, start, cfg) if e.recurring else "")
    quiet = routine or bool(e.recurring)  # known to the brand: info, not a page
    if e.term.startswith("#"):
        tag = e.term[1:]
        retweets = stats.hashtag_retweets.counts.get(tag, 0)
        in_window = stats.hashtags.counts.get(tag, 0)
        share = retweets / in_window if in_window else 0.0
        amplified = (f"; {share:.0%} of it retweets of {len(stats.retweeted)} originals"
                     if retweets else "")
        whose = _tag_owner(tag, in_window, stats, cfg.incidents.support)
        if whose:
            figures["whose"] = whose
            recurring = f"{whose}: {recurring}"
            quiet = True
        return Signal(
            kind="hashtag", window_start=start,
            severity="info" if quiet else "warning",
            summary=(f"{recurring}{e.term} {e.observed} times in {minutes} min against "
                     f"{e.expected:.1f} expected{amplified}"),
            score=e.surprise, details={**figures, "retweet_share": round(share, 3)},
        )
    watch = cfg.watchlist.get(e.term)
    severity = watch.severity_for(e.observed, e.authors, e.reach) if watch else "warning"
    supported = watch is None or watch.supported(e.observed, e.authors, e.reach)
    who = f"{e.authors}{'+' if e.authors >= terms.AUTHORS_KEPT else ''} author" + \
        ("s" if e.authors != 1 else "")
    return Signal(
        kind="keyword", window_start=start,
        severity="info" if quiet else severity,
        summary=(f"{recurring}watchlist '{e.term}' {e.observed} times in {minutes} min "
                 f"({e.expected:.1f} expected; {who}"
                 f"{'' if supported else ', not yet corroborated'})"),
        score=e.surprise,
        details={**figures, "authors": e.authors, "reach": e.reach, "supported": supported},
    )


def _tag_owner(tag: str, in_window: int, stats: WindowStats, cfg: SupportConfig
               ) -> str | None:
    """Whose a hashtag's burst is when it is not the public's: mostly the brand's own
    posts and retweets of them (its giveaway, its anniversary), mostly spam, or a few
    accounts posting it over and over (a bot, a template)."""
    if not in_window:
        return None
    if stats.hashtag_own.counts.get(tag, 0) > cfg.max_own_share * in_window:
        return "the brand's own post being shared"
    if stats.hashtag_spam.counts.get(tag, 0) > cfg.max_spam_share * in_window:
        return "mostly spam"
    who = stats.hashtag_authors.get(tag)
    authors = len(who) if who is not None else in_window  # counted up to a few
    if authors <= cfg.few_accounts and in_window >= cfg.posts_per_account * authors:
        return f"{in_window} posts from only {authors} account{'s' if authors != 1 else ''}"
    return None


def _recurring(e: terms.Emergence, start: float, cfg: DetectorConfig) -> str:
    """The lead-in of a recurring term's summary: people should know it is routine."""
    n = len(e.recurring)
    days = round((start / cfg.window_s - min(e.recurring)) / cfg.terms.day_windows)
    return (f"recurring, like {n} earlier burst{'s' if n > 1 else ''} at this time of day "
            f"(the first {days} day{'s' if days != 1 else ''} ago): ")


def _sentiment_signal(start: float, shift: sentiment_shift.Shift) -> Signal:
    return Signal(
        kind="sentiment", window_start=start, severity="warning",
        summary=(f"negative share {shift.share:.0%} of {shift.mentions} mentions against "
                 f"{shift.baseline:.0%} usually (p = {shift.p_value:.1e})"),
        score=shift.surprise,
        details={"share": shift.share, "baseline": shift.baseline,
                 "mentions": shift.mentions, "negatives": shift.negatives,
                 "horizon": shift.horizon, "p_value": shift.p_value},
    )


def _reach_signals(start: float, stats: WindowStats, cfg: ReachConfig) -> list[Signal]:
    """A complaint from an author with a large audience is news on its own."""
    out = []
    for e in stats.loudest:
        if e.followers >= cfg.min_followers:
            who = f"@{e.handle}" if e.handle else "an author"
            out.append(Signal(
                kind="reach", window_start=start,
                severity="critical" if e.followers >= cfg.critical_followers else "warning",
                summary=f"complaint from {who} with {e.followers:,} followers",
                score=0.0, details={"mention_id": e.id, "followers": e.followers,
                                    "handle": e.handle, "text": e.text},
            ))
    return out
