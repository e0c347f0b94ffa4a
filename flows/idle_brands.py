"""A quiet brand's state kept packed: its snapshot's bytes, compressed, not live objects.

Why: a brand keeps its windows, duplicate filter and detectors for as long as the flow
runs, about 17 KiB of Python objects once it has read a window; a flow that has met a
hundred thousand brands, most of them quiet, held them all (1.9 GiB). A brand is packed
into its snapshot, compressed (zlib level 1 against a preset dictionary, ``PRESET``:
the 6.9 KiB pickle of a brand met once becomes 0.8 KiB in about 40 us, unpacked in
20 us), when

- it is idle after a call: no open window, no suspect held, so nothing can happen to
  it until its next mention; or
- no mention of it came for ``PACK_AFTER_S`` (5 minutes) of wall time, open windows
  or not: it asks Bytewax to wake it then (``notify_at``), and once packed it still
  asks to be woken when its own next window is due, which unpacks it to close that
  window. (30 s cost a fast replay a quarter of its speed: it packed and unpacked
  brands that were merely met every few batches.)

It is unpacked exactly as a restart resumes it, so results do not change: a packed
brand is what a recovered flow would resume from (the golden replays pack every brand
that goes quiet). A busy brand, met in every batch, stays unpacked and pays nothing.
"""

from __future__ import annotations

import pickle
import time
import zlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from bytewax.operators import StatefulBatchLogic

from crisiswatch.detectors.brand import BrandState
from crisiswatch.detectors.types import Mention
from crisiswatch.detectors.window import WindowStats
from crisiswatch.flows.brand_windows import BrandWindows, BrandWindowsState
from crisiswatch.flows.dedup import SeenIds
from crisiswatch.flows.items import Out

PACK_AFTER_S = 300.0  # of wall time without a mention, after which a brand is packed
Result = tuple[Iterable[Out], bool]


def _preset() -> bytes:
    """zlib's preset dictionary for packing: a fresh brand's pickle, one window read.
    Most of a small brand's pickle is the names of its classes and fields, the same in
    every brand; compressed against them, a brand met once packs into 0.8 KiB instead
    of 1.9 KiB, no slower (a hundred thousand such brands: 110 MiB less). The packed
    bytes never leave the process (``snapshot`` gives the pickle), so the dictionary
    may change with the code."""
    state = BrandWindowsState(SeenIds(0, 0), detectors=BrandState())
    state.detectors.recent.append((0, WindowStats()))
    return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)


PRESET = _preset()


def pack(raw: bytes) -> bytes:
    packer = zlib.compressobj(1, zdict=PRESET)
    return packer.compress(raw) + packer.flush()


def unpack(packed: bytes) -> bytes:
    unpacker = zlib.decompressobj(zdict=PRESET)
    return unpacker.decompress(packed) + unpacker.flush()


class PackedWhenIdle(StatefulBatchLogic[tuple[str, list[Mention]], Out, bytes]):
    """``BrandWindows`` built by ``build`` (from snapshot bytes, or None for a new
    brand), packed into its compressed snapshot when quiet (see the module)."""

    def __init__(self, build: Callable[[bytes | None], BrandWindows], resume: bytes | None,
                 clock: Callable[[], float] = time.time,
                 pack_after_s: float = PACK_AFTER_S, snapshots: bool = True) -> None:
        self.build = build
        self.snapshots = snapshots  # False: recovery keeps nothing, a snapshot is empty
        self.clock = clock
        self.pack_after_s = pack_after_s
        self.logic: BrandWindows | None = build(resume)
        self.packed: bytes | None = None
        self.wake: datetime | None = None  # the packed brand's own next window, if any
        self.touched = clock()  # when its last mention came
        self._pack(idle_only=True)

    def on_batch(self, values: list[tuple[str, list[Mention]]]) -> Result:
        result = self._unpacked().on_batch(values)
        self.touched = self.clock()
        self._pack(idle_only=True)
        return result

    def on_notify(self) -> Result:
        if self.logic is None and (self.wake is None or self.wake.timestamp() > self.clock()):
            return [], False  # woken early: nothing of its own is due
        result = self._unpacked().on_notify()
        self._pack(idle_only=self.clock() - self.touched < self.pack_after_s)
        return result

    def on_eof(self) -> Result:
        """Nothing follows the end of the input that a packed brand would save memory
        for, so a brand is left as it is (packing every brand at the end cost a replay
        of 1,000 brands 8 % of its time), except one whose only window just closed: a
        flood of brands met once would otherwise grow all their detectors at once at
        the end (13 KiB each, live), and such a brand's snapshot is small and quick."""
        logic = self._unpacked()
        result = logic.on_eof()
        if logic.met_once():
            self._pack(idle_only=True)
        return result

    def notify_at(self) -> datetime | None:
        if self.logic is None:
            return self.wake
        own = self.logic.notify_at()
        if self.logic.s.brand == "":
            return own
        pack = datetime.fromtimestamp(self.touched + self.pack_after_s, UTC)
        return pack if own is None or pack < own else own

    def snapshot(self) -> bytes:
        if self.logic is not None:
            return self.logic.snapshot()
        return self._state_bytes() if self.snapshots else b""

    def _state_bytes(self) -> bytes:
        assert self.packed is not None  # packed, or live: one of the two is always set
        return unpack(self.packed)

    def _unpacked(self) -> BrandWindows:
        if self.logic is None:
            self.logic, self.packed, self.wake = self.build(self._state_bytes()), None, None
        return self.logic

    def _pack(self, idle_only: bool) -> None:
        """Pack the brand: when it is idle, or (``idle_only`` off) whatever it holds."""
        logic = self.logic
        if logic is None or not logic.s.brand:
            return
        if idle_only and (logic.s.open or logic.s.suspects):
            return
        self.wake = logic.notify_at()
        self.packed, self.logic = pack(logic.state_bytes()), None
