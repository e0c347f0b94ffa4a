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
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from detectors.language import reads_english
from detectors.text import terms as content_terms
from detectors.types import Example, Mention, Signal

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


@dataclass(frozen=True, slots=True)
class TopicInput:
    """One distinct normalised text of a window, with its copies and one original."""

    text: str
    count: int
    sentiment: float
    example: Example


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
        its evidence is in the details."""
        return Signal(kind="topic", window_start=self.window_start, severity="warning",
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
    terms: dict[str, int] = field(default_factory=dict)  # bounded by _prune
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
    brand_terms: dict[str, int] = field(default_factory=dict)  # bounded by _prune
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
    entries: dict[str, list[Any]] = field(default_factory=dict)  # text -> [n, sum, Example]
    total: int = 0

    def add(self, m: Mention) -> WindowTexts:
        self.total += 1
        if not m.norm_text or not reads_english(m.lang):
            return self
        entry = self.entries.get(m.norm_text)
        if entry is None:
            if len(self.entries) < self.limit:
                self.entries[m.norm_text] = [1, m.sentiment, Example(
                    m.id, m.ts, m.text, m.handle, m.followers, m.sentiment)]
            return self
        entry[0] += 1
        entry[1] += m.sentiment
        if m.followers > entry[2].followers and not m.is_retweet:
            entry[2] = Example(m.id, m.ts, m.text, m.handle, m.followers, m.sentiment)
        return self

    def merge(self, other: WindowTexts) -> WindowTexts:
        self.total += other.total
        for text, (n, total, example) in other.entries.items():
            entry = self.entries.get(text)
            if entry is None:
                if len(self.entries) < self.limit:
                    self.entries[text] = [n, total, example]
            else:
                entry[0] += n
                entry[1] += total
                if example.followers > entry[2].followers:
                    entry[2] = example
        return self

    def items(self) -> list[TopicInput]:
        """In first-seen order, which makes the clustering deterministic."""
        return [TopicInput(text, n, total / n, example)
                for text, (n, total, example) in self.entries.items()]


def topic_id(brand: str, window_start: float, text: str) -> str:
    digest = hashlib.sha1(f"{brand}\x1f{int(window_start)}\x1f{text}".encode()).hexdigest()
    return "tp" + digest[:14]


def update(state: BrandTopics, brand: str, window_start: float, items: list[TopicInput],
           vectors: np.ndarray, cfg: TopicConfig, brand_count: int | None = None
           ) -> TopicUpdate:
    """Fold one closed window of one brand into its topics; return what changed.

    ``vectors`` holds one row per item (normalised here; zero rows are counted as
    ``unembedded`` and skipped). ``brand_count`` is the brand's mentions in the window
    when the items were capped; by default the items' copies are summed.
    """
    if len(items) != len(vectors):
        raise ValueError(f"{len(items)} items but {len(vectors)} vectors")
    if len(items):
        _init(state, int(vectors.shape[1]))
    out = TopicUpdate()
    if state.dim == 0:
        return out
    if not len(items):
        vectors = np.zeros((0, state.dim), np.float32)
    _decay(state, window_start, cfg)

    counts: dict[str, int] = {}
    units, valid = _centred(state, vectors, cfg)
    for item, unit, ok in zip(items, units, valid, strict=True):
        if not ok or item.count <= 0:
            out.unembedded += int(not ok)
            out.assignments.append(None)
            continue
        row = _assign(state, brand, window_start, item.text, unit, cfg)
        _absorb(state, row, item, unit, cfg)
        tid = state.rows[row].id
        counts[tid] = counts.get(tid, 0) + item.count
        out.assignments.append(tid)

    total = brand_count if brand_count is not None else sum(i.count for i in items)
    changed = _close_window(state, window_start, counts, total, cfg)
    changed |= _merge(state, brand, window_start, counts, cfg, out)
    changed |= _promote_and_bound(state, brand, window_start, cfg, out)
    _signal(state, brand, window_start, counts, total, cfg, out)
    out.topics.extend(record(state, t, brand, window_start, cfg) for t in state.rows
                      if t.active and t.id in changed)
    out.topics.sort(key=lambda r: r["id"])
    return out


# -- the window's texts ------------------------------------------------------------------

def _init(state: BrandTopics, dim: int) -> None:
    """Fix the brand's dimension; its matrices start with no rows (see _new_row)."""
    if state.dim == 0:
        state.dim = dim
        state.sums = np.zeros((0, dim), np.float32)
        state.centroids = np.zeros((0, dim), np.float32)
        state.background = np.zeros(dim, np.float32)
    elif dim != state.dim:
        raise ValueError(f"vectors have {dim} dimensions but this brand's topics have "
                         f"{state.dim}: the embedding backend changed, start a fresh state")


