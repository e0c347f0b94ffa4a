"""Response models: they make /docs and /openapi.json describe every answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Severity = Literal["info", "warning", "critical"]


class ErrorBody(BaseModel):
    status: int
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    redis: bool
    flow: dict[str, str] = Field(description="status fields the flow last wrote")


class BrandOut(BaseModel):
    brand: str
    open_alerts: int
    last_window_start: float | None


class WindowPoint(BaseModel):
    window_start: float
    window_end: float
    count: int
    retweets: int
    negative_share: float
    positive_share: float
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


class Explanation(BaseModel):
    summary: str
    observed: int
    expected: float
    horizon_minutes: int
    lift: float
    p_value: float
    surprise: float
    score_meaning: str
    peak_window: float
    mentions: int
    retweets: int
    negative_share: float
    mean_sentiment: float
    reach: int
    max_followers: int
    top_hashtags: list[tuple[str, int]]
    top_terms: list[tuple[str, int]]
    examples: list[Example]


class AlertOut(BaseModel):
    id: str
    brand: str
    kinds: list[str]
    severity: Severity
    state: Literal["open", "acknowledged", "resolved"]
    first_window: float
    last_window: float
    window_s: int
    updated_window: float
    explanation: Explanation


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
