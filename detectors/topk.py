"""Bounded heavy-hitter counting (the space-saving algorithm of Metwally et al., 2005).

Hashtags and terms are unbounded vocabularies; a brand under attack can see a million
distinct tags. Space-saving keeps at most ``capacity`` counters and guarantees that any
item whose true count exceeds total/capacity is kept, with its count over-estimated by
at most the count of the counter it replaced (stored as ``error``).

The counter replaced is the smallest, and among equal ones the one added first. Finding
it by scanning every counter cost a quarter of the flow's time in dense windows (a new
term in a full window is common), so from the first replacement on a min-heap of
``(count, insertion number, item)`` finds it. Increments leave the heap alone: an entry
may hold a count below the item's true one, and such an entry is put back with the true
count when it reaches the top (counts only grow), so the victim is exactly the one the
scan would pick, at O(log capacity) amortised per update.
"""

from __future__ import annotations

from collections.abc import Iterable
from heapq import heapify, heapreplace


class TopK:
    """At most ``capacity`` counters; a new item takes the smallest one's place.

    >>> top = TopK(2)
    >>> for tag in ["outage", "refund", "outage", "delay"]:
    ...     top.add(tag)
    >>> top.top(2)  # "delay" took the place of "refund" (1), its count kept as error
    [('delay', 2), ('outage', 2)]
    >>> top.errors
    {'delay': 1}
    """

    __slots__ = ("_heap", "_serial", "capacity", "counts", "errors")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.counts: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self._serial = 0  # insertions so far: the tie-break between equal counts
        # one entry per counter, built at the first replacement (most windows' counters
        # never fill): a counter only leaves through the top, so no entry outlives it
        self._heap: list[tuple[int, int, str]] | None = None

    def add(self, item: str, n: int = 1) -> None:
        counts = self.counts
        count = counts.get(item)
        if count is not None:
            counts[item] = count + n
            return
        if len(counts) < self.capacity:
            counts[item] = n
            self._serial += 1
            return
        heap = self._heap
        if heap is None:
            heap = self._heap = _entries(counts, self._serial)
        while True:  # the smallest entry that holds its counter's true count
            floor, serial, victim = heap[0]
            true = counts[victim]
            if true == floor:
                break
            heapreplace(heap, (true, serial, victim))
        del counts[victim]
        self.errors.pop(victim, None)
        counts[item] = floor + n
        self.errors[item] = floor
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
        """Snapshots keep the counters in order; the heap is rebuilt from that order
        when next needed, which makes them a third of the size."""
        return self.capacity, self.counts, self.errors

    def __setstate__(self, state: tuple[int, dict[str, int], dict[str, int]]) -> None:
        self.capacity, self.counts, self.errors = state
        self._serial = len(self.counts)
        self._heap = None


def _entries(counts: dict[str, int], serial: int) -> list[tuple[int, int, str]]:
    """The heap of full counters: their insertion numbers follow the dict's order (an
    insertion appends, a replacement removes), ending just below ``serial``."""
    first = serial - len(counts)
    heap = [(count, first + i, item) for i, (item, count) in enumerate(counts.items())]
    heapify(heap)
    return heap
