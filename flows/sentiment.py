"""Sentiment for the flow: the complaint-aware model, scored a batch at a time, learning
online from the labels people give through the API.

Labels arrive in the store's label stream (``POST /mentions/{id}/label``); every
``refresh_s`` seconds the scorer reads the ones it has not seen and learns them. On a
restart it starts again from its weights and re-reads the kept labels from the start,
so the model a process ends up with does not depend on when it was restarted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from crisiswatch.detectors.sentiment import VaderScorer
from crisiswatch.detectors.sentiment_model import LABEL_INDEX, SentimentModel
from crisiswatch.flows.config import SentimentLoader
from crisiswatch.store import Store, StoreError

log = logging.getLogger(__name__)
NEGATIVE, POSITIVE = LABEL_INDEX["negative"], LABEL_INDEX["positive"]


class FlowSentiment:
    """``score(texts) -> (polarity in [-1, 1], tone in {-1, 0, 1})`` for a batch;
    ``refresh()`` learns new labels. The complaint model's weights are read by ``load``
    (injected: ``crisiswatch.models.sentiment_weights.load`` knows where weight files live)."""

    def __init__(self, model: str = "complaint", weights: Path | None = None,
                 store: Store | None = None, refresh_s: float = 5.0,
                 load: SentimentLoader | None = None) -> None:
        self.vader = VaderScorer() if model == "vader" else None
        if self.vader is None and load is None:
            raise TypeError("the complaint model needs a weights loader (load=...)")
        self.model: SentimentModel | None = (
            None if self.vader or load is None else load(weights))
        self.store = store if self.model is not None else None
        self.refresh_s = refresh_s
        self.last_label = "0"
        self.next_refresh = 0.0

    def score(self, texts: Sequence[str]) -> tuple[list[float], list[int]]:
        """Each text's score, which does not depend on the other texts of the batch (the
        model scores row by row, without BLAS), so that it can be cached."""
        if self.vader is not None:  # VADER's compound with its own ±0.05 convention
            polarity = [self.vader.score(t) for t in texts]
            return polarity, [(p >= 0.05) - (p <= -0.05) for p in polarity]
        assert self.model is not None
        if not texts:
            return [], []
        proba = self.model.predict_proba_batch(texts)
        polarity = proba[:, POSITIVE] - proba[:, NEGATIVE]
        best = proba.argmax(axis=1)
        tone = np.where(best == NEGATIVE, -1, np.where(best == POSITIVE, 1, 0))
        return polarity.tolist(), tone.tolist()

    def refresh(self) -> bool:
        """Learn the labels people gave since the last look, at most every ``refresh_s``
        seconds; True if the model changed (scores given before may differ now)."""
        if self.store is None or time.monotonic() < self.next_refresh:
            return False
        self.next_refresh = time.monotonic() + self.refresh_s
        try:
            labels = self.store.labels.after(self.last_label)
        except StoreError as e:  # labels can wait; mentions cannot
            log.warning("could not read sentiment labels: %s", e)
            return False
        if not labels:
            return False
        assert self.model is not None
        self.model.learn_batch([x["text"] for x in labels], [x["label"] for x in labels])
        self.last_label = labels[-1]["id"]
        log.info("sentiment model learnt %d new label(s)", len(labels))
        return True