def _decay(state: BrandTopics, window_start: float, cfg: TopicConfig) -> None:
    """Age weights, centroid sums and expected counts by the windows since the last call
    (a brand with no mentions in a window is not called for it)."""
    if state.first_window is None:
        state.first_window = window_start
    if state.last_window is not None and window_start > state.last_window:
        gap = (window_start - state.last_window) / cfg.window_s
        factor = 0.5 ** (gap / cfg.half_life_windows)
        # the expected count moves one step per window; the windows skipped had zero
        rate_factor = 0.5 ** (max(gap - 1, 0) / cfg.half_life_windows)
        state.sums[:len(state.rows)] *= factor  # the centroids' directions do not change
        state.background_decay = 0.5 ** (gap / cfg.background_half_life_windows)
        for t in state.rows:
            t.weight *= factor
            t.rate *= rate_factor
        state.brand_rate *= rate_factor
    state.last_window = window_start if state.last_window is None else max(
        state.last_window, window_start)


def _centred(state: BrandTopics, vectors: np.ndarray, cfg: TopicConfig
             ) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors with the brand's background direction taken out.

    Every complaint to an airline shares "flight, airline, unhappy": in raw cosine all of
    them look alike, and a growing topic's centroid drifts towards that common direction
    until it swallows everything. Subtracting the brand's running mean text vector (each
    distinct text once, so that a copy-paste campaign does not become the background)
    leaves what sets a text apart, and the threshold then means the same for every brand.
    """
    norms = np.linalg.norm(vectors, axis=1)
    valid = norms > 0
    units = np.zeros(vectors.shape, np.float32)
    units[valid] = vectors[valid] / norms[valid, None]
    if cfg.centering <= 0:
        return units, valid
    state.background = state.background * state.background_decay + units[valid].sum(axis=0)
    state.background_weight = state.background_weight * state.background_decay + valid.sum()
    state.background_decay = 1.0
    centre = cfg.centering * state.background / max(state.background_weight, 1e-12)
    centred = units - centre
    cn = np.linalg.norm(centred, axis=1)
    keep = valid & (cn > 1e-6)
    units[keep] = centred[keep] / cn[keep, None]
    return units, valid


def _assign(state: BrandTopics, brand: str, window_start: float, text: str,
            unit: np.ndarray, cfg: TopicConfig) -> int:
    """The row of the most similar topic above the threshold, or of a new candidate."""
    n = len(state.rows)
    if n:
        sims = state.centroids[:n] @ unit
        best = int(np.argmax(sims))
        if sims[best] >= cfg.join_similarity:
            return best
    candidates = [t for t in state.rows if not t.active]
    if len(candidates) >= cfg.max_candidates:
        _drop(state, min(candidates, key=_weakness))
    row = _new_row(state, cfg)
    state.rows.append(_Topic(id=topic_id(brand, window_start, text), created=window_start,
                             series=deque(maxlen=cfg.series_windows)))
    state.sums[row] = 0.0
    return row


def _new_row(state: BrandTopics, cfg: TopicConfig) -> int:
    """The row for a topic about to be appended, doubling the matrices when they are full.

    A brand pays for the rows it has used rather than for its bound up front: most brands
    hold a few topics, and ``max_topics + max_candidates`` rows of ``dim`` floats in two
    matrices (640 KiB at the defaults) for each of thousands of brands was most of the
    flow's memory. Doubling keeps the copies amortised O(1) per row, and the capacity
    stays within the bound. Capacity is never given back when topics fade or merge: the
    freed rows are reused, and every row keeps exactly the contents it would have in a
    matrix allocated whole, so clustering results do not depend on the capacity.
    """
    row = len(state.rows)
    if row == state.sums.shape[0]:
        # row + 1 passes the bound only in a state restored under a smaller bound than
        # it grew under (the config changed): grow anyway rather than fail
        size = max(min(max(2 * row, FIRST_ROWS), cfg.max_topics + cfg.max_candidates),
                   row + 1)
        state.sums = _with_rows(state.sums, size)
        state.centroids = _with_rows(state.centroids, size)
    return row


def _with_rows(matrix: np.ndarray, rows: int) -> np.ndarray:
    """A copy of ``matrix`` with zero rows appended up to ``rows``."""
    grown = np.zeros((rows, matrix.shape[1]), matrix.dtype)
    grown[:len(matrix)] = matrix
    return grown


def _weakness(t: _Topic) -> tuple[float, float, str]:
    """Eviction order: lowest weight first, then least recently seen, then id."""
    return (t.weight, t.last_window, t.id)


def _drop(state: BrandTopics, topic: _Topic) -> None:
    """Remove a topic, keeping rows compact: the last row moves into the hole."""
    i = next(k for k, t in enumerate(state.rows) if t is topic)
    last = len(state.rows) - 1
    if i != last:
        state.rows[i] = state.rows[last]
        state.sums[i] = state.sums[last]
        state.centroids[i] = state.centroids[last]
    state.rows.pop()


def _absorb(state: BrandTopics, row: int, item: TopicInput, unit: np.ndarray,
            cfg: TopicConfig) -> None:
    t = state.rows[row]
    state.sums[row] += unit * item.count
    _renormalise(state, row)
    t.weight += item.count
    t.size += item.count
    t.texts += 1
    t.sentiment_sum += item.sentiment * item.count
    if item.sentiment <= NEGATIVE_BELOW:
        t.negatives += item.count
    for w in dict.fromkeys(content_terms(item.text)):
        t.terms[w] = t.terms.get(w, 0) + item.count
        state.brand_terms[w] = state.brand_terms.get(w, 0) + item.count
    _prune(t.terms, cfg.terms_kept)
    _prune(state.brand_terms, cfg.brand_terms_kept)
    state.example_of[item.text] = t.id
    new = (item.count, item.text, item.example, unit.astype(np.float16).tobytes())
    _keep_examples(t, [new], state.centroids[row], cfg.examples)
    _forget_examples(state, cfg)


def _renormalise(state: BrandTopics, row: int) -> None:
    norm = float(np.linalg.norm(state.sums[row]))
    if norm > 0:
        state.centroids[row] = state.sums[row] / norm


def _prune(counts: dict[str, int], keep: int) -> None:
    """Bound a term counter: past twice ``keep`` entries, keep the ``keep`` largest (ties
    by term, for determinism). Amortised O(1) per add; rare terms are forgotten, which
    is what an explanation can afford."""
    if len(counts) > 2 * keep:
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:keep]
        counts.clear()
        counts.update(top)


def _keep_examples(t: _Topic, new: list[tuple[int, str, Example, bytes]],
                   centroid: np.ndarray, keep: int) -> None:
    """Keep the candidate examples closest to the topic's centroid now, one per distinct
    text (copies summed). Closeness, not copies, comes first: a much-retweeted text that
    joined at the edge of a topic says less about it than one at its centre, and showing
    it made examples look unrelated to the topic's terms."""
    pool = {e[1]: e for e in t.examples}
    for e in new:
        old = pool.get(e[1])
        pool[e[1]] = e if old is None else (old[0] + e[0], old[1], old[2], old[3])
    t.examples = _ranked(list(pool.values()), centroid)[:EXAMPLE_POOL * keep]


