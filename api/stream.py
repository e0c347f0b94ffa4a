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

One reader per API process serves every client (``api/fanout.py``): an open stream costs
a coroutine and a bounded queue, not a worker thread, so a war room of dashboards leaves
the rest of the API as fast as it was. A client that falls ``QUEUE_MAX`` events behind
is sent ``stream.dropped`` (with the last id it was sent and a retry hint) and
reconnects with its ``Last-Event-ID``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from crisiswatch.api.deps import FanoutDep, StoreDep
from crisiswatch.api.fanout import DROPPED, END, KEEPALIVE, Event, Fanout, Subscriber
from crisiswatch.api.models import ErrorOut
from crisiswatch.api.security import require
from crisiswatch.store import Store, StoreError

router = APIRouter(tags=["stream"], dependencies=[Depends(require("read"))])
PAGE = 500  # events a reconnecting client is sent from the log per read
RETRY_DROPPED_MS = 5000  # the retry hint of a client dropped for falling behind
EVENT_ID = re.compile(r"^\d+(-\d+)?$")


def close_streams(app: FastAPI) -> None:
    """Ask the open streams to end (each within KEEPALIVE_S). A server that stops waits
    for its open responses, and a live stream never ends by itself; clients reconnect to
    the next server with their Last-Event-ID and lose nothing."""
    hub: Fanout = app.state.fanout
    hub.closing = True


def _order(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


@router.get("/stream", responses={422: {"model": ErrorOut}, 503: {"model": ErrorOut}},
            response_class=StreamingResponse)
async def stream(
    store: StoreDep,
    hub: FanoutDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    since: Annotated[str | None, Query(
        description="start after this event id (0 = the oldest kept); the Last-Event-ID "
        "header wins; neither = only what happens from now on")] = None,
    types: Annotated[str | None, Query(
        description="comma-separated type prefixes to keep, e.g. incident,lifecycle")] = None,
) -> StreamingResponse:
    start = last_event_id or since
    if start is not None and not EVENT_ID.match(start):
        raise HTTPException(422, f"not an event id: {start!r} (ids look like 1700000000000-0)")
    wanted = tuple(t.strip() for t in types.split(",") if t.strip()) if types else ()
    oldest = await run_in_threadpool(store.events.first_id) if start not in (None, "0") \
        else None
    sub = await hub.subscribe()  # before the log is read: nothing falls between the two

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b"retry: 2000\n\n"
            if start is not None and oldest is not None and _order(oldest) > _order(start):
                gap = orjson.dumps({"requested": start, "oldest": oldest}).decode()
                yield f"event: stream.gap\ndata: {gap}\n\n".encode()
            sent = sub.floor if start is None else start
            if start is not None:
                async for e in _history(store, start):
                    sent = e.id
                    if not wanted or e.type.startswith(wanted):
                        yield e.sse
            async for e in _live(hub, sub):
                if e is DROPPED:
                    note = orjson.dumps({"last_id": sent, "reason": "the client fell behind "
                                         "the live events; reconnect with Last-Event-ID"})
                    yield (f"retry: {RETRY_DROPPED_MS}\nevent: stream.dropped\n"
                           f"data: {note.decode()}\n\n").encode()
                    return
                if e is KEEPALIVE:
                    yield e.sse
                    continue
                if _order(e.id) <= _order(sent):
                    continue  # sent from the log already
                sent = e.id
                if not wanted or e.type.startswith(wanted):
                    yield e.sse
        except StoreError:
            # The answer has begun: no 503 now. End it; the client reconnects with its
            # Last-Event-ID (after the retry above) and misses nothing.
            return
        finally:
            hub.unsubscribe(sub)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _history(store: Store, start: str) -> AsyncIterator[Event]:
    """The log after ``start`` as it is now, a page at a time (a reconnecting client)."""
    cursor = start
    while True:
        page = await run_in_threadpool(store.events.after, cursor, PAGE)
        for e in page:
            yield Event.of(e)
        if len(page) < PAGE:
            return
        cursor = page[-1]["id"]


async def _live(hub: Fanout, sub: Subscriber) -> AsyncIterator[Event]:
    """The events the reader hands this client, ``DROPPED`` last if it fell behind;
    ``KEEPALIVE`` while quiet (every ``KEEPALIVE_S``, when it also sees whether the
    server closes the streams). Ends when the log cannot be read."""
    while not hub.closing:
        e = await sub.queue.get()
        if e is END:
            return
        yield e
