"""The production source: the Redis input streams that ``POST /mentions`` appends to.

Partitions
    ``ingest.partitions`` streams (``Store.inputs``), a brand's mentions all in one of them
    (``shard_of``), so its order survives. Each stream is one Bytewax partition: Bytewax
    spreads them over the processes of a cluster, each read by exactly one worker, and
    hands a partition's snapshot to whichever worker reads it after a restart. Read with
    the consumer group ``flow``, one consumer per partition.

Position and exactly-once state
    A partition's snapshot is the id of the last entry it handed to the flow. Bytewax
    snapshots every stateful step at the same epoch boundary, so after a crash the flow
    resumes from one consistent cut: the windows, detector baselines, dedup memory and
    counters as they were after that entry, and this source reading on from it. Entries
    read after the snapshot are read again (``XRANGE`` from the snapshot id) and folded
    into the restored state once more: each entry changes the state exactly once, so
    series, incidents and counters equal those of a run that never stopped (the store's
    writes are idempotent, so re-emitted windows and incident versions change nothing).

Acknowledgement: only what is durable
    ``snapshot()`` is called at the end of an epoch; Bytewax 0.21 calls ``next_batch``
    of the next epoch only once all of the previous epoch's output is written and its
    snapshots are committed to the recovery store (its input backpressure). So the first
    ``next_batch`` after a snapshot ``XACK``s the entries up to that snapshot's id, and
    ``XPENDING`` lists what a crash could make the flow read again (after a drained run,
    the last epoch's entries stay pending until the next start acknowledges them). A
    restart re-reads by ``XRANGE`` from its snapshot, not from the pending list, and
    trimming (``XTRIM MINID``) stays one acknowledgement behind, so that even an early
    acknowledgement could not lose an entry; only a restart with no snapshot at all reads
    from the pending list. Without a recovery directory there is no durable state to
    resume: a restarted flow reads the still-pending entries again and starts its state
    afresh.

Heartbeat
    An idle partition writes the flow's heartbeat every ``heartbeat_s`` (``Store.heartbeat``;
    output writes it too), so ``GET /health`` tells a live flow with nothing to read from
    a stalled one. It is written from the source's own polling, not from a thread beside
    the flow, so that a flow stuck anywhere stops beating.

Outages
    A read that fails (Redis restarting, unreachable) returns nothing and tries again
    after a backoff, never raising into the flow. The client does not retry by itself: a
    ``XREADGROUP`` whose reply was lost has still advanced the group, so after any
    failure the partition re-reads by ``XRANGE`` from its last entry up to the group's
    last delivered id before it asks for new entries again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from crisiswatch.flows.stopping import stop_requested
from crisiswatch.store import Entry, InputPartition, ResponseError, Store, connect
from crisiswatch.store.retry import TRANSIENT, Backoff

Batch = list[tuple[int, bytes]]
log = logging.getLogger("crisiswatch.flow")


def entry_position(entry_id: str, partition: int) -> int:
    """A record's position for its dead letter key: entry ids repeat across streams, so the
    partition is folded in (ms * 10^6 + seq * 100 + partition; unique while a stream takes
    fewer than 10,000 entries in one millisecond and there are fewer than 100 streams)."""
    ms, _, seq = entry_id.partition("-")
    return int(ms) * 1_000_000 + int(seq or 0) * 100 + partition


def _order(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class _StreamPartition(StatefulSourcePartition[Batch, str | None]):
    def __init__(self, part: InputPartition, index: int, resume: str | None,
                 batch_size: int, drain: bool, poll_s: float,
                 beat: Callable[[], None] | None = None, heartbeat_s: float = 5.0) -> None:
        self.part = part
        self.beat = beat
        self.heartbeat_s = heartbeat_s
        self.beaten = float("-inf")  # monotonic time of the last idle heartbeat
        self.index = index
        self.batch_size = batch_size
        self.drain = drain
        self.poll = timedelta(seconds=poll_s)
        self.last = resume  # the newest entry handed to the flow
        self.ack_due = resume  # restored from a snapshot: durable, acknowledge it
        self.acked: str | None = None
        self.planned = False  # group ensured and catch-up range known
        self.cursor: tuple[str, bool] | None = None  # (entry id, inclusive) to re-read from
        self.replay_through: str | None = None
        self.wake: datetime | None = None
        self.backoff = Backoff()
        self.what = f"input stream {part.key}"

    def next_batch(self) -> Batch:
        if stop_requested():
            raise StopIteration
        try:
            if not self.planned:
                self._plan()
            self._acknowledge()
            entries = self._read()
            if not entries and self.beat is not None and (
                    time.monotonic() - self.beaten >= self.heartbeat_s):
                self.beat()
                self.beaten = time.monotonic()
        except TRANSIENT as e:
            self.planned = False  # a lost reply may have advanced the group: re-plan
            self.wake = datetime.now(UTC) + timedelta(seconds=self.backoff.failed(self.what, e))
            return []
        except ResponseError as e:
            if "NOGROUP" not in str(e):
                raise
            log.warning("%s: the stream or its group is gone (Redis restarted without its "
                        "data?); recreating it and reading what arrives", self.what)
            self.planned = False
            return []
        self.backoff.succeeded(self.what)
        if not entries:
            if self.drain:
                raise StopIteration
            self.wake = datetime.now(UTC) + self.poll
            return []
        self.wake = None
        self.last = entries[-1][0]
        return [(entry_position(i, self.index), raw) for i, raw in entries]

    def _plan(self) -> None:
        """Ensure the group, then find what must be read again before new entries: from
        the last entry handed out (a snapshot, or before an outage) or, with no position,
        this consumer's oldest pending entry, up to the group's last delivered entry."""
        self.part.ensure_group()
        if self.last is not None:
            self.cursor = (self.last, False)
        else:
            first = self.part.first_pending()
            self.cursor = (first, True) if first else None
        through = self.part.delivered_through()
        ahead = (self.cursor is not None and through is not None
                 and _order(through) >= _order(self.cursor[0]))
        self.replay_through = through if ahead else None
        self.planned = True

    def _read(self) -> list[Entry]:
        if self.replay_through is not None and self.cursor is not None:
            low, inclusive = self.cursor
            entries = self.part.between(low, self.replay_through, self.batch_size, inclusive)
            if len(entries) < self.batch_size:
                self.replay_through = None  # caught up: new entries from here on
            if entries:
                self.cursor = (entries[-1][0], False)
                return entries
        return self.part.new(self.batch_size)

    def _acknowledge(self) -> None:
        if self.ack_due is None or self.ack_due == self.acked:
            return
        self.part.ack_through(self.ack_due)
        if self.acked is not None:
            self.part.trim_before(self.acked)  # one acknowledgement behind
        self.acked = self.ack_due

    def next_awake(self) -> datetime | None:
        return self.wake

    def snapshot(self) -> str | None:
        # Not acknowledged here, nor when a drained partition closes: the snapshot is not
        # committed yet, and a flow that dies before it is resumes from an earlier one
        # (or from nothing, reading the pending entries again). The next start
        # acknowledges what its resume position covers.
        self.ack_due = self.last
        return self.last


@dataclass
class RedisStreamSource(FixedPartitionedSource[Batch, str | None]):
    """``partitions`` must be the count the streams are pinned to (``Store.inputs.pin``);
    with ``drain`` each partition ends once it has read everything (backfills, tests),
    otherwise the flow reads until stopped, polling every ``poll_s`` when idle."""

    redis_url: str
    prefix: str
    partitions: int
    batch_size: int = 1000
    drain: bool = False
    poll_s: float = 0.05
    heartbeat_s: float = 5.0  # idle heartbeats this often (observability.heartbeat_seconds)

    def list_parts(self) -> list[str]:
        return [str(k) for k in range(self.partitions)]

    def build_part(self, step_id: str, for_part: str, resume_state: str | None
                   ) -> _StreamPartition:
        store = Store(connect(self.redis_url, retries=0), self.prefix)
        k = int(for_part)
        return _StreamPartition(store.inputs.partition(k), k, resume_state, self.batch_size,
                                self.drain, self.poll_s, store.heartbeat, self.heartbeat_s)
