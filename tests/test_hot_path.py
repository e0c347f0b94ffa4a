"""The speed-ups of the hot path give the answers of the plain code they replaced.

Each fast piece is checked against a slow reference written here: the top-k counters
against exact counts (the bounds they promise), the watchlist's needle filter against
its bare expression, the per-text enrichment cache against computing every text afresh.
The
golden replays (``test_golden_replays.py``) check the whole flow the same way.
"""

from __future__ import annotations

import pickle
import random
from collections import Counter

from crisiswatch.config.runtime import detector_config
from crisiswatch.config.settings import load_settings
from crisiswatch.detectors.text import normalise_text
from crisiswatch.detectors.topk import SLACK, TopK
from crisiswatch.detectors.types import Mention
from crisiswatch.detectors.watchlist import Watchlist, WatchTerm
from crisiswatch.flows.enrich import Enricher
from crisiswatch.flows.sentiment import FlowSentiment
from crisiswatch.models.sentiment_weights import load
from crisiswatch.store import Store


def _assert_bounds(top: TopK, true: Counter[str]) -> None:
    """What the counters promise, against exact counts."""
    for item, n in true.items():
        if item in top.counts:
            assert top.counts[item] - top.errors.get(item, 0) <= n <= top.counts[item], item
        else:
            assert n <= top.floor, item
    assert len(top) <= SLACK * top.capacity


def test_topk_bounds_every_count_and_is_exact_until_it_fills() -> None:
    rng = random.Random(4)
    for trial in range(200):
        capacity = rng.choice([1, 2, 5, 64])
        vocabulary = rng.choice([4, 60, 2000])
        top, true = TopK(capacity), Counter[str]()
        for step in range(rng.choice([50, 1500])):
            batch = [f"w{int(rng.paretovariate(1.0)) % vocabulary}" for _ in range(3)]
            if step % 7 == 0:  # weighted adds, as merges make
                top.add(batch[0], 4)
                true[batch[0]] += 4
            top.update(batch)
            true.update(batch)
            if step % 400 == 399:  # a snapshot and a restore in the middle of a window
                top = pickle.loads(pickle.dumps(top))
            _assert_bounds(top, true)
        if len(true) <= SLACK * capacity:  # never compacted: exact
            assert top.counts == dict(true) and not top.errors and top.floor == 0, trial
        top.seal()
        assert len(top) <= capacity
        _assert_bounds(top, true)


def test_topk_merge_bounds_the_counts_of_both_streams() -> None:
    rng = random.Random(7)
    for _ in range(100):
        parts = []
        for _ in range(2):
            top, true = TopK(3), Counter[str]()
            for _ in range(rng.choice([5, 40])):
                item = f"w{int(rng.paretovariate(1.2)) % 30}"
                top.add(item)
                true[item] += 1
            if rng.random() < 0.5:
                top.seal()
            parts.append((top, true))
        (a, true_a), (b, true_b) = parts
        _assert_bounds(a.merge(b), true_a + true_b)


def test_topk_reads_the_snapshots_of_the_space_saving_counters_it_replaced() -> None:
    old = TopK.__new__(TopK)
    old.__setstate__((2, {"outage": 5, "delay": 3}, {"delay": 2}))  # full: 3 bounds the rest
    assert old.floor == 3
    old.add("refund")
    assert old.counts["refund"] == 4 and old.errors["refund"] == 3


def test_the_needle_filter_never_changes_a_watchlist_answer() -> None:
    watchlist = Watchlist(tuple(WatchTerm(t) for t in [
        "outage", "no signal", "network down", "cancel*", "stranded", "lawsuit*",
        "data breach*", "adverse reaction*", "side effect*", "sick", "ski"]))
    assert watchlist._needles is None  # "ski" has no letter without a lookalike
    filtered = Watchlist(watchlist.terms[:-1])
    assert filtered._needles is not None
    texts = [
        "Total OUTAGE in Leeds", "no  signal since monday", "NO\tSIGNAL", "cancelled again",
        "Cancellations!", "uncancelled", "a ſide effect", "SİDE EFFECT", "ſick of it",
        "data breaches everywhere", "DATA  BREACH", "stranded", "strandedness",
        "adverse reactions reported", "lawsuits", "the network is down", "network down",
        "no signals", "outages", "nothing to see", "", "ſtranded at the gate",
        "Out­age (soft hyphen)", "side effects", "K outage", "kelvin: \u212a",
    ]
    bare = filtered._pattern
    assert bare is not None
    for text in texts + [t.upper() for t in texts] + [normalise_text(t) for t in texts]:
        expected = tuple(sorted({filtered._by_key[m.lastgroup].term
                                 for m in bare.finditer(text) if m.lastgroup}))
        assert filtered.match(text) == expected, text


def _mention(i: int, text: str) -> Mention:
    return Mention(id=str(i), ts=float(i), brands=("Acme",), text=text, hashtags=())


def test_enriching_through_the_cache_equals_enriching_each_text_afresh(store: Store) -> None:
    settings = load_settings()
    watchlist = detector_config(settings).watchlist
    rng = random.Random(2)
    pool = [f"@acme {w} {rng.randrange(50)} hours on hold, outage in town {i}"
            for i, w in enumerate(["great", "awful", "fine", "cancelled", "thanks"] * 20)]
    batches = [[_mention(i * 100 + j, rng.choice(pool)) for j in range(rng.choice([1, 2, 40]))]
               for i in range(30)]
    enricher = Enricher(FlowSentiment("complaint", load=load), watchlist, max_texts=25)
    reference = FlowSentiment("complaint", load=load)
    for batch in batches:
        enricher.enrich(batch)
        assert len(enricher.cache) <= 25
        for m in batch:
            polarity, tone = reference.score([m.text, "padding"])
            norm = normalise_text(m.text)
            assert (m.norm_text, m.sentiment, m.tone, m.watch) == (
                norm, polarity[0], tone[0], watchlist.match(norm))


def test_the_cache_is_emptied_when_the_model_learns(store: Store) -> None:
    text = "been on hold two hours, great service"
    enricher = Enricher(FlowSentiment("complaint", store=store, refresh_s=0.0, load=load),
                        Watchlist())
    before = _mention(1, text)
    enricher.enrich([before])
    for _ in range(20):
        store.labels.add("1", "positive", text, "test")  # people say it is praise
    after = _mention(2, text)
    enricher.enrich([after])
    assert after.sentiment > before.sentiment
    assert enricher.cache[text][1] == after.sentiment
