"""The measured stages of ``bench.firehose`` and ``bench.memory``.

Each stage runs in a fresh child process (``isolated``) so that its peak RSS is its own
(``ru_maxrss`` only ever grows, so stages measured one after another in one process would
all report the largest so far) and so that no stage inherits another's warm caches. The
child times only the work itself: start-up, imports, loading the embedding table and the
embedded Redis server's start are outside the timed region.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from bytewax.testing import run_main
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TransferSpeedColumn

from bench.detectors import prepare
from crisiswatch.config import runtime
from crisiswatch.config.runtime import build_flow, detector_config
from crisiswatch.config.settings import Settings, load_settings
from crisiswatch.detectors.brand import BrandState, observe
from crisiswatch.detectors.embeddings import CachedEmbedder, Embedder
from crisiswatch.flows.gc_tuning import tune_gc
from crisiswatch.flows.sources import ReplaySource
from crisiswatch.models import embedders
from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis


@dataclass
class StageResult:
    seconds: list[float]  # wall time, one per run
    cpu_seconds: list[float]  # this process's CPU time over the same runs
    peak_rss_mib: float  # of the child process that ran every run of the stage
    facts: dict[str, Any] = field(default_factory=dict)  # what the stage found (counts, memory)
    profile: str = ""


@dataclass
class Timer:
    """Wall and CPU time of each run. The machines are shared: when others load them,
    wall time stretches while this process's CPU time barely moves, so both are kept."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @contextmanager
    def run(self) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        self.wall.append(time.perf_counter() - wall)
        self.cpu.append(time.process_time() - cpu)


def isolated(fn: Callable[..., StageResult], *args: Any) -> StageResult:
    """Run ``fn(*args)`` in a fresh child process and return its result.

    Children fork from a 'forkserver' that has imported this module and nothing else,
    so each starts in milliseconds at the memory of those imports, as a freshly spawned
    interpreter would after importing them, and never inherits the caller's memory.
    """
    ctx = get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        return pool.submit(fn, *args).result()


def fresh_runs(fn: Callable[..., StageResult], path: Path, runs: int, *args: Any
               ) -> StageResult:
    """``fn(path, 1, *args)`` in each of ``runs`` fresh processes, as one result.

    The flow stages run this way, because a run in a process that has run the flow before
    is slower (three runs of (c) in one process: 18.6k, 18.0k and 16.1k mentions/s,
    against 17.9k in a fresh one), and a deployment runs the flow once a process.
    """
    results = [isolated(fn, path, 1, *args) for _ in range(runs)]
    return StageResult([s for r in results for s in r.seconds],
                       [s for r in results for s in r.cpu_seconds],
                       max(r.peak_rss_mib for r in results), results[-1].facts)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def settings_for(config: Path | None, topics: bool) -> Settings:
    """The settings of (c) (``topics=False``) or (d) (topics on the static backend)."""
    settings = load_settings(config)
    settings.topics = settings.topics.model_copy(
        update={"enabled": topics, "backend": "static"})
    return settings


def _bar(label: str, total: int, show: bool) -> Progress:
    progress = Progress(TextColumn(label), BarColumn(), TransferSpeedColumn(),
                        TimeElapsedColumn(), console=Console(stderr=True), transient=True,
                        disable=not show)
    progress.add_task(label, total=total)
    return progress


class _Tracker:
    """The source's progress callback: advances the bar and, at every 5 % of the input,
    notes the process's resident memory, so a run shows whether memory levels off."""

    def __init__(self, bar: Progress, total: int) -> None:
        self.bar, self.total, self.done = bar, max(total, 1), 0
        self.next_mark = 0.05
        self.rss: list[tuple[float, float]] = []  # (share of the input read, RSS MiB)
        self._page = os.sysconf("SC_PAGE_SIZE")

    def __call__(self, _path: str, n: int) -> None:
        self.bar.advance(self.bar.task_ids[0], n)
        self.done += n
        if self.done / self.total >= self.next_mark:
            with open("/proc/self/statm", "rb") as f:
                pages = int(f.read().split()[1])
            self.rss.append((self.done / self.total, pages * self._page / 2**20))
            self.next_mark = (int(self.done / self.total * 20) + 1) / 20


