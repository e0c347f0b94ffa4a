"""One reader of the event log per API process, fanning its events out to every open
``GET /stream``.

Why: a stream client that read Redis for itself held a worker thread for each blocking
read, from the same bounded pool that every other request needs; 45 open dashboards made
``/health`` take 2.9 s, 200 made ``/alerts`` time out. Here one task reads the log (one
thread, one Redis call at a time, however many clients) and hands each event, encoded
once, to each client's bounded queue; the clients are coroutines that only wait on their
queue and write.

A client that cannot keep up (its queue of ``QUEUE_MAX`` events is full: its socket is
not draining) is dropped rather than let grow: it is sent ``stream.dropped`` with a retry
hint and reconnects with its ``Last-Event-ID``, losing nothing the log still keeps. When
the log cannot be read (Redis down or hung), every stream ends at once; the clients
reconnect after their retry, as they would after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import orjson
from starlette.concurrency import run_in_threadpool

from crisiswatch.store import Store, StoreError

log = logging.getLogger("crisiswatch.api")
QUEUE_MAX = 1000  # events waiting for one client at most
READ_COUNT = 500  # events one read of the log takes at most
BLOCK_MS = 250  # how long one read waits for news (below the API client's 0.5 s timeout)
KEEPALIVE_S = 2.0  # a quiet stream is sent a comment this often (and checks for closing)


@dataclass(frozen=True, slots=True)
class Event:
    """An event of the log as every client sends it: its SSE text is made once."""

    id: str
    type: str
    sse: bytes

    @classmethod
    def of(cls, e: dict) -> Event:
        data = orjson.dumps(e["data"]).decode()
        return cls(e["id"], e["type"],
                   f"id: {e['id']}\nevent: {e['type']}\ndata: {data}\n\n".encode())


END = Event("", "", b"")  # the stream ends: the log could not be read
KEEPALIVE = Event("", "", b": keep-alive\n\n")  # one for every client: no timer each
DROPPED = Event("", "", b"")  # the client fell QUEUE_MAX events behind


@dataclass(eq=False)
class Subscriber:
    """One client's queue; ``floor``: the newest event id the reader had passed when it
    joined (what it is sent from the queue is strictly after it)."""

    floor: str
    queue: asyncio.Queue[Event] = field(default_factory=lambda: asyncio.Queue(QUEUE_MAX))


class Fanout:
    """The reader and its subscribers. It runs while anyone listens: the first
    subscriber starts it at the log's newest event, the last one leaving stops it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.cursor = "0-0"
        self.subscribers: set[Subscriber] = set()
        self.task: asyncio.Task[None] | None = None
        self.lock = asyncio.Lock()
        self.dropped = 0  # clients dropped for falling behind, since the start
        self.closing = False  # the server stops: every stream ends at its next keep-alive

    async def subscribe(self) -> Subscriber:
        """A queue of the events from now on (raises ``StoreError`` when the log cannot
        be read to start the reader)."""
        async with self.lock:
            if self.task is None or self.task.done():
                self.cursor = await run_in_threadpool(self.store.events.last_id)
                self.task = asyncio.create_task(self._read())
            sub = Subscriber(self.cursor)
            self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    async def _read(self) -> None:
        """Read while anyone listens; whatever ends the reading ends every stream (a
        reader that died silently would leave them open and mute)."""
        try:
            await self._read_loop()
        except StoreError:
            pass  # Redis down or hung: the clients reconnect after their retry
        except Exception:
            log.exception("the event log reader failed; the open streams are ended")
        finally:
            self._end_all()

    async def _read_loop(self) -> None:
        handed = time.monotonic()
        while self.subscribers:
            batch = await run_in_threadpool(self.store.events.after, self.cursor,
                                            READ_COUNT, BLOCK_MS)
            if batch:
                self.cursor = batch[-1]["id"]
                events = [Event.of(e) for e in batch]
            elif time.monotonic() - handed >= KEEPALIVE_S:
                events = [KEEPALIVE]
            else:
                continue
            handed = time.monotonic()
            for sub in list(self.subscribers):
                self._offer(sub, events)

    def _offer(self, sub: Subscriber, events: list[Event]) -> None:
        queue = sub.queue
        if queue.maxsize - queue.qsize() >= len(events):
            for e in events:
                queue.put_nowait(e)
            return
        self.dropped += 1  # too slow: make room for the one word it still gets
        self.subscribers.discard(sub)
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(DROPPED)

    def _end_all(self) -> None:
        for sub in list(self.subscribers):
            if sub.queue.full():
                sub.queue.get_nowait()
            sub.queue.put_nowait(END)
        self.subscribers.clear()
