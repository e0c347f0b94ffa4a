"""Domain records shared by the flow, the detectors, the store and the API.

They are slotted dataclasses rather than pydantic models because the flow creates one
per mention on the hot path; validation happens once, in the parser, not on every copy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from crisiswatch.detectors.feedback import Pattern
from crisiswatch.detectors.records import from_json, to_json
from crisiswatch.detectors.support import QuietKind, Support

# The one place severities are spelt and ordered: everyone ranks them by this.
Severity = Literal["info", "warning", "critical"]
SEVERITY_ORDER: tuple[Severity, ...] = get_args(Severity)
SEVERITY_RANK: dict[str, int] = {s: n for n, s in enumerate(SEVERITY_ORDER)}

SignalKind = Literal["volume", "hashtag", "sentiment", "keyword", "reach", "topic", "silence"]
Tone = Literal["positive", "calm", "negative", "unknown"]
DetectorState = Literal["open", "resolved"]  # people's states are response/'s (lifecycle)

RAW_KEPT = 2000  # characters of a raw record (or an item) a dead letter keeps


@dataclass(slots=True)
class Mention:
    """One validated brand mention (the input contract of DESIGN.md)."""

    id: str
    ts: float  # event time, epoch seconds (UTC)
    brands: tuple[str, ...]
    text: str
    hashtags: tuple[str, ...]  # lower case, without '#'
    author_id: str | None = None
    handle: str | None = None
    followers: int = 0
    is_retweet: bool = False
    retweet_of: str | None = None
    platform: str | None = None
    lang: str | None = None
    url: str | None = None
    norm_text: str = ""  # set by enrichment (detectors.text.normalise_text)
    watch: tuple[str, ...] = ()  # watch terms found in the text, set by enrichment
    sentiment: float = 0.0  # polarity in [-1, 1], set by enrichment
    # -1 negative, 0 neutral, 1 positive: the scorer's class; None: unknown, for a text
    # with no words of its own (detectors.text.has_own_words), whose score is noise
    tone: int | None = 0
    spam: bool = False  # reads as promotion or a ticker list (detectors.support.spam_like)
    hedged: tuple[str, ...] = ()  # watch terms whose clause wonders rather than tells

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class DeadLetter:
    """A record that could not become a mention, with a reason a person can act on
    (and at most ``RAW_KEPT`` characters of it)."""

    reason: str
    raw: str
    source: str = ""
    position: int = 0

    @property
    def key(self) -> str:
        """Stable identity, so that a record re-read after recovery is stored once."""
        return f"{self.source}:{self.position}"

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "raw": self.raw, "source": self.source,
                "position": self.position}


@dataclass(slots=True)
class Example:
    """A representative mention kept with a window or an incident."""

    id: str
    ts: float
    text: str
    handle: str | None
    followers: int
    sentiment: float


@dataclass(slots=True)
class VolumeScore:
    """What the volume detector says about one window of one brand."""

    observed: int  # count in the window
    expected: float  # expected count in the window
    horizon: int  # windows summed by the most surprising test
    horizon_observed: int  # observed count over that horizon
    horizon_expected: float  # expected count over that horizon
    p_value: float  # P(count >= observed | baseline) (<= for a drop), corrected for horizons
    surprise: float  # -log10(p_value)
    lift: float  # horizon_observed / horizon_expected
    anomalous: bool
    warming_up: bool  # the baseline is young: local level, stricter threshold
    log_z: float = 0.0  # the horizon's mean log ratio in sds of ordinary windows
    drop: bool = False  # a record low far below the baseline (only with detect_drops)


@dataclass(slots=True)
class Signal:
    """One detector's finding about one window of one brand; incidents fuse them."""

    kind: SignalKind
    window_start: float
    severity: Severity
    summary: str  # one line a person reads first
    score: float = 0.0  # surprise, -log10(p), where the detector has a p-value
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """What ``asdict`` gives, without its deep copy of every detail (an incident's
        explanation lists its signals again at every window): details are JSON-ready
        numbers, strings and lists that nothing changes after the signal is made."""
        return {"kind": self.kind, "window_start": self.window_start,
                "severity": self.severity, "summary": self.summary, "score": self.score,
                "details": dict(self.details)}


