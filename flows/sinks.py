"""The store sink: every output of the flow, written in one pipelined batch.

A batch that fails for another reason than an outage (an item the store cannot take: a
number JSON cannot hold, a script error) is written again item by item, and each item
that still fails is logged and replaced by a dead letter naming it: raising would stop
the flow, and a restart would emit the same item and stop it again.
"""

from __future__ import annotations

import hashlib
import logging

from bytewax.outputs import DynamicSink, StatelessSinkPartition

from crisiswatch.detectors.types import RAW_KEPT
from crisiswatch.flows.items import (
    DeadLetterItem,
    IncidentItem,
    LateItem,
    StatsItem,
    StoreItem,
    TopicItem,
    WindowItem,
)
from crisiswatch.store import Store, connect
from crisiswatch.store.retry import until_done

log = logging.getLogger("crisiswatch.flow")


class _StorePartition(StatelessSinkPartition[StoreItem]):
    def __init__(self, store: Store) -> None:
        self.store = store

    def write_batch(self, items: list[StoreItem]) -> None:
        # Every write is idempotent, so a batch cut off by an outage is written again whole.
        try:
            until_done("store sink", lambda: self._write(items))
        except Exception:
            log.exception("store sink: a batch of %d items failed; writing them one by one",
                          len(items))
            for item in items:
                self._write_one(item)

    def _write_one(self, item: StoreItem) -> None:
        try:
            until_done("store sink", lambda: self._write([item]))
            return
        except Exception as e:
            log.exception("store sink: could not store a %r item; dead-lettered instead",
                          item.tag)
            reason = f"could not store this {item.tag}: {type(e).__name__}: {e}"
        raw = item.described()[:RAW_KEPT]
        # a stable key (not hash(): salted per process), so a re-emitted item is one letter
        key = f"sink:{item.tag}:{hashlib.sha1(raw.encode()).hexdigest()[:16]}"
        letter = DeadLetterItem(key, {"reason": reason, "raw": raw, "source": "flow",
                                      "position": 0})
        until_done("store sink", lambda: self._write([letter]))

    def _write(self, items: list[StoreItem]) -> None:
        w = self.store.writer()
        totals = None
        for item in items:
            match item:
                case WindowItem(brand, start, record):
                    w.window(brand, start, record)
                case IncidentItem(incident):
                    w.incident(incident)
                case TopicItem(topic):
                    w.topic(topic)
                case StatsItem(latest):
                    totals = latest  # absolute totals: only the newest matters
                case DeadLetterItem(key, record):
                    w.deadletter(key, record)
                case LateItem(key, record):
                    w.late(key, record)
                case _:
                    raise ValueError(f"unknown sink item {item!r}")
        if totals is not None:
            w.stats(totals)
        w.execute()


class StoreSink(DynamicSink[StoreItem]):
    def __init__(self, redis_url: str, prefix: str, capped: int) -> None:
        self.redis_url = redis_url
        self.prefix = prefix
        self.capped = capped

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _StorePartition:
        return _StorePartition(Store(connect(self.redis_url), self.prefix, self.capped))
