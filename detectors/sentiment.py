"""Sentiment of a mention as VADER's compound score in [-1, 1].

VADER was the slowest stage of the flow, so scores come from ``FastVader`` (the same
compound, several times faster; ``tests/test_vader_fast.py`` holds it equal to the
reference), and retweets and copy-paste campaigns repeat texts, so scores are cached by
text (bounded LRU).
"""

from __future__ import annotations

from functools import lru_cache

from crisiswatch.detectors.vader_fast import FastVader


class VaderScorer:
    def __init__(self, cache_size: int = 100_000) -> None:
        self._vader = FastVader()
        self.score = lru_cache(maxsize=cache_size)(self._vader.compound)
