"""Response models: they make /docs and /openapi.json describe every answer.

The incident's models (``AlertOut``, ``Explanation`` and the records inside it) say in
HTTP what ``detectors.types.Incident`` is in code: they keep their names (the API's
contract), take its literals from it, and tests/test_incident_contract.py holds them to
its fields and types.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from crisiswatch.api.activation_models import ActivationOut, AuditEntry, SlaOut, SnoozeOut
from crisiswatch.detectors.support import QuietKind
from crisiswatch.detectors.types import DetectorState, Severity, SignalKind, Tone


class ErrorBody(BaseModel):
    status: int
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody


class BrandOut(BaseModel):
    brand: str
    open_alerts: int
    last_window_start: float | None


class WindowPoint(BaseModel):
    window_start: float
    window_end: float
    count: int
    retweets: int
    negative_share: float = Field(description="of the mentions with a readable tone")
    positive_share: float
    unknown_share: float = Field(
        0.0, description="mentions of unknown tone: no words of their own, or not in English")
    mean_sentiment: float
    reach: int
    max_followers: int
    hashtags: list[tuple[str, int]]
    expected: float = Field(description="expected count in this window under the baseline")
    p_value: float = Field(description="P(a count this high | baseline), horizon-corrected")
    surprise: float = Field(description="-log10(p_value)")
    lift: float
    horizon: int = Field(description="windows summed by the most surprising test")
    anomalous: bool
    warming_up: bool
    negative_share_baseline: float | None = Field(
        None, description="the brand's usual negative share (its baseline) at this window")
    signals: list[str] = Field([], description="kinds of detector signals in this window")


class SeriesOut(BaseModel):
    brand: str
    points: list[WindowPoint]


class Example(BaseModel):
    id: str
    ts: float
    text: str
    handle: str | None
    followers: int
    sentiment: float


class HashtagLift(BaseModel):
    tag: str
    count: int = Field(description="mentions with the tag in the incident's windows")
    expected: float = Field(description="what the tag's own baseline expects in as long")
    lift: float | None = Field(description="count / expected; null for a tag never seen")
    retweets: int


class WatchHit(BaseModel):
    term: str
    severity: Severity
    count: int


class SignalOut(BaseModel):
    """One detector's finding, kept inside the incident it fed."""

    kind: SignalKind
    window_start: float
    severity: Severity
    summary: str
    score: float = Field(description="-log10(p) where the detector has a p-value")
    details: dict[str, Any]


class TopicRef(BaseModel):
    """An emerging topic that fed the incident (GET /topics/{id} has the whole topic)."""

    id: str
    terms: list[str]
    size: int
    reason: Literal["new", "accelerating"]


class TermLift(BaseModel):
    term: str
    count: int
    lift: float


class SupportOut(BaseModel):
    """Who was talking (``detectors.support``): what decides whether a burst pages."""

    mentions: int
    authors: int = Field(description="distinct authors (exact up to 64, estimated beyond)")
    voices: int = Field(description="distinct authors of original, non-spam posts that are "
                        "not the brand's own: people writing in their own words")
    originals: int = Field(description="distinct originals its retweets repeat")
    retweets: int
    retweet_share: float
    top_retweets: int = Field(description="retweets of the most retweeted original")
    own: int = Field(description="the brand's own posts and retweets of them")
    own_share: float
    spam: int = Field(description="spam-like posts: ticker lists, promotion")
    spam_share: float
    spam_authors: int


class PatternOut(BaseModel):
    terms: list[str] = Field(description="hashtags ('#tag') and watch terms it was about")
    topic_words: list[str]