# An incident, as the detectors make it and the store keeps it. The fields are the
# stored document's keys, in its order: ``to_dict`` writes them and ``from_dict`` reads
# them back (``detectors.records``); the API's response models are checked against them
# (tests/test_incident_contract.py). Sequences are tuples: a version is never changed,
# the next window makes a new one.


@dataclass(frozen=True, slots=True)
class HashtagLift:
    """A hashtag of the incident against its own usual rate."""

    tag: str
    count: int  # mentions with the tag in the incident's windows
    expected: float  # what the tag's own baseline expects in as long
    lift: float | None  # count / expected; None for a tag never seen
    retweets: int


@dataclass(frozen=True, slots=True)
class TermLift:
    """A term of the incident against the brand's usual vocabulary."""

    term: str
    count: int
    lift: float


@dataclass(frozen=True, slots=True)
class WatchHit:
    """A watch term that fired in the incident."""

    term: str
    severity: Severity
    count: int


@dataclass(frozen=True, slots=True)
class TopicRef:
    """An emerging topic that fed the incident (the store keeps the whole topic)."""

    id: str
    terms: tuple[str, ...]
    size: int
    reason: Literal["new", "accelerating"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    """What a person reads in ten seconds (``detectors.explanation``): how much, how
    surprising, about what, by whom. The fields with defaults are those an incident
    stored before they were recorded lacks."""

    summary: str  # the one line to read first
    tone: Tone
    positive: bool
    observed: int  # mentions over the peak's horizon
    expected: float  # what the baseline expected over that horizon
    horizon_minutes: int
    lift: float
    p_value: float
    surprise: float
    score_meaning: str
    peak_window: float
    mentions: int  # mentions in the incident's windows
    retweets: int
    retweet_share: float
    retweeted_originals: int  # distinct originals the retweets copy
    negative_share: float
    negative_share_baseline: float
    positive_share: float
    positive_share_baseline: float
    mean_sentiment: float
    reach: int
    max_followers: int
    top_hashtags: tuple[tuple[str, int], ...]
    hashtags: tuple[HashtagLift, ...]
    top_terms: tuple[tuple[str, int], ...]
    term_lifts: tuple[TermLift, ...] = ()
    watchlist_hits: tuple[WatchHit, ...]
    topics: tuple[TopicRef, ...] = ()
    examples: tuple[Example, ...]  # representative originals
    loudest_complaints: tuple[Example, ...]
    support: Support | None = None  # who was talking
    quiet_reason: str | None = None  # why it pages nobody, if so
    quiet_kind: QuietKind | None = None
    signals: tuple[Signal, ...]  # the latest few, oldest first
    signal_counts: dict[str, int]
    pattern: Pattern | None = None  # what a later incident must share to be the same

    def to_dict(self) -> dict[str, Any]:
        return to_json(self)


@dataclass(frozen=True, slots=True)
class Incident:
    """One or more anomalous windows of one brand, explained: one version of it (the
    flow emits a new version at every window that changes it; its ``id`` stays)."""

    id: str
    brand: str
    kinds: tuple[str, ...]  # the kinds of signal it fused, sorted
    severity: Severity
    state: DetectorState  # the detector's: people acknowledge and resolve in response/
    first_window: float
    last_window: float
    window_s: int
    updated_window: float
    explanation: Explanation

    def to_dict(self) -> dict[str, Any]:
        """The stored document (the store adds the ``headline`` it is read by)."""
        return to_json(self)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Incident:
        """The incident a stored document holds (other keys, such as the people's
        side the store merges in, are left)."""
        return from_json(cls, doc)