def _source(path: Path, bar: Progress) -> tuple[ReplaySource, _Tracker]:
    tracker = _Tracker(bar, path.stat().st_size)
    return ReplaySource([path], progress=tracker), tracker


# -- (a) the ceiling: read and parse, no flow --------------------------------------------

def ceiling(path: Path, runs: int, config: Path | None) -> StageResult:
    settings = load_settings(config)
    parser = runtime.parser(settings)
    timer = Timer()
    for _ in range(runs):
        with timer.run(), path.open("rb") as f:
            for i, line in enumerate(f, 1):
                parser.parse(line.rstrip(b"\r\n"), i)
    return StageResult(timer.wall, timer.cpu, peak_rss_mib())


# -- (b) the engine's ceiling: a Bytewax flow that reads and discards ---------------------

class _Discard(StatelessSinkPartition[Any]):
    def write_batch(self, items: list[Any]) -> None:
        """Drop the batch: the pass-through measures the engine, not a sink."""


class DiscardSink(DynamicSink[Any]):
    def build(self, step_id: str, worker_index: int, worker_count: int) -> _Discard:
        return _Discard()


def passthrough(path: Path, runs: int, show: bool) -> StageResult:
    timer = Timer()
    for run in range(runs):
        with _bar(f"(b) pass-through, run {run + 1}/{runs}", path.stat().st_size, show) as bar:
            flow = Dataflow("passthrough")
            op.output("discard", op.input("read", flow, _source(path, bar)[0]), DiscardSink())
            with timer.run():
                run_main(flow)
    return StageResult(timer.wall, timer.cpu, peak_rss_mib())


# -- (c) and (d): the crisiswatch flow into an embedded Redis ----------------------------

def static_embedder(settings: Settings) -> Embedder:
    """The embedder of (d), as the main job makes it: the static table behind a cache
    (the shipped one, or a rebuild in the models directory)."""
    return CachedEmbedder(embedders.embedder("static", settings.topics.models_dir))


def topics_unavailable(config: Path | None) -> str | None:
    """Why (d) cannot run here, or None when it can."""
    try:
        static_embedder(settings_for(config, topics=True))
    except Exception as e:  # ModelUnavailable above all: say why, measure the rest
        return f"{type(e).__name__}: {e}"
    return None


def full_flow(path: Path, runs: int, config: Path | None, topics: bool, show: bool,
              profile: bool = False) -> StageResult:
    """The crisiswatch flow into a fresh embedded Redis each run; facts of the last run."""
    settings = settings_for(config, topics)
    tune_gc()  # as the commands that run the flow do
    label = "(d) flow + topics" if topics else "(c) full flow"
    timer = Timer()
    facts: dict[str, Any] = {}
    profiler = cProfile.Profile() if profile else None
    for run in range(-1 if profiler else 0, runs):  # run -1: profiled, not timed
        with EmbeddedRedis() as server, \
                _bar(f"{label}, run {run + 1}/{runs}", path.stat().st_size, show) as bar:
            source, tracker = _source(path, bar)
            embedder = static_embedder(settings) if topics else None  # a cold cache each run
            # as ``crisiswatch run`` builds it: no recovery, so no snapshots
            flow = build_flow(settings, source, server.url, embedder=embedder, snapshots=False)
            if profiler is not None and run < 0:
                profiler.runcall(run_main, flow)
                continue
            with timer.run():
                run_main(flow)
            store = Store(connect(server.url), settings.store.prefix)
            memory = store.r.info("memory")
            alerts = store.alerts(limit=100_000)
            facts = {**store.stats(), "incidents": len(alerts),
                     "incident_kinds": Counter(k for a in alerts for k in a["kinds"]),
                     "brands": len(store.brands()),
                     "redis_used_mib": memory["used_memory"] / 2**20,
                     "redis_peak_mib": memory["used_memory_peak"] / 2**20,
                     "rss_by_progress": tracker.rss}
            facts.pop("status", None)
    text = ""
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
        text = out.getvalue()
    return StageResult(timer.wall, timer.cpu, peak_rss_mib(), facts, text)


