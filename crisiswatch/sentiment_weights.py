"""Where the sentiment model's weights come from and where they go.

The model itself (``detectors.sentiment_model``) does no I/O; this module reads labelled
files, trains, and loads and saves weight files (``.npz``).

The prior that ships in ``crisiswatch/assets/sentiment_prior.npz`` was trained only on
data whose licence allows shipping it:
- VADER's human-rated tweets (``tweets_GroundTruth.txt``, MIT): 4,200 tweets, each the
  mean of ten ratings on -4..+4. A mean that rounds to 0 (|mean| < 0.5) is what the
  raters called neutral on their own scale, so that is the neutral band;
- ``crisiswatch/assets/sentiment_seed.jsonl``: 80 brand mentions written for this
  project (complaints, sarcastic ones included, questions and praise across telecoms,
  banks, shops and travel), because general tweets teach nothing about complaints.

Rebuild it with (``crisiswatch eval --sentiment`` checks that this gives the shipped
weights)::

    crisiswatch train-sentiment ../shared/data/vader/tweets_GroundTruth.txt \\
        --rebuild-prior --output crisiswatch/assets/sentiment_prior.npz

The airline sample is non-commercial (CC BY-NC-SA): it evaluates the model
(``crisiswatch eval --sentiment``) and never goes into shipped weights.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import orjson

from detectors.sentiment_model import LABELS, SentimentModel

ASSETS = Path(__file__).resolve().parent / "assets"
PRIOR_PATH = ASSETS / "sentiment_prior.npz"
SEED_PATH = ASSETS / "sentiment_seed.jsonl"
PRIOR_EPOCHS = 8  # passes over the prior's examples (shuffled, seed 0)
# The 80 seed examples count ten times: at one, 4,200 general tweets drown what they
# teach about complaints ("thanks for nothing, lost my bag again" stays positive).
SEED_REPEAT = 10
VADER_NEUTRAL_BAND = 0.5  # |mean rating| below this rounds to 0, the raters' "neutral"
FORMATS = ("auto", "vader", "jsonl")

Example = tuple[str, str]


class LabelledFileError(ValueError):
    """A labelled file that cannot be read, with the line and the reason."""


def load(path: Path | None = None) -> SentimentModel:
    """The model saved at ``path``; the shipped prior when ``path`` is None."""
    path = path or PRIOR_PATH
    try:
        with np.load(path) as arrays:
            return SentimentModel.from_arrays(dict(arrays))
    except FileNotFoundError:
        raise FileNotFoundError(f"no sentiment weights at {path}") from None


def save(model: SentimentModel, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        np.savez_compressed(f, **model.to_arrays())


def vader_label(mean_rating: float) -> str:
    if mean_rating <= -VADER_NEUTRAL_BAND:
        return "negative"
    if mean_rating >= VADER_NEUTRAL_BAND:
        return "positive"
    return "neutral"


def read_labelled(path: Path, fmt: str = "auto") -> list[Example]:
    """(text, label) pairs from VADER's rated-tweet TSV (id, mean rating, text) or from
    JSON lines with ``text`` and ``label`` (negative, neutral or positive)."""
    if fmt not in FORMATS:
        raise LabelledFileError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "auto":
        fmt = "jsonl" if path.suffix in (".jsonl", ".json", ".ndjson") else "vader"
    if not path.is_file():
        raise LabelledFileError(f"no such file: {path}")
    with path.open(encoding="utf-8", errors="replace") as f:
        lines = [line.rstrip("\r\n") for line in f]
    parse = _vader_line if fmt == "vader" else _jsonl_line
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append(parse(line))
        except (ValueError, KeyError, TypeError) as e:
            raise LabelledFileError(f"{path}:{n}: {e}") from None
    if not out:
        raise LabelledFileError(f"{path}: no labelled examples")
    return out


def _vader_line(line: str) -> Example:
    parts = line.split("\t", 2)
    if len(parts) != 3:
        raise ValueError("expected 3 tab-separated fields: id, mean rating, text "
                         "(use --format jsonl for JSON lines)")
    return parts[2], vader_label(float(parts[1]))


def _jsonl_line(line: str) -> Example:
    row = orjson.loads(line)
    text, label = row["text"], row["label"]
    if not isinstance(text, str) or label not in LABELS:
        raise ValueError(f"'text' must be a string and 'label' one of {', '.join(LABELS)}")
    return text, label


def train(model: SentimentModel, examples: Iterable[Example], epochs: int = 1,
          seed: int = 0, steps: int = 1,
          progress: Callable[[int], None] | None = None) -> SentimentModel:
    """Learn the examples online, ``epochs`` passes; every pass after the first (and the
    first too, with ``epochs`` > 1) in a shuffled order that ``seed`` fixes, so a rebuild
    gives the same weights."""
    examples = list(examples)
    rng = random.Random(seed)
    chunk = 512  # features are computed a chunk at a time, learning stays one by one
    for _ in range(epochs):
        order = examples if epochs == 1 else rng.sample(examples, len(examples))
        for start in range(0, len(order), chunk):
            part = order[start:start + chunk]
            model.learn_batch([t for t, _ in part], [label for _, label in part], steps)
            if progress:
                progress(len(part))
    return model

def _prior_examples(vader_file: Path) -> list[Example]:
    return read_labelled(vader_file, "vader") + SEED_REPEAT * read_labelled(SEED_PATH, "jsonl")


def prior_size(vader_file: Path) -> int:
    """How many learning steps ``build_prior`` takes (for a progress bar)."""
    return PRIOR_EPOCHS * len(_prior_examples(vader_file))


def build_prior(vader_file: Path, progress: Callable[[int], None] | None = None
                ) -> SentimentModel:
    """The shipped prior's recipe: a fresh model, ``PRIOR_EPOCHS`` shuffled passes over
    VADER's rated tweets and ``SEED_REPEAT`` copies of the seed examples."""
    return train(SentimentModel(), _prior_examples(vader_file), PRIOR_EPOCHS, progress=progress)
