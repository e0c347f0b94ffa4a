"""Live connectors: the one interface every platform connector implements, and the loop
that turns a platform's stream into entries of the Redis input streams.

Why the input streams and not a Bytewax source partition
    A connector writes what it reads into the same Redis streams that ``POST /mentions``
    appends to, and the flow reads them as it always does (``flows/redis_source.py``).
    The platform cursor is committed in the same MULTI/EXEC as the mentions it covers
    (``Store.connectors.commit``), so the cursor is never ahead of what is queued: a
    connector killed at any moment resumes from a cursor whose mentions are all in
    Redis, and re-reads at most the batch it was writing (the flow counts those as
    duplicates). From there on the flow's own guarantees hold: snapshots, ``XACK`` only
    of what is durable, recovery. As a Bytewax partition, the cursor would be durable
    only at the end of an epoch (10 s): a crash would depend on the platform replaying
    the last epoch, which Mastodon's streaming API and X's filtered stream cannot do
    (they only offer a bounded REST backfill), and every flow restart, or a move of the
    partition to another process, would reconnect to the platform. A platform rate
    limits connections; the input streams do not.

Accounting
    Every frame read off the wire is exactly one of: ``queued`` (a mention appended to
    the input streams; the flow then counts it processed, duplicate, late or
    dead-lettered), ``unmatched`` (a post no brand query matches: platforms filter
    coarsely or not at all, so matching is finished here, by the flow's own parser),
    ``ignored`` (frames that are not mentions, by reason: likes, deletes, account
    events, heartbeats), or ``refused`` (a frame that cannot be read or mapped onto the
    mention contract, kept with its reason under ``p:connector:{name}:refused``). So
    ``frames == queued + unmatched + ignored + refused``; ``reconnects`` and
    ``rate_limited`` count the connections lost and the rate-limit answers.

Progress
    Every write stamps ``seen_at``; one whose cursor passes the highest this runner
    has committed stamps ``progress_at`` too. A connector seen lately that has not got
    further for minutes is reading the same stretch again and again (a frame it cannot
    pass, a reconnect loop): ``GET /connectors`` and ``GET /health`` call it
    ``stalled``. Cursors are compared as the platforms issue them (decimal or base-36
    ids, microseconds): a longer one is later, then the larger.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from crisiswatch.detectors.parse import Parser
from crisiswatch.detectors.types import DeadLetter
from crisiswatch.store import Store
from crisiswatch.store.retry import TRANSIENT

log = logging.getLogger("crisiswatch.connectors")
PREVIEW_CHARS = 500  # of a refused frame, kept for a person to read


@dataclass
class Batch:
    """What a connector read since its last batch, mapped onto the mention contract."""

    cursor: str | None = None  # where to resume after this batch (None: unchanged)
    records: list[dict[str, Any]] = field(default_factory=list)
    frames: int = 0
    ignored: Counter[str] = field(default_factory=Counter)  # why -> frames
    refused: list[tuple[str, str]] = field(default_factory=list)  # (reason, raw preview)

    def refuse(self, reason: str, raw: bytes | str) -> None:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        self.refused.append((reason, text[:PREVIEW_CHARS]))

    def frame_object(self, raw: bytes | str, what: str) -> dict[str, Any] | None:
        """Count one frame and read it as a JSON object; None, refused with the reason,
        when it is not JSON or not an object (``what`` names the object expected)."""
        self.frames += 1
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            self.refuse(f"not JSON: {e}", raw)
            return None
        if not isinstance(value, dict):
            self.refuse(f"not {what}: not a JSON object", raw)
            return None
        return value


class Batcher:
    """Cuts a connection's frames into batches: a batch is due once it holds ``size``
    frames or ``flush_seconds`` after its first frame, whichever comes first. Frames go
    into ``batch``; a new batch starts from the cursor of the one before (None: the
    stored cursor stands). ``clock`` is injectable for tests."""

    def __init__(self, size: int, flush_seconds: float, cursor: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self.flush_seconds = flush_seconds
        self.clock = clock
        self.batch = Batch(cursor=cursor)
        self.started = clock()

    def due(self) -> Batch | None:
        """The batch to hand on now (a fresh one takes its place), or None: it is empty,
        or neither full nor old enough yet."""
        batch = self.batch
        if not batch.frames:
            self.started = self.clock()
            return None
        if batch.frames < self.size and self.clock() - self.started < self.flush_seconds:
            return None
        self.batch, self.started = Batch(cursor=batch.cursor), self.clock()
        return batch

    def rest(self) -> Batch | None:
        """What is left when the connection ends (None: nothing)."""
        return self.batch if self.batch.frames else None


class RateLimited(Exception):
    """The platform said "too many requests"; ``retry_after`` is its advice in seconds."""

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Connector(ABC):
    """One platform. ``batches`` connects, resumes after ``cursor`` (the last one
    committed, None on a first start) and yields batches until the connection ends
    (it returns) or fails (it raises: ``RateLimited``, or any error of the transport);
    the runner then reconnects with backoff from the last committed cursor. It must
    return soon after ``stop`` is set, so reads block for a fraction of a second at
    most."""

    name: str

    @abstractmethod
    def batches(self, cursor: str | None, stop: threading.Event) -> Iterator[Batch]:
        ...


def retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (an HTTP date counts as unknown)."""
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None


