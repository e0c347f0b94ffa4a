"""The read side of ``Store``: what the API and the reports read."""

from __future__ import annotations

from typing import Any

import orjson
from redis import Redis

from crisiswatch.store.client import Script
from crisiswatch.store.keys import KeySpace
from crisiswatch.store.lifecycle import Lifecycle

STAT_FIELDS = ("read", "processed", "duplicate", "late", "dead_lettered", "fanout")


class Reads:
    """What the flow published, incidents with the people's side merged in
    (``lifecycle``); ``wall_script`` (``lua/wall.lua``) sums every brand's tile in Redis."""

    def __init__(self, client: Redis, keys: KeySpace, lifecycle: Lifecycle,
                 wall_script: Script) -> None:
        self.r = client
        self.keys = keys
        self.lifecycle = lifecycle
        self._wall_script = wall_script

    def ping(self) -> bool:
        return bool(self.r.ping())

    def brands(self) -> list[str]:
        return sorted(b.decode() for b in self.r.smembers(self.keys.brands))

    def series(self, brand: str, start: float | None = None, end: float | None = None,
               limit: int = 5000, newest: bool = False) -> list[dict[str, Any]]:
        """Window records in time order; with ``newest``, the last ``limit`` of them."""
        lo = "-inf" if start is None else start
        hi = "+inf" if end is None else end
        idx = self.keys.series_idx(brand)
        if newest:
            starts = self.r.zrevrangebyscore(idx, hi, lo, start=0, num=limit)[::-1]
        else:
            starts = self.r.zrangebyscore(idx, lo, hi, start=0, num=limit)
        if not starts:
            return []
        raw = self.r.hmget(self.keys.series(brand), starts)
        return [orjson.loads(x) for x in raw if x is not None]

    def alerts(self, brand: str | None = None, since: float | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
        lo = "-inf" if since is None else since
        ids = self.r.zrevrangebyscore(self.keys.alerts(brand), "+inf", lo, start=0, num=limit)
        if not ids:
            return []
        raw = self.r.mget([self.keys.alert(i.decode()) for i in ids])
        return self.lifecycle.merge([orjson.loads(x) for x in raw if x is not None])

    def alert(self, alert_id: str) -> dict[str, Any] | None:
        """The incident as people see it: the detector's document with the lifecycle
        (state, assignee, playbooks, sla, audit) merged in; ``detector_alert`` is the
        document alone."""
        found = self.detector_alert(alert_id)
        return self.lifecycle.merge([found])[0] if found else None

    def detector_alert(self, alert_id: str) -> dict[str, Any] | None:
        raw = self.r.get(self.keys.alert(alert_id))
        return orjson.loads(raw) if raw else None

    def wall(self, span_s: float = 86_400, buckets: int = 24,
             incidents: int = 3) -> list[dict[str, Any]]:
        """Every brand's tile for the wall, in two round trips whatever the number of
        brands: its last ``span_s`` of windows summed into ``buckets`` (mentions and
        expected mentions, ``counts`` / ``expected``; ``last``: the newest window's
        start) and its newest ``incidents``, each with ``state`` as people left it."""
        brands = self.brands()
        pipe = self.r.pipeline(transaction=False)
        for brand in brands:
            self._wall_script(keys=[self.keys.series_idx(brand), self.keys.series(brand),
                                    self.keys.alerts(brand)],
                              args=[span_s, buckets, incidents, self.keys.alert("")],
                              client=pipe)
        rows = [{"brand": b, **orjson.loads(raw)} for b, raw in zip(brands, pipe.execute(),
                                                                     strict=True)]
        found = [a for row in rows for a in _listed(row, "incidents")]
        pipe = self.r.pipeline(transaction=False)
        for a in found:
            pipe.hget(self.keys.life(a["id"]), "state")
        for a, state in zip(found, pipe.execute(), strict=True):
            a["detector_state"] = a["state"]
            a["state"] = state.decode() if state else a["state"]
        return rows

    def topics(self, brand: str, since: float | None = None, limit: int = 100,
               merged: bool = False) -> list[dict[str, Any]]:
        """The brand's topics seen at or after ``since``, by recent growth (the last
        window's count over its expected count), then recency and size; topics merged
        into another are left out unless asked for."""
        ids = self.r.zrevrangebyscore(self.keys.topics(brand), "+inf",
                                      "-inf" if since is None else since)
        if not ids:
            return []
        found = [orjson.loads(x) for x in self.r.mget([self.keys.topic(i.decode())
                                                      for i in ids]) if x is not None]
        found = [t for t in found if merged or t["state"] != "merged"]
        found.sort(key=lambda t: (-t["growth"], -t["last_window"], -t["size"], t["id"]))
        return found[:limit]

    def topic(self, topic_id: str) -> dict[str, Any] | None:
        raw = self.r.get(self.keys.topic(topic_id))
        return orjson.loads(raw) if raw else None

    def stats(self) -> dict[str, Any]:
        raw = {k.decode(): v.decode() for k, v in self.r.hgetall(self.keys.stats).items()}
        out: dict[str, Any] = {f: int(raw.get(f, 0)) for f in STAT_FIELDS}
        out["status"] = {k[7:]: v for k, v in raw.items() if k.startswith("status_")}
        return out

    def deadletters(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._recent("deadletters", limit)

    def late(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._recent("late", limit)

    def _recent(self, name: str, limit: int) -> list[dict[str, Any]]:
        keys = self.r.zrevrange(self.keys.capped_idx(name), 0, limit - 1)
        if not keys:
            return []
        return [orjson.loads(x) for x in self.r.hmget(self.keys.capped(name), keys)
                if x is not None]


def _listed(row: dict[str, Any], name: str) -> list[Any]:
    """A list from a Lua script's JSON, where an empty list comes out as ``{}``."""
    value = row.get(name) or []
    row[name] = value if isinstance(value, list) else []
    return row[name]
