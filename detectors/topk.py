"""Bounded heavy-hitter counting (the space-saving algorithm of Metwally et al., 2005).

Hashtags and terms are unbounded vocabularies; a brand under attack can see a million
distinct tags. Space-saving keeps at most ``capacity`` counters and guarantees that any
item whose true count exceeds total/capacity is kept, with its count over-estimated by
at most the count of the counter it replaced (stored as ``error``).
"""

from __future__ import annotations

from collections.abc import Iterable


class TopK:
    __slots__ = ("capacity", "counts", "errors")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.counts: dict[str, int] = {}
        self.errors: dict[str, int] = {}

    def add(self, item: str, n: int = 1) -> None:
        counts = self.counts
        if item in counts:
            counts[item] += n
        elif len(counts) < self.capacity:
            counts[item] = n
        else:
            victim = min(counts, key=counts.__getitem__)
            floor = counts.pop(victim)
            self.errors.pop(victim, None)
            counts[item] = floor + n
            self.errors[item] = floor

    def update(self, items: Iterable[str]) -> None:
        for item in items:
            self.add(item)

    def merge(self, other: TopK) -> TopK:
        for item, n in other.counts.items():
            self.add(item, n)
        return self

    def top(self, n: int) -> list[tuple[str, int]]:
        return sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    def __len__(self) -> int:
        return len(self.counts)
