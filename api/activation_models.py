"""Request and response models of the activation side: lifecycle, playbooks, staffing,
webhooks. They make /docs describe what a crisis team's tools send and receive."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class AuditEntry(BaseModel):
    """One change to an incident: who, when, what, and the details of the action."""

    model_config = {"extra": "allow"}

    at: float = Field(description="epoch seconds")
    actor: str
    action: str = Field(description="acknowledged, assigned, escalated, resolved, "
                        "playbook.activated, sla.breached, escalation.step, webhook.queued, "
                        "webhook.delivered, webhook.dead, staffing, ...")
    note: str = ""


class StaffingHour(BaseModel):
    hour: int = Field(description="hours from now: 0 is the next hour")
    excess_mentions: float = Field(description="mentions above the baseline expected: "
                                   "the forecast's median")
    excess_mentions_p90: float = Field(description="the forecast's P90: 9 hours in 10 bring "
                                       "no more")
    contacts: float = Field(description="contacts from the spike (reply fraction × excess)")
    contacts_p90: float
    baseline_contacts: float
    agents: int = Field(description="agents for baseline + spike at the service level")
    agents_p90: int = Field(description="agents for baseline + the spike's P90")
    baseline_agents: int
    extra_agents: int
    extra_agents_p90: int = Field(description="extra agents to be safe (the P90)")
    service_level: float = Field(description="share answered in time with `agents`")
    asa_seconds: float = Field(description="average speed of answer with `agents`")
    occupancy: float


class ForecastOut(BaseModel):
    """The spike forecast the advice staffs (``response/spike_forecast.py``)."""

    median: list[float] = Field(description="excess mentions in each hour ahead")
    p90: list[float]
    level_per_hour: float = Field(description="excess mentions per hour now")
    shape: Literal["rising", "steady", "fading", "blip"]
    lasting: bool = Field(description="the incident has been open an hour or more")
    kind: Literal["storm", "outage", "burst"]
    breadth: Literal["narrow", "broad"]
    learned_from: int = Field(description="past forecasts of this shape that weighed in")
    made_at: float = Field(description="epoch seconds: the end of the last window it knew")


class StaffingOut(BaseModel):
    summary: str
    peak_extra_agents: int
    peak_extra_agents_p90: int
    excess_per_hour_now: float
    hours: list[StaffingHour]
    forecast: ForecastOut
    config: dict[str, float]


class ActivationOut(BaseModel):
    name: str
    how: Literal["auto", "manual"]
    actor: str
    at: float
    reasons: list[str]
    step: int = Field(description="escalation steps run so far")
    steps: int = Field(description="escalation steps the playbook has")
    respond_within_minutes: float | None
    respond_by: float | None = Field(description="when the response clock runs out; null "
                                     "when it is not running")
    breaches: int
    staffing: StaffingOut | None


class SlaOut(BaseModel):
    respond_by: float | None = Field(description="the earliest running response clock")
    acknowledged_at: float | None
    breaches: int = Field(description="clocks that ran out without an acknowledgement")


class SnoozeOut(BaseModel):
    """A snooze: automatic playbooks and escalations wait until ``until``."""

    scope: Literal["alert", "brand"]
    target: str = Field(description="the incident id or the brand")
    actor: str
    reason: str
    at: float = Field(description="when it was set, epoch seconds")
    until: float = Field(description="when it ends by itself, epoch seconds")


class SnoozeIn(BaseModel):
    hours: float = Field(gt=0, le=24 * 7, description="how long; it ends by itself")
    actor: str = Field(min_length=1, max_length=200, description="who snoozes")
    reason: str = Field("", max_length=500, description="why, for the audit trail")


class ActorIn(BaseModel):
    actor: str = Field(min_length=1, max_length=200, description="who does it")
    note: str = Field("", max_length=4000)


class AssignIn(ActorIn):
    assignee: str = Field(min_length=1, max_length=200)


class EscalateIn(ActorIn):
    playbook: str | None = Field(None, description="only this active playbook (default: all)")


class ActivateIn(ActorIn):
    playbook: str = Field(min_length=1, description="a name from GET /playbooks")


class PlaybookOut(BaseModel):
    name: str
    description: str
    auto: bool
    when: dict[str, Any]
    actions: list[dict[str, Any]]
    respond_within_minutes: float | None
    escalation: list[list[dict[str, Any]]]


class OutboxMessage(BaseModel):
    id: str = Field(description="also the Idempotency-Key header")
    destination: str
    url: str
    format: Literal["json", "slack"]
    event: str
    incident_id: str
    playbook: str
    step: int
    created: float


class PendingOut(BaseModel):
    message: OutboxMessage
    due: float = Field(description="next attempt (or end of the lease of one in flight)")
    attempts: int
    error: str | None


class DeadOut(BaseModel):
    message: OutboxMessage
    attempts: int
    error: str
    at: float


class WebhooksOut(BaseModel):
    delivered: int
    retried: int
    redriven: int
    queued: int
    dead: int
    worker: dict[str, str] = Field(description="the activation worker's last heartbeat")
    pending: list[PendingOut]
    recent: list[dict[str, Any]] = Field(description="latest outcomes, newest first")
