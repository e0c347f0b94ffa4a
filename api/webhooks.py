"""The webhook outbox seen from outside: what waits, what died, and re-driving it.

A dead letter is a message the worker gave up on (the receiver refused it, or failed
``webhooks.max_attempts`` times). Nothing deletes it: once the receiver is fixed, a
re-drive queues it again with the same idempotency key and body.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from crisiswatch.api.activation_models import DeadOut, OutboxMessage, WebhooksOut
from crisiswatch.api.deps import StoreDep
from crisiswatch.api.models import ErrorOut
from crisiswatch.api.security import require

# operate, reads included: a destination URL may carry the receiver's secret (Slack's do).
router = APIRouter(prefix="/webhooks", tags=["webhooks"],
                   dependencies=[Depends(require("operate"))])
ERRORS = {404: {"model": ErrorOut}, 422: {"model": ErrorOut}, 503: {"model": ErrorOut}}


@router.get("", response_model=WebhooksOut, responses=ERRORS)
def webhooks(store: StoreDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict:
    """Delivery totals, the worker's heartbeat, queued messages and recent outcomes."""
    outbox = store.outbox
    return {**outbox.counts(), "worker": outbox.worker(), "pending": outbox.pending(limit),
            "recent": outbox.recent(limit)}


@router.get("/dead", response_model=list[DeadOut], responses=ERRORS)
def dead(store: StoreDep, limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> list[dict]:
    """Messages the worker gave up on, newest first, with the last error."""
    return store.outbox.dead(limit)


@router.post("/dead/{message_id}/redrive", response_model=OutboxMessage, responses=ERRORS)
def redrive(message_id: str, store: StoreDep) -> dict:
    """Queue a dead message again (same idempotency key, same body), due now."""
    message = store.outbox.redrive(message_id, time.time())
    if message is None:
        raise HTTPException(404, f"no dead webhook message {message_id!r} (GET /webhooks/dead)")
    return message
