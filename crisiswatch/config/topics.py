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
_TOPIC = TopicConfig()  # the clustering's own defaults are the settings'


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
        PerBackend(static=_TOPIC.join_similarity, minilm=_TOPIC.join_similarity),
        description="cosine to a topic's centroid to join it")
    merge_similarity: PerBackend = Field(
        PerBackend(static=_TOPIC.merge_similarity, minilm=_TOPIC.merge_similarity),
        description="cosine between centroids that merges")
    min_size: int = Field(_TOPIC.min_size, ge=1,
                          description="mentions that make a candidate a topic")
    max_topics: int = Field(_TOPIC.max_topics, ge=1, description="published topics per brand")
    max_candidates: int = Field(_TOPIC.max_candidates, ge=1,
                                description="candidate topics per brand")
    half_life_windows: float = Field(_TOPIC.half_life_windows, gt=0)
    max_texts_per_window: int = Field(
        5000, ge=1, description="distinct texts clustered per brand and window; the rest "
        "still count in the brand's volume")
    warmup_windows: int = Field(_TOPIC.warmup_windows, ge=0)
    new_windows: int = Field(_TOPIC.new_windows, ge=1)
    new_min_size: int = Field(_TOPIC.new_min_size, ge=1)
    growth_factor: float = Field(_TOPIC.growth_factor, gt=1,
                                 description="a topic's window against its expected")
    relative_factor: float = Field(_TOPIC.relative_factor, gt=1,
                                   description="its growth against the brand's")
    min_window_count: int = Field(_TOPIC.min_window_count, ge=1)
    emerging_days: float = Field(_TOPIC.emerging_days, gt=0, description="a topic is "
                                 "emerging within this many days of its birth ...")
    emerging_after_days: float = Field(
        _TOPIC.emerging_after_days, ge=0, description="... when born after the brand's first "
        "days (the topics born with it are its baseline) ...")
    emerging_min_mentions: int = Field(_TOPIC.emerging_min_mentions, ge=1,
                                       description="... with this many mentions")
    emerging_min_authors: int = Field(_TOPIC.emerging_min_authors, ge=1, le=64,
                                      description="... from this many authors (retweets "
                                      "not counted)")
    emerging_min_hours: int = Field(_TOPIC.emerging_min_hours, ge=1,
                                    description="... in this many distinct hours")
    emerging_min_negative_share: float = Field(
        _TOPIC.emerging_min_negative_share, ge=0, le=1,
        description="... most of them negative: a complaint")
    consolidate_windows: int = Field(
        _TOPIC.consolidate_windows, ge=0, description="every this many windows, fold the "
        "published topics whose centroids are close (average linkage) into one, the senior "
        "keeping its id; 0: off")
    consolidate_distance: float = Field(_TOPIC.consolidate_distance, gt=0, le=2,
                                        description="cosine distance that the "
                                        "consolidation cuts its tree at")


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
