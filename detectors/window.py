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
    # the followers a mention must exceed to join the full lists above (-1 while not
    # full): most mentions of a busy window are turned away by this one comparison
    examples_floor: int = field(default=-1, init=False, repr=False)
    loudest_floor: int = field(default=-1, init=False, repr=False)

    def add(self, m: Mention) -> WindowStats:
        self.count += 1
        self.sentiment_sum += m.sentiment
        tags = m.hashtags  # most mentions have none: skip the counters' calls then
        if m.tone < 0:
            self.negatives += 1
            if tags:
                self.hashtag_negatives.update(tags)
        elif m.tone > 0:
            self.positives += 1
            if tags:
                self.hashtag_positives.update(tags)
        followers = m.followers
        self.reach += followers
        if followers > self.max_followers:
            self.max_followers = followers
        if tags:
            self.hashtags.update(tags)
        for term in m.watch:
            self.watch[term] = self.watch.get(term, 0) + 1
        if self.texts is not None:
            self.texts.add(m)
        if m.is_retweet:
            self.retweets += 1
            if tags:
                self.hashtag_retweets.update(tags)
            self.retweeted.add(m.retweet_of or m.norm_text)
        else:
            self.terms.update(terms(m.norm_text))
            if followers > self.examples_floor:
                self._keep_example(m)
            if m.tone < 0 and followers > 0 and followers > self.loudest_floor:
                self.loudest_floor = _keep_top(self.loudest, m, LOUDEST_KEPT)
        return self

    def _keep_example(self, m: Mention) -> None:
        """Keep the originals that reached most people, one per distinct text."""
        slot = _slot(self.examples, EXAMPLES_KEPT, m.followers)
        if slot is not None and all(e.text != m.text for e in self.examples):
            _put(self.examples, slot, m)
            self.examples_floor = _floor(self.examples, EXAMPLES_KEPT)

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
                self.examples_floor = _keep_top(self.examples, e, EXAMPLES_KEPT)
        for e in other.loudest:
            if all(x.id != e.id for x in self.loudest):
                self.loudest_floor = _keep_top(self.loudest, e, LOUDEST_KEPT)
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


def _keep_top(kept: list[Example], m: Mention | Example, n: int) -> int:
    """Keep the ``n`` widest-reaching of the mentions offered, in bounded space; returns
    the new floor (``_floor``)."""
    slot = _slot(kept, n, m.followers)
    if slot is not None:
        _put(kept, slot, m)
    return _floor(kept, n)


def _floor(kept: list[Example], n: int) -> int:
    """The followers a mention must exceed to be kept: the weakest's, once full."""
    return min(e.followers for e in kept) if len(kept) >= n else -1


def _slot(kept: list[Example], n: int, followers: int) -> int | None:
    """Where a mention reaching ``followers`` goes among the ``n`` kept: the end while
    there is room, else the place of the weakest (the first of equals) if it reached
    fewer; None if it is not kept. Asked before an example is made, because most
    mentions of a busy window are not kept."""
    if len(kept) < n:
        return len(kept)
    weakest = min(range(len(kept)), key=lambda i: kept[i].followers)
    return weakest if kept[weakest].followers < followers else None


def _put(kept: list[Example], slot: int, m: Mention | Example) -> None:
    example = m if isinstance(m, Example) else Example(m.id, m.ts, m.text, m.handle,
                                                       m.followers, m.sentiment)
    if slot == len(kept):
        kept.append(example)
    else:
        kept[slot] = example
