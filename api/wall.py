"""``GET /wall``: every brand at a glance, for the crisis room's wall.

One tile per brand, ranked by the severity of its open incidents, then by how far its
last hour is above its expected volume: the brand on fire comes first, whatever its
name. Each tile carries a day of mentions against the expected band (summed in the
store: ``Store.wall``), the open incident's headline, and the snooze over it. Hundreds of
brands page with ``offset`` and ``limit``; the dashboard's wall view
(``static/wall.js``) reads it and keeps it live from ``GET /stream``.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from crisiswatch.api.activation_models import SnoozeOut
from crisiswatch.api.deps import StoreDep
from crisiswatch.api.models import ErrorOut
from crisiswatch.api.security import require
from crisiswatch.detectors.types import SEVERITY_RANK, Severity

router = APIRouter(tags=["brands"])
SPAN_S = 86_400
BUCKETS = 24


class WallIncident(BaseModel):
    id: str
    severity: Severity
    state: str = Field(description="as people left it, or else the detector's")
    headline: str
    kinds: list[str]
    first_window: float
    last_window: float


class WallTile(BaseModel):
    brand: str
    severity: Severity | None = Field(description="of its worst open incident; none: calm")
    open_incidents: int
    incident: WallIncident | None = Field(description="the worst open incident, newest first")
    lift: float | None = Field(description="the last hour's mentions over the expected; "
                               "none before the baseline expects anything")
    last_window: float | None = Field(description="the newest window's start")
    window_s: int | None
    spark_from: float | None = Field(description="start of the first bucket")
    spark_step: float = Field(description="seconds per bucket")
    counts: list[float] = Field(description="mentions per bucket, oldest first")
    expected: list[float] = Field(description="expected mentions per bucket")
    snoozed: SnoozeOut | None = Field(description="the brand's snooze, or its incident's")


class WallOut(BaseModel):
    total: int = Field(description="brands tracked")
    offset: int
    tiles: list[WallTile]
    generated_at: float


def _open(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for a in found if a["state"] != "resolved"]


def tile(row: dict[str, Any], snoozes: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    """One brand's row from the store as a tile: its worst open incident, its lift."""
    opened = sorted(_open(row["incidents"]), key=lambda a: -SEVERITY_RANK.get(a["severity"], -1))
    worst = opened[0] if opened else None
    counts, expected = row["counts"], row["expected"]
    last = row.get("last")
    lift = counts[-1] / expected[-1] if expected and expected[-1] > 0.5 else None
    snoozed = snoozes.get(("brand", row["brand"])) or (
        snoozes.get(("alert", worst["id"])) if worst else None)
    return {
        "brand": row["brand"], "severity": worst["severity"] if worst else None,
        "open_incidents": len(opened),
        "incident": {**worst, "headline": worst.get("headline") or worst.get("summary") or ""}
        if worst else None,
        "lift": lift, "last_window": last, "window_s": row.get("window_s"),
        "spark_from": None if last is None else last - SPAN_S, "spark_step": SPAN_S / BUCKETS,
        "counts": counts, "expected": expected, "snoozed": snoozed,
    }


def rank(t: dict[str, Any]) -> tuple[int, float, str]:
    return (-SEVERITY_RANK.get(t["severity"] or "", -1), -(t["lift"] or 0.0), t["brand"])


@router.get("/wall", response_model=WallOut, responses={503: {"model": ErrorOut}},
            dependencies=[Depends(require("read"))])
def wall(store: StoreDep, offset: Annotated[int, Query(ge=0)] = 0,
         limit: Annotated[int, Query(ge=1, le=5_000)] = 5_000) -> dict[str, Any]:
    """Every brand as a tile, worst first: open severity, then lift over the expected."""
    snoozes = {(s["scope"], s["target"]): s for s in store.snoozes.active()}
    tiles = sorted((tile(r, snoozes) for r in store.wall(SPAN_S, BUCKETS)), key=rank)
    return {"total": len(tiles), "offset": offset, "tiles": tiles[offset:offset + limit],
            "generated_at": time.time()}
