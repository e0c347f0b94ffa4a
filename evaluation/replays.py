"""Offline replays for evaluation and backtests: a file through the flow that
``crisiswatch run`` runs, into an embedded Redis of its own, and what it published.

"Evaluate what runs": an evaluation that replays with other settings than the main job
(topics off, another batch size, the default file instead of ``-c``) reports figures
for a detector nobody runs: on a synthetic stream (``bench.synth``, 60,000 mentions of
20 brands over 3 days) topics alone turn 49 incidents into 86. So the flow here is
built exactly as ``run`` builds it: the same settings, the same embedder for topics
(the shipped static table, or a rebuild in the models directory), the same batches. ``describe``
says in one line which configuration that was.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from bytewax.testing import run_main
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from crisiswatch.config.runtime import build_flow, open_store
from crisiswatch.config.settings import DEFAULT_CONFIG, Settings
from crisiswatch.config.topics import topics_embedder
from crisiswatch.connectors.importers import airline_rows, sorted_by_time
from crisiswatch.detectors.embeddings import Embedder
from crisiswatch.flows.sources import ReplaySource


@dataclass(frozen=True)
class Replayed:
    """What one replay published: every incident, each brand's window series, the
    outcome counters."""

    alerts: list[dict[str, Any]]
    series: dict[str, list[dict[str, Any]]]
    stats: dict[str, Any]


def as_stream(path: Path, scratch: Path) -> Path:
    """``path`` as mention JSON lines: itself, or an airline ``Tweets.csv`` converted into
    ``scratch`` in event-time order."""
    if path.suffix != ".csv":
        return path
    into = scratch / f"{path.stem}.jsonl"
    with into.open("wb") as f:
        for rec in sorted_by_time(airline_rows(path)):
            f.write(orjson.dumps(rec) + b"\n")
    return into


def embedder_for(settings: Settings, console: Console) -> Embedder | None:
    """The embedder ``run`` would cluster topics with (None when topics are off or cannot
    run here; the reason is printed)."""
    return topics_embedder(settings.topics, console)


def replay(stream: Path, settings: Settings, console: Console, embedder: Embedder | None,
           label: str = "replay", feedback: Sequence[dict[str, Any]] = ()) -> Replayed:
    """Replay ``stream`` (JSON lines) to its end into a fresh embedded Redis, with a
    progress bar on a terminal. ``feedback``: verdicts as ``GET /feedback`` lists them,
    in the store before the flow starts (it reads the noise marks as it would live)."""
    progress = Progress(TextColumn(label), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                        TimeRemainingColumn(), console=console,
                        disable=not console.is_terminal and not sys.stderr.isatty())
    task = progress.add_task(label, total=stream.stat().st_size)
    source = ReplaySource([stream], settings.ingest.batch_records,
                          progress=lambda _path, n: progress.advance(task, n))
    with open_store(settings, embedded="always") as (store, url), progress:
        for entry in feedback:
            store.feedback.put(entry)
        run_main(build_flow(settings, source, url, embedder=embedder))
        return Replayed(store.alerts(limit=1_000_000),
                        {b: store.series(b, limit=10_000_000) for b in store.brands()},
                        store.stats())


def describe(settings: Settings, config: Path | None, topics: bool) -> str:
    """The configuration a replay ran, in a line: the file, the sensitivity (and the
    brands with their own), topics, the sentiment model, the window."""
    own = {b: q.sensitivity for b, q in settings.brands.items()
           if q.sensitivity not in (None, settings.sensitivity)}
    brands = "".join(f"; {b}: {s}" for b, s in sorted(own.items()))
    topic = f"on ({settings.topics.backend})" if topics else "off"
    return (f"{config or DEFAULT_CONFIG}: sensitivity {settings.sensitivity}{brands}; "
            f"topics {topic}; sentiment {settings.sentiment.model}; "
            f"{settings.window.minutes:g}-min windows")
