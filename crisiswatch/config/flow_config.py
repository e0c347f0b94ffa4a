"""The flow as the settings configure it: the composition root reads the settings and
hands ``flows/`` a plain ``FlowConfig`` and its loaders (``flows/`` never sees
``Settings`` nor where weight files live)."""

from __future__ import annotations

from bytewax.dataflow import Dataflow
from bytewax.inputs import Source

from crisiswatch.config.settings import Settings
from crisiswatch.detectors.embeddings import Embedder
from crisiswatch.flows import dataflow
from crisiswatch.flows.config import FlowConfig, SentimentScoring
from crisiswatch.models import sentiment_weights


def flow_config(settings: Settings, topics: bool = False, snapshots: bool = True
                ) -> FlowConfig:
    """``topics``: an embedder is there to cluster window texts with; ``snapshots``:
    the flow runs with recovery (False only where it certainly does not)."""
    s = settings.sentiment
    return FlowConfig(
        parser=settings.make_parser(),
        detector=settings.detector_config(topics=topics),
        brand_detectors=settings.brand_detector_configs(topics=topics),
        sentiment=SentimentScoring(s.model, s.weights, s.learn_from_labels, s.refresh_seconds),
        lateness_s=settings.window.lateness_minutes * 60,
        dedup_horizon_windows=settings.dedup_horizon_windows,
        dedup_max_ids=settings.dedup.max_ids,
        max_texts_per_window=settings.topics.max_texts_per_window,
        max_jump_s=settings.ingest.max_jump_s,
        jump_confirm=settings.ingest.jump_confirm,
        max_lead_s=settings.ingest.max_lead_s,
        max_brands=settings.ingest.max_brands,
        store_prefix=settings.store.prefix,
        records_kept=settings.store.records_kept,
        snapshots=snapshots,
    )


def build_flow(settings: Settings, source: Source, redis_url: str,
               flow_id: str = "crisiswatch", embedder: Embedder | None = None,
               snapshots: bool = True) -> Dataflow:
    """``flows.dataflow.build_flow`` configured by ``settings``; with an ``embedder``
    (and ``topics.enabled``), each brand's window texts are clustered into topics.
    ``snapshots=False`` for a flow run without recovery (``FlowConfig.snapshots``)."""
    return dataflow.build_flow(flow_config(settings, embedder is not None, snapshots), source,
                               redis_url, flow_id, embedder,
                               load_sentiment=sentiment_weights.load)
