"""Bounded heavy-hitter counting (the space-saving algorithm of Metwally et al., 2005).

Hashtags and terms are unbounded vocabularies; a brand under attack can see a million
distinct tags. Space-saving keeps at most ``capacity`` counters and guarantees that any
item whose true count exceeds total/capacity is kept, with its count over-estimated by
at most the count of the counter it replaced (stored as ``error``).

The counter replaced is the smallest, and among equal ones the one added first. Finding
it by scanning every counter cost a quarter of the flow's time in dense windows (a new
term in a full window is common), so once the counters are full a min-heap of
``(count, insertion number, item)`` finds it. Increments leave the heap alone: an entry
may hold a count below the item's true one, and such an entry is put back with the true
count when it reaches the top (counts only grow), so the victim is exactly the one the
scan would pick, at O(log capacity) amortised per update.
"""

from __future__ import annotations

from collections.abc import Iterable
from heapq import heapify, heapreplace


class TopK:
    __slots__ = ("_heap", "_order", "_serial", "capacity", "counts", "errors")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.counts: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self._order: dict[str, int] = {}  # item -> insertion number (the tie-break)
        self._serial = 0
        self._heap: list[tuple[int, int, str]] = []  # built once the counters are full

    def add(self, item: str, n: int = 1) -> None:
        counts = self.counts
        count = counts.get(item)
        if count is not None:
            counts[item] = count + n
            return
        order = self._order
        if len(counts) < self.capacity:
            counts[item] = n
            order[item] = self._serial
            self._serial += 1
            if len(counts) == self.capacity:
                self._heap = [(c, order[i], i) for i, c in counts.items()]
                heapify(self._heap)
            return
        heap = self._heap
        while True:  # the smallest entry that holds its item's true count
            floor, serial, victim = heap[0]
            true = counts[victim]
            if true == floor:
                break
            heapreplace(heap, (true, serial, victim))
        del counts[victim], order[victim]
        self.errors.pop(victim, None)
        counts[item] = floor + n
        self.errors[item] = floor
        order[item] = self._serial
        heapreplace(heap, (floor + n, self._serial, item))
        self._serial += 1

    def update(self, items: Iterable[str]) -> None:
        """``add`` each item once; the common case (an item already counted) inline,
        since a window counts several terms and tags a mention."""
        counts = self.counts
        for item in items:
            count = counts.get(item)
            if count is None:
                self.add(item)
            else:
                counts[item] = count + 1

    def merge(self, other: TopK) -> TopK:
        for item, n in other.counts.items():
            self.add(item, n)
        return self

    def top(self, n: int) -> list[tuple[str, int]]:
        return sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    def __len__(self) -> int:
        return len(self.counts)

    def __getstate__(self) -> tuple[int, dict[str, int], dict[str, int]]:
        """Snapshots keep the counters in order; the tie-break numbers and the heap are
        rebuilt from that order (``__setstate__``), which makes them a third smaller."""
        return self.capacity, self.counts, self.errors

    def __setstate__(self, state: tuple[int, dict[str, int], dict[str, int]]) -> None:
        self.capacity, self.counts, self.errors = state
        self._order = {item: i for i, item in enumerate(self.counts)}
        self._serial = len(self.counts)
        self._heap = []
        if len(self.counts) >= self.capacity:
            self._heap = [(c, self._order[i], i) for i, c in self.counts.items()]
            heapify(self._heap)

