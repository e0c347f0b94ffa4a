"""``GET /connectors``: what each live connector read and what became of it.

The counts are the connector's own ledger (``flows/live.py``): every frame read is
queued for the flow, unmatched by the brand queries, ignored (not a mention, by
reason) or refused (with the reason, the latest kept), so an operator can tell a quiet
platform from a connector that drops everything it reads.

``state`` tells a connector that reads without getting anywhere: ``stalled`` when it
wrote in the last ``ApiConfig.connector_stall_s`` (it runs, reconnects, reads) but its
cursor has not passed its furthest point for that long (a frame it cannot pass, a reconnect loop);
``running`` when it got further lately; ``idle`` when it has written nothing lately (a
quiet stream, or a connector that is not running). ``GET /health`` lists the states.
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from crisiswatch.api.deps import ConfigDep, StoreDep
from crisiswatch.api.models import ErrorOut
from crisiswatch.api.security import require
from crisiswatch.store import Store

router = APIRouter(tags=["connectors"], dependencies=[Depends(require("read"))])
State = Literal["running", "stalled", "idle"]


def connector_state(times: dict[str, float | None], now: float, stall_after_s: float
                    ) -> State:
    """What ``Connectors.times`` say of a connector (see the module's docstring)."""
    seen, progress = times["seen_at"], times["progress_at"]
    if seen is None or now - seen > stall_after_s:
        return "idle"
    if progress is None or now - progress > stall_after_s:
        return "stalled"
    return "running"


def states(store: Store, stall_after_s: float) -> dict[str, State]:
    """Every connector's state, by name (for ``GET /health``)."""
    now = time.time()
    return {name: connector_state(store.connectors.times(name), now, stall_after_s)
            for name in store.connectors.names()}


class RefusedOut(BaseModel):
    reason: str
    raw: str = Field(description="the frame, cut at 500 characters")
    at: float = Field(description="when it was read (epoch seconds)")


class ConnectorOut(BaseModel):
    name: str = Field(description="bluesky, x, mastodon:HOST:tag:NAME, reddit:comments, ...")
    cursor: str | None = Field(description="the platform position it resumes after")
    frames: int
    queued: int = Field(description="mentions appended to the input streams")
    unmatched: int = Field(description="posts no brand query matches")
    ignored: int = Field(description="frames that are not mentions (see ignored_by)")
    refused: int = Field(description="frames that could not be read or mapped")
    reconnects: int
    rate_limited: int
    ignored_by: dict[str, int] = Field(description="ignored frames by reason")
    recent_refused: list[RefusedOut]
    state: State = Field(description="running (got further lately), stalled (reads and "
                         "reconnects, but its cursor has not passed its furthest point for "
                         "5 minutes) or idle (wrote nothing lately)")
    progress_age_s: float | None = Field(description="since its cursor last got further")


@router.get("/connectors", response_model=list[ConnectorOut],
            responses={503: {"model": ErrorOut}})
def connectors(store: StoreDep, config: ConfigDep,
               refused: Annotated[int, Query(ge=0, le=1000)] = 10) -> list[ConnectorOut]:
    """Every live connector that ever committed, with its counts and latest refusals."""
    out = []
    for name in store.connectors.names():
        counts = store.connectors.counts(name)
        times, now = store.connectors.times(name), time.time()
        progress = times["progress_at"]
        by = {k.split(".", 1)[1]: v for k, v in counts.items() if k.startswith("ignored.")}
        totals = {k: v for k, v in counts.items() if "." not in k}
        out.append(ConnectorOut(name=name, cursor=store.connectors.cursor(name),
                                ignored_by=by, **totals,
                                recent_refused=store.connectors.refused(name, refused)
                                if refused else [],
                                state=connector_state(times, now,
                                                      config.connector_stall_s),
                                progress_age_s=None if progress is None
                                else round(now - progress, 3)))
    return out