def later(cursor: str, than: str | None) -> bool:
    """``cursor`` is further in the stream than ``than`` (None: nowhere yet)."""
    return than is None or (len(cursor), cursor) > (len(than), than)


class LiveRunner:
    """Runs one connector until stopped: maps, matches, commits, reconnects."""

    def __init__(self, connector: Connector, store: Store, parser: Parser,
                 backoff_base: float = 1.0, backoff_cap: float = 120.0) -> None:
        self.connector = connector
        self.store = store
        self.parser = parser
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.high: str | None = None  # the furthest cursor committed (see Progress)

    @property
    def name(self) -> str:
        return self.connector.name

    def start(self) -> LiveRunner:
        self.thread = threading.Thread(target=self.run, name=f"connector-{self.name}",
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def run(self) -> None:
        failures = 0
        self.high = self._stored_cursor()
        while not self.stop_event.is_set():
            cursor = self._stored_cursor()
            try:
                for batch in self.connector.batches(cursor, self.stop_event):
                    self._commit(batch)
                    failures = 0
                if self.stop_event.is_set():
                    return
                error: Exception = ConnectionError("the platform closed the stream")
            except RateLimited as e:
                error = e
            except Exception as e:  # the transport failed: reconnect, whatever it was
                error = e
            failures += 1
            delay = min(self.backoff_cap, self.backoff_base * 2 ** (failures - 1))
            delay *= random.uniform(0.8, 1.2)
            counts = {"reconnects": 1}
            if isinstance(error, RateLimited):
                counts["rate_limited"] = 1
                if error.retry_after is not None:
                    delay = min(max(delay, error.retry_after), self.backoff_cap)
            self._write([], None, counts, [])
            log.warning("%s: %s: %s; reconnecting in %.1f s from cursor %s", self.name,
                        type(error).__name__, error, delay, self._stored_cursor())
            self.stop_event.wait(delay)

    def _stored_cursor(self) -> str | None:
        while not self.stop_event.is_set():
            try:
                return self.store.connectors.cursor(self.name)
            except TRANSIENT as e:
                log.warning("%s: Redis unavailable (%s); waiting", self.name, e)
                self.stop_event.wait(1.0)
        return None

    def _commit(self, batch: Batch) -> None:
        """Check each record with the flow's parser (brand queries included) and write
        the batch, its cursor and its counts at once."""
        queued: list[tuple[str, bytes]] = []
        counts: Counter[str] = Counter(frames=batch.frames)
        refused = [{"reason": r, "raw": raw, "at": time.time()} for r, raw in batch.refused]
        for record in batch.records:
            raw = orjson.dumps(record)
            parsed = self.parser.parse(raw)
            if not isinstance(parsed, DeadLetter):
                queued.append((parsed.brands[0], raw))
            elif parsed.reason.startswith("no brand"):
                counts["unmatched"] += 1
            else:
                refused.append({"reason": parsed.reason, "raw": parsed.raw, "at": time.time()})
        counts["queued"] = len(queued)
        counts["refused"] = len(refused)
        counts["ignored"] = sum(batch.ignored.values())
        for why, n in batch.ignored.items():
            counts[f"ignored.{why}"] = n
        self._write(queued, batch.cursor, dict(counts), refused)

    def _write(self, queued: list[tuple[str, bytes]], cursor: str | None,
               counts: dict[str, int], refused: list[dict[str, Any]]) -> None:
        """Redis away: hold the batch and the connection's reading with it, and retry;
        stopped meanwhile, the batch is dropped uncommitted and read again next time."""
        now = time.time()
        times = {"seen_at": now}
        if cursor is not None and later(cursor, self.high):
            times["progress_at"] = now
        while True:
            try:
                self.store.connectors.commit(self.name, queued, cursor, counts, refused,
                                             times)
                if "progress_at" in times:
                    self.high = cursor
                return
            except TRANSIENT as e:
                log.warning("%s: Redis unavailable (%s); holding a batch of %d", self.name,
                            e, len(queued))
                if self.stop_event.wait(1.0):
                    raise
