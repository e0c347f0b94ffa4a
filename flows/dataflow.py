"""The crisiswatch dataflow.

    read ─► parse ─► dedup ─► enrich ─► key by brand ─► 5-min event-time windows ─► detect
      │        └─ dead letters            (fan-out)          └─ late events          │
      └────────── every outcome is counted ─────────────────────────────────────────┴─► store

Every record read ends in exactly one of: processed (in a closed window), duplicate,
late, dead-lettered; a record that names several brands is processed once per brand
and the extra copies are counted as ``fanout``, so that
``read + fanout == processed + duplicate + late + dead_lettered`` once the input ends.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import bytewax.operators as op
import bytewax.operators.windowing as win
from bytewax.dataflow import Dataflow
from bytewax.inputs import Source

from crisiswatch.settings import Settings
from detectors.brand import BrandState, DetectorConfig, observe
from detectors.brands import BrandMatcher
from detectors.sentiment import VaderScorer
from detectors.text import normalise_text
from detectors.types import Mention
from detectors.window import WindowStats
from flows.dedup import SeenIds
from flows.parse import Parser
from flows.sinks import StoreSink

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _mention_time(m: Mention) -> datetime:
    return datetime.fromtimestamp(m.ts, UTC)


def build_flow(settings: Settings, source: Source, redis_url: str,
               flow_id: str = "crisiswatch") -> Dataflow:
    parser = Parser(BrandMatcher(settings.brand_queries()), settings.parser.max_text_chars)
    scorer = VaderScorer()
    window_s = settings.window_s
    detector_cfg = DetectorConfig(
        window_s, settings.volume.model(window_s), settings.incidents.model()
    )
    horizon_s, max_ids = settings.dedup.horizon_hours * 3600, settings.dedup.max_ids

    flow = Dataflow(flow_id)
    lines = op.input("read", flow, source)  # (line number, raw bytes)
    read_counts = op.flat_map_batch("count_read", lines, lambda b: [("read", len(b))])
    parsed = op.map("parse", lines, lambda pl: parser.parse(pl[1], pl[0]))
    valid = op.branch("valid", parsed, lambda x: isinstance(x, Mention))

    dead: Any = valid.falses
    dead_out = op.map("dead_out", dead, lambda d: ("deadletter", d.key, d.to_dict()))
    dead_counts = op.map("count_dead", dead, lambda _: ("dead_lettered", 1))

    def enrich(m: Mention) -> Mention:
        return replace(m, norm_text=normalise_text(m.text), sentiment=scorer.score(m.text))

    mentions = op.map("enrich", valid.trues, enrich)
    fanout_counts = op.filter_map(
        "count_fanout", mentions,
        lambda m: ("fanout", len(m.brands) - 1) if len(m.brands) > 1 else None,
    )
    by_brand = op.flat_map("by_brand", mentions, lambda m: [(b, m) for b in m.brands])

    # Deduplicate per brand, not per id shard: a keyed exchange keeps each key's order,
    # and the windows below need each brand's mentions in event-time order.
    def dedup(seen: SeenIds | None, m: Mention) -> tuple[SeenIds, tuple[bool, Mention]]:
        seen = seen or SeenIds(horizon_s, max_ids)
        return seen, (seen.seen_before(m.id, m.ts), m)

    checked = op.stateful_map("dedup", by_brand, dedup)
    is_dup = op.branch("is_dup", checked, lambda kv: kv[1][0])
    dup_counts = op.map("count_dup", is_dup.trues, lambda _: ("duplicate", 1))
    unique = op.map_value("unique", is_dup.falses, lambda dm: dm[1])

    clock = win.EventClock(
        _mention_time, wait_for_system_duration=timedelta(minutes=settings.window.lateness_minutes)
    )
    windower = win.TumblingWindower(length=timedelta(seconds=window_s), align_to=EPOCH)
    windows = win.fold_window("window", unique, clock, windower, WindowStats,
                              WindowStats.add, WindowStats.merge)

    late_out = op.map("late_out", windows.late, lambda kv: (
        "late", f"{kv[0]}:{kv[1][1].id}",
        {"brand": kv[0], "window_start": kv[1][0] * window_s, **kv[1][1].to_dict()},
    ))
    late_counts = op.map("count_late", windows.late, lambda _: ("late", 1))

    def detect(state: BrandState | None, item: tuple[str, int, WindowStats]
               ) -> tuple[BrandState, list[tuple[Any, ...]]]:
        state = state or BrandState()
        brand, window, stats = item
        record, alerts = observe(state, brand, window, stats, detector_cfg)
        out: list[tuple[Any, ...]] = [("window", brand, record["window_start"], record),
                                      ("processed", stats.count)]
        out.extend(("alert", a.to_dict()) for a in alerts)
        return state, out

    closed = op.map("with_brand", windows.down, lambda kv: (kv[0], (kv[0], *kv[1])))
    detected = op.flat_map("detected", op.stateful_map("detect", closed, detect),
                           lambda kv: kv[1])
    split = op.branch("is_count", detected, lambda t: t[0] == "processed")

    counts = op.merge("counts", read_counts, dead_counts, dup_counts, fanout_counts,
                      late_counts, split.trues)

    def tally(totals: dict[str, int] | None, c: tuple[str, int]
              ) -> tuple[dict[str, int], tuple[str, dict[str, int]]]:
        totals = totals or {}
        totals[c[0]] = totals.get(c[0], 0) + c[1]
        return totals, ("stats", dict(totals))

    stats_out = op.map("unkey_stats", op.stateful_map(
        "tally", op.key_on("one_tally", counts, lambda _: "stats"), tally), lambda kv: kv[1])

    outputs = op.merge("outputs", split.falses, dead_out, late_out, stats_out)
    op.output("store", outputs, StoreSink(redis_url, settings.store.prefix,
                                          settings.store.records_kept))
    return flow

