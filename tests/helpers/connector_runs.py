"""What a live connector queued, watched from the outside: the flow acknowledges and
trims the input streams behind its snapshots, so a test polls them while the run goes
on and keeps every entry it has seen (an entry id is unique within its stream)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

from crisiswatch.store import INPUT_FIELD, Store


class InputWatch:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.entries: dict[tuple[int, bytes], dict[str, Any]] = {}

    def poll(self) -> InputWatch:
        for k in range(self.store.inputs.partitions()):
            for entry_id, fields in self.store.r.xrange(self.store.inputs.key(k)):
                if (k, entry_id) not in self.entries:
                    self.entries[(k, entry_id)] = orjson.loads(fields[INPUT_FIELD])
        return self

    def records(self) -> list[dict[str, Any]]:
        return list(self.entries.values())

    def ids(self) -> Counter[str]:
        """Mention ids queued, with how often each was."""
        return Counter(str(r["id"]) for r in self.entries.values())
