"""The flow as an operator runs it, in a child process (``crisiswatch flow …``), and
everything a run published, read back so that two runs can be compared whole."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.synth import SynthConfig, generate
from crisiswatch.store import Store, connect
from tests.conftest import replay, settings_for
from tests.helpers.cli import CLI

ROOT = Path(__file__).resolve().parents[2]


def cli_env(redis_url: str, prefix: str, **extra: str) -> dict[str, str]:
    """The environment of a flow process: this test's Redis and prefix, topics off (the
    in-process reference runs cluster nothing either), input read 1,000 records at a
    time (a flow killed part-way through a test's input must not have read all of it),
    nothing from the caller's CRISISWATCH_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRISISWATCH_")}
    env.update(REDIS_URL=redis_url, CRISISWATCH_STORE__PREFIX=prefix,
               CRISISWATCH_TOPICS__ENABLED="false", CRISISWATCH_INGEST__BATCH_RECORDS="1000",
               PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


@contextlib.contextmanager
def flow_process(args: list[str], env: dict[str, str], log: Path
                 ) -> Iterator[subprocess.Popen[bytes]]:
    """``crisiswatch flow ARGS`` in the background, its output in ``log``; killed when the
    test is done with it (a flow whose Redis went away would wait for it forever)."""
    with log.open("ab") as out:
        proc = subprocess.Popen([*CLI, "flow", *args], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def run_flow(args: list[str], env: dict[str, str], log: Path, timeout: float = 120) -> int:
    """``crisiswatch flow ARGS`` to its end; returns its exit status."""
    with flow_process(args, env, log) as proc:
        return proc.wait(timeout=timeout)


def published(store: Store) -> dict[str, Any]:
    """Everything a run leaves for the API: the outcome counters, every brand's series,
    every incident, how many incident events went out, why records were dead-lettered
    (their keys say where they were read, which differs between a file and a stream)."""
    stats = store.stats()
    stats.pop("status")
    events = Counter(e["type"] for e in store.events.after("0", count=1_000_000)
                     if e["type"].startswith("incident."))
    return {
        "stats": stats,
        "series": {b: store.series(b, limit=100_000) for b in store.brands()},
        "alerts": sorted(store.alerts(limit=100_000), key=lambda a: a["id"]),
        "incident_events": dict(events),
        "deadletters": sorted(d["reason"] for d in store.deadletters(limit=100_000)),
    }


def lines_of(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines() if line.strip()]


def two_days(path: Path, seed: int, incidents: int) -> Path:
    """Two days of 20 brands with injected incidents, re-sent records (duplicates) and
    out-of-order ones, and no broken records: every line is one the API accepts."""
    generate(SynthConfig(mentions=20_000, brands=20, days=2, seed=seed, incidents=incidents,
                         distinct_hashtags=2000, bad_share=0.0), path)
    return path


def replayed(redis_url: str, path: Path) -> dict[str, Any]:
    """What one uninterrupted in-process replay of ``path`` publishes, in a fresh prefix."""
    prefix = f"ref{uuid.uuid4().hex[:8]}"
    replay(settings_for(prefix), [path], redis_url)
    return published(Store(connect(redis_url), prefix))
