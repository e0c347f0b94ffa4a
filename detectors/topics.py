"""Online topic clustering of one brand's mentions, window by window.

A crisis often shows first as a new cluster of complaints ("no signal in Manchester",
"app login fails") before the brand's volume moves. Each closed window hands this module
the brand's distinct normalised texts (with how many copies each had) and their unit
vectors; every text joins the most similar topic above ``join_similarity`` or starts a
*candidate*. A candidate that reaches ``min_size`` mentions becomes a topic and is
published; topics decay (half-life in windows), merge when their centroids converge,
fade when their weight runs out, and are bounded in number per brand.

Determinism: texts are processed in the order given, ties go to the lowest row, and a
topic's id hashes (brand, creation window, creating text); so the same input gives the
same topics and ids, and a window re-emitted after recovery updates, never duplicates.

Bounds per brand (``BrandTopics``): at most ``max_topics`` published topics plus
``max_candidates`` candidates, each with at most ``terms_kept`` term counters,
``examples`` originals and ``series_windows`` series points; the brand keeps
``brand_terms_kept`` term counters for the IDF. Each topic is one row of two float32
matrices (its vector sum and its centroid): 8 x ``dim`` bytes a row, 2 KiB with the
256-dimension static table. The rows are allocated on demand, doubling from
``FIRST_ROWS``, so a brand holds at most twice the most topics and candidates it has
had at once (never fewer than ``FIRST_ROWS`` rows, never more than ``max_topics +
max_candidates``: 640 KiB at the defaults and 256 dimensions); capacity is not given
back when topics fade. It is plain Python and numpy, so Bytewax can pickle it into its
snapshots, and a snapshot carries the rows allocated, not the bound.

The clustering itself is ``detectors/topic_clustering.py`` (``update``: one window's
texts into topics) and ``detectors/topic_windows.py`` (the end of a window: series,
merges, promotion, bounds, signals); this module holds the state, which Bytewax
pickles into its snapshots, and the published view of a topic.
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from crisiswatch.detectors.language import reads_english
from crisiswatch.detectors.topic_authors import AUTHORS_KEPT, add_authors, author_key
from crisiswatch.detectors.types import Example, Mention, Signal

NEGATIVE_BELOW = -0.05  # VADER's convention, as in the windows
FIRST_ROWS = 4  # rows a brand's matrices get with its first candidate; then they double
EXAMPLE_POOL = 2  # candidate examples a topic keeps, per example it shows


@dataclass(frozen=True)
class TopicConfig:
    window_s: int = 300
    # cosines between background-centred vectors (see _centred): to join a topic's
    # centroid, and between two centroids to merge them
    join_similarity: float = 0.3
    merge_similarity: float = 0.5
    min_size: int = 5  # mentions (copies included) that make a candidate a topic
    max_topics: int = 64  # published topics per brand
    max_candidates: int = 256  # candidates per brand
    half_life_windows: float = 36  # memory of weights, centroids and expected counts
    centering: float = 1.0  # share of the brand's background vector taken out (0: none)
    background_half_life_windows: float = 288
    fade_below: float = 0.5  # a topic whose decayed weight falls below this fades
    terms_kept: int = 64
    brand_terms_kept: int = 4000
    examples: int = 5
    series_windows: int = 288
    top_terms: int = 8
    # Emerging-topic signals (none while the brand warms up): a topic created at most
    # new_windows ago that already has new_min_size mentions; or an older topic whose
    # window count is at least min_window_count and growth_factor times its expected
    # count, and grows relative_factor times faster than the brand's volume (a topic
    # that moves the whole brand is the volume detector's alert already).
    warmup_windows: int = 12
    new_windows: int = 3
    new_min_size: int = 10
    growth_factor: float = 4.0
    relative_factor: float = 2.0
    min_window_count: int = 5
    # Emerging over days (the ``emerging`` flag of a topic's record): a topic born after
    # the brand's first emerging_after_days that, within emerging_days of its birth, has
    # emerging_min_mentions mentions from emerging_min_authors authors spread over
    # emerging_min_hours distinct hours, most of them negative. A complaint that grows
    # steadily (a scam-call pattern, two dozen posts a day) surprises no single window,
    # so no signal above sees it; a product team still wants it on its list.
    emerging_days: float = 2.0
    emerging_after_days: float = 1.0
    emerging_min_mentions: int = 24
    emerging_min_authors: int = 8
    emerging_min_hours: int = 6
    emerging_min_negative_share: float = 0.5  # a complaint, not a campaign of praise
    # every consolidate_windows windows (0: never), the published topics whose
    # centroids lie within this average-linkage cosine distance fold into one
    # (``topic_windows.consolidate``)
    consolidate_windows: int = 0
    consolidate_distance: float = 0.7


@dataclass(frozen=True, slots=True)
class TopicInput:
    """One distinct normalised text of a window, with its copies and one original."""

    text: str
    count: int
    sentiment: float
    example: Example
    authors: frozenset[int] = frozenset()  # author_key of its originals' authors


@dataclass(frozen=True, slots=True)
class TopicSignal:
    """An emerging topic, for incident fusion."""

    topic_id: str
    brand: str
    window_start: float
    reason: Literal["new", "accelerating"]
    summary: str
    figures: dict[str, Any]

    def to_signal(self) -> Signal:
        """The form incident fusion reads. A topic has no p-value, so its score is 0 and
        its evidence is in the details; it is ``info``: a new cluster of a few posts is
        a product team's news, and pages only with other evidence beside it."""
        return Signal(kind="topic", window_start=self.window_start, severity="info",
                      summary=self.summary, details={"topic_id": self.topic_id,
                                                     "reason": self.reason, **self.figures})


