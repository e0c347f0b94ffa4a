"""Acting on incidents: acknowledge, assign, escalate, resolve, activate a playbook;
the playbooks themselves; staffing advice for an incident.

Every change goes through the pure rules of ``response/lifecycle.py`` and one atomic
store transaction, which also writes the audit entry and publishes the event that the
live stream (``GET /stream``) pushes. The answer is the incident as it now stands.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException

from crisiswatch.api.activation_models import (
    ActivateIn,
    ActorIn,
    AssignIn,
    EscalateIn,
    PlaybookOut,
    StaffingOut,
)
from crisiswatch.api.deps import PlaybooksDep, StaffingDep, StoreDep
from crisiswatch.api.models import AlertOut, ErrorOut
from crisiswatch.api.security import require
from crisiswatch.response import lifecycle
from crisiswatch.response.lifecycle import Change, Context, LifecycleError, Snapshot
from crisiswatch.response.playbooks import Action, matches
from crisiswatch.response.spike_forecast import Forecast
from crisiswatch.response.staffing import StaffingConfig, recommend
from crisiswatch.store import Store
from crisiswatch.store.spike import spike_forecast

router = APIRouter(tags=["lifecycle"])
ERRORS = {404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut},
          503: {"model": ErrorOut}}
OPERATE = [Depends(require("operate"))]


def _forecaster(store: Store, staffing: StaffingConfig,
                incident: dict[str, Any]) -> Callable[[], Forecast | None]:
    """The staffing advice's spike forecast, asked only when a step staffs."""
    return lambda: spike_forecast(store, incident, staffing.horizon_hours)


def _incident(store: Store, alert_id: str) -> dict[str, Any]:
    found = store.detector_alert(alert_id)
    if found is None:
        raise HTTPException(404, f"no alert with id {alert_id!r}")
    return found


def _apply(store: Store, alert_id: str, decide: Callable[[Snapshot], Change]) -> dict:
    try:
        store.lifecycle.transact(alert_id, decide)
    except LifecycleError as e:
        raise HTTPException(409, str(e)) from None
    return store.alert(alert_id) or {}


def _act(store: Store, alert_id: str, decide: Callable[[Snapshot], Change]) -> dict:
    """``decide`` the change to the incident ``alert_id`` (404 when there is none)."""
    _incident(store, alert_id)
    return _apply(store, alert_id, decide)


def _operation(path: str) -> Callable[[Callable[..., dict]], Callable[..., dict]]:
    """A route that changes an incident and answers it as it now stands."""
    return router.post(path, response_model=AlertOut, responses=ERRORS, dependencies=OPERATE)


@_operation("/alerts/{alert_id}/ack")
def acknowledge(alert_id: str, body: ActorIn, store: StoreDep) -> dict:
    """Someone owns the response now: stops every response clock of the incident."""
    return _act(store, alert_id,
                lambda s: lifecycle.acknowledge(s, body.actor, body.note, time.time()))


@_operation("/alerts/{alert_id}/assign")
def assign(alert_id: str, body: AssignIn, store: StoreDep) -> dict:
    return _act(store, alert_id, lambda s: lifecycle.assign(
        s, body.actor, body.note, body.assignee, time.time()))


@_operation("/alerts/{alert_id}/escalate")
def escalate(alert_id: str, body: EscalateIn, store: StoreDep, playbooks: PlaybooksDep,
             staffing: StaffingDep) -> dict:
    """Move the active playbooks (or one) to their next escalation step now."""
    incident = _incident(store, alert_id)
    ctx = Context(incident, playbooks, staffing, time.time(),
                  _forecaster(store, staffing, incident))
    return _apply(store, alert_id,
                  lambda s: lifecycle.escalate(s, ctx, body.actor, body.note, body.playbook))


@_operation("/alerts/{alert_id}/resolve")
def resolve(alert_id: str, body: ActorIn, store: StoreDep) -> dict:
    return _act(store, alert_id,
                lambda s: lifecycle.resolve(s, body.actor, body.note, time.time()))


@_operation("/alerts/{alert_id}/activate")
def activate(alert_id: str, body: ActivateIn, store: StoreDep, playbooks: PlaybooksDep,
             staffing: StaffingDep) -> dict:
    """Activate a playbook by hand, whether or not its conditions match (the reasons in
    the audit say which)."""
    incident = _incident(store, alert_id)
    playbook = playbooks.get(body.playbook)
    if playbook is None:
        raise HTTPException(404, f"no playbook named {body.playbook!r}; known: "
                            f"{', '.join(playbooks.names) or 'none'} (GET /playbooks)")
    reasons = matches(playbook, incident) or ["activated by hand; its conditions do not match"]
    ctx = Context(incident, playbooks, staffing, time.time(),
                  _forecaster(store, staffing, incident))
    return _apply(store, alert_id, lambda s: lifecycle.activate(
        s, ctx, playbook, body.actor, body.note, reasons, "manual"))


@router.get("/alerts/{alert_id}/staffing", response_model=StaffingOut, responses=ERRORS,
            tags=["staffing"], dependencies=[Depends(require("read"))])
def staffing(alert_id: str, store: StoreDep, cfg: StaffingDep) -> dict:
    """Extra agents the incident's spike needs, hour by hour, for the median and the P90
    of its forecast (remade from the brand's latest window while the incident is open,
    learned from past incidents; Erlang C; settings in the `staffing` section of the
    configuration). The dashboard shows this figure; a staffing playbook's messages
    carry the one made when they were sent (its `forecast.made_at` says when)."""
    incident = _incident(store, alert_id)
    advice = recommend(incident.get("explanation") or {}, cfg,
                       spike_forecast(store, incident, cfg.horizon_hours))
    if advice is None:
        raise HTTPException(422, f"incident {alert_id} has no observed/expected counts to "
                            "advise from")
    return advice


def _action(a: Action) -> dict[str, Any]:
    return {a.kind: a.target if a.target is not None else True}


@router.get("/playbooks", response_model=list[PlaybookOut], responses=ERRORS,
            tags=["playbooks"], dependencies=OPERATE)  # their webhook targets may be secrets
def playbooks(loaded: PlaybooksDep) -> list[dict]:
    """The playbooks loaded at start, as the worker applies them."""
    out = []
    for p in loaded.playbooks:
        when = {k: v for k, v in dataclasses.asdict(p.when).items() if v not in (None, ())}
        out.append({"name": p.name, "description": p.description, "auto": p.auto,
                    "when": when, "actions": [_action(a) for a in p.actions],
                    "respond_within_minutes": p.respond_within_minutes,
                    "escalation": [[_action(a) for a in step] for step in p.escalation]})
    return out
