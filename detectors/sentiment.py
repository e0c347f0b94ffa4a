"""Sentiment of a mention as VADER's compound score in [-1, 1].

VADER scores ~6,600 texts/s here, the slowest stage of the flow; retweets and
copy-paste campaigns repeat texts, so scores are cached by text (bounded LRU).
"""

from __future__ import annotations

from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


class VaderScorer:
    def __init__(self, cache_size: int = 100_000) -> None:
        self._analyzer = SentimentIntensityAnalyzer()
        self.score = lru_cache(maxsize=cache_size)(self._compound)

    def _compound(self, text: str) -> float:
        return float(self._analyzer.polarity_scores(text)["compound"])
