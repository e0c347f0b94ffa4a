"""``crisiswatch eval --topics``: do the topics find the complaint reasons people labelled?

The airline sample labels each negative tweet with a ``negativereason`` (late flight,
lost luggage, customer service, ...). The negative tweets ("Can't Tell" left out) are
replayed in event-time order through the online clustering, in 5-minute windows with
copies collapsed as the flow does, and each tweet's final topic (merges followed) is
compared with its reason by NMI and purity.

Each airline is replayed as its own brand, because that is how the flow clusters: its
topics are per brand (``BrandTopics``), and a complaint about one airline never joins
another's topic. The same texts run as one stream of one brand are reported beside it,
as the earlier measure (it mixes six brands' backgrounds into one). Offline k-means on
the same embeddings, over all texts at once (k = the number of reasons, and k = as many
clusters as the online run published), is the reference: it sees every text and may
iterate, which the stream cannot.

Both backends run in the same call, with their throughput: texts/s of embedding and of
the clustering step, and the size of the model files.
"""

from __future__ import annotations

import csv
import os
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from rich.console import Console
from rich.table import Table
from river import metrics

from crisiswatch import models
from crisiswatch.settings import load_settings
from detectors.embeddings import Embedder
from detectors.text import normalise_text
from detectors.topic_clustering import update
from detectors.topics import BrandTopics, TopicConfig, TopicInput
from detectors.types import Example

LEFT_OUT = "Can't Tell"
ONE_BRAND = "all airlines"  # the brand of the one-stream replay


class Complaint(NamedTuple):
    ts: float
    id: str
    text: str
    reason: str
    brand: str


def load_complaints(airline_csv: Path) -> list[Complaint]:
    """The labelled negative tweets, in time order, each id once (the sample repeats
    some rows); a file without an ``airline`` column is one brand."""
    out: dict[str, Complaint] = {}
    with airline_csv.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            reason = row.get("negativereason") or ""
            if row.get("airline_sentiment") != "negative" or not reason or reason == LEFT_OUT:
                continue
            ts = datetime.strptime(row["tweet_created"], "%Y-%m-%d %H:%M:%S %z").timestamp()
            out.setdefault(row["tweet_id"], Complaint(ts, row["tweet_id"], row["text"], reason,
                                                      row.get("airline") or ONE_BRAND))
    return sorted(out.values())


# -- metrics -----------------------------------------------------------------------------

def nmi(labels: list[Any], clusters: list[Any]) -> float:
    """Normalised mutual information, arithmetic mean of the entropies (scikit-learn's
    default): river's streaming metric, fed the pairs in order."""
    return _river(metrics.NormalizedMutualInfo(), labels, clusters)


def ami(labels: list[Any], clusters: list[Any]) -> float:
    """Adjusted mutual information (river's): NMI less what chance agreement with that
    many clusters would give. NMI over all texts rises as clusters fragment (a text alone
    in its cluster is perfectly pure), and the online run leaves every candidate that never
    grew as a cluster of its own; AMI does not reward that, so it is the fairer comparison
    with k-means' few, whole clusters."""
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


# -- the online run ----------------------------------------------------------------------

