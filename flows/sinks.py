"""The store sink: every output of the flow, written in one pipelined batch.

A batch that fails for another reason than an outage (an item the store cannot take: a
number JSON cannot hold, a script error) is written again item by item, and each item
that still fails is logged and replaced by a dead letter naming it: raising would stop
the flow, and a restart would emit the same item and stop it again.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from bytewax.outputs import DynamicSink, StatelessSinkPartition

from flows.retry import until_done
from store import Store, connect

# Items are tagged tuples: ("window", brand, start, record), ("alert", alert_dict),
# ("topic", topic_dict), ("deadletter", key, record), ("late", key, record),
# ("stats", totals).
Item = tuple[Any, ...]
log = logging.getLogger("crisiswatch.flow")
RAW_KEPT = 2000


class _StorePartition(StatelessSinkPartition[Item]):
    def __init__(self, store: Store) -> None:
        self.store = store

    def write_batch(self, items: list[Item]) -> None:
        # Every write is idempotent, so a batch cut off by an outage is written again whole.
        try:
            until_done("store sink", lambda: self._write(items))
        except Exception:
            log.exception("store sink: a batch of %d items failed; writing them one by one",
                          len(items))
            for item in items:
                self._write_one(item)

    def _write_one(self, item: Item) -> None:
        try:
            until_done("store sink", lambda: self._write([item]))
            return
        except Exception as e:
            log.exception("store sink: could not store a %r item; dead-lettered instead",
                          item[0])
            reason = f"could not store this {item[0]}: {type(e).__name__}: {e}"
        raw = repr(item)[:RAW_KEPT]
        # a stable key (not hash(): salted per process), so a re-emitted item is one letter
        key = f"sink:{item[0]}:{hashlib.sha1(raw.encode()).hexdigest()[:16]}"
        letter = ("deadletter", key, {"reason": reason, "raw": raw, "source": "flow",
                                      "position": 0})
        until_done("store sink", lambda: self._write([letter]))

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
