"""Feedback: a team tells crisiswatch whether an incident was worth its page.

``POST /alerts/{id}/feedback`` takes ``useful`` or ``noise`` with a reason (spam, own
content, wrong brand, routine, other). It is stored with the incident (its pattern
copied in: ``detectors.feedback``), shown on the dashboard, counted in the reports as
precision per brand and kind, and used: the flow reads the noise marks within seconds
(``flows.routine``) and reports a later incident of the brand that repeats the pattern
as ``info``, saying who marked what. No other brand learns from a team's triage.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from crisiswatch.api.deps import StoreDep
from crisiswatch.api.models import ErrorOut, VerdictOut
from crisiswatch.api.security import require
from crisiswatch.detectors.feedback import REASONS

router = APIRouter(tags=["feedback"])
ERRORS: dict[int | str, dict] = {404: {"model": ErrorOut}, 422: {"model": ErrorOut},
                                 503: {"model": ErrorOut}}


class FeedbackIn(BaseModel):
    verdict: Literal["useful", "noise"]
    reason: Literal[REASONS] | None = Field(  # type: ignore[valid-type]
        None, description="why it was noise: " + ", ".join(REASONS))
    actor: str | None = Field(None, max_length=200, description="who judged it")
    note: str | None = Field(None, max_length=1000)


@router.post("/alerts/{alert_id}/feedback", response_model=VerdictOut, responses=ERRORS,
             dependencies=[Depends(require("operate"))])
def give_feedback(alert_id: str, body: FeedbackIn, store: StoreDep) -> dict:
    """Judge an incident: ``noise`` downgrades the next incident of its pattern."""
    incident = store.alert(alert_id)
    if incident is None:
        raise HTTPException(404, f"no incident {alert_id!r}")
    if body.verdict == "noise" and body.reason is None:
        raise HTTPException(422, "a noise verdict needs a reason: " + ", ".join(REASONS))
    return store.feedback.give(incident, body.verdict, body.reason, body.actor, body.note)


@router.get("/alerts/{alert_id}/feedback", response_model=VerdictOut, responses=ERRORS,
            dependencies=[Depends(require("read"))])
def incident_feedback(alert_id: str, store: StoreDep) -> dict:
    """The latest verdict on an incident."""
    found = store.feedback.of(alert_id)
    if found is None:
        raise HTTPException(404, f"no feedback on incident {alert_id!r}")
    return found


@router.get("/feedback", response_model=list[VerdictOut], responses=ERRORS,
            dependencies=[Depends(require("read"))])
def all_feedback(store: StoreDep,
                 brand: Annotated[str | None, Query(max_length=200)] = None) -> list[dict]:
    """Every verdict, oldest first (``crisiswatch backtest --feedback`` replays them)."""
    return store.feedback.all(brand)
