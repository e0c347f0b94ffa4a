"""The crisiswatch dataflow.

    read ─► prepare (parse, enrich, fan out to brands) ─► key by brand ─► brand windows
              └─ dead letters                              (dedup, 5-min event-time
                                                            windows, detectors)
    every outcome is counted ─► tally ─────────────────────────────┬─► store
    windows, incidents, late mentions, dead letters ───────────────┘

Work is done a batch at a time: ``prepare`` parses and enriches a whole input batch
(the sentiment model scores the batch at once, see ``flows/sentiment.py``), and each
brand's windows take their mentions as a batch (see ``flows/brand_windows.py``), so
Bytewax's per-item cost is paid once or twice per mention, not at every step.

Every record read ends in exactly one of: processed (in a closed window), duplicate,
late, dead-lettered; a record that names several brands is processed once per brand
and the extra copies are counted as ``fanout``, so that
``read + fanout == processed + duplicate + late + dead_lettered`` once the input ends.
"""

from __future__ import annotations

import logging
import pickle
import time
from typing import Any

import bytewax.operators as op
import orjson
from bytewax.dataflow import Dataflow
from bytewax.inputs import Source

from crisiswatch.detectors.embeddings import Embedder
from crisiswatch.detectors.types import RAW_KEPT, DeadLetter, Mention
from crisiswatch.flows.brand_cap import BrandCap
from crisiswatch.flows.brand_windows import BrandWindows, BrandWindowsState
from crisiswatch.flows.config import FlowConfig, SentimentLoader
from crisiswatch.flows.dedup import SeenIds
from crisiswatch.flows.enrich import Enricher
from crisiswatch.flows.idle_brands import PackedWhenIdle
from crisiswatch.flows.items import Count, DeadLetterItem, StatsItem
from crisiswatch.flows.routine import RoutineRefresher
from crisiswatch.flows.sentiment import FlowSentiment
from crisiswatch.flows.sinks import StoreSink
from crisiswatch.store import Store, connect

Counts = dict[str, int]
log = logging.getLogger("crisiswatch.flow")


