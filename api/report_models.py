"""Response models of ``GET /reports``: they make /docs say what each KPI means and
which clock measures it (see ``response/kpis.py``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from crisiswatch.api.topics import TopicExample
from crisiswatch.detectors.types import Severity


class Quantiles(BaseModel):
    n: int = Field(description="incidents measured")
    median_s: float | None = Field(description="seconds; null when none was measured")
    p90_s: float | None = Field(description="seconds, linear between ranks")


class Peak(BaseModel):
    window_start: float
    count: int
    expected: float


class VolumeKpis(BaseModel):
    mentions: int = Field(description="mentions in the period's windows (event time)")
    windows: int = Field(description="windows with mentions")
    expected: float = Field(description="what the baseline expected in those windows")
    negative_share: float | None = Field(
        description="negative mentions / mentions whose tone was read (none: no such mention)")
    negative_share_baseline: float | None = Field(
        description="the brand's usual negative share in those windows, weighted as above")
    anomalous_windows: int
    peak: Peak | None


class IncidentKpis(BaseModel):
    total: int = Field(description="incidents whose first window lies in the period")
    by_severity: dict[Severity, int]
    by_kind: dict[str, int]
    acknowledged: int
    resolved_by_people: int
    resolved_by_detector: int = Field(description="closed by the detector's cool-down, "
                                      "with no person resolving them")
    open: int
    unmeasured: int = Field(description="published before the oldest event kept "
                            "(GET /stream history): no wall-clock start for response times")
    time_to_acknowledge: Quantiles = Field(
        description="wall clock: from crisiswatch publishing the incident to a person's "
        "acknowledgement")
    time_to_resolve: Quantiles = Field(
        description="wall clock: from publication to a person resolving it")
    duration: Quantiles = Field(
        description="event time: first window start to last window end, of incidents the "
        "detector has closed")


class SlaKpis(BaseModel):
    clocks: int = Field(description="incidents where a playbook started a response clock")
    met: int = Field(description="a person acknowledged or resolved by the earliest deadline")
    breached: int = Field(description="answered late, or not answered and past the deadline")
    pending: int = Field(description="clock still running")
    compliance: float | None = Field(description="met / (met + breached)")


class TopicKpi(BaseModel):
    id: str
    terms: list[str]
    mentions: int = Field(description="mentions in the period")
    size: int
    negative_share: float
    growth: float
    state: str


class EmergingTopicKpi(BaseModel):
    id: str = Field(description="GET /topics/{id} has the whole topic")
    terms: list[str] = Field(description="its label: the most distinctive terms")
    mentions: int = Field(description="mentions in the period")
    size: int = Field(description="mentions since it was born, copies included")
    growth: float = Field(description="its last window's (count + 1) / (expected + 1)")
    authors: int = Field(description="distinct authors of its original posts, up to 64")
    negative_share: float
    first_window: float = Field(description="start of the window that created it")
    examples: list[TopicExample] = Field(description="up to 3 posts, closest to the topic "
                                         "first")


class PrecisionKpis(BaseModel):
    judged: int = Field(description="paging incidents a team gave feedback on")
    useful: int
    noise: int
    noise_reasons: dict[str, int] = Field(description="noise verdicts by reason")
    precision: float | None = Field(description="useful / judged; null: none judged")
    by_kind: dict[str, float] = Field(description="the same per kind of evidence")


class BrandReport(BaseModel):
    brand: str
    volume: VolumeKpis
    incidents: IncidentKpis
    sla: SlaKpis
    precision: PrecisionKpis = Field(description="what the team said of its pages")
    top_topics: list[TopicKpi] = Field(description="most mentions in the period first")
    emerging_topics: list[EmergingTopicKpi] = Field(
        description="complaints that grew steadily over a day or two (the topic's "
        "emerging flag as of its last window), with mentions in the period; fastest "
        "growing first")


class ReportOut(BaseModel):
    start: float | None = Field(description="period start (event time, epoch s); null: "
                                "from the beginning")
    end: float | None = Field(description="period end, exclusive; null: to the latest")
    generated_at: float = Field(description="wall clock, epoch s")
    clocks: str = Field(description="which clock measures what")
    brands: list[BrandReport]
