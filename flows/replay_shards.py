"""File replay split across the processes of a cluster, by brand.

A file is one partition of ``ReplaySource``, so one file feeds one process however many
run. Here every process reads every file but keeps only the lines of its shard: the
brands whose ``shard_of`` is its number (lines without a ``brand`` field, and lines that
are not JSON, all go to shard 0). A brand's mentions thus stay in one reader, in file
order, which the event-time windows need, and results do not depend on the process
count. Reading and skipping the other shards' lines costs a JSON parse per line, a few
percent of what the flow spends on a mention.

Line numbers stay those of the file, so a dead letter names the same position however
the input was split.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson
from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from crisiswatch.flows.sources import BATCH_LINES, Batch, Position, ProgressFn, ReplaySource
from crisiswatch.store import shard_of


def line_brand(raw: bytes) -> str:
    """The ``brand`` field of a raw line, or "" when it has none that is a string."""
    try:
        brand = orjson.loads(raw).get("brand")
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    return brand if isinstance(brand, str) else ""


class _ShardPartition(StatefulSourcePartition[Batch, Position]):
    def __init__(self, inner: StatefulSourcePartition[Batch, Position], shard: int,
                 shards: int) -> None:
        self.inner = inner
        self.shard = shard
        self.shards = shards

    def next_batch(self) -> Batch:
        k, n = self.shard, self.shards
        return [(line, raw) for line, raw in self.inner.next_batch()
                if shard_of(line_brand(raw), n) == k]

    def next_awake(self) -> datetime | None:
        return self.inner.next_awake()

    def snapshot(self) -> Position:
        return self.inner.snapshot()

    def close(self) -> None:
        self.inner.close()


@dataclass
class ShardedReplaySource(FixedPartitionedSource[Batch, Position]):
    """Partitions ``{path}#{shard}/{shards}``: fixed for a shard count, so a recovery
    directory belongs to one process count (Bytewax refuses changed partitions)."""

    paths: list[Path]
    shards: int
    batch_size: int = BATCH_LINES
    speed: float | None = None
    progress: ProgressFn | None = None

    def list_parts(self) -> list[str]:
        return [f"{p}#{k}/{self.shards}" for p in self.paths for k in range(self.shards)]

    def build_part(self, step_id: str, for_part: str, resume_state: Position | None
                   ) -> _ShardPartition:
        path, _, shard = for_part.rpartition("#")
        files = ReplaySource([Path(path)], self.batch_size, self.speed, self.progress)
        inner = files.build_part(step_id, path, resume_state)
        return _ShardPartition(inner, int(shard.split("/")[0]), self.shards)
