"""Synthetic complaint streams with planted topics, and a small static table to embed
them with, shared by the topic tests."""

from __future__ import annotations

import random

import numpy as np

from crisiswatch.detectors.embeddings import CLS, SEP, UNK, StaticEmbedder, distil_table
from crisiswatch.detectors.topic_authors import author_key
from crisiswatch.detectors.topics import TopicConfig, TopicInput
from crisiswatch.detectors.types import Example

WINDOW = 300.0  # seconds of a topic window in the topic tests

TEMPLATES = (
    "no signal in manchester since this morning",
    "the app login fails with an error every time",
    "i was charged twice for my monthly bill",
    "my parcel arrived damaged and the box was crushed",
    "still waiting for my refund after three weeks",
)
FILLER = ("honestly", "again", "seriously", "today", "guys", "ugh", "why", "really",
          "come", "on", "fix", "this", "please", "now", "so", "annoyed", "terrible", "wow")


def planted(n_per_topic: int = 60, seed: int = 1) -> list[tuple[str, int]]:
    """(text, template index) in a shuffled order: each text is its template with a word
    dropped, two or three filler words inserted and, now and then, a typo'd number."""
    rng = random.Random(seed)
    out = []
    for label, template in enumerate(TEMPLATES):
        for _ in range(n_per_topic):
            words = template.split()
            del words[rng.randrange(len(words))]
            for _ in range(rng.randint(2, 3)):
                words.insert(rng.randrange(len(words) + 1), rng.choice(FILLER))
            if rng.random() < 0.3:
                words.append(str(rng.randint(1, 99)))
            out.append((" ".join(words), label))
    rng.shuffle(out)
    return out


def fixture_vocab(templates: tuple[str, ...] = TEMPLATES) -> list[str]:
    words = sorted({w for t in templates for w in t.split()} | set(FILLER))
    digits = [str(d) for d in range(10)] + [f"##{d}" for d in range(10)]
    return ["[PAD]", UNK, CLS, SEP, *digits, *words]


def fixture_embedder(dims: int = 64, seed: int = 0, templates: tuple[str, ...] = TEMPLATES
                     ) -> StaticEmbedder:
    """A static table over the planted texts' vocabulary, distilled with the project's
    recipe from random "teacher" vectors: no torch needed, and every word is as far from
    every other as chance makes it, so only shared words make texts similar."""
    vocab = fixture_vocab(templates)
    rng = np.random.default_rng(seed)
    teacher = rng.normal(size=(len(vocab), 128)).astype(np.float32)
    real = np.arange(4, len(vocab))
    ranks = np.full(len(vocab), 20_000)  # all words equally rare: equal SIF weights
    table, _ = distil_table(teacher, ranks, dims, rows=real)
    return StaticEmbedder(table, vocab)


def at_angle(degrees: float, count: int) -> tuple[list[TopicInput], np.ndarray]:
    """``count`` copies of one text whose vector lies at this angle in the plane of the
    first two axes: a way to steer centroids into (or out of) merging."""
    theta = np.radians(degrees)
    vec = np.zeros((1, 8), np.float32)
    vec[0, :2] = np.cos(theta), np.sin(theta)
    item = TopicInput(f"text at {degrees}", count, -0.5,
                      Example(f"m{degrees}", 0.0, f"text at {degrees}", None, 0, -0.5))
    return [item], vec


# Angles and copies that make two topics (at 0 and 90 degrees) converge and merge in the
# last step, under MERGE_CFG: the first turns towards 45 degrees, then the second is
# pulled within 0.8 of it.
MERGE_STEPS = ((0, 2), (90, 2), (25, 20), (45, 100), (70, 100))
MERGE_CFG = TopicConfig(join_similarity=0.9, merge_similarity=0.8, half_life_windows=2,
                        centering=0.0, min_size=2)


def items_of(texts: list[str], start: int = 0, sentiment: float = -0.5) -> list[TopicInput]:
    return [TopicInput(t, 1, sentiment, Example(f"m{start + i}", 0.0, t, "someone", 10, sentiment))
            for i, t in enumerate(texts)]


# -- a complaint that grows over days ------------------------------------------------------

SCAM = "got a scam call from someone claiming to be your fraud team asking for my pin"
DAY = 86400.0


def vary(template: str, rng: random.Random) -> str:
    """The template with a word dropped and two or three filler words inserted."""
    words = template.split()
    del words[rng.randrange(len(words))]
    for _ in range(rng.randint(2, 3)):
        words.insert(rng.randrange(len(words) + 1), rng.choice(FILLER))
    return " ".join(words)


def slow_complaint(days_before: float = 1.5, seed: int = 5, over_days: float = 2.0,
                   tone: float = -0.5) -> list[tuple[float, list[TopicInput]]]:
    """(window start, items) for every window: ordinary traffic (the first four planted
    complaints, three posts a window from 200 authors) from the start, and from
    ``days_before`` on, 60 posts of one new complaint (SCAM) from 40 authors spread at
    random over ``over_days`` (two: about one post every 50 minutes, so that no window
    is surprising), each with the sentiment ``tone``."""
    rng = random.Random(seed)
    start = days_before * DAY
    scam_at = sorted(rng.uniform(start, start + over_days * DAY) for _ in range(60))
    scam_authors = [f"victim{i % 40}" for i in range(60)]
    windows: dict[float, list[tuple[str, str]]] = {}
    n_windows = int((start + max(over_days, 1.0) * DAY) // WINDOW) + 1
    for w in range(n_windows):
        windows[w * WINDOW] = [(vary(TEMPLATES[rng.randrange(4)], rng),
                                f"regular{rng.randrange(200)}", -0.5) for _ in range(3)]
    for ts, who in zip(scam_at, scam_authors, strict=True):
        windows[ts // WINDOW * WINDOW].append((vary(SCAM, rng), who, tone))
    return [(w, [TopicInput(text, 1, s, Example(f"{w}:{i}", w, text, who, 10, s),
                            frozenset({author_key(who)}))
                 for i, (text, who, s) in enumerate(posts)])
            for w, posts in sorted(windows.items())]
