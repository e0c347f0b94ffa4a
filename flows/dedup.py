"""Bounded memory of a brand's mention ids, to count repeats as duplicates instead of mentions.

Ids are forgotten once their event time falls ``horizon_s`` behind the newest seen, or
when more than ``max_ids`` are held. A repeat that arrives after its id was forgotten is
older than the horizon; with a horizon much longer than the lateness allowance, the
window step then counts it as late, so it is still accounted for.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass(slots=True)
class SeenIds:
    horizon_s: float
    max_ids: int
    newest: float = float("-inf")
    ids: OrderedDict[str, float] = field(default_factory=OrderedDict)

    def seen_before(self, mention_id: str, ts: float) -> bool:
        """Record ``mention_id``; True if it was already recorded."""
        if mention_id in self.ids:
            return True
        self.ids[mention_id] = ts
        if ts > self.newest:
            self.newest = ts
        cutoff = self.newest - self.horizon_s
        ids = self.ids
        while ids and (len(ids) > self.max_ids or next(iter(ids.values())) < cutoff):
            ids.popitem(last=False)
        return False