@dataclass(slots=True)
class TopicUpdate:
    topics: list[dict[str, Any]] = field(default_factory=list)  # changed topics' records
    signals: list[TopicSignal] = field(default_factory=list)
    # (absorbed id, into id); a candidate absorbed was never published
    merged: list[tuple[str, str]] = field(default_factory=list)
    assignments: list[str | None] = field(default_factory=list)  # topic id of each item
    unembedded: int = 0  # texts whose vector was zero (no token the model knows)


@dataclass(slots=True)
class _Topic:
    id: str
    created: float  # window start of creation
    series: deque[tuple[float, int]]  # (window start, mentions), windows with mentions
    weight: float = 0.0  # decayed mention mass
    size: int = 0  # mentions ever assigned, copies included
    texts: int = 0  # distinct texts ever assigned
    sentiment_sum: float = 0.0
    negatives: int = 0
    rate: float = 0.0  # expected mentions per window (exponentially weighted)
    last_window: float = 0.0
    last_count: int = 0
    last_expected: float = 0.0
    last_growth: float = 0.0
    active: bool = False
    announced: bool = False
    terms: dict[str, int] = field(default_factory=dict)  # bounded by prune
    # author_key of distinct authors, at most AUTHORS_KEPT: a list, since most of the
    # candidates never have more than a few and an empty list is a quarter of a set
    authors: list[int] = field(default_factory=list)
    # candidate examples, at most EXAMPLE_POOL x cfg.examples: (copies, text, original,
    # its centred unit vector as float16 bytes, which pickle without an array's overhead:
    # 5 KiB a topic at 256 dimensions), ranked
    # against the centroid whenever one joins and when the topic is published
    examples: list[tuple[int, str, Example, bytes]] = field(default_factory=list)


@dataclass(slots=True)
class BrandTopics:
    """Everything the clustering remembers about one brand (picklable, bounded)."""

    dim: int = 0
    rows: list[_Topic] = field(default_factory=list)  # live topics: row i of the matrices
    # row i: the decayed, count-weighted sum of topic i's member vectors, and its unit;
    # rows past len(rows) are spare capacity (see _new_row), not read while spare
    sums: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    centroids: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    brand_terms: dict[str, int] = field(default_factory=dict)  # bounded by prune
    # text -> the topic it joined last: a text is an example of that topic only, so two
    # topics never show one example (bounded by _forget_examples)
    example_of: dict[str, str] = field(default_factory=dict)
    brand_rate: float = 0.0
    brand_expected: float = 0.0  # the brand's expected count for the last window
    background: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    background_weight: float = 0.0
    background_decay: float = 1.0  # pending decay of the background, set by _decay
    first_window: float | None = None
    last_window: float | None = None


