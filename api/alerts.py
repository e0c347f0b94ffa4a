"""``GET /alerts`` and ``GET /alerts/{id}``: the incidents the flow published, each with
its explanation and, once acted on, its lifecycle (``api/lifecycle.py`` changes them).

The routes keep the name ``alerts`` they were published under; what they answer is an
incident (``api/models.py``, ``AlertOut``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from crisiswatch.api.deps import StoreDep
from crisiswatch.api.models import AlertOut, ErrorOut, Severity
from crisiswatch.api.params import TimeParam, parse_time
from crisiswatch.api.security import require
from crisiswatch.detectors.types import SEVERITY_RANK

router = APIRouter(tags=["alerts"], dependencies=[Depends(require("read"))])
ERRORS: dict[int | str, dict] = {404: {"model": ErrorOut}, 422: {"model": ErrorOut},
                                 503: {"model": ErrorOut}}


@router.get("/alerts", response_model=list[AlertOut], responses=ERRORS)
def alerts(
    store: StoreDep,
    brand: str | None = None,
    since: Annotated[TimeParam, Query(description="alerts active at or after this time")]
    = None,
    severity: Annotated[Severity | None, Query(description="minimum severity")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict]:
    found = store.alerts(brand=brand, since=parse_time(since, "since"), limit=limit)
    if severity is not None:
        floor = SEVERITY_RANK[severity]
        found = [a for a in found if SEVERITY_RANK[a["severity"]] >= floor]
    return found


@router.get("/alerts/{alert_id}", response_model=AlertOut, responses=ERRORS)
def alert(store: StoreDep, alert_id: str) -> dict:
    found = store.alert(alert_id)
    if found is None:
        raise HTTPException(404, f"no alert with id {alert_id!r}")
    return found
