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

A poison record must not stop the flow nor ruin a brand:

- the watermark never jumps on a few records. A mention more than ``max_jump_s`` ahead
  of the brand's newest event time is held as *suspect*. ``confirm`` (8) suspects within
  ``max_jump_s`` of each other confirm the jump (a stream that resumes after a gap, a
  backfill of a later day) and are folded in arrival order, with every suspect stamped
  before them; ``OUTVOTED`` (3) in-order mentions after a suspect show that the stream
  went on without it, and it is dead-lettered. Agreement takes more records than
  rejection, so a short run of wrong stamps (three records stamped at the wall clock in
  a 2015 replay) is outvoted before it could confirm. At the end of the input the
  suspects left are folded: nothing follows them that they could make late. Without
  the hold, one ``2099`` stamp in a 2015 replay made every later mention of the brand
  late.
- the watermark never leads the wall clock by more than ``max_lead_s`` (below the
  lateness allowance): a mention stamped further ahead (a collector's clock or zone off
  by an hour, within ``ingest.max_future_s``) waits in its own, later window, but moves
  the brand's event time no further than the wall clock allows, so the honest mentions
  after it are not late.
- an exception in one brand's detectors (or in folding one mention) is logged with the
  brand and the window, the window's mentions are dead-lettered with the error as the
  reason, and the brand's detectors start afresh (state that raised once would raise on
  every later window); the other brands never notice, and since nothing raises out of
  the step, a restart does not replay into the same crash.
