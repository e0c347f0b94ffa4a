"""Sentiment throughput: the model's ``score_batch`` against VADER, in the same run.

    python -m bench.sentiment [--airline PATH] [--n 10000] [--runs 5] [--batch 1000]

Scores ``n`` airline texts (repeated to reach ``n`` if the file is shorter) with:
VADER's reference implementation, ``FastVader`` (its compound, same numbers), and
``SentimentModel.score_batch`` in batches of ``batch``, once with a cold vocabulary (a
new model every run: every token looked up and hashed anew) and once warm (the steady
state of a long-running flow, where the tokens seen before have their vocabulary
entry). Prints texts/s of each run and the median. A benchmark, not a test: the
machines are shared and noisy, so compare figures taken in the same run.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from crisiswatch.detectors.sentiment_features import Featurizer
from crisiswatch.detectors.sentiment_model import SentimentModel
from crisiswatch.detectors.vader_fast import FastVader
from crisiswatch.models import sentiment_weights

AIRLINE = Path(__file__).resolve().parents[2] / "shared" / "data" / "airline" / "Tweets.csv"


def _texts(path: Path, n: int) -> list[str]:
    with path.open(encoding="utf-8", newline="") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    return (texts * (n // len(texts) + 1))[:n]


def _rate(texts: list[str], fn: Callable[[list[str]], object], runs: int) -> list[float]:
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        fn(texts)
        rates.append(len(texts) / (time.perf_counter() - started))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--airline", type=Path, default=AIRLINE)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    texts = _texts(args.airline, args.n)
    reference = SentimentIntensityAnalyzer()
    fast = FastVader()
    arrays = sentiment_weights.load().to_arrays()
    warm = SentimentModel.from_arrays(arrays)
    lexicon = warm.featurizer.lexicon

    def batched(model: SentimentModel) -> Callable[[list[str]], None]:
        def run(ts: list[str]) -> None:
            for start in range(0, len(ts), args.batch):
                model.score_batch(ts[start:start + args.batch])
        return run

    def cold(ts: list[str]) -> None:
        batched(SentimentModel.from_arrays(arrays, Featurizer(warm.n_buckets, lexicon)))(ts)

    cases = {
        "VADER (vaderSentiment 3.3.2)": lambda ts: [reference.polarity_scores(t) for t in ts],
        "FastVader.compound_batch": fast.compound_batch,
        "SentimentModel.score_batch, cold cache": cold,
        "SentimentModel.score_batch, warm cache": batched(warm),
    }
    batched(warm)(texts)  # warm the memoised n-grams
    print(f"{len(texts):,} airline texts, {args.runs} runs, batches of {args.batch}")
    for name, fn in cases.items():
        rates = _rate(texts, fn, args.runs)
        median = statistics.median(rates)
        print(f"{name:42s} median {median:>9,.0f} texts/s ({1e6 / median:5.1f} µs/text); "
              f"runs: {', '.join(f'{r:,.0f}' for r in rates)}")


if __name__ == "__main__":
    main()
