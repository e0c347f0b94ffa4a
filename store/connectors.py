"""``Connectors``: what a live connector has read, and where to resume."""

from __future__ import annotations

from typing import Any

import orjson
from redis import Redis

from crisiswatch.store.inputs import InputStreams
from crisiswatch.store.keys import KeySpace

REFUSED_KEPT = 1_000  # refused frames kept per connector for a person to inspect
CONNECTOR_COUNTS = ("frames", "queued", "unmatched", "ignored", "refused", "reconnects",
                    "rate_limited")
# when (epoch s) the connector last wrote anything, and last got further in its stream
CONNECTOR_TIMES = ("seen_at", "progress_at")


class Connectors:
    """What a live connector (``flows/live.py``) has read, and where to resume.

    ``commit`` writes the mentions of a batch to the input streams, the platform cursor
    after that batch and the batch's counts in one MULTI/EXEC: the cursor can never be
    ahead of the mentions it covers (nothing lost) nor behind them by more than the
    batch being written when the connector died (read again, counted as duplicates).
    """

    def __init__(self, client: Redis, keys: KeySpace, inputs: InputStreams) -> None:
        self.r = client
        self.keys = keys
        self.inputs = inputs

    def key(self, name: str) -> str:
        return self.keys.connector(name)

    def cursor(self, name: str) -> str | None:
        raw = self.r.hget(self.key(name), "cursor")
        return raw.decode() if raw is not None else None

    def commit(self, name: str, records: list[tuple[str, bytes]], cursor: str | None,
               counts: dict[str, int], refused: list[dict[str, Any]],
               times: dict[str, float] | None = None) -> None:
        """``times``: ``CONNECTOR_TIMES`` to set (what tells a stalled connector)."""
        key, refused_key = self.key(name), self.keys.connector_refused(name)
        with self.r.pipeline(transaction=True) as pipe:
            pipe.sadd(self.keys.connectors, name)
            self.inputs.queue(pipe, records)
            if cursor is not None:
                pipe.hset(key, "cursor", cursor)
            if times:
                pipe.hset(key, mapping=times)
            for field, n in counts.items():
                if n:
                    pipe.hincrby(key, field, n)
            if refused:
                pipe.lpush(refused_key, *(orjson.dumps(r) for r in refused))
                pipe.ltrim(refused_key, 0, REFUSED_KEPT - 1)
            pipe.execute()

    def names(self) -> list[str]:
        return sorted(x.decode() for x in self.r.smembers(self.keys.connectors))

    def counts(self, name: str) -> dict[str, int]:
        """The outcome totals (zero when none yet) and ``ignored.WHY`` by reason."""
        raw = self.r.hgetall(self.key(name))
        found = {k.decode(): int(v) for k, v in raw.items()
                 if k != b"cursor" and k.decode() not in CONNECTOR_TIMES}
        return {**dict.fromkeys(CONNECTOR_COUNTS, 0), **found}

    def times(self, name: str) -> dict[str, float | None]:
        """``CONNECTOR_TIMES``, None where never written."""
        raw = self.r.hmget(self.key(name), list(CONNECTOR_TIMES))
        return {k: float(v) if v is not None else None for k, v in zip(CONNECTOR_TIMES, raw,
                                                                        strict=True)}

    def refused(self, name: str, limit: int = 100) -> list[dict[str, Any]]:
        return [orjson.loads(x) for x in self.r.lrange(self.keys.connector_refused(name),
                                                          0, limit - 1)]
