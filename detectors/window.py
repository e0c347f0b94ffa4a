"""Per-brand, per-window aggregate of mentions: what the detectors and alerts read.

One accumulator lives per open window and brand; everything in it is bounded (top-k
counters, a handful of examples) so that a storm cannot grow a window without limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from detectors.text import terms
from detectors.topics import WindowTexts
from detectors.topk import TopK
from detectors.types import Example, Mention

TOP_CAPACITY = 64
EXAMPLES_KEPT = 5
LOUDEST_KEPT = 3


@dataclass(slots=True)
class WindowStats:
    count: int = 0
    retweets: int = 0
    negatives: int = 0
    positives: int = 0
    sentiment_sum: float = 0.0
    reach: int = 0  # sum of author followers: how many timelines the window reached
    max_followers: int = 0
    hashtags: TopK = field(default_factory=lambda: TopK(TOP_CAPACITY))
    hashtag_retweets: TopK = field(default_factory=lambda: TopK(TOP_CAPACITY))
    hashtag_negatives: TopK = field(default_factory=lambda: TopK(TOP_CAPACITY))
    hashtag_positives: TopK = field(default_factory=lambda: TopK(TOP_CAPACITY))
    retweeted: TopK = field(default_factory=lambda: TopK(TOP_CAPACITY))  # originals' texts
    terms: TopK = field(default_factory=lambda: TopK(TOP_CAPACITY))
    watch: dict[str, int] = field(default_factory=dict)  # bounded by the watchlist
    examples: list[Example] = field(default_factory=list)
    loudest: list[Example] = field(default_factory=list)  # most-followed complaints
    texts: WindowTexts | None = None  # distinct texts for topic clustering, when enabled

    def add(self, m: Mention) -> WindowStats:
        self.count += 1
        self.sentiment_sum += m.sentiment
        if m.tone < 0:
            self.negatives += 1
            self.hashtag_negatives.update(m.hashtags)
        elif m.tone > 0:
            self.positives += 1
            self.hashtag_positives.update(m.hashtags)
        self.reach += m.followers
        if m.followers > self.max_followers:
            self.max_followers = m.followers
        self.hashtags.update(m.hashtags)
        for term in m.watch:
            self.watch[term] = self.watch.get(term, 0) + 1
        if self.texts is not None:
            self.texts.add(m)
        if m.is_retweet:
            self.retweets += 1
            self.hashtag_retweets.update(m.hashtags)
            self.retweeted.add(m.retweet_of or m.norm_text)
        else:
            self.terms.update(terms(m.norm_text))
            self._keep_example(m)
            if m.tone < 0 and m.followers > 0:
                _keep_top(self.loudest, m, LOUDEST_KEPT)
        return self

    def _keep_example(self, m: Mention) -> None:
        """Keep the originals that reached most people, one per distinct text."""
        if all(e.text != m.text for e in self.examples):
            _keep_top(self.examples, m, EXAMPLES_KEPT)

    def merge(self, other: WindowStats) -> WindowStats:
        self.count += other.count
        self.retweets += other.retweets
        self.negatives += other.negatives
        self.positives += other.positives
        self.sentiment_sum += other.sentiment_sum
        self.reach += other.reach
        self.max_followers = max(self.max_followers, other.max_followers)
        self.hashtags.merge(other.hashtags)
        self.hashtag_retweets.merge(other.hashtag_retweets)
        self.hashtag_negatives.merge(other.hashtag_negatives)
        self.hashtag_positives.merge(other.hashtag_positives)
        self.retweeted.merge(other.retweeted)
        self.terms.merge(other.terms)
        for term, n in other.watch.items():
            self.watch[term] = self.watch.get(term, 0) + n
        if self.texts is not None and other.texts is not None:
            self.texts.merge(other.texts)
        for e in other.examples:
            if all(x.text != e.text for x in self.examples):
                _keep_top(self.examples, e, EXAMPLES_KEPT)
        for e in other.loudest:
            if all(x.id != e.id for x in self.loudest):
                _keep_top(self.loudest, e, LOUDEST_KEPT)
        return self

    @property
    def negative_share(self) -> float:
        return self.negatives / self.count if self.count else 0.0

    @property
    def mean_sentiment(self) -> float:
        return self.sentiment_sum / self.count if self.count else 0.0

    def summary(self, top: int = 10) -> dict[str, Any]:
        """The JSON-ready view that the store keeps for the series."""
        return {
            "count": self.count,
            "retweets": self.retweets,
            "negative_share": round(self.negative_share, 4),
            "positive_share": round(self.positives / self.count, 4) if self.count else 0.0,
            "mean_sentiment": round(self.mean_sentiment, 4),
            "reach": self.reach,
            "max_followers": self.max_followers,
            "hashtags": self.hashtags.top(top),
        }


def _keep_top(kept: list[Example], m: Mention | Example, n: int) -> None:
    """Keep the ``n`` widest-reaching of the mentions offered, in bounded space."""
    candidate = m if isinstance(m, Example) else Example(m.id, m.ts, m.text, m.handle,
                                                         m.followers, m.sentiment)
    if len(kept) < n:
        kept.append(candidate)
        return
    weakest = min(range(len(kept)), key=lambda i: kept[i].followers)
    if kept[weakest].followers < candidate.followers:
        kept[weakest] = candidate