"""

from __future__ import annotations

import logging
import math
import pickle
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any

import orjson
from bytewax.operators import StatefulBatchLogic

from crisiswatch.detectors.brand import BrandState, DetectorConfig, observe
from crisiswatch.detectors.embeddings import Embedder
from crisiswatch.detectors.feedback import NoiseMark
from crisiswatch.detectors.timefmt import iso_z
from crisiswatch.detectors.topics import WindowTexts
from crisiswatch.detectors.types import RAW_KEPT, Mention
from crisiswatch.detectors.window import WindowStats
from crisiswatch.flows.dedup import SeenIds
from crisiswatch.flows.items import (
    Count,
    DeadLetterItem,
    IncidentItem,
    LateItem,
    Out,
    TopicItem,
    WindowItem,
)
from crisiswatch.flows.stopping import stop_requested

log = logging.getLogger("crisiswatch.flow")
SUSPECTS_KEPT = 1000  # suspects held per brand at most; the oldest is dead-lettered beyond
OUTVOTED = 3  # in-order mentions after a suspect that dead-letter it
FEW_MENTIONS = 10  # a window this small leaves a brand quick to pack at the end (met_once)


@dataclass
class BrandWindowsState:
    seen: SeenIds
    brand: str = ""
    # made when its first window closes: a brand met once holds an open window and no
    # detector state (13 KiB of baselines, most of a hundred thousand such brands' memory)
    detectors: BrandState | None = None
    open: dict[int, WindowStats] = field(default_factory=dict)
    closed_through: int | None = None  # the newest window already closed
    watermark_base: float = float("-inf")  # newest event time - lateness
    wall_at_base: float = 0.0  # wall time when watermark_base was set
    # mentions held for being far ahead of the brand's newest event time, each with
    # ``in_order`` as it was when it arrived (see the module's docstring)
    suspects: list[tuple[Mention, int]] = field(default_factory=list)
    in_order: int = 0  # mentions not held, counted while suspects wait


class BrandWindows(StatefulBatchLogic[tuple[str, list[Mention]], Out, bytes]):
    """One brand's windows and detectors. ``cfg`` is for every brand not in
    ``brand_cfgs`` (those with a sensitivity of their own); Bytewax builds the logic
    before it hands over the key, so the brand's own settings apply once the state
    knows its brand: from the first batch, or at once for a state resumed from a
    snapshot."""

    def __init__(self, cfg: DetectorConfig, lateness_s: float, state: BrandWindowsState,
                 clock: Callable[[], float], embedder: Embedder | None = None,
                 texts_per_window: int = 5000,
                 brand_cfgs: Mapping[str, DetectorConfig] | None = None,
                 max_jump_s: float | None = None, confirm: int = 8,
                 routine: Callable[[str], frozenset[str]] | None = None,
                 noise: Callable[[str], tuple[NoiseMark, ...]] | None = None,
                 max_lead_s: float | None = None, snapshots: bool = True) -> None:
        self.default_cfg = cfg
        self.routine = routine  # terms people declared routine at run time, by brand
        self.noise = noise  # incident patterns people marked noise, by brand
        self.brand_cfgs = brand_cfgs or {}
        self.embedder = embedder if cfg.topics is not None else None
        self.texts_per_window = texts_per_window
        self.lateness_s = lateness_s
        self.s = state
        self.clock = clock
        self.max_jump_s = math.inf if max_jump_s is None else max_jump_s
        self.confirm = confirm
        self.max_lead_s = math.inf if max_lead_s is None else max_lead_s
        self.snapshots = snapshots  # False: no recovery keeps them (``FlowConfig``)

    def on_batch(self, values: list[tuple[str, list[Mention]]]
                 ) -> tuple[Iterable[Out], bool]:
        """Fold the batch (the brand's mentions of each input batch) in arrival order,
        as if windows closed the moment the watermark passed them, so that results do
        not depend on how input is batched."""
        self.s.brand = values[0][0]
        out = self._fold(list(chain.from_iterable(mentions for _, mentions in values)))
        out.extend(self._close(self._watermark()))
        return out, False

    def _fold(self, pending: list[Mention], screen: bool = True) -> list[Out]:
        """Fold ``pending`` in order; with ``screen``, mentions far ahead of the brand's
        newest event time are held as suspects first."""
        s, window_s, lateness = self.s, self.cfg.window_s, self.lateness_s
        seen, open_windows, suspects = s.seen, s.open, s.suspects
        lens, watchlist = self.cfg.lenses.lens(s.brand), self.cfg.watchlist
        out: list[Out] = []
        duplicates = late = 0
        watermark = self._watermark()
        newest = watermark + lateness
        limit = newest + self.max_jump_s if screen and newest > -math.inf else math.inf
        ceiling = self.clock() + self.max_lead_s  # the newest event time wall time allows
        unscreened = 0 if screen else len(pending)  # pending[:unscreened] skip the hold
        i = 0
        while i < len(pending):
            m = pending[i]
            i += 1
            if seen.in_open_window(m.id):
                duplicates += 1
                continue
            ts = m.ts
            if ts > limit and i > unscreened:
                released = self._hold(m)
                if len(suspects) > SUSPECTS_KEPT:
                    out.extend(self._reject(suspects.pop(0)[0], newest))
                if released:  # a confirmed jump: fold them next, as they came
                    pending[i:i] = released
                    unscreened = i + len(released)
                continue
            if suspects and i > unscreened:
                s.in_order += 1
                if s.in_order - suspects[0][1] >= OUTVOTED:
                    oldest, _ = suspects.pop(0)
                    if oldest.ts <= limit:  # the brand caught up with it: fold it next
                        pending.insert(i, oldest)
                        unscreened = max(unscreened, i + 1)
                    else:
                        out.extend(self._reject(oldest, newest))
            if ts > newest and newest < ceiling:
                newest = ts if ts <= ceiling else ceiling
                if screen:
                    limit = newest + self.max_jump_s
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
                out.append(self._late(m, window, watermark))
                continue
            stats = open_windows.get(window)
            if stats is None:
                stats = open_windows[window] = self._new_window()
            try:  # as this brand reads it: its own post? its watch terms aimed at it?
                stats.add(m, lens.is_own(m),
                          lens.watch_terms(m, watchlist) if m.watch else None)
            except Exception as e:  # a bug must not stop the flow: keep it visible
                out.extend(self._quarantine_mention(m, window, e))
                continue
            seen.count(m.id, window)
        if newest - lateness > s.watermark_base:
            s.watermark_base = newest - lateness
            s.wall_at_base = self.clock()
        if duplicates:
            out.append(Count("duplicate", duplicates))
        if late:
            out.append(Count("late", late))
        return out

    def _hold(self, m: Mention) -> list[Mention]:
        """Hold ``m`` as suspect; returns the suspects a confirmed jump releases: those
        the confirming ones are near, and every earlier-stamped one (a stream resuming
        in steps), in arrival order; suspects beyond them wait on."""
        s, jump = self.s, self.max_jump_s
        s.suspects.append((m, s.in_order))
        near = [x for x, _ in s.suspects if abs(x.ts - m.ts) <= jump]
        if len({x.id for x in near}) < self.confirm:  # a copy sent twice confirms nothing
            return []
        top = max(x.ts for x in near)
        released = [x for x, _ in s.suspects if x.ts <= top]
        s.suspects[:] = [(x, n) for x, n in s.suspects if x.ts > top]
        return released

    def _reject(self, m: Mention, newest: float) -> list[Out]:
        """The stream went on without a suspect: dead-letter it."""
        reason = (f"ts {iso_z(m.ts)} is {m.ts - newest:,.0f} s ahead of the brand's newest "
                  f"event time {iso_z(newest)}, more than ingest.max_jump_s "
                  f"({self.max_jump_s:,.0f} s), and the brand's next {OUTVOTED} "
                  "mentions were not: held, then dead-lettered")
        return self._dead(f"{self.s.brand}:{m.id}:ahead", reason, m.to_dict(), 1)

    def _late(self, m: Mention, window: int, watermark: float) -> LateItem:
        """A late mention, kept with why: ``GET /late`` must say what closed its window."""
        start = window * self.cfg.window_s
        reason = (f"its window at {iso_z(start)} had closed: the brand's watermark "
                  f"{iso_z(watermark)} (its newest event time less {self.lateness_s:,.0f} s "
                  "of lateness, moving on with the wall clock while quiet) had passed its "
                  "end")
        return LateItem(f"{self.s.brand}:{m.id}", {"brand": self.s.brand,
                                                   "window_start": start, "reason": reason,
                                                   **m.to_dict()})

    def _quarantine_mention(self, m: Mention, window: int, e: Exception) -> list[Out]:
        log.exception("brand %r: folding mention %r into the window at %s failed; the "
                      "mention is dead-lettered", self.s.brand, m.id,
                      iso_z(window * self.cfg.window_s))
        return self._dead(f"{self.s.brand}:{m.id}:fold",
                          f"internal error folding the mention: {type(e).__name__}: {e}",
                          m.to_dict(), 1)

    def _dead(self, key: str, reason: str, record: dict[str, Any], count: int) -> list[Out]:
        raw = orjson.dumps(record, default=str,
                           option=orjson.OPT_PASSTHROUGH_DATACLASS).decode()[:RAW_KEPT]
        return [DeadLetterItem(key, {"reason": reason, "raw": raw, "source": "flow",
                                     "position": 0, "brand": self.s.brand}),
                Count("dead_lettered", count)]

    @property
    def cfg(self) -> DetectorConfig:
        """The brand's detector settings (the default until the brand is known)."""
        return self.brand_cfgs.get(self.s.brand, self.default_cfg)

    def _window_cfg(self) -> DetectorConfig:
        """``cfg`` with the routine terms declared through the API added, and the
        patterns marked noise."""
        cfg = self.cfg
        extra = self.routine(self.s.brand) if self.routine else frozenset()
        if extra - cfg.routine:
            cfg = replace(cfg, routine=cfg.routine | extra)
        marks = self.noise(self.s.brand) if self.noise else ()
        return replace(cfg, noise=cfg.noise + marks) if marks else cfg

    def on_notify(self) -> tuple[Iterable[Out], bool]:
        return self._close(self._watermark()), False

    def on_eof(self) -> tuple[Iterable[Out], bool]:
        """Suspects still held are folded: nothing came after them to make late. A stop
        (``flows.stopping``) is no end of input: the state is kept as it is, for the last
        snapshot."""
        if stop_requested():
            return [], False
        held = [m for m, _ in self.s.suspects]
        self.s.suspects.clear()
        out = self._fold(held, screen=False) if held else []
        out.extend(self._close(float("inf")))
        return out, False

    def notify_at(self) -> datetime | None:
        """When wall time alone will have moved the watermark past the next window end."""
        if not self.s.open:
            return None
        end = (min(self.s.open) + 1) * self.cfg.window_s
        wait = end - self.s.watermark_base
        return datetime.fromtimestamp(self.s.wall_at_base, UTC) + timedelta(seconds=wait)

    def met_once(self) -> bool:
        """Whether the brand's detectors have read one window at most, of a few mentions:
        little to pack. A brand whose one window was busy (a firehose's brand, read in a
        single window) is not: its pickle is large, and packing 2,000 of them at the end
        cost the one-window firehose 10 % of its rate."""
        detectors = self.s.detectors
        return detectors is None or not detectors.recent or (
            len(detectors.recent) == 1 and detectors.recent[0][1].count <= FEW_MENTIONS)

    def snapshot(self) -> bytes:
        """The state for Bytewax's recovery: empty without recovery, since nothing would
        keep it (a resume from it starts afresh)."""
        return self.state_bytes() if self.snapshots else b""

    def state_bytes(self) -> bytes:
        """Pickled bytes, not a deep copy: they must not change after they are taken,
        and pickling is the cheapest immutable copy (about 6x faster than deepcopy here).
        What a recovery resumes from, and what a quiet brand is packed into."""
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
            s.closed_through = window
            if s.detectors is None:
                s.detectors = BrandState()
            try:
                seen = observe(s.detectors, s.brand, window, stats, self._window_cfg(),
                               self.embedder)
            except Exception as e:  # one brand's failure must not stop every brand
                out.extend(self._quarantine_window(window, stats, e))
                continue
            out.append(WindowItem(s.brand, seen.record["window_start"], seen.record))
            out.append(Count("processed", stats.count))
            out.extend(IncidentItem(x) for x in seen.incidents)
            out.extend(TopicItem(t) for t in seen.topics)
        return out

    def _quarantine_window(self, window: int, stats: WindowStats, e: Exception) -> list[Out]:
        start = window * self.cfg.window_s
        log.exception("brand %r: the detectors failed on the window at %s (%d mentions); "
                      "its mentions are dead-lettered and the brand's detectors start "
                      "afresh", self.s.brand, iso_z(start), stats.count)
        self.s.detectors = None
        return self._dead(f"{self.s.brand}:window:{start}",
                          f"the detectors failed on the window at {iso_z(start)}: "
                          f"{type(e).__name__}: {e}",
                          {"brand": self.s.brand, "window_start": start,
                           "mentions": stats.count}, stats.count)