def _ranked(pool: list[tuple[int, str, Example, bytes]], centroid: np.ndarray
            ) -> list[tuple[int, str, Example, bytes]]:
    if not pool:
        return pool
    sims = _units(pool) @ centroid
    order = sorted(range(len(pool)), key=lambda i: (-round(float(sims[i]), 4), -pool[i][0],
                                                   pool[i][2].id))
    return [pool[i] for i in order]


def _forget_examples(state: BrandTopics, cfg: TopicConfig) -> None:
    """Bound ``example_of``: past four times what the pools can hold, keep the texts that
    are still some topic's candidate examples."""
    if len(state.example_of) > 4 * EXAMPLE_POOL * cfg.examples * (cfg.max_topics
                                                                  + cfg.max_candidates):
        live = {e[1] for t in state.rows for e in t.examples}
        state.example_of = {k: v for k, v in state.example_of.items() if k in live}


# -- end of window: series, merges, promotion, bounds, signals ---------------------------

def _alpha(cfg: TopicConfig) -> float:
    return 1.0 - 0.5 ** (1.0 / cfg.half_life_windows)


def _expected(rate: float, windows: float, cfg: TopicConfig) -> float:
    """The exponentially weighted mean count per window over ``windows`` windows of
    history, corrected for starting at zero (as Adam corrects its moments); no history
    expects nothing."""
    if windows <= 0:
        return 0.0
    return rate / (1.0 - (1.0 - _alpha(cfg)) ** windows)


