"""Domain records shared by the flow, the detectors, the store and the API.

They are slotted dataclasses rather than pydantic models because the flow creates one
per mention on the hot path; validation happens once, in the parser, not on every copy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SEVERITY_ORDER = ("info", "warning", "critical")  # the one place severities are ordered


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
    """A record that could not become a mention, with a reason a person can act on."""

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
class Alert:
    """An incident: one or more anomalous windows of one brand, explained."""

    id: str
    brand: str
    kinds: list[str]
    severity: str
    state: str
    first_window: float
    last_window: float
    window_s: int
    updated_window: float
    explanation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Shallow on purpose: the explanation is already plain JSON-ready data."""
        return {"id": self.id, "brand": self.brand, "kinds": list(self.kinds),
                "severity": self.severity, "state": self.state,
                "first_window": self.first_window, "last_window": self.last_window,
                "window_s": self.window_s, "updated_window": self.updated_window,
                "explanation": self.explanation}


@dataclass(slots=True)
class Signal:
    """One detector's finding about one window of one brand; incidents fuse them."""

    kind: str  # volume | hashtag | sentiment | keyword | reach | topic | silence
    window_start: float
    severity: str  # info | warning | critical
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
