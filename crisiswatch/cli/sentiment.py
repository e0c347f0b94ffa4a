"""``crisiswatch train-sentiment``: teach the sentiment model from a labelled file.

It starts from the shipped prior (or from ``--start`` weights, or from nothing), learns
the file's examples online as the flow learns labels people give, and writes a weights
file that ``crisiswatch.models.sentiment_weights.load`` reads.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from crisiswatch.detectors.sentiment_model import SentimentModel
from crisiswatch.models import sentiment_weights

err = Console(stderr=True)


def train_sentiment(
    files: Annotated[list[Path], typer.Argument(
        help="labelled files: VADER's rated tweets (id, mean rating, text; tab-separated) "
        "or JSON lines with 'text' and 'label' (negative, neutral, positive)")],
    fmt: Annotated[str, typer.Option(
        "--format", help="auto (JSON lines for .jsonl/.json, else VADER's TSV), vader or "
        "jsonl")] = "auto",
    output: Annotated[Path, typer.Option("--output", "-o", help="weights file to write")]
    = Path("sentiment_weights.npz"),
    start: Annotated[Path | None, typer.Option(
        help="weights to continue from (default: the prior shipped with crisiswatch)")] = None,
    from_scratch: Annotated[bool, typer.Option(
        help="start from zero weights instead of the prior")] = False,
    epochs: Annotated[int, typer.Option(min=1, help="passes over the examples (more than "
                                        "one: shuffled)")] = 1,
    rebuild_prior: Annotated[bool, typer.Option(
        help="the shipped prior's recipe: FILES is VADER's rated tweets, with its three "
        "other rated sets beside it; adds the seed examples and the word vectors of the "
        "static table, and trains from scratch")] = False,
) -> None:
    """Train the sentiment model on labelled examples and write its weights."""
    if start is not None and (from_scratch or rebuild_prior):
        err.print("[red]--start cannot go with --from-scratch or --rebuild-prior[/]")
        raise typer.Exit(2)
    if rebuild_prior and len(files) != 1:
        err.print("[red]--rebuild-prior takes one file:[/] VADER's tweets_GroundTruth.txt")
        raise typer.Exit(2)
    try:
        examples = [ex for path in files for ex in sentiment_weights.read_labelled(path, fmt)]
        model = _starting_model(start, from_scratch or rebuild_prior)
        if rebuild_prior:
            examples = sentiment_weights.prior_examples(
                sentiment_weights.prior_files(files[0]))
    except (sentiment_weights.LabelledFileError, FileNotFoundError, ValueError) as e:
        err.print(f"[red]cannot train:[/] {e}")
        raise typer.Exit(2) from None
    counts = Counter(label for _, label in examples)
    err.print(f"{len(examples):,} labelled examples from {len(files)} file(s): "
              + ", ".join(f"{counts[label]:,} {label}" for label in sorted(counts)))
    texts, labels = [t for t, _ in examples], [label for _, label in examples]
    before = _accuracy(model, texts, labels)
    columns = (TextColumn("training"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err) as progress:
        if rebuild_prior:
            total = sentiment_weights.prior_size(files[0])
            task = progress.add_task("training", total=total)
            model = sentiment_weights.build_prior(files[0], lambda n: progress.advance(task, n))
        else:
            task = progress.add_task("training", total=epochs * len(examples))
            sentiment_weights.train(model, examples, epochs,
                                    progress=lambda n: progress.advance(task, n))
    sentiment_weights.save(model, output)
    err.print(f"accuracy on these examples: {before:.3f} before, "
              f"{_accuracy(model, texts, labels):.3f} after; weights written to {output} "
              f"({output.stat().st_size / 1e6:.2f} MB)")


def _starting_model(start: Path | None, scratch: bool) -> SentimentModel:
    if scratch:
        return SentimentModel()
    return sentiment_weights.load(start)


def _accuracy(model: SentimentModel, texts: list[str], labels: list[str]) -> float:
    predicted = model.classify_batch(texts)
    return sum(p == y for p, y in zip(predicted, labels, strict=True)) / len(labels)
