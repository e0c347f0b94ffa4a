"""The end of a topic window: each topic's series and expected count, merges of the
topics whose centroids converged, promotion of candidates, fading and the bound on
published topics, and the emerging-topic signals (see ``detectors/topics.py``)."""

from __future__ import annotations

from collections import deque
from typing import Literal

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from crisiswatch.detectors.topic_authors import add_authors
from crisiswatch.detectors.topics import (
    BrandTopics,
    TopicConfig,
    TopicSignal,
    TopicUpdate,
    _Topic,
    drop,
    keep_examples,
    prune,
    record,
    renormalise,
    top_terms,
    weakness,
)


def _alpha(cfg: TopicConfig) -> float:
    return 1.0 - 0.5 ** (1.0 / cfg.half_life_windows)


def _expected(rate: float, windows: float, cfg: TopicConfig) -> float:
    """The exponentially weighted mean count per window over ``windows`` windows of
    history, corrected for starting at zero (as Adam corrects its moments); no history
    expects nothing."""
    if windows <= 0:
        return 0.0
    return rate / (1.0 - (1.0 - _alpha(cfg)) ** windows)


def growth(count: float, expected: float) -> float:
    """Smoothed ratio, so that 2 mentions against 0 expected is not infinite growth."""
    return (count + 1.0) / (expected + 1.0)


def close_window(state: BrandTopics, window_start: float, counts: dict[str, int],
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
            t.last_growth = growth(n, t.last_expected)
            t.last_count = n
            t.last_window = window_start
        t.rate = (1 - alpha) * t.rate + alpha * n
    assert state.first_window is not None
    state.brand_expected = _expected(state.brand_rate,
                                     (window_start - state.first_window) / cfg.window_s, cfg)
    state.brand_rate = (1 - alpha) * state.brand_rate + alpha * total
    return set(counts)


def merge(state: BrandTopics, brand: str, window_start: float, counts: dict[str, int],
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
        keep, gone = _fold(state, brand, window_start, state.rows[rows[a]], state.rows[j],
                           counts, cfg, out)
        moved.discard(gone)
        moved.add(keep)
        changed.add(keep)
    return changed


def consolidate(state: BrandTopics, brand: str, window_start: float,
                counts: dict[str, int], cfg: TopicConfig, out: TopicUpdate) -> set[str]:
    """Every ``consolidate_windows`` windows, merge the fragments of one complaint.

    The online pass joins a text to one topic at a time and merges one pair at a time,
    so one complaint worded several ways stays several topics. Here the brand's
    published topics are clustered as a whole (average linkage on their centroids'
    cosine distances, cut at ``consolidate_distance``; at most ``max_topics`` rows, so
    it costs little), and each group folds into its senior member, whose id stays: a
    topic keeps its id while it grows, and the others are published as merged into it.
    It runs at the windows whose index is a multiple of ``consolidate_windows`` in which
    the brand has mentions (a brand is called for those only).
    """
    if not cfg.consolidate_windows or int(window_start // cfg.window_s) % \
            cfg.consolidate_windows:
        return set()
    active = [t for t in state.rows if t.active]
    if len(active) < 2:
        return set()
    rows = [next(k for k, r in enumerate(state.rows) if r is t) for t in active]
    groups = fcluster(linkage(state.centroids[rows].astype(np.float64), method="average",
                              metric="cosine"), cfg.consolidate_distance, "distance")
    members: dict[int, list[_Topic]] = {}
    for t, g in zip(active, groups, strict=True):
        members.setdefault(int(g), []).append(t)
    changed: set[str] = set()
    for group in members.values():
        keep, *rest = sorted(group, key=_seniority)
        for gone in rest:
            _fold(state, brand, window_start, keep, gone, counts, cfg, out)
        if rest:
            changed.add(keep.id)
    return changed


def _fold(state: BrandTopics, brand: str, window_start: float, a: _Topic, b: _Topic,
          counts: dict[str, int], cfg: TopicConfig, out: TopicUpdate) -> tuple[str, str]:
    """Merge two topics into the senior; the window's counts follow it. Returns the
    (survivor, absorbed) ids."""
    keep, gone = (b, a) if _seniority(b) < _seniority(a) else (a, b)
    i, j = (next(k for k, t in enumerate(state.rows) if t is x) for x in (keep, gone))
    out.merged.append((gone.id, keep.id))
    if gone.active:
        out.topics.append({**record(state, gone, brand, window_start, cfg),
                           "state": "merged", "merged_into": keep.id})
    state.sums[i] += state.sums[j]
    merged = state.sums[i] / max(float(np.linalg.norm(state.sums[i])), 1e-12)
    _combine(state, keep, gone, merged, cfg)
    drop(state, gone)
    renormalise(state, next(k for k, t in enumerate(state.rows) if t is keep))
    if gone.id in counts:
        counts[keep.id] = counts.get(keep.id, 0) + counts.pop(gone.id)
    return keep.id, gone.id


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
    prune(keep.terms, cfg.terms_kept)
    add_authors(keep.authors, gone.authors)
    series: dict[float, int] = dict(keep.series)
    for w, n in gone.series:
        series[w] = series.get(w, 0) + n
    keep.series = deque(sorted(series.items()), maxlen=cfg.series_windows)
    if gone.last_window == keep.last_window:
        keep.last_count += gone.last_count
        keep.last_expected += gone.last_expected
        keep.last_growth = growth(keep.last_count, keep.last_expected)
    elif gone.last_window > keep.last_window:
        keep.last_window, keep.last_count = gone.last_window, gone.last_count
        keep.last_expected, keep.last_growth = gone.last_expected, gone.last_growth
    keep.created = min(keep.created, gone.created)
    keep.announced = keep.announced or gone.announced
    for e in gone.examples:
        if state.example_of.get(e[1]) == gone.id:
            state.example_of[e[1]] = keep.id
    keep_examples(keep, gone.examples, centroid, cfg.examples)


def promote_and_bound(state: BrandTopics, brand: str, window_start: float,
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
            drop(state, t)
    active = sorted((t for t in state.rows if t.active), key=weakness)
    for t in active[:max(len(active) - cfg.max_topics, 0)]:
        out.topics.append({**record(state, t, brand, window_start, cfg), "state": "faded"})
        drop(state, t)
    return changed


def signal(state: BrandTopics, brand: str, window_start: float, counts: dict[str, int],
            total: int, cfg: TopicConfig, out: TopicUpdate) -> None:
    assert state.first_window is not None
    if (window_start - state.first_window) / cfg.window_s < cfg.warmup_windows:
        return
    brand_growth = growth(total, state.brand_expected)
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
