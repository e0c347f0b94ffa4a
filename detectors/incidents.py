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

Paging needs people. A burst (volume, hashtags, tone) pages only when several distinct
people write in their own words, or one negative original is shared widely; the
brand's own posts being shared, spam, and a handful of accounts posting over and over
are reported as ``info`` and the summary says which (``detectors.support``). So is a
volume burst made of a term already known to page nobody (routine, recurring, own,
spam): a weaker signal cannot override that downgrade. A topic alone is a product
team's news: it corroborates other evidence but pages nobody by itself. Watch terms
weigh their own witnesses (``detectors.watchlist``), and an incident that repeats a
pattern the brand's team marked noise is ``info`` (``detectors.feedback``).

The explanation (``detectors.explanation``) says what the burst is about by what is
unusual in it, and who was talking.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from scipy.special import betainc

from crisiswatch.detectors.background import Background, BackgroundConfig
from crisiswatch.detectors.explanation import explain, rank
from crisiswatch.detectors.feedback import PATTERN_TAGS, NoiseMark, Pattern, marked, pattern
from crisiswatch.detectors.support import Quiet, SupportConfig, verdict
from crisiswatch.detectors.types import (
    SEVERITY_ORDER,
    SEVERITY_RANK,
    Incident,
    Severity,
    Signal,
    Tone,
    VolumeScore,
)
from crisiswatch.detectors.window import WindowStats

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
    support: SupportConfig = field(default_factory=SupportConfig)  # who must be talking
    explained_share: float = 0.5  # of a volume burst's excess, held by a quiet term
    term_hold_windows: int = 36  # a watch-term incident stays open the terms' longest horizon


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
    open: Incident | None = None  # its latest version
    stats: WindowStats = field(default_factory=WindowStats)
    peak: VolumeScore | None = None
    peak_window: float = 0.0
    signals: list[Signal] = field(default_factory=list)  # the latest SIGNALS_KEPT
    strongest: dict[str, Signal] = field(default_factory=dict)  # per kind, for the summary
    signal_counts: dict[str, int] = field(default_factory=dict)
    windows: int = 0  # windows merged into ``stats`` (lead-in included)
    # windows the incident stays open without a signal beyond ``cooldown_windows``: a
    # watch term is judged over hours (``term_hold_windows``), and its next hit within
    # them is the same story, not a new incident
    hold: int = 0
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
    noise: Sequence[NoiseMark] = (),
) -> list[Incident]:
    """Advance the brand's incident by one window; return the versions to store.

    ``lead_in`` holds the windows just before this one: an incident that opens on an
    hour-long rise describes that hour, not only its last five minutes, so its counts,
    shares and examples agree with its "observed". ``noise``: the patterns the brand's
    team marked noise (``detectors.feedback``); an incident that repeats one is ``info``.
    """
    out: list[Incident] = []
    incident = state.open
    cooldown = max(cfg.cooldown_windows, state.hold)
    if incident is not None and window_start - incident.last_window > cooldown * window_s:
        out.append(replace(incident, state="resolved", updated_window=incident.last_window
                           + (cooldown + 1) * window_s))
        state.open = incident = None
    if not signals:
        return out
    if incident is None:
        first_window, severity = window_start, "info"
        state.stats, state.peak, state.windows = WindowStats(), None, 0
        state.signals, state.strongest, state.signal_counts = [], {}, {}
        state.hold = 0
        state.baselines = replace(baselines, hashtag_rate=dict(baselines.hashtag_rate))
        span = max((s.details.get("horizon", 1) for s in signals), default=1)
        for earlier in list(lead_in)[len(lead_in) - (span - 1):] if span > 1 else ():
            state.stats.merge(earlier)
            state.windows += 1
    else:  # a tag that joins later is compared with its rate before it joined
        first_window, severity = incident.first_window, incident.severity
        for tag, rate in baselines.hashtag_rate.items():
            state.baselines.hashtag_rate.setdefault(tag, rate)
    state.stats.merge(stats)
    state.windows += 1
    if state.peak is None or score.surprise >= state.peak.surprise:
        state.peak, state.peak_window = score, window_start
    for s in signals:
        if s.kind == "keyword":
            state.hold = cfg.term_hold_windows
        state.signal_counts[s.kind] = state.signal_counts.get(s.kind, 0) + 1
        best = state.strongest.get(s.kind)
        if best is None or rank(s) > rank(best):
            state.strongest[s.kind] = s
    state.signals = (state.signals + list(signals))[-SIGNALS_KEPT:]
    tone, praise_p = _tone(state, cfg)
    about = _pattern(state)
    marked_noise = marked(about, noise) if noise else None
    quiet = Quiet("marked noise", marked_noise) if marked_noise \
        else _quiet_reason(state, tone, cfg)
    severity = _max_severity(severity, "info" if marked_noise else _severity(state, cfg, quiet))
    modest = state.peak.surprise < cfg.calm_surprise
    # strong volume and hashtags together are a storm: praise must be significant to
    # call it a campaign (a few points above usual could be anything)
    storm = not modest and "hashtag" in state.signal_counts
    demoted = (tone == "positive" and (not storm or praise_p <= cfg.positive_p)) or \
        (tone == "calm" and modest)
    if demoted:
        severity = "info"
    state.open = Incident(
        id=incident_id(brand, first_window), brand=brand, kinds=tuple(sorted(state.signal_counts)),
        severity=severity, state="open", first_window=first_window, last_window=window_start,
        window_s=window_s, updated_window=window_start,
        explanation=explain(brand, state, window_s, tone, cfg, about, demoted, quiet))
    out.append(state.open)
    return out


