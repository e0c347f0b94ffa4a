"""``GET /stats``, ``GET /deadletters`` and ``GET /late``: what the flow counted, and the
records it set aside (those that could not become mentions, and those that came after
their window closed), so that an operator can tell a quiet stream from a broken feed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from crisiswatch.api.deps import StoreDep
from crisiswatch.api.models import ErrorOut, RecordOut, StatsOut
from crisiswatch.api.security import require

router = APIRouter(tags=["operations"], dependencies=[Depends(require("read"))])
ERRORS: dict[int | str, dict] = {404: {"model": ErrorOut}, 422: {"model": ErrorOut},
                                 503: {"model": ErrorOut}}


@router.get("/stats", response_model=StatsOut, responses=ERRORS)
def stats(store: StoreDep) -> StatsOut:
    s = store.stats()
    accounted = s["processed"] + s["duplicate"] + s["late"] + s["dead_lettered"]
    return StatsOut(**s, in_flight=s["read"] + s["fanout"] - accounted)


@router.get("/deadletters", response_model=list[RecordOut], responses=ERRORS)
def deadletters(store: StoreDep,
                limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> list[dict]:
    """Records that could not become mentions, newest first, with the reason."""
    return store.deadletters(limit)


@router.get("/late", response_model=list[RecordOut], responses=ERRORS)
def late(store: StoreDep, limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> list[dict]:
    """Mentions that arrived after their window closed, newest first."""
    return store.late(limit)
