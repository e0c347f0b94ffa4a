"""The ``topics:`` section of the settings: embedding backend and clustering knobs.

The clustering compares vectors with the brand's background direction taken out, which
puts both backends on a similar scale; the thresholds can still be set per backend, as
another model may need its own. The defaults come from a small sweep on the airline
evaluation (``crisiswatch eval --topics``): half of the complaints land in a topic when
each airline is its own brand (three quarters when all are one stream), and inside their
topics they agree with the labelled reasons about as well as k-means with as many
clusters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from rich.console import Console

from crisiswatch.detectors.embeddings import CachedEmbedder
from crisiswatch.detectors.topics import TopicConfig
from crisiswatch.models import embedders

Backend = Literal["static", "minilm"]


class PerBackend(BaseModel):
    static: float = Field(gt=-1, lt=1)
    minilm: float = Field(gt=-1, lt=1)


class TopicSettings(BaseModel):
    enabled: bool = Field(True, description="cluster mentions into topics")
    backend: Backend = Field("static", description="static (numpy, fast) or minilm (torch)")
    device: str = Field(
        "auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$",
        description="where the minilm backend runs: auto (a CUDA GPU when torch sees one, "
        "else the CPU), cpu, cuda or cuda:N")
    models_dir: Path | None = Field(
        None, description="where a rebuilt static table is used from instead of the shipped "
        "one (default: $CRISISWATCH_MODELS_DIR or $XDG_CACHE_HOME/crisiswatch)")
    join_similarity: PerBackend = Field(
        PerBackend(static=0.3, minilm=0.3), description="cosine to a topic's centroid to join it")
    merge_similarity: PerBackend = Field(
        PerBackend(static=0.5, minilm=0.5), description="cosine between centroids that merges")
    min_size: int = Field(5, ge=1, description="mentions that make a candidate a topic")
    max_topics: int = Field(64, ge=1, description="published topics per brand")
    max_candidates: int = Field(256, ge=1, description="candidate topics per brand")
    half_life_windows: float = Field(36, gt=0)
    max_texts_per_window: int = Field(
        5000, ge=1, description="distinct texts clustered per brand and window; the rest "
        "still count in the brand's volume")
    warmup_windows: int = Field(12, ge=0)
    new_windows: int = Field(3, ge=1)
    new_min_size: int = Field(10, ge=1)
    growth_factor: float = Field(4.0, gt=1, description="a topic's window against its expected")
    relative_factor: float = Field(2.0, gt=1, description="its growth against the brand's")
    min_window_count: int = Field(5, ge=1)
    emerging_days: float = Field(2.0, gt=0, description="a topic is emerging within this "
                                 "many days of its birth ...")
    emerging_after_days: float = Field(1.0, ge=0, description="... when born after the "
                                       "brand's first days (the topics born with it are its "
                                       "baseline) ...")
    emerging_min_mentions: int = Field(24, ge=1, description="... with this many mentions")
    emerging_min_authors: int = Field(8, ge=1, le=64, description="... from this many "
                                      "authors (retweets not counted)")
    emerging_min_hours: int = Field(6, ge=1, description="... in this many distinct hours")
    emerging_min_negative_share: float = Field(0.5, ge=0, le=1, description="... most of "
                                               "them negative: a complaint")
    consolidate_windows: int = Field(
        0, ge=0, description="every this many windows, fold the published topics whose "
        "centroids are close (average linkage) into one, the senior keeping its id; 0: off")
    consolidate_distance: float = Field(0.7, gt=0, le=2, description="cosine distance that "
                                        "the consolidation cuts its tree at")

    def model(self, window_s: int, backend: Backend | None = None) -> TopicConfig:
        backend = backend or self.backend
        return TopicConfig(
            window_s=window_s, join_similarity=getattr(self.join_similarity, backend),
            merge_similarity=getattr(self.merge_similarity, backend), min_size=self.min_size,
            max_topics=self.max_topics, max_candidates=self.max_candidates,
            half_life_windows=self.half_life_windows, warmup_windows=self.warmup_windows,
            new_windows=self.new_windows, new_min_size=self.new_min_size,
            growth_factor=self.growth_factor, relative_factor=self.relative_factor,
            min_window_count=self.min_window_count, emerging_days=self.emerging_days,
            emerging_after_days=self.emerging_after_days,
            emerging_min_mentions=self.emerging_min_mentions,
            emerging_min_authors=self.emerging_min_authors,
            emerging_min_hours=self.emerging_min_hours,
            emerging_min_negative_share=self.emerging_min_negative_share,
            consolidate_windows=self.consolidate_windows,
            consolidate_distance=self.consolidate_distance)


def topics_embedder(cfg: TopicSettings, console: Console) -> CachedEmbedder | None:
    """The embedder the flow clusters with, or None (and the reason, printed) when
    topics are off or cannot run here (the minilm backend without its extra)."""
    if not cfg.enabled:
        return None
    try:
        backend = embedders.embedder(cfg.backend, cfg.models_dir, device=cfg.device)
    except embedders.ModelUnavailable as e:
        console.print(f"[yellow]topics off:[/] {e}")
        return None
    return CachedEmbedder(backend)