def cluster_stream(rows: list[Complaint], vectors: dict[str, np.ndarray], cfg: TopicConfig
                   ) -> tuple[list[str], float, set[str]]:
    """Replay the rows through ``update``, each brand's window by window in its own
    state, as the flow does; returns each row's final cluster (merges followed), the
    seconds spent in ``update`` and the ids of the clusters published as topics."""
    windows: dict[tuple[str, float], list[Complaint]] = defaultdict(list)
    for row in rows:
        windows[row.brand, row.ts // cfg.window_s * cfg.window_s].append(row)
    states: dict[str, BrandTopics] = defaultdict(BrandTopics)
    assigned: dict[tuple[str, str], str] = {}  # (brand, normalised text) -> topic joined
    merged_into: dict[str, str] = {}
    published: set[str] = set()
    spent = 0.0
    for brand, start in sorted(windows, key=lambda key: (key[1], key[0])):
        items: dict[str, TopicInput] = {}
        for row in windows[brand, start]:
            key = normalise_text(row.text)
            old = items.get(key)
            items[key] = (TopicInput(key, old.count + 1, old.sentiment, old.example) if old
                          else TopicInput(key, 1, -0.5,
                                          Example(row.id, row.ts, row.text, None, 0, -0.5)))
        batch = list(items.values())
        vecs = np.stack([vectors[i.text] for i in batch])
        t0 = time.perf_counter()
        out = update(states[brand], brand, start, batch, vecs, cfg)
        spent += time.perf_counter() - t0
        for item, topic in zip(batch, out.assignments, strict=True):
            assigned[brand, item.text] = topic or f"unembedded:{brand}:{item.text}"
        merged_into.update(out.merged)
        published.update(r["id"] for r in out.topics)

    def final(topic: str) -> str:
        while topic in merged_into:
            topic = merged_into[topic]
        return topic

    return ([final(assigned[r.brand, normalise_text(r.text)]) for r in rows], spent,
            {final(t) for t in published})


def _embed_all(embedder: Embedder, texts: list[str]) -> tuple[dict[str, np.ndarray], float]:
    unique = list(dict.fromkeys(texts))
    t0 = time.perf_counter()
    vecs = embedder.embed(unique)
    return dict(zip(unique, vecs, strict=True)), len(unique) / (time.perf_counter() - t0)


def evaluate_backend(name: str, embedder: Embedder, rows: list[Complaint], cfg: TopicConfig
                     ) -> dict[str, Any]:
    reasons = [r.reason for r in rows]
    texts = [normalise_text(r.text) for r in rows]
    vectors, embed_rate = _embed_all(embedder, texts)
    clusters, spent, topics = cluster_stream(rows, vectors, cfg)
    one_stream, _, _ = cluster_stream([r._replace(brand=ONE_BRAND) for r in rows], vectors,
                                      cfg)
    inside = [i for i, c in enumerate(clusters) if c in topics]
    x = np.stack([vectors[t] for t in texts]).astype(np.float64)
    k_ref = len(set(reasons))
    km = list(kmeans(x, k_ref))
    km_topics = list(kmeans(x, max(len(topics), 1)))

    def scores(labels: list[str], found: list[Any]) -> dict[str, float]:
        return {"nmi": round(nmi(labels, found), 4), "ami": round(ami(labels, found), 4),
                "purity": round(purity(labels, found), 4)}

    return {
        "backend": name, "texts": len(rows), "embed_texts_per_s": round(embed_rate, 1),
        "cluster_texts_per_s": round(len(rows) / max(spent, 1e-9), 1),
        "join_similarity": cfg.join_similarity, "brands": len({r.brand for r in rows}),
        # every text in the cluster it ended in; candidates that never grew count as
        # clusters of their own
        "online": {**scores(reasons, clusters), "clusters": len(set(clusters))},
        # only the texts in published topics (size >= min_size)
        "topics": {**scores([reasons[i] for i in inside], [clusters[i] for i in inside]),
                   "topics": len(topics), "coverage": round(len(inside) / len(rows), 4)},
        # all brands' texts as one brand's stream (the earlier measure)
        "one_stream": {**scores(reasons, one_stream), "clusters": len(set(one_stream))},
        "kmeans": {**scores(reasons, km), "k": k_ref},
        "kmeans_topics": {**scores(reasons, km_topics), "k": len(topics)},
    }


def _rss_bytes() -> int:
    """Resident memory of this process (Linux), to show what loading a model costs."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def _model_files(static: Path) -> dict[str, int]:
    sizes = {"static table (.npz)": static.stat().st_size if static.is_file() else 0}
    if models.minilm_installed():
        weights = models.minilm_files()
        sizes["MiniLM files"] = sum(p.stat().st_size for p in weights.rglob("*") if p.is_file())
    return sizes


def run(airline_csv: Path, console: Console) -> dict[str, Any]:
    if not airline_csv.is_file():
        console.print(f"[red]no airline data at {airline_csv}[/] (give --airline PATH)")
        return {}
    settings = load_settings()
    rows = load_complaints(airline_csv)
    console.print(f"{len(rows):,} labelled negative tweets ({LEFT_OUT!r} left out), "
                  f"{len({r.reason for r in rows})} reasons, {len({r.brand for r in rows})} "
                  "brands")
    results: list[dict[str, Any]] = []
    for backend in ("static", "minilm"):
        try:
            rss = _rss_bytes()
            t0 = time.perf_counter()
            embedder = models.embedder(backend, settings.topics.models_dir,
                                       device=settings.topics.device)
            load_s = time.perf_counter() - t0
            rss_added = _rss_bytes() - rss
        except models.ModelUnavailable as e:
            console.print(f"[yellow]{backend}: skipped[/] ({e})")
            continue
        where = f" on {embedder.device}" if isinstance(embedder, models.MiniLMEmbedder) else ""
        console.print(f"{backend}: loaded in {load_s:.2f}s{where}; embedding and clustering ...")
        result = evaluate_backend(backend, embedder, rows, settings.topics.model(
            settings.window_s, backend))
        result["load_seconds"] = round(load_s, 2)
        result["resident_mb_added"] = round(rss_added / 1e6, 1)
        results.append(result)
    _print(console, results, _model_files(models.table_path(settings.topics.models_dir)))
    return {"results": results, "texts": len(rows)}


def _print(console: Console, results: list[dict[str, Any]], files: dict[str, int]) -> None:
    table = Table(title="Topics against the airline complaint reasons",
                  caption="agreement cells: NMI / AMI / purity")
    table.add_column("")
    for r in results:
        table.add_column(r["backend"], justify="right")

    def row(label: str, cell: Any) -> None:
        table.add_row(label, *(cell(r) for r in results))

    def pair(part: str) -> Any:
        return lambda r: f"{r[part]['nmi']:.3f} / {r[part]['ami']:.3f} / {r[part]['purity']:.3f}"

    row("join similarity", lambda r: f"{r['join_similarity']:.2f}")
    row("online per brand, all texts", pair("online"))
    row("  clusters, candidates too", lambda r: f"{r['online']['clusters']:,}")
    row("online per brand, in topics", pair("topics"))
    row("  topics / texts covered", lambda r: f"{r['topics']['topics']} / "
        f"{r['topics']['coverage']:.0%}")
    row("one stream, all brands", pair("one_stream"))
    row("k-means, k = reasons", pair("kmeans"))
    row("k-means, k = topics", pair("kmeans_topics"))
    row("embedding, texts/s", lambda r: f"{r['embed_texts_per_s']:,.0f}")
    row("clustering, texts/s", lambda r: f"{r['cluster_texts_per_s']:,.0f}")
    row("load, s", lambda r: f"{r['load_seconds']:.2f}")
    row("memory added by loading, MB", lambda r: f"{r['resident_mb_added']:,.0f}")
    console.print(table)
    console.print("online: each brand's texts clustered in its own stream, as the flow does; "
                  "all texts: each text in the cluster it ended in (candidates that never "
                  "grew to a topic count as clusters of their own); in topics: only the texts "
                  "of published topics; one stream: every brand's texts as one brand's; "
                  "k-means sees all texts at once (reference). NMI rewards many small "
                  "clusters; AMI (adjusted for chance) does not.")
    for name, size in files.items():
        console.print(f"{name}: {size / 1e6:.1f} MB" if size else f"{name}: not built")