def _growth(count: float, expected: float) -> float:
    """Smoothed ratio, so that 2 mentions against 0 expected is not infinite growth."""
    return (count + 1.0) / (expected + 1.0)


def _close_window(state: BrandTopics, window_start: float, counts: dict[str, int],
                  total: int, cfg: TopicConfig) -> set[str]:
    alpha = _alpha(cfg)
    for t in state.rows:
        n = counts.get(t.id, 0)
        if n:
            if t.series and t.series[-1][0] == window_start:
                t.series[-1] = (window_start, t.series[-1][1] + n)
            else:
                t.series.append((window_start, n))
            t.last_expected = _expected(t.rate, (window_start - t.created) / cfg.window_s, cfg)
            t.last_growth = _growth(n, t.last_expected)
            t.last_count = n
            t.last_window = window_start
        t.rate = (1 - alpha) * t.rate + alpha * n
    assert state.first_window is not None
    state.brand_expected = _expected(state.brand_rate,
                                     (window_start - state.first_window) / cfg.window_s, cfg)
    state.brand_rate = (1 - alpha) * state.brand_rate + alpha * total
    return set(counts)


def _merge(state: BrandTopics, brand: str, window_start: float, counts: dict[str, int],
           cfg: TopicConfig, out: TopicUpdate) -> set[str]:
    """Merge topics whose centroids converged, most similar pair first; the window's
    counts follow the survivor. Decay does not turn a centroid, so only the topics that
    moved in this window (and the survivors of merges) can have come closer to another:
    only their rows are compared with the others."""
    changed: set[str] = set()
    moved = set(counts)
    while moved and len(state.rows) > 1:
        n = len(state.rows)
        rows = [k for k, t in enumerate(state.rows) if t.id in moved]
        sims = state.centroids[rows] @ state.centroids[:n].T
        sims[np.arange(len(rows)), rows] = -2.0
        a, j = divmod(int(np.argmax(sims)), n)
        if sims[a, j] < cfg.merge_similarity:
            break
        i = rows[a]
        keep, gone = state.rows[i], state.rows[j]
        if _seniority(gone) < _seniority(keep):
            keep, gone, i, j = gone, keep, j, i
        out.merged.append((gone.id, keep.id))
        if gone.active:
            out.topics.append({**record(state, gone, brand, window_start, cfg),
                               "state": "merged", "merged_into": keep.id})
        state.sums[i] += state.sums[j]
        merged = state.sums[i] / max(float(np.linalg.norm(state.sums[i])), 1e-12)
        _combine(state, keep, gone, merged, cfg)
        _drop(state, gone)
        _renormalise(state, next(k for k, t in enumerate(state.rows) if t is keep))
        if gone.id in counts:
            counts[keep.id] = counts.get(keep.id, 0) + counts.pop(gone.id)
        moved.discard(gone.id)
        moved.add(keep.id)
        changed.add(keep.id)
    return changed


def _seniority(t: _Topic) -> tuple[bool, int, float, str]:
    """The survivor of a merge: a published topic, then the larger, older, lower id."""
    return (not t.active, -t.size, t.created, t.id)


def _combine(state: BrandTopics, keep: _Topic, gone: _Topic, centroid: np.ndarray,
             cfg: TopicConfig) -> None:
    keep.weight += gone.weight
    keep.size += gone.size
    keep.texts += gone.texts
    keep.sentiment_sum += gone.sentiment_sum
    keep.negatives += gone.negatives
    keep.rate += gone.rate
    for w, n in gone.terms.items():
        keep.terms[w] = keep.terms.get(w, 0) + n
    _prune(keep.terms, cfg.terms_kept)
    series: dict[float, int] = dict(keep.series)
    for w, n in gone.series:
        series[w] = series.get(w, 0) + n
    keep.series = deque(sorted(series.items()), maxlen=cfg.series_windows)
    if gone.last_window == keep.last_window:
        keep.last_count += gone.last_count
        keep.last_expected += gone.last_expected
        keep.last_growth = _growth(keep.last_count, keep.last_expected)
    elif gone.last_window > keep.last_window:
        keep.last_window, keep.last_count = gone.last_window, gone.last_count
        keep.last_expected, keep.last_growth = gone.last_expected, gone.last_growth
    keep.created = min(keep.created, gone.created)
    keep.announced = keep.announced or gone.announced
    for e in gone.examples:
        if state.example_of.get(e[1]) == gone.id:
            state.example_of[e[1]] = keep.id
    _keep_examples(keep, gone.examples, centroid, cfg.examples)


