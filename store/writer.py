"""``StoreWriter``: the flow's writes, a batch to one pipelined round trip."""

from __future__ import annotations

import time
from typing import Any

import orjson
from redis import Redis

from crisiswatch.detectors.types import Incident
from crisiswatch.response.headline import headline
from crisiswatch.store.client import Script
from crisiswatch.store.events import EVENTS_KEPT
from crisiswatch.store.keys import KeySpace

TOPICS_KEPT = 1_000  # topics per brand; the least recently seen go first


class StoreWriter:
    """Collects a batch of writes into one pipelined round trip."""

    def __init__(self, client: Redis, keys: KeySpace, capped: int, incident_script: Script,
                 topic_script: Script) -> None:
        """``capped``: dead letters and late records kept of each; the scripts store an
        incident or a topic version and publish its event (``lua/incident.lua``,
        ``lua/topic.lua``)."""
        self.r = client
        self.keys = keys
        self.capped = capped
        self._incident_script, self._topic_script = incident_script, topic_script
        self.pipe = client.pipeline(transaction=False)
        self._brands: set[str] = set()
        self._capped: set[str] = set()
        self._topic_brands: set[str] = set()

    def window(self, brand: str, start: float, record: dict[str, Any]) -> None:
        self._brands.add(brand)
        self.pipe.hset(self.keys.series(brand), str(int(start)), orjson.dumps(record))
        self.pipe.zadd(self.keys.series_idx(brand), {str(int(start)): start})

    def incident(self, incident: Incident) -> None:
        """Store an incident version (``Incident.to_dict``) and publish
        incident.opened/updated/resolved. The plain-language ``headline`` goes with it,
        so the event that the dashboard and the wall read carries the same line as the
        API and the messages."""
        k, x = self.keys, incident
        doc = {**x.to_dict(), "headline": headline(x)}
        self._incident_script(
            keys=[k.alert(x.id), k.alerts(), k.alerts(x.brand), k.events],
            args=[orjson.dumps(doc), x.id, x.last_window, x.state, x.updated_window,
                  EVENTS_KEPT],
            client=self.pipe)

    def topic(self, record: dict[str, Any]) -> None:
        """Store a topic version; publish topic.opened / topic.merged / topic.faded when
        it first appears or changes state (not on every window: that would flood)."""
        k = self.keys
        self._topic_brands.add(record["brand"])
        self._topic_script(
            keys=[k.topic(record["id"]), k.topics(record["brand"]), k.events],
            args=[orjson.dumps(record), record["id"], record["last_window"], record["state"],
                  record["updated_window"], EVENTS_KEPT],
            client=self.pipe)

    def event(self, kind: str, payload: dict[str, Any]) -> None:
        """Publish an event (e.g. ``topic.updated``) with this batch."""
        self.pipe.xadd(self.keys.events, {"type": kind, "data": orjson.dumps(payload)},
                       maxlen=EVENTS_KEPT, approximate=True)

    def stats(self, totals: dict[str, int]) -> None:
        """The flow's totals, with a heartbeat (``status_heartbeat``, epoch seconds) that
        ``GET /health`` judges the flow's liveness by."""
        self.pipe.hset(self.keys.stats,
                       mapping={**totals, "status_heartbeat": f"{time.time():.3f}"})

    def deadletter(self, key: str, record: dict[str, Any]) -> None:
        self._capped_put("deadletters", key, record)

    def late(self, key: str, record: dict[str, Any]) -> None:
        self._capped_put("late", key, record)

    def _capped_put(self, name: str, key: str, record: dict[str, Any]) -> None:
        self.pipe.hset(self.keys.capped(name), key, orjson.dumps(record))
        # NX: a record re-read after recovery keeps its first place in the order.
        self.pipe.zadd(self.keys.capped_idx(name), {key: time.time()}, nx=True)
        self._capped.add(name)

    def execute(self) -> None:
        if self._brands:
            self.pipe.sadd(self.keys.brands, *self._brands)
        self.pipe.execute()
        for name in self._capped:
            self._trim(name)
        for brand in self._topic_brands:
            self._trim_topics(brand)

    def _trim_topics(self, brand: str) -> None:
        k, r = self.keys, self.r
        excess = r.zcard(k.topics(brand)) - TOPICS_KEPT
        if excess > 0:
            old = [m.decode() for m, _ in r.zpopmin(k.topics(brand), excess)]
            if old:
                r.delete(*(k.topic(m) for m in old))

    def _trim(self, name: str) -> None:
        k, r = self.keys, self.r
        excess = r.zcard(k.capped_idx(name)) - self.capped
        if excess > 0:
            old = [m for m, _ in r.zpopmin(k.capped_idx(name), excess)]
            if old:
                r.hdel(k.capped(name), *old)