def _pattern(state: IncidentState) -> Pattern:
    """What the incident is about, as feedback remembers it (``detectors.feedback``)."""
    return pattern(({"kind": x.kind, "details": x.details} for x in state.signals),
                   state.stats.hashtags.top(PATTERN_TAGS))


BURSTS = ("volume", "hashtag", "sentiment")  # judged by who is talking in the incident
PRIMARY = (*BURSTS, "keyword", "reach")  # may page on their own; a topic only corroborates


def _quiet_reason(state: IncidentState, tone: str, cfg: IncidentConfig) -> Quiet | None:
    """Why the incident's bursts should page nobody, whatever their size: who is
    talking (``detectors.support.verdict``: the brand's own posts, spam, a handful of
    accounts), or a volume burst made of a term already known to be routine, recurring,
    spam or own content (a weaker signal cannot override that downgrade)."""
    if not any(kind in BURSTS for kind in state.signal_counts):
        return None  # watch terms and reach weigh their own support
    reason = verdict(state.stats.support(), tone == "negative", cfg.support)
    if reason is not None:
        return reason
    peak = state.peak
    terms = [x for x in state.signals if x.kind in ("hashtag", "keyword")]
    if peak is None or "volume" not in state.signal_counts or not terms \
            or any(x.severity != "info" for x in terms):
        return None
    excess = peak.horizon_observed - peak.horizon_expected
    quiet = max(terms, key=lambda x: x.details["observed"])
    if quiet.details["observed"] >= cfg.explained_share * excess:
        return Quiet("quiet term", f"the burst is {quiet.details['term']}, which pages nobody")
    return None


def _severity(state: IncidentState, cfg: IncidentConfig, quiet: Quiet | None) -> Severity:
    """The strongest signal's severity, one level up when ``escalate_kinds`` kinds of
    evidence page together. A burst with a ``quiet`` reason pages nobody; a topic
    alone is a product team's news, not a page: it only corroborates other evidence."""
    levels = {kind: SEVERITY_RANK[s.severity] for kind, s in state.strongest.items()
              if kind in PRIMARY and not (quiet and kind in BURSTS)}
    strongest = max(levels.values(), default=0)
    paging = [k for k, level in levels.items() if level > 0]
    if paging and "topic" in state.strongest:
        paging.append("topic")
    if len(paging) >= cfg.escalate_kinds:
        strongest = min(strongest + 1, len(SEVERITY_ORDER) - 1)
    return SEVERITY_ORDER[strongest]


def _max_severity(a: Severity, b: Severity) -> Severity:
    """Severity never drops while an incident is open: people were already paged."""
    return a if SEVERITY_RANK[a] >= SEVERITY_RANK[b] else b


def _tone(state: IncidentState, cfg: IncidentConfig) -> tuple[Tone, float]:
    """How an attention burst feels: ``positive``, ``calm``, ``negative`` or ``unknown``,
    and how significant its praise is (the binomial p-value of its positive mentions
    against the brand's usual positive share; 1 when there is none to speak of).

    Only bursts (volume, hashtags, and the topics beside them) have a tone; any other
    evidence (a sentiment shift, a watch term, a loud complaint) is ``negative`` by
    nature. A positive burst is a
    campaign (#DestinationDragons: more mentions, more praise, no more complaints). A
    calm one (no more negative than usual, no more praise) pages only when the volume
    evidence is overwhelming: a PR gaffe going viral is calm at first, a snow day's
    "landed safely, thanks" is calm and harmless. When hashtags drive the incident,
    their own mentions are judged (a campaign tag is positive even while the brand's
    usual complaints go on beside it). Shares are over the mentions whose tone could be
    read; when too few could (a storm of retweeted handle lists), the tone is
    ``unknown``, which neither pages nor reassures anyone by itself.
    """
    if not set(state.signal_counts) <= {"volume", "hashtag", "topic"}:
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
