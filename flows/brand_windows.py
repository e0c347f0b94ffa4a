"""Per-brand event-time windows, deduplication and detection in one stateful step.

Why not Bytewax's ``fold_window``: it runs its window logic item by item, and a
profile of the flow showed that per-mention Python overhead, not the detectors, bounds
throughput. Here a brand's mentions arrive as a batch (``stateful_batch``): they are
deduplicated, assigned to 5-minute windows, and windows whose end the watermark has
passed are closed and handed to the detectors, all in one call per brand per batch.

The watermark follows Bytewax's ``EventClock``: the newest event time seen minus the
lateness allowance, advanced by the wall time elapsed since that event, so a quiet
brand's windows still close in a live stream. A mention whose window has already closed
is late: it is counted and kept, never folded into a closed window (which would change
published numbers after the fact).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any

from bytewax.operators import StatefulBatchLogic

from detectors.brand import BrandState, DetectorConfig, observe
from detectors.embeddings import Embedder
from detectors.topics import WindowTexts
from detectors.types import Mention
from detectors.window import WindowStats
from flows.dedup import SeenIds

Out = tuple[Any, ...]  # tagged items for the store sink and the tally


@dataclass
class BrandWindowsState:
    seen: SeenIds
    brand: str = ""
    detectors: BrandState = field(default_factory=BrandState)
    open: dict[int, WindowStats] = field(default_factory=dict)
    closed_through: int | None = None  # the newest window already closed
    watermark_base: float = float("-inf")  # newest event time - lateness
    wall_at_base: float = 0.0  # wall time when watermark_base was set


class BrandWindows(StatefulBatchLogic[tuple[str, list[Mention]], Out, bytes]):
    """One brand's windows and detectors. ``cfg`` is for every brand not in
    ``brand_cfgs`` (those with a sensitivity of their own); Bytewax builds the logic
    before it hands over the key, so the brand's own settings apply once the state
    knows its brand: from the first batch, or at once for a state resumed from a
    snapshot."""

    def __init__(self, cfg: DetectorConfig, lateness_s: float, state: BrandWindowsState,
                 clock: Callable[[], float], embedder: Embedder | None = None,
                 texts_per_window: int = 5000,
                 brand_cfgs: Mapping[str, DetectorConfig] | None = None) -> None:
        self.default_cfg = cfg
        self.brand_cfgs = brand_cfgs or {}
        self.embedder = embedder if cfg.topics is not None else None
        self.texts_per_window = texts_per_window
        self.lateness_s = lateness_s
        self.s = state
        self.clock = clock

    def on_batch(self, values: list[tuple[str, list[Mention]]]
                 ) -> tuple[Iterable[Out], bool]:
        """Fold the batch (the brand's mentions of each input batch) in arrival order,
        as if windows closed the moment the watermark passed them, so that results do
        not depend on how input is batched."""
        s, window_s, lateness = self.s, self.cfg.window_s, self.lateness_s
        s.brand = values[0][0]
        seen, open_windows = s.seen, s.open
        out: list[Out] = []
        duplicates = late = 0
        watermark = self._watermark()
        newest = watermark + lateness
        for m in chain.from_iterable(mentions for _, mentions in values):
            if seen.in_open_window(m.id):
                duplicates += 1
                continue
            ts = m.ts
            if ts > newest:
                newest = ts
                if newest - lateness > watermark:
                    watermark = newest - lateness
                    if open_windows and (min(open_windows) + 1) * window_s <= watermark:
                        out.extend(self._close(watermark))  # as the watermark passes
            window = int(ts // window_s)
            if (window + 1) * window_s <= watermark or (
                    s.closed_through is not None and window <= s.closed_through):
                if seen.seen_late(m.id, int(watermark // window_s)):  # sent again?
                    duplicates += 1
                    continue
                late += 1
                out.append(("late", f"{s.brand}:{m.id}",
                            {"brand": s.brand, "window_start": window * window_s,
                             **m.to_dict()}))
                continue
            stats = open_windows.get(window)
            if stats is None:
                stats = open_windows[window] = self._new_window()
            stats.add(m)
            seen.count(m.id, window)
        if newest - lateness > s.watermark_base:
            s.watermark_base = newest - lateness
            s.wall_at_base = self.clock()
        if duplicates:
            out.append(("duplicate", duplicates))
        if late:
            out.append(("late", late))
        out.extend(self._close(self._watermark()))
        return out, False

    @property
    def cfg(self) -> DetectorConfig:
        """The brand's detector settings (the default until the brand is known)."""
        return self.brand_cfgs.get(self.s.brand, self.default_cfg)

    def on_notify(self) -> tuple[Iterable[Out], bool]:
        return self._close(self._watermark()), False

    def on_eof(self) -> tuple[Iterable[Out], bool]:
        return self._close(float("inf")), False

    def notify_at(self) -> datetime | None:
        """When wall time alone will have moved the watermark past the next window end."""
        if not self.s.open:
            return None
        end = (min(self.s.open) + 1) * self.cfg.window_s
        wait = end - self.s.watermark_base
        return datetime.fromtimestamp(self.s.wall_at_base, UTC) + timedelta(seconds=wait)

    def snapshot(self) -> bytes:
        """Pickled bytes, not a deep copy: the snapshot must not change after it is taken,
        and pickling is the cheapest immutable copy (about 6x faster than deepcopy here)."""
        return pickle.dumps(self.s, protocol=pickle.HIGHEST_PROTOCOL)

    def _new_window(self) -> WindowStats:
        """Windows keep their distinct texts only when topics are clustered."""
        if self.embedder is None:
            return WindowStats()
        return WindowStats(texts=WindowTexts(limit=self.texts_per_window))

    def _watermark(self) -> float:
        return self.s.watermark_base + max(self.clock() - self.s.wall_at_base, 0.0)

    def _close(self, watermark: float) -> list[Out]:
        """Close, in event-time order, every open window whose end the watermark passed."""
        s, window_s = self.s, self.cfg.window_s
        out: list[Out] = []
        for window in sorted(w for w in s.open if (w + 1) * window_s <= watermark):
            stats = s.open.pop(window)
            s.seen.close(window)
            seen = observe(s.detectors, s.brand, window, stats, self.cfg, self.embedder)
            out.append(("window", s.brand, seen.record["window_start"], seen.record))
            out.append(("processed", stats.count))
            out.extend(("alert", a.to_dict()) for a in seen.alerts)
            out.extend(("topic", t) for t in seen.topics)
            s.closed_through = window
        return out