def build_flow(config: FlowConfig, source: Source, redis_url: str,
               flow_id: str = "crisiswatch", embedder: Embedder | None = None,
               load_sentiment: SentimentLoader | None = None) -> Dataflow:
    """The flow over ``source`` into the store at ``redis_url``; with an ``embedder``
    (and topics in ``config.detector``), each brand's window texts are clustered into
    topics. ``load_sentiment`` reads the complaint model's weights (the composition
    root's ``crisiswatch.models.sentiment_weights.load``); VADER needs none."""
    parser = config.parser
    sentiment = config.sentiment
    detector_cfg, brand_cfgs = config.detector, config.brand_detectors
    enricher = Enricher(FlowSentiment(
        sentiment.model, sentiment.weights,
        Store(connect(redis_url), config.store_prefix) if sentiment.learn_from_labels
        else None, sentiment.refresh_s, load=load_sentiment), detector_cfg.watchlist)
    lateness_s = config.lateness_s
    horizon_windows, max_ids = config.dedup_horizon_windows, config.dedup_max_ids
    store = Store(connect(redis_url), config.store_prefix)
    routine = RoutineRefresher(store)
    cap = BrandCap(config.max_brands, store.brands() if config.max_brands else ())

    def prepare(batch: list[tuple[int, bytes]]) -> list[Any]:
        """Parse, enrich and fan out one input batch: ``(brand, (brand, mentions))``
        for the brands' windows, one item a brand (Bytewax's per-item cost then falls on
        a brand's share of the batch, not on every mention; a stateful step is handed
        its values, not its key), dead letters, and one count of what the batch held."""
        out: list[Any] = []
        counts: Counts = {"read": len(batch), "dead_lettered": 0, "fanout": 0}
        valid: list[Mention] = []
        positions: list[int] = []
        for position, raw in batch:
            parsed = parser.parse(raw, position)
            if isinstance(parsed, DeadLetter):
                counts["dead_lettered"] += 1
                out.append(parsed)
            else:
                valid.append(parsed)
                positions.append(position)
        try:
            enricher.enrich(valid)
        except Exception:  # one record's failure must not stop the flow: find it
            valid = enrich_each(valid, positions, out, counts)
        by_brand: dict[str, list[Mention]] = {}  # in arrival order within each brand
        for m in valid:
            counts["fanout"] += len(m.brands) - 1
            for brand in m.brands:
                if not cap.admits(brand):
                    counts["dead_lettered"] += 1
                    out.append(DeadLetterItem(f"{brand}:{m.id}:cap", {
                        "reason": cap.reason(brand), "brand": brand, "source": parser.source,
                        "raw": orjson.dumps(m.to_dict()).decode()[:RAW_KEPT]}))
                    continue
                mentions = by_brand.get(brand)
                if mentions is None:
                    by_brand[brand] = [m]
                else:
                    mentions.append(m)
        out.extend((brand, (brand, mentions)) for brand, mentions in by_brand.items())
        out.append(counts)
        return out

    def enrich_each(valid: list[Mention], positions: list[int], out: list[Any],
                    counts: Counts) -> list[Mention]:
        """Enrich one mention at a time; the ones that raise are dead-lettered."""
        kept = []
        for m, position in zip(valid, positions, strict=True):
            try:
                enricher.enrich([m])
            except Exception as e:
                log.exception("enriching mention %r failed; it is dead-lettered", m.id)
                counts["dead_lettered"] += 1
                out.append(DeadLetter(f"internal error enriching the mention: "
                                      f"{type(e).__name__}: {e}",
                                      orjson.dumps(m.to_dict()).decode()[:RAW_KEPT],
                                      parser.source, position))
            else:
                kept.append(m)
        return kept

    def brand_windows(resume: bytes | None) -> BrandWindows:
        state = (pickle.loads(resume) if resume
                 else BrandWindowsState(SeenIds(horizon_windows, max_ids)))
        return BrandWindows(detector_cfg, lateness_s, state, time.time, embedder,
                            config.max_texts_per_window, brand_cfgs,
                            config.max_jump_s, config.jump_confirm, routine,
                            routine.noise, config.max_lead_s, config.snapshots)

    def brand_logic(resume: bytes | None) -> PackedWhenIdle:
        return PackedWhenIdle(brand_windows, resume, time.time, snapshots=config.snapshots)

    flow = Dataflow(flow_id)
    lines = op.input("read", flow, source)  # (line number, raw bytes)
    prepared = op.flat_map_batch("prepare", lines, prepare)
    is_mention = op.branch("is_mention", prepared, lambda x: type(x) is tuple)
    others = op.branch("is_dead", is_mention.falses,
                       lambda x: isinstance(x, DeadLetter | DeadLetterItem))
    dead_out = op.map("dead_out", others.trues, lambda d: d if isinstance(d, DeadLetterItem)
                      else DeadLetterItem(d.key, d.to_dict()))

    windows = op.stateful_batch("brands", is_mention.trues, brand_logic)
    results = op.map("unkey", windows, lambda kv: kv[1])
    is_count = op.branch("is_count", results, lambda t: type(t) is Count)
    counts = op.merge("counts", others.falses,
                      op.map("as_counts", is_count.trues, lambda c: {c.name: c.n}))

    def tally(totals: Counts | None, c: Counts) -> tuple[Counts, StatsItem]:
        totals = totals or {}
        for name, n in c.items():
            totals[name] = totals.get(name, 0) + n
        return totals, StatsItem(dict(totals))

    stats_out = op.map("unkey_stats", op.stateful_map(
        "tally", op.key_on("one_tally", counts, lambda _: "stats"), tally), lambda kv: kv[1])

    outputs = op.merge("outputs", is_count.falses, dead_out, stats_out)
    op.output("store", outputs, StoreSink(redis_url, config.store_prefix,
                                          config.records_kept))
    return flow
