"""``GET /stream``: Server-Sent Events of everything that happens, resumable.

Events come from the ``p:events`` Redis stream, so each has a stable, ordered id (the
stream entry id) sent as the SSE ``id:``. A browser's EventSource reconnects with
``Last-Event-ID`` and the answer continues strictly after it: within the retention
window (the stream keeps the latest ~10,000 events) a client that drops misses nothing
and sees nothing twice. A client that comes back after its id was trimmed gets a
``stream.gap`` event first, to say it should reload the state it keeps.

Event types: ``incident.opened|updated|resolved`` (data: the detector's document),
``lifecycle.acknowledged|assigned|escalated|resolved``, ``playbook.activated``,
``webhook.dead``, ``topic.opened|merged|faded``, and whatever else a writer publishes
(``StoreWriter.event``, ``Store.publish``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.models import ErrorOut
from api.security import require
from store import Store, StoreError

router = APIRouter(tags=["stream"], dependencies=[Depends(require("read"))])
BLOCK_MS = 250  # how long one read waits for news (below the API client's timeout)
EVENT_ID = re.compile(r"^\d+(-\d+)?$")


def close_streams(app: FastAPI) -> None:
    """Ask the open streams to end (each within BLOCK_MS). A server that stops waits for
    its open responses, and a live stream never ends by itself; clients reconnect to
    the next server with their Last-Event-ID and lose nothing."""
    app.state.streams_closing = True


def _order(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


@router.get("/stream", responses={422: {"model": ErrorOut}, 503: {"model": ErrorOut}},
            response_class=StreamingResponse)
async def stream(
    request: Request,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    since: Annotated[str | None, Query(
        description="start after this event id (0 = the oldest kept); the Last-Event-ID "
        "header wins; neither = only what happens from now on")] = None,
    types: Annotated[str | None, Query(
        description="comma-separated type prefixes to keep, e.g. incident,lifecycle")] = None,
) -> StreamingResponse:
    store: Store = request.app.state.store
    start = last_event_id or since
    if start is not None and not EVENT_ID.match(start):
        raise HTTPException(422, f"not an event id: {start!r} (ids look like 1700000000000-0)")
    cursor = start if start is not None else await run_in_threadpool(store.events.last_id)
    wanted = tuple(t.strip() for t in types.split(",") if t.strip()) if types else ()
    oldest = await run_in_threadpool(store.events.first_id)

    async def events() -> AsyncIterator[bytes]:
        nonlocal cursor
        yield b"retry: 2000\n\n"
        if start not in (None, "0") and oldest is not None and _order(oldest) > _order(start):
            gap = orjson.dumps({"requested": start, "oldest": oldest}).decode()
            yield f"event: stream.gap\ndata: {gap}\n\n".encode()
        while not (await request.is_disconnected()
                   or getattr(request.app.state, "streams_closing", False)):
            try:
                batch = await run_in_threadpool(store.events.after, cursor, 100, BLOCK_MS)
            except StoreError:
                # The answer has begun: no 503 now. End it; the client reconnects with
                # its Last-Event-ID (after the retry above) and misses nothing.
                return
            if not batch:
                yield b": keep-alive\n\n"
                continue
            for e in batch:
                cursor = e["id"]
                if wanted and not e["type"].startswith(wanted):
                    continue
                data = orjson.dumps(e["data"]).decode()
                yield f"id: {e['id']}\nevent: {e['type']}\ndata: {data}\n\n".encode()

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
