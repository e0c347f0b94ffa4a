"""A quiet brand is packed into its compressed snapshot and unpacked on its next
mention with nothing changed: the same windows, counts and incidents as a brand kept
live throughout, for a brand that goes quiet again and again, and in far less memory."""

from __future__ import annotations

import pickle
import tracemalloc
from typing import Any

import orjson

from crisiswatch.config.runtime import flow_config
from crisiswatch.config.settings import load_settings
from crisiswatch.detectors.support import Distinct
from crisiswatch.detectors.topk import NOTHING, TopK
from crisiswatch.flows.brand_windows import BrandWindows, BrandWindowsState
from crisiswatch.flows.dedup import SeenIds
from crisiswatch.flows.idle_brands import PackedWhenIdle
from crisiswatch.flows.items import Count, IncidentItem, WindowItem

CFG = flow_config(load_settings())
T0 = 1_700_000_000 - 1_700_000_000 % 300


class Clock:
    now = 2_000_000_000.0

    def __call__(self) -> float:
        return self.now


def builder(clock: Clock) -> Any:
    def build(resume: bytes | None) -> BrandWindows:
        state = pickle.loads(resume) if resume else BrandWindowsState(
            SeenIds(CFG.dedup_horizon_windows, CFG.dedup_max_ids))
        return BrandWindows(CFG.detector, CFG.lateness_s, state, clock, None, 5000, {},
                            CFG.max_jump_s, CFG.jump_confirm, None, None)
    return build


def mention(i: int, ts: float, brand: str = "Acme", text: str = "my flight is late") -> Any:
    raw = orjson.dumps({"id": f"{brand}-{i}", "ts": ts, "brand": brand, "text": text})
    return CFG.parser.parse(raw, i)


def published(out: Any) -> list[Any]:
    return [x for x in out if isinstance(x, WindowItem | IncidentItem | Count)]


def test_a_brand_packed_whenever_it_is_quiet_publishes_what_a_live_one_does() -> None:
    clock_a, clock_b = Clock(), Clock()
    live = builder(clock_a)(None)
    packed = PackedWhenIdle(builder(clock_b), None)
    got_live: list[Any] = []
    got_packed: list[Any] = []
    times_packed = n = 0
    for burst in range(40):  # a burst, then quiet until the wall clock closes its windows
        size = 40 if burst == 30 else 3  # a storm late on: the detectors must agree
        batch = [("Acme", [mention(n + k, T0 + burst * 3600 + k * 5,
                                   text=f"outage again #down {k}" if burst == 30 else
                                   "my flight is late") for k in range(size)])]
        n += size
        got_live += published(live.on_batch(batch)[0])
        got_packed += published(packed.on_batch(batch)[0])
        for clock in (clock_a, clock_b):
            clock.now += 3600
        got_live += published(live.on_notify()[0])
        got_packed += published(packed.on_notify()[0])
        times_packed += packed.logic is None
    assert times_packed == 40  # quiet after every burst, packed every time
    assert got_packed == got_live
    assert sum(isinstance(x, WindowItem) for x in got_live) == 40
    assert packed.notify_at() is None  # nothing open: nothing to wake for
    # what a restart resumes from goes on as the live brand does
    clock_c = Clock()
    clock_c.now = clock_a.now
    resumed = builder(clock_c)(packed.snapshot())
    batch = [("Acme", [mention(n + k, T0 + 41 * 3600 + k, text="outage #down") for k in
                       range(40)])]
    for clock in (clock_a, clock_c):
        clock.now += 3600
    assert published(resumed.on_batch(batch)[0]) + published(resumed.on_notify()[0]) == \
        published(live.on_batch(batch)[0]) + published(live.on_notify()[0])


