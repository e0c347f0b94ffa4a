"""The human side of an incident: acknowledge, assign, escalate, resolve, activate a
playbook, and what happens when a response clock runs out.

Each transition is a pure function from a ``Snapshot`` (the incident's lifecycle as
stored) to a ``Change`` (what to write: state, audit entries, webhook messages, timers,
events), or a ``LifecycleError`` when it does not apply. The store applies a change
atomically under optimistic locking, so two people acknowledging at once produce one
acknowledgement and one clear refusal, and the worker and the API share these rules.

The detector's own view (``open``/``resolved``) lives in the incident document and is
never touched here: a person may acknowledge an incident the detector already closed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crisiswatch.response.notify import follow_up as follow_up_body
from crisiswatch.response.notify import render
from crisiswatch.response.playbooks import Action, Playbook, PlaybookSet
from crisiswatch.response.spike_forecast import Forecast
from crisiswatch.response.staffing import StaffingConfig, recommend

SYSTEM = "crisiswatch"  # the actor of automatic activations
TIMER = "sla-timer"  # the actor of escalations by the response clock


class LifecycleError(Exception):
    """A change that does not apply to the incident as it stands (HTTP 409)."""


@dataclass
class Snapshot:
    incident_id: str
    state: str | None = None  # None: no person has acted; the detector's state applies
    assignee: str | None = None
    acknowledged_at: float | None = None
    activations: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Message:
    """One webhook request waiting in the outbox; ``id`` is its idempotency key."""

    id: str
    destination: str
    url: str
    format: str
    body: str
    event: str
    incident_id: str
    playbook: str
    step: int
    created: float
    after: str | None = None  # a message that must be delivered (or dead) before this one

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class Change:
    state: str | None = None
    assignee: str | None = None
    acknowledged_at: float | None = None
    activations: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> record
    audit: list[dict[str, Any]] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    timers: dict[str, float | None] = field(default_factory=dict)  # playbook -> due / stop
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    """What activations and escalations need besides the snapshot."""

    incident: dict[str, Any]
    playbooks: PlaybookSet
    staffing: StaffingConfig
    now: float
    # the spike forecast for the staffing advice, asked only when a step staffs (it
    # reads the brand's series); None or None returned: from the explanation alone
    forecast: Callable[[], Forecast | None] | None = None


def entry(now: float, actor: str, action: str, note: str = "", **details: Any) -> dict[str, Any]:
    return {"at": now, "actor": actor, "action": action, "note": note, **details}


def message_id(incident_id: str, playbook: str, step: int, destination: str) -> str:
    """Deterministic, so the same step never queues a second, different message."""
    raw = f"{incident_id}|{playbook}|{step}|{destination}".encode()
    return hashlib.sha256(raw).hexdigest()[:24]


def follow_up_id(incident_id: str, action: str, destination: str) -> str:
    """One acknowledge and one resolve per incident and receiver, whatever playbooks
    routed the incident there."""
    return hashlib.sha256(f"{incident_id}|{action}|{destination}".encode()).hexdigest()[:24]


# Events that PagerDuty destinations follow: a person acknowledged, a person resolved,
# the detector resolved.
FOLLOW_UPS = {"lifecycle.acknowledged": "acknowledge", "lifecycle.resolved": "resolve",
              "incident.resolved": "resolve"}


def follow_up(snap: Snapshot, playbooks: PlaybookSet, action: str, now: float
              ) -> Change | None:
    """PagerDuty's ``acknowledge`` or ``resolve`` to every PagerDuty destination the
    incident's playbooks have triggered so far, once each, each after its trigger (an
    acknowledge that overtook a trigger still being retried would be dropped by
    PagerDuty, and the alert would stay triggered). None when there is nothing to send."""
    change = Change()
    sent: set[str] = set()
    for name, rec in snap.activations.items():
        playbook = playbooks.get(name)
        if playbook is None or action in (rec.get("follow_ups") or []):
            continue
        queued = False
        for step in range(int(rec.get("step", 0)) + 1):
            for dest_name in playbook.destinations_through(step):
                dest = playbooks.destinations.get(dest_name)
                if dest is None or dest.format != "pagerduty":
                    continue
                queued = True
                if dest_name in sent:  # another playbook's trigger went there too
                    continue
                sent.add(dest_name)
                key = follow_up_id(snap.incident_id, action, dest_name)
                trigger = message_id(snap.incident_id, name, step, dest_name)
                change.messages.append(Message(
                    key, dest_name, dest.url, dest.format,
                    follow_up_body(dest, snap.incident_id, action), f"pagerduty.{action}",
                    snap.incident_id, name, step, now, after=trigger))
                change.audit.append(entry(now, SYSTEM, "webhook.queued", playbook=name,
                                          destination=dest_name, message=key, step=step,
                                          follow_up=action))
        if queued:
            change.activations[name] = {**rec, "follow_ups": [
                *(rec.get("follow_ups") or []), action]}
    return change if change.messages else None


def _open(snap: Snapshot, what: str) -> None:
    if snap.state == "resolved":
        raise LifecycleError(f"cannot {what}: incident {snap.incident_id} is resolved")


def _event(snap: Snapshot, action: str, actor: str, note: str, now: float,
           **extra: Any) -> dict[str, Any]:
    return {"id": snap.incident_id, "action": action, "actor": actor, "note": note,
            "at": now, **extra}


def _stop_clocks(snap: Snapshot, change: Change) -> None:
    for name, rec in snap.activations.items():
        if rec.get("respond_by") is not None:
            change.activations[name] = {**rec, "respond_by": None}
            change.timers[name] = None


def acknowledge(snap: Snapshot, actor: str, note: str, now: float) -> Change:
    _open(snap, "acknowledge")
    if snap.state == "acknowledged":
        raise LifecycleError(f"incident {snap.incident_id} is already acknowledged")
    change = Change(state="acknowledged", acknowledged_at=now,
                    audit=[entry(now, actor, "acknowledged", note)],
                    events=[("lifecycle.acknowledged",
                             _event(snap, "acknowledged", actor, note, now))])
    _stop_clocks(snap, change)
    return change


def assign(snap: Snapshot, actor: str, note: str, assignee: str, now: float) -> Change:
    _open(snap, "assign")
    return Change(assignee=assignee,
                  audit=[entry(now, actor, "assigned", note, assignee=assignee,
                               previous=snap.assignee)],
                  events=[("lifecycle.assigned", _event(snap, "assigned", actor, note, now,
                                                        assignee=assignee))])


def resolve(snap: Snapshot, actor: str, note: str, now: float) -> Change:
    _open(snap, "resolve")
    change = Change(state="resolved", audit=[entry(now, actor, "resolved", note)],
                    events=[("lifecycle.resolved", _event(snap, "resolved", actor, note, now))])
    _stop_clocks(snap, change)
    return change


def activate(snap: Snapshot, ctx: Context, playbook: Playbook, actor: str, note: str,
             reasons: list[str], how: str) -> Change:
    """Run the playbook's actions and start its response clock (unless a person has
    already acknowledged the incident: the clock measures time to acknowledgement)."""
    _open(snap, f"activate {playbook.name!r}")
    if playbook.name in snap.activations:
        raise LifecycleError(f"playbook {playbook.name!r} is already active on incident "
                             f"{snap.incident_id}")
    now = ctx.now
    clock = playbook.respond_within_minutes is not None and snap.state != "acknowledged"
    respond_by = now + playbook.respond_within_minutes * 60 if clock else None  # type: ignore[operator]
    change = Change(audit=[entry(now, actor, "playbook.activated", note,
                                 playbook=playbook.name, how=how, reasons=reasons,
                                 respond_by=respond_by)])
    if playbook.respond_within_minutes is not None and not clock:
        change.audit.append(entry(now, SYSTEM, "sla.not_started",
                                  "already acknowledged: no response clock",
                                  playbook=playbook.name))
    staffing = _run(change, snap, ctx, playbook, playbook.actions, 0, "playbook.activated",
                    actor, note, reasons, respond_by, None, takeover=False)
    change.activations[playbook.name] = {
        "name": playbook.name, "how": how, "actor": actor, "at": now, "reasons": reasons,
        "step": 0, "steps": len(playbook.escalation),
        "respond_within_minutes": playbook.respond_within_minutes, "respond_by": respond_by,
        "breaches": 0, "staffing": staffing,
    }
    if respond_by is not None:
        change.timers[playbook.name] = respond_by
    if snap.state == "acknowledged":  # a pager that opens on it must hear that too
        ack = follow_up(Snapshot(snap.incident_id, snap.state, snap.assignee,
                                 snap.acknowledged_at,
                                 {playbook.name: change.activations[playbook.name]}),
                        ctx.playbooks, "acknowledge", now)
        if ack is not None:
            change.messages += ack.messages
            change.audit += ack.audit
            change.activations.update(ack.activations)
    change.events.append(("playbook.activated", _event(
        snap, "activated", actor, note, now, playbook=playbook.name, how=how,
        respond_by=respond_by, assignee=change.assignee or snap.assignee)))
    return change


def escalate(snap: Snapshot, ctx: Context, actor: str, note: str,
             only: str | None = None) -> Change:
    """A person escalates: every active playbook (or ``only``) moves to its next step."""
    _open(snap, "escalate")
    if only is not None and only not in snap.activations:
        raise LifecycleError(f"playbook {only!r} is not active on incident {snap.incident_id}")
    change = Change(state="escalated", audit=[entry(ctx.now, actor, "escalated", note)])
    for name, rec in snap.activations.items():
        if only in (None, name):
            _next_step(change, snap, ctx, name, rec, actor, note, breached=False)
    change.events.append(("lifecycle.escalated",
                          _event(snap, "escalated", actor, note, ctx.now, by="person")))
    return change


def clock_ran_out(snap: Snapshot, ctx: Context, name: str) -> Change:
    """The response clock of playbook ``name`` fired. Stale or stopped clocks (the
    incident was acknowledged, the deadline moved) change nothing but the timer."""
    rec = snap.activations.get(name)
    due = None if rec is None else rec.get("respond_by")
    if due is None or snap.state in ("acknowledged", "resolved"):
        return Change(timers={name: None})
    if ctx.incident.get("state") == "resolved":  # the storm passed before anyone answered
        return Change(timers={name: None}, activations={name: {**rec, "respond_by": None}},
                      audit=[entry(ctx.now, SYSTEM, "sla.stopped",
                                   "the detector resolved the incident", playbook=name)])
    if due > ctx.now:
        return Change(timers={name: due})  # moved on since the timer was read: re-arm
    minutes = rec.get("respond_within_minutes")
    note = f"no acknowledgement within {minutes:g} min"
    change = Change(state="escalated")
    _next_step(change, snap, ctx, name, rec, TIMER, note, breached=True)
    change.events.append(("lifecycle.escalated", _event(
        snap, "escalated", TIMER, note, ctx.now, by="sla", playbook=name)))
    return change


def _next_step(change: Change, snap: Snapshot, ctx: Context, name: str, rec: dict[str, Any],
               actor: str, note: str, breached: bool) -> None:
    playbook = ctx.playbooks.get(name)
    rec = {**rec, "breaches": rec.get("breaches", 0) + int(breached)}
    if breached:
        change.audit.append(entry(ctx.now, actor, "sla.breached", note, playbook=name,
                                  respond_by=rec.get("respond_by")))
    step = int(rec.get("step", 0))
    if playbook is None or step >= len(playbook.escalation):
        why = ("playbook no longer configured" if playbook is None
               else "no escalation step left")
        change.audit.append(entry(ctx.now, SYSTEM, "escalation.exhausted", why, playbook=name))
        change.activations[name] = {**rec, "respond_by": None}
        change.timers[name] = None
        return
    step += 1
    more = step < len(playbook.escalation) and playbook.respond_within_minutes is not None
    respond_by = ctx.now + playbook.respond_within_minutes * 60 if more else None  # type: ignore[operator]
    change.audit.append(entry(ctx.now, actor, "escalation.step", note, playbook=name,
                              step=step, respond_by=respond_by))
    staffing = _run(change, snap, ctx, playbook, playbook.escalation[step - 1], step,
                    "playbook.escalated", actor, note, list(rec.get("reasons") or []),
                    respond_by, rec.get("staffing"), takeover=True)
    change.activations[name] = {**rec, "step": step, "respond_by": respond_by,
                                "staffing": staffing}
    change.timers[name] = respond_by


def _run(change: Change, snap: Snapshot, ctx: Context, playbook: Playbook,
         actions: tuple[Action, ...], step: int, event: str, actor: str, note: str,
         reasons: list[str], respond_by: float | None, staffing: dict[str, Any] | None,
         takeover: bool) -> dict[str, Any] | None:
    """Do one step's actions: staffing advice first and assignment second, so that the
    webhooks of the same step carry both. An automatic first step never takes an
    incident from someone a person assigned it to; an escalation step does."""
    now, incident = ctx.now, ctx.incident
    if any(a.kind == "staffing" for a in actions):
        staffing = recommend(incident.get("explanation") or {}, ctx.staffing,
                             ctx.forecast() if ctx.forecast else None)
        change.audit.append(entry(now, SYSTEM, "staffing", playbook=playbook.name,
                                  summary=staffing["summary"] if staffing
                                  else "no counts in the incident to advise from"))
    assignee = change.assignee or snap.assignee
    for a in actions:
        if a.kind != "assign":
            continue
        if assignee is None or takeover:
            change.audit.append(entry(now, actor, "assigned", f"by playbook {playbook.name}",
                                      assignee=a.target, previous=assignee))
            assignee = change.assignee = a.target
        else:
            change.audit.append(entry(now, SYSTEM, "assign.kept",
                                      f"playbook {playbook.name} suggests {a.target}",
                                      assignee=assignee))
    for a in actions:
        if a.kind != "webhook" or a.target is None:
            continue
        dest = ctx.playbooks.destinations[a.target]
        key = message_id(snap.incident_id, playbook.name, step, dest.name)
        body = render(dest, event=event, key=key, incident=incident,
                      playbook=playbook.name, description=playbook.description, step=step,
                      actor=actor, note=note, reasons=reasons, respond_by=respond_by,
                      staffing=staffing, assignee=assignee)
        change.messages.append(Message(key, dest.name, dest.url, dest.format, body, event,
                                       snap.incident_id, playbook.name, step, now))
        change.audit.append(entry(now, SYSTEM, "webhook.queued", playbook=playbook.name,
                                  destination=dest.name, message=key, step=step))
    return staffing
