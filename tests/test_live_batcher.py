"""How a live connector cuts frames into batches (``connectors.live.Batcher``), on an injected
clock: full at ``size`` frames, or due ``flush_seconds`` after its first frame."""

from __future__ import annotations

from crisiswatch.connectors.live import Batcher


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_batch_is_due_when_full_or_old_and_carries_the_cursor_on() -> None:
    clock = Clock()
    batcher = Batcher(size=3, flush_seconds=0.2, cursor="c0", clock=clock)
    assert batcher.due() is None  # empty: never due, however long it waits
    clock.now += 10
    assert batcher.due() is None
    for _ in range(2):
        batcher.batch.frames += 1
        assert batcher.due() is None  # the clock started at the first frame
    batcher.batch.frames += 1
    full = batcher.due()
    assert full is not None and full.frames == 3 and full.cursor == "c0"
    batcher.batch.frames += 1
    batcher.batch.cursor = "c1"
    clock.now += 0.15
    assert batcher.due() is None
    clock.now += 0.1
    old = batcher.due()
    assert old is not None and old.frames == 1 and old.cursor == "c1"
    assert batcher.batch.cursor == "c1" and batcher.rest() is None
    batcher.batch.frames += 1
    rest = batcher.rest()
    assert rest is not None and rest.frames == 1
