"""What the flow is built from: a plain config (no settings file, no environment: the
composition root reads those and fills this in) and the loaders it is handed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from crisiswatch.detectors.brand import DetectorConfig
from crisiswatch.detectors.parse import Parser
from crisiswatch.detectors.sentiment_model import SentimentModel

# Reads the complaint model's weights (None: the shipped prior); injected, because
# where weight files live is the composition root's business, not the flow's.
SentimentLoader = Callable[[Path | None], SentimentModel]


@dataclass(frozen=True)
class SentimentScoring:
    """How the flow scores sentiment (not the sentiment-shift detector's thresholds,
    which are ``detectors.sentiment_shift.SentimentConfig`` in ``FlowConfig.detector``)."""

    model: Literal["complaint", "vader"] = "complaint"
    weights: Path | None = None  # None: the shipped prior
    learn_from_labels: bool = True  # read POST /mentions/{id}/label from the store
    refresh_s: float = 5.0


@dataclass(frozen=True)
class FlowConfig:
    parser: Parser
    detector: DetectorConfig  # every brand's, unless ``brand_detectors`` names it
    lateness_s: float  # how late (event time) a mention may arrive for its window
    dedup_horizon_windows: int  # closed windows whose ids the duplicate filter keeps
    dedup_max_ids: int  # ids remembered at most, per brand
    max_texts_per_window: int  # texts a brand's window hands the topic clusterer
    max_jump_s: float | None  # an event-time jump held as suspect (``brand_windows``)
    jump_confirm: int  # suspect mentions that confirm a jump
    store_prefix: str
    records_kept: int  # dead letters and late records kept in the store
    brand_detectors: dict[str, DetectorConfig] = field(default_factory=dict)
    max_lead_s: float | None = None  # how far event time may lead the wall clock
    max_brands: int | None = None  # brands one flow process keeps state for (brand_cap)
    sentiment: SentimentScoring = SentimentScoring()
    # False when the flow runs without recovery: Bytewax still asks every brand touched
    # in an epoch for a snapshot, and pickling its state (every id of its open windows)
    # for nothing cost 6-12 % of the flow
    snapshots: bool = True
