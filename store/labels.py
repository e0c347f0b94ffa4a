"""``Labels``: the sentiment labels people give mentions."""

from __future__ import annotations

import time
from typing import Any

import orjson
from redis import Redis

LABELS_KEPT = 100_000  # entries of p:labels; a flow that fell further behind misses the oldest


class Labels:
    """``p:labels``: a capped Redis stream of the sentiment labels people give mentions
    (``POST /mentions/{id}/label``). The flow reads it after the last id it learned from
    and teaches the sentiment model; the stream id orders labels and is the receipt."""

    def __init__(self, client: Redis, key: str) -> None:
        self.r = client
        self.key = key

    def add(self, mention_id: str, label: str, text: str, actor: str | None = None,
            ts: float | None = None) -> dict[str, Any]:
        """Append one label; returns the stored entry with its stream id."""
        entry = {"mention_id": mention_id, "label": label, "text": text, "actor": actor,
                 "ts": time.time() if ts is None else ts}
        entry_id = self.r.xadd(self.key, {"data": orjson.dumps(entry)}, maxlen=LABELS_KEPT,
                               approximate=True)
        return {"id": entry_id.decode(), **entry}

    def after(self, last_id: str = "0", count: int = 1000) -> list[dict[str, Any]]:
        """Labels strictly after ``last_id`` ("0" = the oldest kept), oldest first, each
        with its stream ``id`` (pass the last one back to read on)."""
        found = self.r.xread({self.key: last_id}, count=count)
        if not found:
            return []
        return [{"id": i.decode(), **orjson.loads(f[b"data"])} for i, f in found[0][1]]

    def count(self) -> int:
        return int(self.r.xlen(self.key))
