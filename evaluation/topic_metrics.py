"""The measures of ``crisiswatch eval --topics``: agreement with labels that fragmenting
cannot win, coverage, how many topics a team would read, and the k-means reference.

NMI over every text rewards fragments (a text alone in its cluster is perfectly pure),
and an online clustering leaves every candidate that never grew as a cluster of its own:
issue 13 met its NMI floor with 3,279 clusters for 7,914 texts. Here every text outside
a published topic is counted in ONE "no topic" cluster, and agreement is AMI (adjusted
for chance), so a clustering scores only by putting texts with the same label together
in topics that a person would see.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from river import metrics

from crisiswatch.evaluation.labelled_texts import Complaint

NO_TOPIC = "\x00no topic"  # the one cluster of every text outside a topic
WEEK_S = 7 * 86400


def nmi(labels: list[Any], clusters: list[Any]) -> float:
    """Normalised mutual information, arithmetic mean of the entropies (scikit-learn's
    default): river's streaming metric, fed the pairs in order."""
    return _river(metrics.NormalizedMutualInfo(), labels, clusters)


def ami(labels: list[Any], clusters: list[Any]) -> float:
    """Adjusted mutual information (river's): NMI less what chance agreement with that
    many clusters would give, so that many small clusters earn nothing by being many."""
    return _river(metrics.AdjustedMutualInfo(), labels, clusters)


def _river(metric: Any, labels: list[Any], clusters: list[Any]) -> float:
    for label, cluster in zip(labels, clusters, strict=True):
        metric.update(label, cluster)
    return float(metric.get())


def purity(labels: list[Any], clusters: list[Any]) -> float:
    """Share of items whose cluster's most common label is their own."""
    by_cluster: dict[Any, Counter[Any]] = defaultdict(Counter)
    for a, b in zip(labels, clusters, strict=True):
        by_cluster[b][a] += 1
    return sum(c.most_common(1)[0][1] for c in by_cluster.values()) / len(labels)


def topic_figures(rows: Sequence[Complaint], clusters: Sequence[Any], topics: set[Any]
                  ) -> dict[str, Any]:
    """What a clustering gives a team: AMI with every text outside ``topics`` in one
    "no topic" cluster, the share of texts in topics, the topics, and the topics with
    texts in each brand's week (weeks counted from the first text of the file)."""
    labels = [r.reason for r in rows]
    shown = [c if c in topics else NO_TOPIC for c in clusters]
    inside = [i for i, c in enumerate(clusters) if c in topics]
    t0 = min(r.ts for r in rows)
    per_week: dict[tuple[str, int], set[Any]] = defaultdict(set)
    for r, c in zip(rows, clusters, strict=True):
        week = per_week[r.brand, int((r.ts - t0) // WEEK_S)]
        if c in topics:
            week.add(c)
    counts = [len(found) for found in per_week.values()]
    by_brand: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_brand[r.brand].append(i)
    return {
        "ami": round(ami(labels, shown), 4),
        # within each brand, weighted by its texts: per-brand topics are never shared
        # across brands, which over all texts splits every label as many times as there
        # are brands; k-means over all texts is not split so
        "ami_brand": round(sum(len(idx) * ami([labels[i] for i in idx], [shown[i] for i in idx])
                               for idx in by_brand.values()) / len(rows), 4),
        "coverage": round(len(inside) / len(rows), 4),
        "topics": len({clusters[i] for i in inside}),
        "per_brand_week_max": max(counts),
        "per_brand_week_median": statistics.median(counts),
        # the texts in topics only, and every cluster as its own (the earlier measures)
        "ami_inside": round(ami([labels[i] for i in inside], [clusters[i] for i in inside]),
                            4) if inside else 0.0,
        "ami_fragments": round(ami(labels, list(clusters)), 4),
        "clusters": len(set(clusters)),
    }


def kmeans(x: np.ndarray, k: int, seed: int = 0, n_init: int = 4, iters: int = 100
           ) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding, best of ``n_init`` by inertia."""
    rng = np.random.default_rng(seed)
    best, best_inertia = np.zeros(len(x), np.int64), np.inf
    sq = (x * x).sum(axis=1)

    def dist_to(c: np.ndarray) -> np.ndarray:
        return np.maximum(sq[:, None] - 2 * x @ c.T + (c * c).sum(axis=1), 0)

    for _ in range(n_init):
        chosen = [int(rng.integers(len(x)))]
        closest = dist_to(x[chosen])[:, 0]
        for _ in range(1, k):
            chosen.append(int(rng.choice(len(x), p=closest / closest.sum())))
            closest = np.minimum(closest, dist_to(x[chosen[-1:]])[:, 0])
        centres = x[chosen]
        for _ in range(iters):
            assign = dist_to(centres).argmin(axis=1)
            new = np.array([x[assign == j].mean(axis=0) if (assign == j).any() else centres[j]
                            for j in range(k)])
            if np.allclose(new, centres):
                break
            centres = new
        inertia = float(dist_to(centres)[np.arange(len(x)), assign].sum())
        if inertia < best_inertia:
            best, best_inertia = assign, inertia
    return best