class Explanation(BaseModel):
    summary: str = Field(description="the one line to read first")
    tone: Tone = Field(
        description="positive: a campaign-like burst (info); calm: no more negative than "
        "usual; negative: complaints, or evidence other than volume; unknown: too few of "
        "its posts have words of their own (handle lists, links, retweet stubs) to read")
    positive: bool
    observed: int = Field(description="mentions over the peak's horizon")
    expected: float = Field(description="what the baseline expected over that horizon")
    horizon_minutes: int
    lift: float
    p_value: float
    surprise: float
    score_meaning: str
    peak_window: float
    mentions: int = Field(description="mentions in the incident's windows")
    retweets: int
    retweet_share: float
    retweeted_originals: int = Field(description="distinct originals the retweets copy")
    negative_share: float
    negative_share_baseline: float
    positive_share: float
    positive_share_baseline: float
    mean_sentiment: float
    reach: int
    max_followers: int
    top_hashtags: list[tuple[str, int]]
    hashtags: list[HashtagLift]
    top_terms: list[tuple[str, int]]
    term_lifts: list[TermLift] = Field(
        [], description="the top terms with their lift against the brand's usual vocabulary")
    watchlist_hits: list[WatchHit]
    topics: list[TopicRef] = []
    examples: list[Example] = Field(description="representative originals, widest reach first")
    loudest_complaints: list[Example]
    signals: list[SignalOut]
    signal_counts: dict[str, int]
    support: SupportOut | None = Field(None, description="who was talking (none: an "
                                       "incident stored before this was recorded)")
    quiet_reason: str | None = Field(None, description="why it pages nobody, if so: the "
                                     "brand's own post shared, spam, a few accounts, few "
                                     "people, a routine term, a pattern marked noise")
    quiet_kind: QuietKind | None = None
    pattern: PatternOut | None = Field(None, description="what a later incident must share "
                                       "with it to be the same (feedback)")


class VerdictOut(BaseModel):
    """A team's verdict on an incident (``POST /alerts/{id}/feedback``)."""

    incident: str
    brand: str
    kinds: list[str]
    severity: str = Field(description="the incident's severity when it was judged")
    first_window: float | None
    verdict: Literal["useful", "noise"]
    reason: str | None
    actor: str | None
    note: str | None
    at: float = Field(description="when it was judged, epoch seconds")
    pattern: PatternOut = Field(description="what a later incident must share with it to "
                                "be taken for the same (noise: not paged again)")


class AlertOut(BaseModel):
    id: str
    brand: str
    kinds: list[str]
    severity: Severity
    state: Literal["open", "acknowledged", "escalated", "resolved"] = Field(
        description="what people did (acknowledged, escalated, resolved) or else the "
        "detector's state")
    first_window: float
    last_window: float
    window_s: int
    updated_window: float
    headline: str = Field("", description="the incident in plain words, to read first: "
                          "what kind of trouble, how far above the usual volume, the "
                          "hashtag, how negative (the statistics are in explanation)")
    explanation: Explanation
    detector_state: DetectorState | None = Field(
        None, description="the detector's view: resolved after a quiet cool-down")
    assignee: str | None = None
    playbooks: list[ActivationOut] = Field([], description="activated playbooks")
    sla: SlaOut | None = None
    audit: list[AuditEntry] = Field([], description="every change, oldest first")
    snoozed: SnoozeOut | None = Field(None, description="the snooze in force over the "
                                      "incident (its own or its brand's)")
    feedback: VerdictOut | None = Field(None, description="the team's latest verdict: "
                                        "useful or noise")


class StatsOut(BaseModel):
    read: int
    processed: int
    duplicate: int
    late: int
    dead_lettered: int
    fanout: int = Field(description="extra copies of mentions that matched several brands")
    in_flight: int = Field(
        description="read + fanout - (processed + duplicate + late + dead_lettered): records "
        "in windows that have not closed yet; 0 once a replay has ended"
    )
    status: dict[str, str]


class RecordOut(BaseModel):
    """A dead letter (reason + raw) or a late mention, as stored."""

    model_config = {"extra": "allow"}

    reason: str | None = None
    raw: str | None = None
    source: str | None = None
    position: int | None = None
