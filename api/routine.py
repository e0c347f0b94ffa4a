"""Routine terms: people tell crisiswatch which bursts are routine for a brand.

A brand's daily reply tag, a weekly show's hashtag: their bursts are real, expected,
and no reason to page anyone. ``POST /brands/{brand}/routine`` declares a hashtag
(``#askskyways``) or a watch term routine for the brand, for a number of hours or until
taken back (``DELETE``); the flow reads the declarations within seconds
(``flows.routine``), and from then on their signals are ``info`` and say why. The
settings' ``brands.<name>.routine`` does the same from the file, for good.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, Field

from crisiswatch.api.deps import StoreDep
from crisiswatch.api.models import ErrorOut
from crisiswatch.api.security import require
from crisiswatch.detectors.brand import routine_term

router = APIRouter(tags=["routine"])
ERRORS: dict[int | str, dict] = {404: {"model": ErrorOut}, 422: {"model": ErrorOut},
                                 503: {"model": ErrorOut}}
MAX_HOURS = 24 * 366  # a year: longer belongs in the settings file


class RoutineIn(BaseModel):
    term: str = Field(min_length=1, max_length=200, pattern=r"\S",
                      description="a hashtag with its '#' (any case), or a watch term as "
                      "the watchlist writes it")
    hours: float | None = Field(None, gt=0, le=MAX_HOURS,
                                description="how long it is routine; none: until deleted")
    reason: str | None = Field(None, max_length=500)
    actor: str | None = Field(None, max_length=200, description="who declared it")


class RoutineOut(BaseModel):
    brand: str
    term: str = Field(description="as the detectors name it: a hashtag lower-case")
    actor: str | None
    reason: str | None
    at: float = Field(description="when it was declared, epoch seconds")
    until: float | None = Field(description="when it stops being routine; none: never")


@router.get("/brands/{brand:path}/routine", response_model=list[RoutineOut],
            responses=ERRORS, dependencies=[Depends(require("read"))])
def routine_terms(store: StoreDep, brand: str) -> list[dict]:
    """The terms declared routine for the brand, in force now."""
    return store.routine.of(brand)


@router.post("/brands/{brand:path}/routine", status_code=201, response_model=RoutineOut,
             responses=ERRORS, dependencies=[Depends(require("operate"))])
def declare_routine(store: StoreDep, brand: str, body: RoutineIn) -> dict:
    """Declare a term's bursts routine for the brand: its signals become ``info``."""
    now = time.time()
    return store.routine.put(brand, routine_term(body.term), body.actor, body.reason,
                             now + body.hours * 3600 if body.hours else None, now)


@router.delete("/brands/{brand:path}/routine", status_code=204, responses=ERRORS,
               dependencies=[Depends(require("operate"))])
def take_back_routine(store: StoreDep, brand: str,
                      term: Annotated[str, Query(min_length=1, max_length=200)]) -> Response:
    """The term's bursts are news again."""
    if not store.routine.remove(brand, routine_term(term)):
        raise HTTPException(404, f"{term!r} is not declared routine for {brand!r}")
    return Response(status_code=204)