# run in another checkout's interpreter path: its own bench.stages, its own code
_FLOW_IN_TREE = """
import json, sys
from pathlib import Path
from bench import stages
path, config, topics = sys.argv[1], sys.argv[2] or None, sys.argv[3] == "1"
r = stages.full_flow(Path(path), 1, config and Path(config), topics, False)
facts = {k: v for k, v in r.facts.items() if k != "rss_by_progress"}
print(json.dumps({"seconds": r.seconds, "cpu_seconds": r.cpu_seconds,
                  "peak_rss_mib": r.peak_rss_mib, "facts": facts}))
"""


def flow_in_tree(tree: Path, path: Path, config: Path | None, topics: bool) -> StageResult:
    """One run of ``full_flow`` in a fresh interpreter that imports every project
    package (and ``bench.stages`` itself) from the checkout ``tree``: the same stage as
    another version of the code runs it, for a same-run comparison."""
    out = subprocess.run(
        [sys.executable, "-c", _FLOW_IN_TREE, str(path), str(config or ""),
         "1" if topics else "0"], cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
        check=True, capture_output=True, text=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    r["facts"]["incident_kinds"] = Counter(r["facts"]["incident_kinds"])
    return StageResult(r["seconds"], r["cpu_seconds"], r["peak_rss_mib"], r["facts"])


def incidents_text(facts: dict[str, Any]) -> str:
    """"12 incident(s) (kinds: volume 3, reach 9)": what the run raised, and on what."""
    kinds = ", ".join(f"{k} {n}" for k, n in facts["incident_kinds"].most_common())
    return f"{facts['incidents']:,} incident(s)" + (f" (kinds: {kinds})" if kinds else "")


# -- time shares: the components of (c), each timed alone over the same input ------------

def components(path: Path, runs: int, config: Path | None) -> StageResult:
    """Seconds spent in each component of the flow when it runs alone over the input,
    as the median of ``runs`` runs.

    The components run in the flow's order over the flow's data (parse every line,
    enrich the mentions, deduplicate per brand, fold event-time windows, run the
    detectors on each closed window in time order, write what the sink writes), so their
    sum, set against the measured flow, leaves what the engine itself costs.
    """
    timings: dict[str, list[float]] = {}
    windows = 0
    for _ in range(runs):
        t, windows = _components_once(path, config)
        for name, s in t.items():
            timings.setdefault(name, []).append(s)
    medians = {name: statistics.median(s) for name, s in timings.items()}
    return StageResult([sum(medians.values())], [], peak_rss_mib(),
                       {"components": medians, "windows": windows})


def _components_once(path: Path, config: Path | None) -> tuple[dict[str, float], int]:
    settings = settings_for(config, topics=False)
    tune_gc()  # as in the flow's process
    cfg = detector_config(settings)
    t: dict[str, float] = {}
    in_time_order = prepare(path, settings, t)

    states: dict[str, BrandState] = {}
    closing: dict[int, list[tuple[Any, ...]]] = {}
    started = time.perf_counter()
    for w, b, stats in in_time_order:
        state = states.get(b)
        if state is None:
            state = states[b] = BrandState()
        seen = observe(state, b, w, stats, cfg)
        out = closing.setdefault(w, [])
        out.append(("window", b, seen.record["window_start"], seen.record))
        out.extend(("incident", x) for x in seen.incidents)
    t["detectors (detectors.brand.observe)"] = time.perf_counter() - started

    with EmbeddedRedis() as server:
        store = Store(connect(server.url), settings.store.prefix)
        started = time.perf_counter()
        for items in closing.values():  # one batch per window close, as the sink gets them
            writer = store.writer()
            for item in items:
                if item[0] == "window":
                    writer.window(item[1], item[2], item[3])
                else:
                    writer.incident(item[1])
            writer.stats({"processed": len(items)})
            writer.execute()
        t["store writes (StoreWriter, a batch per window close)"] = \
            time.perf_counter() - started
    return t, len(in_time_order)
