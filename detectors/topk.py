"""Bounded heavy-hitter counting: exact while a window's vocabulary is small, bounded
with space-saving's guarantee once it is not.

Hashtags and terms are unbounded vocabularies; a brand under attack can see a million
distinct tags. The counters are exact until they hold ``SLACK`` x ``capacity`` items;
then they are *compacted*: the ``capacity`` largest stay, and the largest count dropped
becomes the ``floor``. Every item not counted has a true count of at most ``floor``, so a
newcomer starts at ``floor`` plus its own count, with ``floor`` as its error, as in
space-saving (Metwally et al., 2005), where a newcomer takes the smallest counter's
count. For every item, ``count - error <= true count <= count``, and an item whose true
count exceeds ``floor`` is counted.

Why not space-saving's own one-for-one replacement, which this replaced: it evicts a
counter for every new item once full, so a window of a few dozen complaints (more
than 64 distinct terms) already had approximate counts, and explanations could vouch
for 5 mentions of a term that had 9. Here such a window counts exactly, and a dense one
pays one partial sort per (SLACK - 1) x capacity newcomers instead of a heap operation
per newcomer (no faster in the flow, within noise; a third less time for the window
aggregation alone). ``seal`` compacts to ``capacity`` when a window closes, so what the
detectors read and what is published hold at most ``capacity`` items, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from heapq import nlargest
from operator import itemgetter
from types import MappingProxyType

SLACK = 4  # items held between compactions, in multiples of the capacity
# what an unused counter holds, shared and read-only: a window keeps nine counters, most
# of them never used (a hundred thousand brands met once held 1.1 KiB each of empty dicts)
NOTHING: Mapping[str, int] = MappingProxyType({})

_count = itemgetter(1)


class TopK:
    """At most ``SLACK`` x ``capacity`` counters, ``capacity`` once sealed.

    >>> top = TopK(2)
    >>> for tag in ["outage", "refund", "outage", "delay"]:
    ...     top.add(tag)
    >>> top.counts  # exact: three items fit within the slack
    {'outage': 2, 'refund': 1, 'delay': 1}
    >>> top.seal(); top.counts, top.floor  # "delay" (1, counted later) dropped
    ({'outage': 2, 'refund': 1}, 1)
    >>> top.add("delay"); top.counts["delay"], top.errors  # it may have had 1 already
    (2, {'delay': 1})
    """

    __slots__ = ("capacity", "counts", "errors", "floor")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        # read-only ``NOTHING`` until the first item: a dict of its own from then on
        self.counts: Mapping[str, int] = NOTHING
        self.errors: Mapping[str, int] = NOTHING  # over-estimates, of items counted after a drop
        self.floor = 0  # the largest count dropped: a bound on any uncounted item's count

    def add(self, item: str, n: int = 1) -> None:
        counts = self._counts()
        count = counts.get(item)
        if count is not None:
            counts[item] = count + n
            return
        floor = self.floor
        counts[item] = floor + n
        if floor:
            self._errors()[item] = floor
        if len(counts) > SLACK * self.capacity:
            self.seal()

    def _counts(self) -> dict[str, int]:
        counts = self.counts
        if counts is NOTHING:
            counts = self.counts = {}
        return counts  # type: ignore[return-value]

    def _errors(self) -> dict[str, int]:
        errors = self.errors
        if errors is NOTHING:
            errors = self.errors = {}
        return errors  # type: ignore[return-value]

    def update(self, items: Iterable[str]) -> None:
        """``add`` each item once; the common case (an item already counted) inline,
        since a window counts several terms and tags a mention."""
        counts = self.counts
        for item in items:
            count = counts.get(item)
            if count is None:
                self.add(item)
                counts = self.counts  # its own dict now, if it was ``NOTHING``
            else:
                counts[item] = count + 1  # type: ignore[index]

    def seal(self) -> None:
        """Down to the ``capacity`` largest counts (the earlier counted first among equal
        ones), the largest dropped raising the floor: when a window closes, and whenever
        the slack fills."""
        counts = self.counts
        if len(counts) <= self.capacity:
            return
        counts = self._counts()
        kept = dict(nlargest(self.capacity, counts.items(), key=_count))
        dropped = [t for t in counts if t not in kept]
        self.floor = max(self.floor, max(counts[t] for t in dropped))
        errors = self._errors()  # in place: ``update`` holds the dict while it adds
        for t in dropped:
            del counts[t]
            errors.pop(t, None)

    def merge(self, other: TopK) -> TopK:
        """The counts of both streams, sealed (merges add up closed windows): an item
        one side does not count may have up to that side's floor there, which its count
        and error then include."""
        mine, theirs = self.floor, other.floor
        if other.counts or (theirs and self.counts):  # else an unused one stays unused
            counts, errors = self._counts(), self._errors()
            if theirs:
                for item in counts.keys() - other.counts.keys():
                    counts[item] += theirs
                    errors[item] = errors.get(item, 0) + theirs
            for item, n in other.counts.items():
                error = other.errors.get(item, 0) + (0 if item in counts else mine)
                counts[item] = counts.get(item, mine) + n
                if error:
                    errors[item] = errors.get(item, 0) + error
        self.floor = mine + theirs
        self.seal()
        return self

    def top(self, n: int) -> list[tuple[str, int]]:
        return sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    def __len__(self) -> int:
        return len(self.counts)

    def __getstate__(self) -> tuple[int, Mapping[str, int], Mapping[str, int], int]:
        """``NOTHING`` pickles as an empty dict, and is ``NOTHING`` again unpickled."""
        return self.capacity, self.counts or {}, self.errors or {}, self.floor

    def __setstate__(self, state: tuple[int, dict[str, int], dict[str, int], int]
                     | tuple[int, dict[str, int], dict[str, int]]) -> None:
        """Also reads the snapshots of the space-saving counters this replaced, whose
        smallest counter bounded every uncounted item once they were full."""
        self.capacity, self.counts = state[0], state[1] or NOTHING
        self.errors = state[2] or NOTHING
        if len(state) == 4:
            self.floor = state[3]
        else:
            full = len(self.counts) >= self.capacity
            self.floor = min(self.counts.values()) if full and self.counts else 0
