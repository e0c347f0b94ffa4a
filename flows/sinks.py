"""The store sink: every output of the flow, written in one pipelined batch."""

from __future__ import annotations

from typing import Any

from bytewax.outputs import DynamicSink, StatelessSinkPartition

from crisiswatch.store import Store, connect
from flows.retry import until_done

# Items are tagged tuples: ("window", brand, start, record), ("alert", alert_dict),
# ("topic", topic_dict), ("deadletter", key, record), ("late", key, record),
# ("stats", totals).
Item = tuple[Any, ...]


class _StorePartition(StatelessSinkPartition[Item]):
    def __init__(self, store: Store) -> None:
        self.store = store

    def write_batch(self, items: list[Item]) -> None:
        # Every write is idempotent, so a batch cut off by an outage is written again whole.
        until_done("store sink", lambda: self._write(items))

    def _write(self, items: list[Item]) -> None:
        w = self.store.writer()
        totals = None
        for item in items:
            tag = item[0]
            if tag == "window":
                w.window(item[1], item[2], item[3])
            elif tag == "alert":
                w.alert(item[1])
            elif tag == "topic":
                w.topic(item[1])
            elif tag == "stats":
                totals = item[1]  # absolute totals: only the newest matters
            elif tag == "deadletter":
                w.deadletter(item[1], item[2])
            elif tag == "late":
                w.late(item[1], item[2])
            else:
                raise ValueError(f"unknown sink item {tag!r}")
        if totals is not None:
            w.stats(totals)
        w.execute()


class StoreSink(DynamicSink[Item]):
    def __init__(self, redis_url: str, prefix: str, capped: int) -> None:
        self.redis_url = redis_url
        self.prefix = prefix
        self.capped = capped

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _StorePartition:
        return _StorePartition(Store(connect(self.redis_url), self.prefix, self.capped))
