"""Per-brand, per-window aggregate of mentions: what the detectors and alerts read.

One accumulator lives per open window and brand; everything in it is bounded (top-k
counters, a handful of examples) so that a storm cannot grow a window without limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zlib import crc32

from crisiswatch.detectors.support import Distinct, Support, key_hash
from crisiswatch.detectors.text import terms
from crisiswatch.detectors.topics import WindowTexts
from crisiswatch.detectors.topk import TopK
from crisiswatch.detectors.types import Example, Mention

TOP_CAPACITY = 64
EXAMPLES_KEPT = 5
LOUDEST_KEPT = 3
SAMPLE_KEPT = 8
TAG_EXAMPLES_KEPT = 8
AUTHORS_KEPT = 16  # distinct authors remembered per watch term (support needs a few)
TAG_AUTHORS_KEPT = 16  # hashtags whose authors are counted (the first seen) ...
TAG_AUTHORS_COUNTED = 8  # ... up to this many each: past it, a tag is no bot's


@dataclass(slots=True)
class WindowStats:
    count: int = 0
    retweets: int = 0
    negatives: int = 0
    positives: int = 0
    unknown: int = 0  # mentions of unknown tone: no words of their own, or not English
    sentiment_sum: float = 0.0
    reach: int = 0  # sum of author followers: how many timelines the window reached
    max_followers: int = 0
    hashtags: TopK = field(default_factory=lambda: TopK(TOP_CAPACITY))
    hashtag_retweets: TopK = field(default_factory=lambda: TopK(TOP_CAPACITY))
    hashtag_negatives: TopK = field(default_factory=lambda: TopK(TOP_CAPACITY))
    hashtag_positives: TopK = field(default_factory=lambda: TopK(TOP_CAPACITY))
    hashtag_unknown: TopK = field(default_factory=lambda: TopK(TOP_CAPACITY))
    retweeted: TopK = field(default_factory=lambda: TopK(TOP_CAPACITY))  # originals' texts
    terms: TopK = field(default_factory=lambda: TopK(TOP_CAPACITY))
    watch: dict[str, int] = field(default_factory=dict)  # bounded by the watchlist
    watch_authors: dict[str, set[str]] = field(default_factory=dict)  # AUTHORS_KEPT each
    watch_reach: dict[str, int] = field(default_factory=dict)
    examples: list[Example] = field(default_factory=list)
    # A uniform sample of the window's mentions, one per distinct text (bottom-k by a
    # hash of the id, so a text repeated a thousand times has a thousand chances): the
    # candidates for representative posts, which incidents pick by what the burst is
    # about rather than by who has most followers. Mergeable: the k smallest of a union.
    # A mention kept by several of these lists is one shared Example (snapshots pickle
    # it once).
    sample: dict[str, tuple[int, Example]] = field(default_factory=dict)  # norm: hash, post
    # the first mention of each hashtag, for the most frequent tags: a small burst's tag
    # may hold too few mentions for the sample to catch one
    tag_examples: dict[str, Example] = field(default_factory=dict)
    loudest: list[Example] = field(default_factory=list)  # most-followed complaints
    texts: WindowTexts | None = None  # distinct texts for topic clustering, when enabled
    # who is talking (detectors.support): distinct authors; distinct voices (authors of
    # original, non-spam posts that are not the brand's own); the brand's own posts and
    # retweets of them; spam-like posts and their authors
    authors: Distinct = field(default_factory=Distinct)
    voices: Distinct = field(default_factory=Distinct)
    own: int = 0
    spam: int = 0
    spam_authors: Distinct = field(default_factory=Distinct)
    hashtag_own: TopK = field(default_factory=lambda: TopK(TOP_CAPACITY))
    hashtag_spam: TopK = field(default_factory=lambda: TopK(TOP_CAPACITY))
    # a hashtag's first few authors: twenty posts of a tag from three accounts are a bot
    hashtag_authors: dict[str, set[str]] = field(default_factory=dict)
    # the followers a mention must exceed to join the full lists above (-1 while not
    # full): most mentions of a busy window are turned away by this one comparison
    examples_floor: int = field(default=-1, init=False, repr=False)
    loudest_floor: int = field(default=-1, init=False, repr=False)
    sample_floor: int = field(default=1 << 32, init=False, repr=False)

    def add(self, m: Mention, own: bool = False,
            watch: tuple[str, ...] | None = None) -> WindowStats:
        """Count one mention. ``own``: the brand's own post or a retweet of one;
        ``watch``: its watch terms aimed at this brand (``m.watch`` when None)."""
        self.count += 1
        tags = m.hashtags  # most mentions have none: skip the counters' calls then
        author = m.author_id or m.handle or m.id  # an anonymous post stands for itself
        who = key_hash(author)
        if who < self.authors.floor:
            self.authors.add_hash(who)
        if tags:
            self._count_tag_authors(tags, author)
        if own:
            self.own += 1
            if tags:
                self.hashtag_own.update(tags)
        if m.spam:
            self.spam += 1
            self.spam_authors.add_hash(who)
            if tags:
                self.hashtag_spam.update(tags)
        elif not own and not m.is_retweet and who < self.voices.floor:
            self.voices.add_hash(who)
        tone = m.tone
        if tone is None:
            self.unknown += 1
            if tags:
                self.hashtag_unknown.update(tags)
        else:
            self.sentiment_sum += m.sentiment
            if tone < 0:
                self.negatives += 1
                if tags:
                    self.hashtag_negatives.update(tags)
            elif tone > 0:
                self.positives += 1
                if tags:
                    self.hashtag_positives.update(tags)
        followers = m.followers
        self.reach += followers
        if followers > self.max_followers:
            self.max_followers = followers
        example = None  # made once, shared by the lists that keep this mention
        if tags:
            self.hashtags.update(tags)
            if len(self.tag_examples) < TAG_EXAMPLES_KEPT:
                example = self._keep_tag_example(m)
        watch = m.watch if watch is None else watch
        if watch:
            self._count_watch(m, watch, author)
        rank = crc32(m.id.encode())
        if rank < self.sample_floor:
            example = example or _example(m)
            self._put_sample(rank, m.norm_text, example)
        kept = m if example is None else example
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
                self._keep_example(kept)
            if tone is not None and tone < 0 and followers > 0 \
                    and followers > self.loudest_floor:
                self.loudest_floor = _keep_top(self.loudest, kept, LOUDEST_KEPT)
        return self

    def _count_watch(self, m: Mention, watch: tuple[str, ...], author: str) -> None:
        """Count the mention's watch terms, with who said them and to how many people.

        A term's support is its witnesses: a retweet stands for the post it repeats (a
        hundred retweets of one rumour are one source), and a post that wonders ("data
        breach?") is counted but supports nothing."""
        if m.is_retweet:
            author = "rt:" + (m.retweet_of or m.norm_text)
        for term in watch:
            self.watch[term] = self.watch.get(term, 0) + 1
            self.watch_reach[term] = self.watch_reach.get(term, 0) + m.followers
            authors = self.watch_authors.setdefault(term, set())
            if len(authors) < AUTHORS_KEPT and term not in m.hedged:
                authors.add(author)

    def _count_tag_authors(self, tags: tuple[str, ...], author: str) -> None:
        kept = self.hashtag_authors
        for tag in tags:
            who = kept.get(tag)
            if who is None:
                if len(kept) >= TAG_AUTHORS_KEPT:
                    continue
                who = kept[tag] = set()
            if len(who) < TAG_AUTHORS_COUNTED:
                who.add(author)

    def _keep_tag_example(self, m: Mention) -> Example | None:
        example = None
        kept = self.tag_examples
        for tag in m.hashtags:
            if tag not in kept and len(kept) < TAG_EXAMPLES_KEPT:
                example = kept[tag] = example or _example(m)
        return example

    def _put_sample(self, rank: int, norm: str, example: Example) -> None:
        sample = self.sample
        held = sample.get(norm)
        if held is not None:  # one entry a distinct text: the smaller hash stays
            if rank < held[0]:
                sample[norm] = (rank, example)
                self.sample_floor = _sample_floor(sample)
            return
        sample[norm] = (rank, example)
        if len(sample) > SAMPLE_KEPT:
            del sample[max(sample, key=lambda k: sample[k][0])]
        if len(sample) >= SAMPLE_KEPT:
            self.sample_floor = _sample_floor(sample)

    def _keep_example(self, m: Mention | Example) -> None:
        """Keep the originals that reached most people, one per distinct text."""
        slot = _slot(self.examples, EXAMPLES_KEPT, m.followers)
        if slot is not None and all(e.text != m.text for e in self.examples):
            _put(self.examples, slot, m)
            self.examples_floor = _floor(self.examples, EXAMPLES_KEPT)

    def seal(self) -> None:
        """The window is closed: each counter down to its capacity (``TopK.seal``), so
        the detectors and the published record read the top ``TOP_CAPACITY`` of each."""
        for top in (self.hashtags, self.hashtag_retweets, self.hashtag_negatives,
                    self.hashtag_positives, self.hashtag_unknown, self.retweeted, self.terms,
                    self.hashtag_own, self.hashtag_spam):
            top.seal()

    def merge(self, other: WindowStats) -> WindowStats:
        self.count += other.count
        self.retweets += other.retweets
        self.negatives += other.negatives
        self.positives += other.positives
        self.unknown += other.unknown
        self.sentiment_sum += other.sentiment_sum
        self.reach += other.reach
        self.max_followers = max(self.max_followers, other.max_followers)
        self.hashtags.merge(other.hashtags)
        self.hashtag_retweets.merge(other.hashtag_retweets)
        self.hashtag_negatives.merge(other.hashtag_negatives)
        self.hashtag_positives.merge(other.hashtag_positives)
        self.hashtag_unknown.merge(other.hashtag_unknown)
        self.retweeted.merge(other.retweeted)
        self.terms.merge(other.terms)
        self.authors.merge(other.authors)
        self.voices.merge(other.voices)
        self.own += other.own
        self.spam += other.spam
        self.spam_authors.merge(other.spam_authors)
        self.hashtag_own.merge(other.hashtag_own)
        self.hashtag_spam.merge(other.hashtag_spam)
        for tag, who in other.hashtag_authors.items():
            mine = self.hashtag_authors.setdefault(tag, set())
            mine.update(list(who)[:TAG_AUTHORS_COUNTED - len(mine)])
        if len(self.hashtag_authors) > TAG_AUTHORS_KEPT:
            counts = self.hashtags.counts
            kept = sorted(self.hashtag_authors, key=lambda t: (-counts.get(t, 0), t))
            self.hashtag_authors = {t: self.hashtag_authors[t]
                                    for t in kept[:TAG_AUTHORS_KEPT]}
        for term, n in other.watch.items():
            self.watch[term] = self.watch.get(term, 0) + n
            self.watch_reach[term] = (self.watch_reach.get(term, 0)
                                      + other.watch_reach.get(term, 0))
            authors = self.watch_authors.setdefault(term, set())
            for who in other.watch_authors.get(term, ()):
                if len(authors) >= AUTHORS_KEPT:
                    break
                authors.add(who)
        if other.tag_examples:
            union = {**other.tag_examples, **self.tag_examples}
            counts = self.hashtags.counts
            kept = sorted(union, key=lambda t: (-counts.get(t, 0), t))[:TAG_EXAMPLES_KEPT]
            self.tag_examples = {t: union[t] for t in kept}
        for norm, (rank, example) in other.sample.items():
            if rank < self.sample_floor:
                self._put_sample(rank, norm, example)
        if self.texts is not None and other.texts is not None:
            self.texts.merge(other.texts)
        for e in other.examples:
            if all(x.text != e.text for x in self.examples):
                self.examples_floor = _keep_top(self.examples, e, EXAMPLES_KEPT)
        for e in other.loudest:
            if all(x.id != e.id for x in self.loudest):
                self.loudest_floor = _keep_top(self.loudest, e, LOUDEST_KEPT)
        return self

    def support(self) -> Support:
        """Who wrote these mentions (``detectors.support``)."""
        top = max(self.retweeted.counts.values(), default=0)
        return Support(mentions=self.count, authors=self.authors.estimate(),
                       voices=self.voices.estimate(), originals=len(self.retweeted),
                       retweets=self.retweets, top_retweets=top, own=self.own,
                       spam=self.spam, spam_authors=self.spam_authors.estimate())

    @property
    def readable(self) -> int:
        """Mentions whose tone could be read: the shares of tone are over these."""
        return self.count - self.unknown

    @property
    def negative_share(self) -> float:
        return self.negatives / self.readable if self.readable else 0.0

    @property
    def positive_share(self) -> float:
        return self.positives / self.readable if self.readable else 0.0

    @property
    def unknown_share(self) -> float:
        return self.unknown / self.count if self.count else 0.0

    @property
    def mean_sentiment(self) -> float:
        return self.sentiment_sum / self.readable if self.readable else 0.0

    def summary(self, top: int = 10) -> dict[str, Any]:
        """The JSON-ready view that the store keeps for the series."""
        return {
            "count": self.count,
            "retweets": self.retweets,
            "negative_share": round(self.negative_share, 4),
            "positive_share": round(self.positive_share, 4),
            "unknown_share": round(self.unknown_share, 4),
            "mean_sentiment": round(self.mean_sentiment, 4),
            "reach": self.reach,
            "max_followers": self.max_followers,
            "hashtags": self.hashtags.top(top),
        }


def _example(m: Mention) -> Example:
    return Example(m.id, m.ts, m.text, m.handle, m.followers, m.sentiment)


def _sample_floor(sample: dict[str, tuple[int, Example]]) -> int:
    """The hash a mention must be under to join the sample: any while it is not full."""
    return max(r for r, _ in sample.values()) if len(sample) >= SAMPLE_KEPT else 1 << 32


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
