"""The one module that knows Redis keys.

Everything the flow publishes and the API reads goes through here. Writes are
idempotent by construction (hash fields and sorted-set members keyed by window start,
incident id or record position; counters written as absolute totals), because Bytewax
re-emits windows after recovery and a sink that appends would double count.

Keys, with prefix ``p`` (``cw`` by default):

- ``p:brands``                   set of brands seen
- ``p:series:{brand}``           hash: window start (epoch s) -> window record (JSON)
- ``p:series_idx:{brand}``       zset: window starts, for range queries
- ``p:alert:{id}``               string: the incident (JSON)
- ``p:alerts``                   zset: incident id by last window (newest last)
- ``p:alerts:{brand}``           zset: the same, per brand
- ``p:stats``                    hash: record outcomes (absolute totals) and flow status
- ``p:deadletters`` / ``p:late`` hash: record key -> record (JSON), capped
- ``p:deadletters_idx`` / ``p:late_idx`` zset: record key by arrival, for paging and caps
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import redis

STAT_FIELDS = ("read", "processed", "duplicate", "late", "dead_lettered", "fanout")


def connect(url: str) -> redis.Redis:
    """A client that retries briefly on connection errors instead of failing at once."""
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        url,
        socket_timeout=10,
        socket_connect_timeout=5,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=5),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        health_check_interval=30,
    )


class Store:
    def __init__(self, client: redis.Redis, prefix: str = "cw", capped: int = 10_000) -> None:
        self.r = client
        self.p = prefix
        self.capped = capped

    # -- key names -------------------------------------------------------------------
    def _k(self, *parts: str) -> str:
        return ":".join((self.p, *parts))

    # -- writes ----------------------------------------------------------------------
    def writer(self) -> StoreWriter:
        return StoreWriter(self)

    def reset(self) -> None:
        """Delete every key of this prefix (the CLI's --fresh; tests never need it)."""
        for key in self.r.scan_iter(match=f"{self.p}:*", count=1000):
            self.r.delete(key)

    def set_status(self, **fields: Any) -> None:
        self.r.hset(self._k("stats"), mapping={f"status_{k}": str(v) for k, v in fields.items()})

    # -- reads -----------------------------------------------------------------------
    def ping(self) -> bool:
        return bool(self.r.ping())

    def brands(self) -> list[str]:
        return sorted(b.decode() for b in self.r.smembers(self._k("brands")))

    def series(self, brand: str, start: float | None = None, end: float | None = None,
               limit: int = 5000, newest: bool = False) -> list[dict[str, Any]]:
        """Window records in time order; with ``newest``, the last ``limit`` of them."""
        lo = "-inf" if start is None else start
        hi = "+inf" if end is None else end
        idx = self._k("series_idx", brand)
        if newest:
            starts = self.r.zrevrangebyscore(idx, hi, lo, start=0, num=limit)[::-1]
        else:
            starts = self.r.zrangebyscore(idx, lo, hi, start=0, num=limit)
        if not starts:
            return []
        raw = self.r.hmget(self._k("series", brand), starts)
        return [orjson.loads(x) for x in raw if x is not None]

    def alerts(self, brand: str | None = None, since: float | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
        index = self._k("alerts", brand) if brand else self._k("alerts")
        lo = "-inf" if since is None else since
        ids = self.r.zrevrangebyscore(index, "+inf", lo, start=0, num=limit)
        if not ids:
            return []
        raw = self.r.mget([self._k("alert", i.decode()) for i in ids])
        return [orjson.loads(x) for x in raw if x is not None]

    def alert(self, alert_id: str) -> dict[str, Any] | None:
        raw = self.r.get(self._k("alert", alert_id))
        return orjson.loads(raw) if raw else None

    def stats(self) -> dict[str, Any]:
        raw = {k.decode(): v.decode() for k, v in self.r.hgetall(self._k("stats")).items()}
        out: dict[str, Any] = {f: int(raw.get(f, 0)) for f in STAT_FIELDS}
        out["status"] = {k[7:]: v for k, v in raw.items() if k.startswith("status_")}
        return out

    def deadletters(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._recent("deadletters", limit)

    def late(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._recent("late", limit)

    def _recent(self, name: str, limit: int) -> list[dict[str, Any]]:
        keys = self.r.zrevrange(self._k(f"{name}_idx"), 0, limit - 1)
        if not keys:
            return []
        return [orjson.loads(x) for x in self.r.hmget(self._k(name), keys) if x is not None]


class StoreWriter:
    """Collects a batch of writes into one pipelined round trip."""

    def __init__(self, store: Store) -> None:
        self.s = store
        self.pipe = store.r.pipeline(transaction=False)
        self._brands: set[str] = set()
        self._capped: set[str] = set()

    def window(self, brand: str, start: float, record: dict[str, Any]) -> None:
        k = self.s._k
        self._brands.add(brand)
        self.pipe.hset(k("series", brand), str(int(start)), orjson.dumps(record))
        self.pipe.zadd(k("series_idx", brand), {str(int(start)): start})

    def alert(self, alert: dict[str, Any]) -> None:
        k = self.s._k
        self.pipe.set(k("alert", alert["id"]), orjson.dumps(alert))
        self.pipe.zadd(k("alerts"), {alert["id"]: alert["last_window"]})
        self.pipe.zadd(k("alerts", alert["brand"]), {alert["id"]: alert["last_window"]})

    def stats(self, totals: dict[str, int]) -> None:
        self.pipe.hset(self.s._k("stats"), mapping=totals)

    def deadletter(self, key: str, record: dict[str, Any]) -> None:
        self._capped_put("deadletters", key, record)

    def late(self, key: str, record: dict[str, Any]) -> None:
        self._capped_put("late", key, record)

    def _capped_put(self, name: str, key: str, record: dict[str, Any]) -> None:
        k = self.s._k
        self.pipe.hset(k(name), key, orjson.dumps(record))
        # NX: a record re-read after recovery keeps its first place in the order.
        self.pipe.zadd(k(f"{name}_idx"), {key: time.time()}, nx=True)
        self._capped.add(name)

    def execute(self) -> None:
        k = self.s._k
        if self._brands:
            self.pipe.sadd(k("brands"), *self._brands)
        self.pipe.execute()
        for name in self._capped:
            self._trim(name)

    def _trim(self, name: str) -> None:
        k, r = self.s._k, self.s.r
        excess = r.zcard(k(f"{name}_idx")) - self.s.capped
        if excess > 0:
            old = [m for m, _ in r.zpopmin(k(f"{name}_idx"), excess)]
            if old:
                r.hdel(k(name), *old)