def _promote_and_bound(state: BrandTopics, brand: str, window_start: float,
                       cfg: TopicConfig, out: TopicUpdate) -> set[str]:
    """Promote candidates that reached min_size; fade what decayed away; evict the
    weakest published topics beyond max_topics."""
    changed: set[str] = set()
    for t in list(state.rows):
        if not t.active and t.size >= cfg.min_size:
            t.active = True
            changed.add(t.id)
        elif t.weight < cfg.fade_below:
            if t.active:
                out.topics.append({**record(state, t, brand, window_start, cfg),
                                   "state": "faded"})
            _drop(state, t)
    active = sorted((t for t in state.rows if t.active), key=_weakness)
    for t in active[:max(len(active) - cfg.max_topics, 0)]:
        out.topics.append({**record(state, t, brand, window_start, cfg), "state": "faded"})
        _drop(state, t)
    return changed


def _signal(state: BrandTopics, brand: str, window_start: float, counts: dict[str, int],
            total: int, cfg: TopicConfig, out: TopicUpdate) -> None:
    assert state.first_window is not None
    if (window_start - state.first_window) / cfg.window_s < cfg.warmup_windows:
        return
    brand_growth = _growth(total, state.brand_expected)
    for t in state.rows:
        n = counts.get(t.id, 0)
        if not t.active or not n:
            continue
        age = int((window_start - t.created) // cfg.window_s)
        if age < cfg.new_windows:
            if t.size < cfg.new_min_size or t.announced:
                continue
            t.announced = True
            reason: Literal["new", "accelerating"] = "new"
            why = f"{t.size} mentions within {age + 1} window(s) of its first"
        elif (n >= cfg.min_window_count and t.last_growth >= cfg.growth_factor
              and t.last_growth >= cfg.relative_factor * max(brand_growth, 1.0)):
            reason = "accelerating"
            why = (f"{n} mentions against {t.last_expected:.1f} expected "
                   f"({t.last_growth:.1f}x) while {brand} grew {brand_growth:.1f}x")
        else:
            continue
        words = [w for w, _ in top_terms(state, t, cfg.top_terms)]
        figures = {"window_count": n, "expected": round(t.last_expected, 3),
                   "growth": round(t.last_growth, 3), "size": t.size, "age_windows": age,
                   "brand_count": total, "brand_expected": round(state.brand_expected, 3),
                   "brand_growth": round(brand_growth, 3), "terms": words}
        out.signals.append(TopicSignal(t.id, brand, window_start, reason,
                                       f"{reason} topic ({', '.join(words[:4])}): {why}",
                                       figures))


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
        "mean_sentiment": round(t.sentiment_sum / t.size, 4) if t.size else 0.0,
        "negative_share": round(t.negatives / t.size, 4) if t.size else 0.0,
        "first_window": t.created,
        "last_window": t.last_window,
        "updated_window": window_start,
        "window_s": cfg.window_s,
        "examples": _examples(state, t, cfg.examples),
        "series": [[w, n] for w, n in t.series],
    }


def _examples(state: BrandTopics, t: _Topic, keep: int) -> list[dict[str, Any]]:
    """The topic's examples: its candidate texts that did not join another topic later,
    closest to its centroid first, with that cosine as ``similarity``."""
    row = next(k for k, r in enumerate(state.rows) if r is t)
    centroid = state.centroids[row]
    own = [e for e in t.examples if state.example_of.get(e[1]) == t.id]
    shown = _ranked(own, centroid)[:keep]
    return [{"id": e.id, "ts": e.ts, "text": e.text, "handle": e.handle,
             "followers": e.followers, "sentiment": e.sentiment, "copies": copies,
             "similarity": round(float(sim), 4)}
            for (copies, _, e, _), sim in zip(shown, _units(shown) @ centroid, strict=True)]


def _units(pool: list[tuple[int, str, Example, bytes]]) -> np.ndarray:
    return np.frombuffer(b"".join(e[3] for e in pool), np.float16).reshape(len(pool), -1)
