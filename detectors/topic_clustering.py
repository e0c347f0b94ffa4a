"""Online topic clustering, one closed window of one brand at a time: ``update`` folds
the window's distinct texts into the brand's topics (``detectors/topics.py`` holds the
state and what a topic looks like; ``detectors/topic_windows.py`` ends the window)."""

from __future__ import annotations

from collections import deque

import numpy as np

from crisiswatch.detectors.text import terms as content_terms
from crisiswatch.detectors.topic_authors import add_authors
from crisiswatch.detectors.topic_windows import (
    close_window,
    consolidate,
    merge,
    promote_and_bound,
    signal,
)
from crisiswatch.detectors.topics import (
    EXAMPLE_POOL,
    FIRST_ROWS,
    NEGATIVE_BELOW,
    BrandTopics,
    TopicConfig,
    TopicInput,
    TopicUpdate,
    _Topic,
    drop,
    keep_examples,
    prune,
    record,
    renormalise,
    topic_id,
    weakness,
)


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
    changed = close_window(state, window_start, counts, total, cfg)
    changed |= merge(state, brand, window_start, counts, cfg, out)
    changed |= promote_and_bound(state, brand, window_start, cfg, out)
    changed |= consolidate(state, brand, window_start, counts, cfg, out)
    signal(state, brand, window_start, counts, total, cfg, out)
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
        drop(state, min(candidates, key=weakness))
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


def _absorb(state: BrandTopics, row: int, item: TopicInput, unit: np.ndarray,
            cfg: TopicConfig) -> None:
    t = state.rows[row]
    state.sums[row] += unit * item.count
    renormalise(state, row)
    t.weight += item.count
    t.size += item.count
    t.texts += 1
    t.sentiment_sum += item.sentiment * item.count
    if item.sentiment <= NEGATIVE_BELOW:
        t.negatives += item.count
    add_authors(t.authors, sorted(item.authors))
    for w in dict.fromkeys(content_terms(item.text)):
        t.terms[w] = t.terms.get(w, 0) + item.count
        state.brand_terms[w] = state.brand_terms.get(w, 0) + item.count
    prune(t.terms, cfg.terms_kept)
    prune(state.brand_terms, cfg.brand_terms_kept)
    state.example_of[item.text] = t.id
    new = (item.count, item.text, item.example, unit.astype(np.float16).tobytes())
    keep_examples(t, [new], state.centroids[row], cfg.examples)
    _forget_examples(state, cfg)


def _forget_examples(state: BrandTopics, cfg: TopicConfig) -> None:
    """Bound ``example_of``: past four times what the pools can hold, keep the texts that
    are still some topic's candidate examples."""
    if len(state.example_of) > 4 * EXAMPLE_POOL * cfg.examples * (cfg.max_topics
                                                                  + cfg.max_candidates):
        live = {e[1] for t in state.rows for e in t.examples}
        state.example_of = {k: v for k, v in state.example_of.items() if k in live}
