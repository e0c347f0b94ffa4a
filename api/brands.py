"""``GET /brands`` and ``GET /brands/{brand}/series``: the brands the flow has seen, and
each one's closed windows with what the detector expected of them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from crisiswatch.api.deps import StoreDep
from crisiswatch.api.models import BrandOut, ErrorOut, SeriesOut
from crisiswatch.api.params import TimeParam, parse_time
from crisiswatch.api.security import require

router = APIRouter(tags=["brands"], dependencies=[Depends(require("read"))])
ERRORS: dict[int | str, dict] = {404: {"model": ErrorOut}, 422: {"model": ErrorOut},
                                 503: {"model": ErrorOut}}


@router.get("/brands", response_model=list[BrandOut], responses=ERRORS)
def brands(store: StoreDep) -> list[BrandOut]:
    out = []
    for brand in store.brands():
        last = store.series(brand, limit=1, newest=True)
        open_alerts = sum(a["state"] != "resolved" for a in store.alerts(brand=brand))
        out.append(BrandOut(brand=brand, open_alerts=open_alerts,
                            last_window_start=last[0]["window_start"] if last else None))
    return out


# ``:path``: a brand may hold '/' ("AT&T/Mobile"); sent as %2F it arrives decoded
@router.get("/brands/{brand:path}/series", response_model=SeriesOut, responses=ERRORS)
def series(store: StoreDep, brand: str,
           from_: Annotated[TimeParam, Query(alias="from")] = None, to: TimeParam = None,
           limit: Annotated[int, Query(ge=1, le=50_000)] = 5000) -> SeriesOut:
    """Closed windows of the brand in time order (windows without mentions are
    absent), each with the detector's expected count and score."""
    if brand not in store.brands():
        raise HTTPException(404, f"unknown brand {brand!r}; GET /brands lists them")
    points = store.series(brand, parse_time(from_, "from"), parse_time(to, "to"), limit)
    return SeriesOut(brand=brand, points=points)
