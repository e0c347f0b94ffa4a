"""A brand's memory of mention ids, so that a re-sent record counts as a duplicate
instead of a second mention, in memory that a firehose cannot blow up.

Two memories, because they answer two different questions:

- **Open windows** (exact): the ids counted in each window still open, as strings. A
  repeat of one of them would change a number not yet published, so every mention is
  checked against them. They live as long as their window: the window length plus the
  lateness allowance of input (15 minutes by default), about 100 bytes an id.
- **Closed windows** (compact): when a window closes, its ids become a sorted array of
  64-bit digests, kept for ``horizon_windows`` windows and at most ``max_ids`` ids per
  brand, 8 bytes an id. A record whose window has closed cannot change a published
  number whatever it is, so only those records consult it, to be labelled ``duplicate``
  (seen before) rather than ``late``. A digest collision can therefore only swap those
  two labels, never count a mention twice or lose one.

A repeat older than the horizon, or one whose copy names another, closed window, is
counted as late: still accounted for, never counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from hashlib import blake2b
from itertools import chain

import numpy as np

NUMERIC_DIGITS = 19  # decimal ids up to this long (tweet ids) are their own digest
NO_IDS: frozenset[str] = frozenset()  # shared: an empty set is 216 bytes, a brand's own
LATE_FOLDED_AT = 4096  # late ids held as strings before they join the compact memory


@dataclass(slots=True)
class SeenIds:
    horizon_windows: int  # closed windows remembered
    max_ids: int  # ids remembered at most in closed windows
    # every id counted in an open window (one lookup whatever window a copy names), and
    # each open window's own, to move them out when it closes
    open_ids: set[str] = field(default_factory=set)
    by_window: dict[int, list[str]] = field(default_factory=dict)
    # late ids, until the next window closes (``NO_IDS``, shared, while there are none)
    late: set[str] | frozenset[str] = NO_IDS
    # sorted digests, oldest first: a list, not a deque (an empty deque is 624 bytes, a
    # tenth of a brand met once; the horizon keeps a few dozen windows to drop from)
    closed: list[tuple[int, np.ndarray]] = field(default_factory=list)
    closed_ids: int = 0

    def __getstate__(self) -> dict[str, object]:
        """Snapshots leave out ``open_ids``: it is the union of ``by_window``, rebuilt on
        restore, and pickling every open id twice doubled the snapshots' cost."""
        return {name: getattr(self, name) for name in self.__slots__ if name != "open_ids"}

    def __setstate__(self, state: dict[str, object]) -> None:
        for name, value in state.items():
            setattr(self, name, value)
        self.open_ids = set(chain.from_iterable(self.by_window.values()))
        self.late = self.late or NO_IDS

    def in_open_window(self, mention_id: str) -> bool:
        """True if the id was counted in a window that is still open."""
        return mention_id in self.open_ids

    def count(self, mention_id: str, window: int) -> None:
        """Remember an id counted in an open window."""
        self.open_ids.add(mention_id)
        ids = self.by_window.get(window)
        if ids is None:
            self.by_window[window] = [mention_id]
        else:
            ids.append(mention_id)

    def seen_late(self, mention_id: str, now: int) -> bool:
        """For a record whose window has closed, ``now`` the window the watermark is in:
        True if its id was seen within the horizon before ``now``; otherwise it is
        remembered as a late record's."""
        self._forget(now)
        if mention_id in self.late:
            return True
        digest = np.uint64(_digest(mention_id))
        for _, digests in self.closed:
            i = digests.searchsorted(digest)
            if i < len(digests) and digests[i] == digest:
                return True
        if not self.late:  # the shared empty one, until the first late id
            self.late = set()
        self.late.add(mention_id)  # type: ignore[union-attr]
        if len(self.late) >= LATE_FOLDED_AT:  # a replay of old data closes no window
            self._keep(now, [])
        return False

    def close(self, window: int) -> None:
        """Move the ids of a window that closed into the compact memory, and forget what
        fell out of the horizon or over the bound."""
        ids = self.by_window.pop(window, [])
        self.open_ids.difference_update(ids)
        self._keep(window, ids)

    def _keep(self, window: int, ids: list[str]) -> None:
        """Digest ``ids`` and the late ids held as strings into one sorted array."""
        n = len(ids) + len(self.late)
        if n:
            digests = np.fromiter(map(_digest, chain(ids, self.late)), dtype=np.uint64,
                                  count=n)
            digests.sort()
            self.closed.append((window, digests))
            self.closed_ids += n
            self.late = NO_IDS
        self._forget(window)

    def _forget(self, now: int) -> None:
        closed = self.closed
        while closed and (closed[0][0] <= now - self.horizon_windows
                          or self.closed_ids > self.max_ids):
            self.closed_ids -= len(closed[0][1])
            del closed[0]  # also a deque's, as snapshots from before hold


def _digest(mention_id: str) -> int:
    """A stable 64-bit digest (the same in every process, so snapshots stay valid): a
    decimal id is its own number, anything else the first 8 bytes of its BLAKE2b."""
    if len(mention_id) <= NUMERIC_DIGITS and mention_id.isdigit() and mention_id.isascii():
        return int(mention_id)
    raw = mention_id.encode("utf-8", "surrogatepass")
    return int.from_bytes(blake2b(raw, digest_size=8).digest(), "little")