def test_quiet_brands_take_a_fraction_of_the_memory_when_packed() -> None:
    def held(pack: bool, brands: int = 1000) -> float:
        clock = Clock()
        tracemalloc.start()
        kept = []
        for i in range(brands):
            logic: Any = PackedWhenIdle(builder(clock), None) if pack else builder(clock)(None)
            logic.on_batch([(f"b{i}", [mention(i, T0, brand=f"b{i}")])])
            kept.append(logic)
        clock.now += 3600
        for logic in kept:
            logic.on_notify()
        size = tracemalloc.get_traced_memory()[0] / brands
        tracemalloc.stop()
        return size

    live, packed = held(False), held(True)
    print(f"\nan idle brand: {live / 1024:.1f} KiB live, {packed / 1024:.1f} KiB packed")
    assert packed < live / 4


def test_a_brand_untouched_for_a_while_is_packed_with_its_window_open_and_woken_for_it(
        ) -> None:
    clock_a, clock_b = Clock(), Clock()
    live = builder(clock_a)(None)
    packed = PackedWhenIdle(builder(clock_b), None, clock_b, pack_after_s=30)
    batch = [("Acme", [mention(k, T0 + k) for k in range(5)])]
    got_live = published(live.on_batch(batch)[0])
    got_packed = published(packed.on_batch(batch)[0])
    assert packed.logic is not None  # its window is open: kept while mentions may come
    own = live.notify_at()
    assert own is not None
    assert packed.notify_at().timestamp() == clock_b.now + 30  # type: ignore[union-attr]
    clock_b.now += 31
    assert list(packed.on_notify()[0]) == []  # nothing due: packed, window and all
    assert packed.logic is None and packed.notify_at() == own  # woken when its window is
    clock_b.now = own.timestamp() - 1
    assert packed.on_notify() == ([], False) and packed.logic is None  # early: stays packed
    clock_a.now = clock_b.now = own.timestamp()
    got_live += published(live.on_notify()[0])
    got_packed += published(packed.on_notify()[0])
    assert [type(x) for x in got_live] == [WindowItem, Count]
    assert got_packed == got_live
    assert packed.logic is None  # idle again


def test_a_brand_met_once_is_packed_at_the_end_and_resumes_as_the_live_one() -> None:
    """A flood of brands met once must not grow every brand's detectors live at the end
    of the input: a brand whose only window the end closed is packed, its snapshot the
    live brand's, and it goes on as the live one does."""
    clock_a, clock_b = Clock(), Clock()
    live = builder(clock_a)(None)
    packed = PackedWhenIdle(builder(clock_b), None, clock_b)
    batch = [("Acme", [mention(0, T0, text="my flight is late")])]
    assert published(packed.on_batch(batch)[0]) == published(live.on_batch(batch)[0])
    assert packed.logic is not None  # its window is open: live
    assert published(packed.on_eof()[0]) == published(live.on_eof()[0])
    assert packed.logic is None
    assert packed.snapshot() == live.state_bytes()
    later = [("Acme", [mention(k + 1, T0 + 7200 + k, text="outage #down") for k in range(30)])]
    for clock in (clock_a, clock_b):
        clock.now += 7200
    assert published(packed.on_batch(later)[0]) + published(packed.on_eof()[0]) == \
        published(live.on_batch(later)[0]) + published(live.on_eof()[0])


def test_unused_counters_and_sketches_share_one_empty_and_come_back_writable() -> None:
    """Counters, sketches and id sets a window never used share one read-only empty;
    a snapshot of one restores a counter that counts, alone."""
    a, b = TopK(4), TopK(4)
    assert a.counts is b.counts is NOTHING
    restored = pickle.loads(pickle.dumps(a))
    restored.update(["x", "y", "x"])
    b.add("z")
    assert restored.counts == {"x": 2, "y": 1} and b.counts == {"z": 1} and not a.counts
    assert not TopK(4).merge(TopK(4)).counts and a.merge(restored).counts == {"x": 2, "y": 1}
    sketch = pickle.loads(pickle.dumps(Distinct()))
    sketch.add("ann")
    assert sketch.estimate() == 1 and Distinct().estimate() == 0
    seen = pickle.loads(pickle.dumps(SeenIds(3, 100)))
    assert not seen.seen_late("m1", 5) and seen.seen_late("m1", 5)
    assert not SeenIds(3, 100).late
