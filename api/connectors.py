"""``GET /connectors``: what each live connector read and what became of it.

The counts are the connector's own ledger (``flows/live.py``): every frame read is
queued for the flow, unmatched by the brand queries, ignored (not a mention, by
reason) or refused (with the reason, the latest kept), so an operator can tell a quiet
platform from a connector that drops everything it reads.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from api.models import ErrorOut
from api.security import require
from store import Store

router = APIRouter(tags=["connectors"], dependencies=[Depends(require("read"))])


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


@router.get("/connectors", response_model=list[ConnectorOut],
            responses={503: {"model": ErrorOut}})
def connectors(request: Request,
               refused: Annotated[int, Query(ge=0, le=1000)] = 10) -> list[ConnectorOut]:
    """Every live connector that ever committed, with its counts and latest refusals."""
    store: Store = request.app.state.store
    out = []
    for name in store.connectors.names():
        counts = store.connectors.counts(name)
        by = {k.split(".", 1)[1]: v for k, v in counts.items() if k.startswith("ignored.")}
        totals = {k: v for k, v in counts.items() if "." not in k}
        out.append(ConnectorOut(name=name, cursor=store.connectors.cursor(name),
                                ignored_by=by, **totals,
                                recent_refused=store.connectors.refused(name, refused)
                                if refused else []))
    return out
