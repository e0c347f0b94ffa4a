"""Snooze and mute: ``POST /alerts/{id}/snooze`` and ``POST /brands/{brand}/snooze``.

A team that knows about an incident (a planned outage, a storm already handled) snoozes
it, or the whole brand, for some hours: automatic playbooks and their escalation steps
wait until the snooze ends by itself (``crisiswatch/activation.py`` asks the store),
and then run if the incident still calls for them. Nothing is hidden: the dashboard and
the wall show the snooze, and every snooze, take-back and end is in the audit
(``GET /snoozes/log``; an incident's own also in its audit trail).
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response

from crisiswatch.api.activation_models import AuditEntry, SnoozeIn, SnoozeOut
from crisiswatch.api.deps import StoreDep
from crisiswatch.api.models import ErrorOut
from crisiswatch.api.security import require
from crisiswatch.store import Store
from crisiswatch.store.snooze import Scope

router = APIRouter(tags=["snooze"])
ERRORS: dict[int | str, dict] = {404: {"model": ErrorOut}, 422: {"model": ErrorOut},
                                 503: {"model": ErrorOut}}
OPERATE = [Depends(require("operate"))]
Actor = Annotated[str, Query(min_length=1, max_length=200, description="who takes it back")]


def _known_alert(store: Store, alert_id: str) -> None:
    if store.detector_alert(alert_id) is None:
        raise HTTPException(404, f"no alert with id {alert_id!r}")


def _known_brand(store: Store, brand: str) -> None:
    if brand not in store.brands():
        raise HTTPException(404, f"unknown brand {brand!r}; GET /brands lists them")


def _snooze(store: Store, scope: Scope, target: str, body: SnoozeIn) -> dict:
    now = time.time()
    return store.snoozes.put(scope, target, now + body.hours * 3600, body.actor,
                             body.reason, now)


def _unsnooze(store: Store, scope: Scope, target: str, actor: str) -> Response:
    if store.snoozes.remove(scope, target, actor) is None:
        raise HTTPException(404, f"{target!r} is not snoozed")
    return Response(status_code=204)


@router.post("/alerts/{alert_id}/snooze", status_code=201, response_model=SnoozeOut,
             responses=ERRORS, dependencies=OPERATE)
def snooze_alert(alert_id: str, body: SnoozeIn, store: StoreDep) -> dict:
    """Hold the incident's automatic playbooks and escalations for ``hours``."""
    _known_alert(store, alert_id)
    return _snooze(store, "alert", alert_id, body)


@router.delete("/alerts/{alert_id}/snooze", status_code=204, responses=ERRORS,
               dependencies=OPERATE)
def unsnooze_alert(alert_id: str, actor: Actor, store: StoreDep) -> Response:
    """End the incident's snooze now."""
    return _unsnooze(store, "alert", alert_id, actor)


@router.post("/brands/{brand:path}/snooze", status_code=201, response_model=SnoozeOut,
             responses=ERRORS, dependencies=OPERATE)
def snooze_brand(brand: str, body: SnoozeIn, store: StoreDep) -> dict:
    """Mute the brand: no automatic playbook or escalation for any of its incidents."""
    _known_brand(store, brand)
    return _snooze(store, "brand", brand, body)


@router.delete("/brands/{brand:path}/snooze", status_code=204, responses=ERRORS,
               dependencies=OPERATE)
def unsnooze_brand(brand: str, actor: Actor, store: StoreDep) -> Response:
    return _unsnooze(store, "brand", brand, actor)


@router.get("/snoozes", response_model=list[SnoozeOut], responses=ERRORS,
            dependencies=[Depends(require("read"))])
def snoozes(store: StoreDep) -> list[dict]:
    """The snoozes in force, ending soonest first."""
    return store.snoozes.active()


@router.get("/snoozes/log", response_model=list[AuditEntry], responses=ERRORS,
            dependencies=[Depends(require("read"))])
def snooze_log(store: StoreDep,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:
    """Every snooze, take-back and end, newest first."""
    return store.snoozes.log(limit)
