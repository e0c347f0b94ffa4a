"""A quiet brand's state kept packed: the bytes of its snapshot, not live objects.

Why: a brand keeps its windows, duplicate filter and detectors for as long as the flow
runs, about 17 KiB of Python objects even for a brand seen once; a flow that has met a
hundred thousand brands, most of them quiet, holds them all. Once a brand has no open
window and no suspect held (every window it had closed, by its own event time or the
wall clock), nothing can happen to it until its next mention, so its state is packed
into its snapshot's bytes, compressed (zlib level 1: 6.3 KiB of pickle become 1.7 KiB
in 37 us, unpacked in 21 us), and unpacked, exactly as a restart resumes it, when the
next mention comes. Results do not change: a packed brand is what a recovered flow
would resume from (the golden replays pack every brand that goes quiet).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from datetime import datetime

from bytewax.operators import StatefulBatchLogic

from detectors.types import Mention
from flows.brand_windows import BrandWindows
from flows.items import Out


class PackedWhenIdle(StatefulBatchLogic[tuple[str, list[Mention]], Out, bytes]):
    """``BrandWindows`` built by ``build`` (from snapshot bytes, or None for a new
    brand), packed into its compressed snapshot whenever it is idle after a call."""

    def __init__(self, build: Callable[[bytes | None], BrandWindows],
                 resume: bytes | None) -> None:
        self.build = build
        self.logic: BrandWindows | None = build(resume)
        self.packed: bytes | None = None
        self._pack_if_idle()

    def _unpacked(self) -> BrandWindows:
        if self.logic is None:
            self.logic, self.packed = self.build(self.snapshot()), None
        return self.logic

    def _pack_if_idle(self) -> None:
        logic = self.logic
        if logic is not None and logic.s.brand and not logic.s.open and not logic.s.suspects:
            self.packed, self.logic = zlib.compress(logic.snapshot(), 1), None

    def _then_pack(self, result: tuple[Iterable[Out], bool]) -> tuple[Iterable[Out], bool]:
        self._pack_if_idle()
        return result

    def on_batch(self, values: list[tuple[str, list[Mention]]]
                 ) -> tuple[Iterable[Out], bool]:
        return self._then_pack(self._unpacked().on_batch(values))

    def on_notify(self) -> tuple[Iterable[Out], bool]:
        return self._then_pack(self._unpacked().on_notify())

    def on_eof(self) -> tuple[Iterable[Out], bool]:
        return self._then_pack(self._unpacked().on_eof())

    def notify_at(self) -> datetime | None:
        return None if self.logic is None else self.logic.notify_at()  # idle: no window

    def snapshot(self) -> bytes:
        if self.logic is not None:
            return self.logic.snapshot()
        assert self.packed is not None  # one of the two is always set
        return zlib.decompress(self.packed)