@dataclass(slots=True)
class WindowTexts:
    """The distinct normalised texts of one brand's window: what ``update`` clusters.

    Retweets and copy-paste campaigns collapse to one entry with a count, so each text
    is embedded once per window; at most ``limit`` distinct texts are kept (the rest
    still count in ``total``, the brand's volume). The original kept for a text is the
    one that reached most people. Both embedding backends and the terms read English
    only, so a mention in another language counts in ``total`` and joins no topic
    (``detectors.language``): clustered, a Hindi post became an "emergency, calls" topic.
    """

    limit: int = 5000
    # text -> [n, sum of sentiments, Example, the distinct authors of its originals (at
    # most AUTHORS_KEPT; a list, as most texts have one or two and a list of one is a
    # quarter of a set's memory; keyed only in ``items``)]
    entries: dict[str, list[Any]] = field(default_factory=dict)
    total: int = 0

    def add(self, m: Mention) -> WindowTexts:
        self.total += 1
        if not m.norm_text or not reads_english(m.lang):
            return self
        entry = self.entries.get(m.norm_text)
        if entry is None:
            if len(self.entries) >= self.limit:
                return self
            entry = self.entries[m.norm_text] = [1, m.sentiment, Example(
                m.id, m.ts, m.text, m.handle, m.followers, m.sentiment), []]
        else:
            entry[0] += 1
            entry[1] += m.sentiment
            if m.followers > entry[2].followers and not m.is_retweet:
                entry[2] = Example(m.id, m.ts, m.text, m.handle, m.followers, m.sentiment)
        # a retweet is the same voice again, not a new author
        who = m.author_id or m.handle
        authors = entry[3]
        if who and not m.is_retweet and len(authors) < AUTHORS_KEPT and who not in authors:
            authors.append(who)
        return self

    def merge(self, other: WindowTexts) -> WindowTexts:
        self.total += other.total
        for text, (n, total, example, authors) in other.entries.items():
            entry = self.entries.get(text)
            if entry is None:
                if len(self.entries) < self.limit:
                    self.entries[text] = [n, total, example, list(authors)]
            else:
                entry[0] += n
                entry[1] += total
                if example.followers > entry[2].followers:
                    entry[2] = example
                add_authors(entry[3], authors)
        return self

    def items(self) -> list[TopicInput]:
        """In first-seen order, which makes the clustering deterministic."""
        return [TopicInput(text, n, total / n, example, frozenset(map(author_key, authors)))
                for text, (n, total, example, authors) in self.entries.items()]


def topic_id(brand: str, window_start: float, text: str) -> str:
    digest = hashlib.sha1(f"{brand}\x1f{int(window_start)}\x1f{text}".encode()).hexdigest()
    return "tp" + digest[:14]


# -- a topic's rows, terms and examples ----------------------------------------------

def weakness(t: _Topic) -> tuple[float, float, str]:
    """Eviction order: lowest weight first, then least recently seen, then id."""
    return (t.weight, t.last_window, t.id)


def drop(state: BrandTopics, topic: _Topic) -> None:
    """Remove a topic, keeping rows compact: the last row moves into the hole."""
    i = next(k for k, t in enumerate(state.rows) if t is topic)
    last = len(state.rows) - 1
    if i != last:
        state.rows[i] = state.rows[last]
        state.sums[i] = state.sums[last]
        state.centroids[i] = state.centroids[last]
    state.rows.pop()


def renormalise(state: BrandTopics, row: int) -> None:
    norm = float(np.linalg.norm(state.sums[row]))
    if norm > 0:
        state.centroids[row] = state.sums[row] / norm


def prune(counts: dict[str, int], keep: int) -> None:
    """Bound a term counter: past twice ``keep`` entries, keep the ``keep`` largest (ties
    by term, for determinism). Amortised O(1) per add; rare terms are forgotten, which
    is what an explanation can afford."""
    if len(counts) > 2 * keep:
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:keep]
        counts.clear()
        counts.update(top)


def keep_examples(t: _Topic, new: list[tuple[int, str, Example, bytes]],
                   centroid: np.ndarray, keep: int) -> None:
    """Keep the candidate examples closest to the topic's centroid now, one per distinct
    text (copies summed). Closeness, not copies, comes first: a much-retweeted text that
    joined at the edge of a topic says less about it than one at its centre, and showing
    it made examples look unrelated to the topic's terms."""
    pool = {e[1]: e for e in t.examples}
    for e in new:
        old = pool.get(e[1])
        pool[e[1]] = e if old is None else (old[0] + e[0], old[1], old[2], old[3])
    t.examples = ranked(list(pool.values()), centroid)[:EXAMPLE_POOL * keep]


