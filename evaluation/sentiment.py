"""Brand-held-out sentiment evaluation on the airline labels (``crisiswatch eval
--sentiment``).

The question it answers: how well does the sentiment model read mentions of a brand it
has never seen labels for? For each airline in turn, the shipped prior (trained on
VADER's MIT-licensed rated tweets and the project's own seed examples, never on airline
data) learns online, one label at a time in time order as labels would arrive from
people, from the other five airlines; then it is scored on the held-out airline. VADER
(compound above 0.05 positive, below -0.05 negative, its authors' thresholds) and the
prior alone are scored on the same tweets.

Data quirks handled here: 155 tweet ids occur twice (the row with the more confident
label is kept), and the airline labelled "Delta" is really JetBlue (named so in the
table).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from river import metrics
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from crisiswatch.detectors.sentiment_model import SentimentModel
from crisiswatch.models import sentiment_weights

AIRLINE_NAMES = {"Delta": "Delta (JetBlue)"}
VADER_THRESHOLD = 0.05


@dataclass(frozen=True)
class LabelledTweet:
    id: str
    brand: str
    ts: float
    text: str
    label: str


def airline_tweets(path: Path) -> list[LabelledTweet]:
    """The labelled tweets, one per id, in event-time order."""
    best: dict[str, tuple[float, LabelledTweet]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            confidence = float(row.get("airline_sentiment_confidence") or 0)
            tweet = LabelledTweet(
                id=row["tweet_id"],
                brand=AIRLINE_NAMES.get(row["airline"], row["airline"]),
                ts=datetime.strptime(row["tweet_created"], "%Y-%m-%d %H:%M:%S %z").timestamp(),
                text=row["text"],
                label=row["airline_sentiment"],
            )
            if tweet.id not in best or confidence > best[tweet.id][0]:
                best[tweet.id] = (confidence, tweet)
    return sorted((t for _, t in best.values()), key=lambda t: (t.ts, t.id))


def macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """Mean over the classes of F1 (river's ``MacroF1``: the classes seen in either)."""
    return _river(metrics.MacroF1(), truth, predicted)


def accuracy(truth: Sequence[str], predicted: Sequence[str]) -> float:
    return _river(metrics.Accuracy(), truth, predicted)


def _river(metric: metrics.base.ClassificationMetric, truth: Sequence[str],
           predicted: Sequence[str]) -> float:
    for t, p in zip(truth, predicted, strict=True):
        metric.update(t, p)
    return float(metric.get())


def vader_labels(compounds: Sequence[float]) -> list[str]:
    return ["positive" if c > VADER_THRESHOLD else "negative" if c < -VADER_THRESHOLD
            else "neutral" for c in compounds]


def evaluate(tweets: list[LabelledTweet], prior: SentimentModel,
             progress: Progress | None = None) -> dict[str, Any]:
    """Per held-out brand: n, and accuracy / macro-F1 of VADER, the prior and
    prior + online learning on the other brands; their means over brands, and the same
    figures pooled over all tweets (each predicted while its brand was held out)."""
    analyzer = SentimentIntensityAnalyzer()
    vader = vader_labels([analyzer.polarity_scores(t.text)["compound"] for t in tweets])
    brands = sorted({t.brand for t in tweets})
    task = progress.add_task("brand-held-out", total=len(brands)) if progress else None
    per_brand: dict[str, dict[str, float]] = {}
    pooled: dict[str, list[str]] = {"truth": [], "vader": [], "prior": [], "online": []}
    for brand in brands:
        test = [i for i, t in enumerate(tweets) if t.brand == brand]
        truth = [tweets[i].label for i in test]
        texts = [tweets[i].text for i in test]
        online = prior.copy()
        sentiment_weights.train(online, ((t.text, t.label) for t in tweets if t.brand != brand))
        predictions = {"vader": [vader[i] for i in test],
                       "prior": prior.classify_batch(texts),
                       "online": online.classify_batch(texts)}
        row: dict[str, float] = {"n": len(test)}
        pooled["truth"] += truth
        for name, predicted in predictions.items():
            pooled[name] += predicted
            row[f"{name}_accuracy"] = accuracy(truth, predicted)
            row[f"{name}_macro_f1"] = macro_f1(truth, predicted)
        per_brand[brand] = row
        if progress and task is not None:
            progress.advance(task)
    mean = {key: float(np.mean([r[key] for r in per_brand.values()]))
            for key in next(iter(per_brand.values())) if key != "n"}
    truth = pooled.pop("truth")
    overall = {f"{name}_{metric}": fn(truth, predicted) for name, predicted in pooled.items()
               for metric, fn in (("accuracy", accuracy), ("macro_f1", macro_f1))}
    return {"per_brand": per_brand, "mean": mean, "pooled": overall, "n": len(tweets)}


def by_source(tweets: list[LabelledTweet], vader_file: Path,
              progress: Progress | None = None) -> dict[str, dict[str, float]]:
    """Each of the prior's training sets held out in turn: the prior's recipe without it,
    scored on it (VADER and the prior alone), and after that prior learnt every airline
    label online (is what it learns from one kind of brand mention good for others?)."""
    analyzer = SentimentIntensityAnalyzer()
    files = sentiment_weights.prior_files(vader_file)
    task = progress.add_task("held out by source", total=len(files)) if progress else None
    out: dict[str, dict[str, float]] = {}
    for held in files:
        examples = sentiment_weights.read_labelled(held, "vader")
        texts, truth = [t for t, _ in examples], [label for _, label in examples]
        prior = sentiment_weights.build_prior(
            vader_file, sources=[f for f in files if f != held])
        online = sentiment_weights.train(prior.copy(), ((t.text, t.label) for t in tweets))
        vader = vader_labels([analyzer.polarity_scores(t)["compound"] for t in texts])
        out[held.name] = {"n": len(texts)}
        for name, predicted in (("vader", vader), ("prior", prior.classify_batch(texts)),
                                ("online", online.classify_batch(texts))):
            out[held.name][f"{name}_accuracy"] = accuracy(truth, predicted)
            out[held.name][f"{name}_macro_f1"] = macro_f1(truth, predicted)
        if progress and task is not None:
            progress.advance(task)
    return out


def run(airline_csv: Path, vader_file: Path, console: Console) -> dict[str, Any]:
    """Print the brand-held-out table and return its figures.

    ``vader_file`` (VADER's rated tweets, its other rated sets beside it) rebuilds the
    prior by the documented recipe and checks it against the shipped one, so the
    evaluated weights are known to come from MIT-licensed data only, and holds each of
    those sets out in turn; both skipped, saying so, when the files are absent.
    """
    if not airline_csv.is_file():
        console.print(f"[red]airline labels not found at {airline_csv}[/] (give --airline)")
        raise SystemExit(2)
    prior = sentiment_weights.load()
    tweets = airline_tweets(airline_csv)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        result = evaluate(tweets, prior, progress)
        result["prior_reproduced"] = _check_prior(prior, vader_file, console, progress)
        if result["prior_reproduced"] is not None:
            result["by_source"] = by_source(tweets, vader_file, progress)
    _print(result, console)
    return result


def _check_prior(prior: SentimentModel, vader_file: Path, console: Console,
                 progress: Progress) -> bool | None:
    try:
        sentiment_weights.prior_files(vader_file)
    except sentiment_weights.LabelledFileError as e:
        console.print(f"{e}: the shipped prior was not rebuilt for comparison")
        return None
    total = sentiment_weights.prior_size(vader_file)
    task = progress.add_task("rebuilding the prior", total=total)
    rebuilt = sentiment_weights.build_prior(vader_file, lambda n: progress.advance(task, n))
    same = bool(np.allclose(rebuilt.w, prior.w, atol=1e-4)
                and np.allclose(rebuilt.wd, prior.wd, atol=1e-4))
    console.print("shipped prior rebuilt from VADER's rated sets and the seed examples: "
                  + ("[green]identical[/]" if same else "[red]DIFFERENT[/] (retrain it)"))
    return same


def _print(result: dict[str, Any], console: Console) -> None:
    table = Table(title=f"Sentiment, brand-held-out ({result['n']:,} airline tweets; "
                  "accuracy / macro-F1)")
    table.add_column("held-out airline")
    table.add_column("tweets", justify="right")
    names = (("vader", "VADER (±0.05)"), ("prior", "prior only"),
             ("online", "prior + online on 5 others"))
    for _, title in names:
        table.add_column(title, justify="right")
    per_brand = list(result["per_brand"].items())
    rows = [*per_brand, ("mean", {**result["mean"], "n": result["n"]}),
            ("all tweets pooled", {**result["pooled"], "n": result["n"]})]
    for brand, r in rows:
        table.add_row(brand, f"{int(r['n']):,}", *(
            f"{r[f'{key}_accuracy']:.3f} / {r[f'{key}_macro_f1']:.3f}" for key, _ in names),
            end_section=brand == per_brand[-1][0])
    console.print(table)
    console.print("mean: the mean over held-out airlines of each one's figures; pooled: one "
                  "figure over every tweet, each predicted by the model that never saw its "
                  "airline")
    if "by_source" not in result:
        return
    table = Table(title="The prior's training sets, each held out (the recipe without it; "
                  "accuracy / macro-F1)")
    table.add_column("held-out set")
    table.add_column("texts", justify="right")
    for _, title in (*names[:2], ("online", "prior + online on all airline labels")):
        table.add_column(title, justify="right")
    for source, r in result["by_source"].items():
        table.add_row(source, f"{int(r['n']):,}", *(
            f"{r[f'{key}_accuracy']:.3f} / {r[f'{key}_macro_f1']:.3f}" for key, _ in names))
    console.print(table)