def ranked(pool: list[tuple[int, str, Example, bytes]], centroid: np.ndarray
            ) -> list[tuple[int, str, Example, bytes]]:
    if not pool:
        return pool
    sims = _units(pool) @ centroid
    order = sorted(range(len(pool)), key=lambda i: (-round(float(sims[i]), 4), -pool[i][0],
                                                   pool[i][2].id))
    return [pool[i] for i in order]


# -- published view ------------------------------------------------------------------------

def top_terms(state: BrandTopics, t: _Topic, k: int) -> list[tuple[str, float]]:
    """Class-based TF-IDF: a term's share of the topic times log(1 + A / its brand
    frequency), A being the brand's mean term mass per topic; it favours the words that
    set this topic apart from the brand's other complaints."""
    mass = sum(t.terms.values())
    if not mass:
        return []
    avg = sum(state.brand_terms.values()) / max(len(state.rows), 1)
    brand = state.brand_terms
    scored = [(w, (n / mass) * math.log(1 + avg / max(brand.get(w, n), n)))
              for w, n in t.terms.items()]
    scored.sort(key=lambda ws: (-ws[1], ws[0]))
    return [(w, round(s, 4)) for w, s in scored[:k]]


def record(state: BrandTopics, t: _Topic, brand: str, window_start: float,
           cfg: TopicConfig) -> dict[str, Any]:
    """The JSON-ready view of a topic that the store keeps and the API serves."""
    return {
        "id": t.id,
        "brand": brand,
        "state": "active",
        "merged_into": None,
        "terms": top_terms(state, t, cfg.top_terms),
        "size": t.size,
        "texts": t.texts,
        "weight": round(t.weight, 3),
        "window_count": t.last_count,
        "expected": round(t.last_expected, 3),
        "growth": round(t.last_growth, 3),
        "authors": len(t.authors),
        "emerging": emerging(state, t, window_start, cfg),
        "mean_sentiment": round(t.sentiment_sum / t.size, 4) if t.size else 0.0,
        "negative_share": round(t.negatives / t.size, 4) if t.size else 0.0,
        "first_window": t.created,
        "last_window": t.last_window,
        "updated_window": window_start,
        "window_s": cfg.window_s,
        "examples": _examples(state, t, cfg.examples),
        "series": [[w, n] for w, n in t.series],
    }


def emerging(state: BrandTopics, t: _Topic, window_start: float, cfg: TopicConfig) -> bool:
    """A young topic that grew steadily over days (``TopicConfig``'s emerging_*): a
    topic born with the brand is its baseline, one that stopped growing for longer than
    emerging_days is no longer news, and mentions in few hours are a burst (the window
    signals' business), not a steady rise."""
    day = 86400.0
    if (not t.active or state.first_window is None
            or t.created < state.first_window + cfg.emerging_after_days * day
            or window_start - t.created > cfg.emerging_days * day
            or len(t.authors) < min(cfg.emerging_min_authors, AUTHORS_KEPT)
            or t.negatives < cfg.emerging_min_negative_share * t.size):
        return False
    mentions = sum(n for _, n in t.series)
    hours = {int(w // 3600) for w, _ in t.series}
    return mentions >= cfg.emerging_min_mentions and len(hours) >= cfg.emerging_min_hours


def _examples(state: BrandTopics, t: _Topic, keep: int) -> list[dict[str, Any]]:
    """The topic's examples: its candidate texts that did not join another topic later,
    closest to its centroid first, with that cosine as ``similarity``."""
    row = next(k for k, r in enumerate(state.rows) if r is t)
    centroid = state.centroids[row]
    own = [e for e in t.examples if state.example_of.get(e[1]) == t.id]
    shown = ranked(own, centroid)[:keep]
    if not shown:  # every example joined other topics since: none left to show
        return []
    return [{"id": e.id, "ts": e.ts, "text": e.text, "handle": e.handle,
             "followers": e.followers, "sentiment": e.sentiment, "copies": copies,
             "similarity": round(float(sim), 4)}
            for (copies, _, e, _), sim in zip(shown, _units(shown) @ centroid, strict=True)]


def _units(pool: list[tuple[int, str, Example, bytes]]) -> np.ndarray:
    return np.frombuffer(b"".join(e[3] for e in pool), np.float16).reshape(len(pool), -1)
