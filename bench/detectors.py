"""Detector cost per closed brand-window on a realistic stream, before and after a change.

    python -m bench.detectors [--mentions 200000 --brands 2000 --days 3 --incidents 20]
    python -m bench.detectors --compare ../wt27-base --runs 5   # before/after, one run
    python -m bench.detectors --single-brand [--windows 2000]   # one brand's diurnal windows

Generates a stream with ``bench.synth`` (many brands of Zipf volumes, daily cycles, days
of event time so windows close and baselines warm up, injected incidents that fire),
parses, enriches, deduplicates and windows it as the flow does (``prepare``), then times
``detectors.brand.observe`` over every closed brand-window in event-time order, from
fresh brand states, in a fresh process per run. It prints the median milliseconds per
closed window (wall and this process's CPU time, which others' load disturbs less) and
where they go (each detector's share, timed in one more run), the incidents raised, and a
digest of every record and alert observe returned.

``--compare TREE`` runs the same timed pass with the project's packages imported from
another checkout (the unmodified code, e.g. a ``git worktree`` of main), alternating
fresh processes of the two, so that both are measured under the same load; equal digests
show that the results are identical. Each tree windows the stream with its own code,
once (a cache in the temporary directory). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from crisiswatch.config import runtime
from crisiswatch.config.runtime import detector_config
from crisiswatch.config.settings import Settings, load_settings
from crisiswatch.detectors.brand import BrandState, DetectorConfig, observe
from crisiswatch.detectors.types import Mention
from crisiswatch.detectors.window import WindowStats
from crisiswatch.flows.dedup import SeenIds
from crisiswatch.flows.enrich import Enricher
from crisiswatch.flows.gc_tuning import tune_gc
from crisiswatch.flows.sentiment import FlowSentiment
from crisiswatch.flows.sources import ReplaySource

# Only project APIs that the unmodified tree has too: ``--compare`` runs this file there.
from crisiswatch.models.sentiment_weights import load

Closed = list[tuple[int, str, WindowStats]]  # (window, brand, stats) in event-time order
SOURCE_BATCH = ReplaySource([]).batch_size  # lines a batch, as the flow reads them
# run by path in another tree: the file's directory must not shadow the packages
_BOOT = ("import runpy, sys; sys.argv = sys.argv[1:]; "
         "runpy.run_path(sys.argv[0], run_name='__main__')")


@contextmanager
def _timed(timings: dict[str, float] | None, name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    if timings is not None:
        timings[name] = time.perf_counter() - started


def prepare(path: Path, settings: Settings, timings: dict[str, float] | None = None
            ) -> Closed:
    """The stream's brand-windows as the flow closes them: every line parsed, the
    mentions enriched a source batch at a time, deduplicated per brand, folded into
    event-time windows; with ``timings``, the seconds of each step."""
    parser = runtime.parser(settings)
    # As the flow: the configured model, learning from labels off (no store to read).
    enricher = Enricher(FlowSentiment(settings.sentiment.model, settings.sentiment.weights,
                                      None, settings.sentiment.refresh_seconds, load=load),
                        detector_config(settings).watchlist)
    window_s = settings.window_s
    with _timed(timings, "read lines"), path.open("rb") as f:
        lines = [line.rstrip(b"\r\n") for line in f]
    with _timed(timings, "parse (Parser.parse)"):
        parsed = [parser.parse(line, i) for i, line in enumerate(lines, 1)]
    mentions = [m for m in parsed if isinstance(m, Mention)]
    del lines, parsed
    with _timed(timings, f"enrich (Enricher: normalise, sentiment "
                         f"({settings.sentiment.model} model), watchlist)"):
        for start in range(0, len(mentions), SOURCE_BATCH):
            enricher.enrich(mentions[start:start + SOURCE_BATCH])
    seen: dict[str, SeenIds] = {}
    unique = []
    with _timed(timings, "dedup (SeenIds)"):
        for m in mentions:
            window = int(m.ts // window_s)
            for b in m.brands:
                ids = seen.get(b)
                if ids is None:
                    ids = seen[b] = SeenIds(settings.dedup_horizon_windows,
                                            settings.dedup.max_ids)
                if not ids.in_open_window(m.id):
                    ids.count(m.id, window)
                    unique.append((b, m))
    del seen, mentions
    windows: dict[tuple[int, str], WindowStats] = {}
    with _timed(timings, "window aggregation (WindowStats.add)"):
        for b, m in unique:
            key = (int(m.ts // window_s), b)
            stats = windows.get(key)
            if stats is None:
                stats = windows[key] = WindowStats()
            stats.add(m)
    return [(w, b, stats) for (w, b), stats in sorted(windows.items())]


def observe_all(closed: Closed, cfg: DetectorConfig, states: dict[str, BrandState]
                ) -> Iterator[tuple[int, Any]]:
    """``observe`` each closed window in order: (its window, its ``Observation``)."""
    for w, b, stats in closed:
        state = states.get(b)
        if state is None:
            state = states[b] = BrandState()
        yield w, observe(state, b, w, stats, cfg)


def _digest(observations: list[Any]) -> str:
    h = hashlib.sha256()
    for seen in observations:
        h.update(orjson.dumps(seen.record, option=orjson.OPT_SORT_KEYS))
        for a in seen.incidents:
            h.update(orjson.dumps(a.to_dict(), option=orjson.OPT_SORT_KEYS, default=str))
    return h.hexdigest()[:16]


_PARTS = (("volume.update", "crisiswatch.detectors.volume", "update"),
          ("terms.update", "crisiswatch.detectors.terms", "update"),
          ("sentiment_shift.update", "crisiswatch.detectors.sentiment_shift", "update"),
          ("incidents.step (fusion)", "crisiswatch.detectors.incidents", "step"),
          ("Background.learn", "crisiswatch.detectors.background", "Background.learn"),
          ("WindowStats.seal", "crisiswatch.detectors.window", "WindowStats.seal"))


def _instrument(spent: dict[str, float]) -> None:
    """Wrap each detector's entry point with a timer (costs about a microsecond a call)."""
    for label, module, attr in _PARTS:
        owner: Any = sys.modules.get(module) or __import__(module, fromlist=["_"])
        *outer, name = attr.split(".")
        for part in outer:
            owner = getattr(owner, part)
        inner = getattr(owner, name)

        def timed(*a: Any, _inner: Callable[..., Any] = inner, _label: str = label,
                  **k: Any) -> Any:
            started = time.perf_counter()
            try:
                return _inner(*a, **k)
            finally:
                spent[_label] += time.perf_counter() - started
        spent[label] = 0.0
        setattr(owner, name, timed)


def worker(stream: Path, cache: Path, breakdown: bool) -> dict[str, Any]:
    """One timed pass over the stream's closed windows, in this process."""
    settings = load_settings()
    settings.topics = settings.topics.model_copy(update={"enabled": False})
    tune_gc()  # as in the flow's process
    if not cache.exists():
        closed = prepare(stream, settings)
        cache.write_bytes(pickle.dumps(closed, protocol=pickle.HIGHEST_PROTOCOL))
    closed = pickle.loads(cache.read_bytes())
    cfg = detector_config(settings)
    spent: dict[str, float] = {}
    if breakdown:
        _instrument(spent)
    states: dict[str, BrandState] = {}
    load_avg = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    observations = [seen for _, seen in observe_all(closed, cfg, states)]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    sizes = [len(pickle.dumps(s)) for s in list(states.values())[:200]]
    return {"windows": len(closed), "wall_s": wall, "cpu_s": cpu, "load": load_avg,
            "alerts": len({a.id for o in observations for a in o.incidents}),
            "digest": _digest(observations), "parts": spent,
            "state_kib": statistics.median(sizes) / 1024 if sizes else 0.0,
            "code": str(Path(observe.__code__.co_filename).parent.parent)}


def _spawn(tree: Path, args: list[str]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", _BOOT, __file__, *args], cwd=tree, env=env,
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(stream: Path, trees: list[Path], runs: int, tmp: Path) -> None:
    """Alternate fresh processes of each tree; print medians per tree."""
    results: dict[Path, list[dict[str, Any]]] = {t: [] for t in trees}
    caches = {t: tmp / f"closed-{i}.pickle" for i, t in enumerate(trees)}
    for t in trees:  # window the stream once per tree (untimed), and a breakdown run
        results[t].append(_spawn(t, ["--worker", str(stream), str(caches[t]), "--breakdown"]))
    for r in range(runs):
        for t in (trees if r % 2 == 0 else trees[::-1]):
            results[t].append(_spawn(t, ["--worker", str(stream), str(caches[t])]))
            last = results[t][-1]
            print(f"  run {r + 1}/{runs} {t}: {last['wall_s'] / last['windows'] * 1e3:.4f} "
                  f"ms a window, CPU {last['cpu_s'] / last['windows'] * 1e3:.4f} ms "
                  f"(load {last['load']:.1f})", flush=True)
    print("\nms/window: wall time, which others' load stretches; CPU ms/w: this process's "
          "CPU time, the figure to compare on a shared machine")
    print(f"\n{'code':<28} {'windows':>8} {'ms/window':>10} {'min':>8} {'max':>8} "
          f"{'CPU ms/w':>9} {'load':>5} {'alerts':>7} {'state KiB':>9}  digest")
    for t in trees:
        timed, first = results[t][1:], results[t][0]
        n = first["windows"]
        ms = [x["wall_s"] / n * 1e3 for x in timed]
        cpu = [x["cpu_s"] / n * 1e3 for x in timed]
        print(f"{str(t)[-28:]:<28} {n:>8,} {statistics.median(ms):>10.4f} {min(ms):>8.4f} "
              f"{max(ms):>8.4f} {statistics.median(cpu):>9.4f} "
              f"{statistics.median(x['load'] for x in timed):>5.1f} {first['alerts']:>7,} "
              f"{first['state_kib']:>9.1f}  {first['digest']}")
    digests = {x["digest"] for t in trees for x in results[t]}
    print("results identical in every run" if len(digests) == 1 else
          f"results DIFFER: {len(digests)} distinct digests")
    for t in trees:
        first = results[t][0]
        total = first["wall_s"]
        print(f"\nwhere {t}'s time goes (one instrumented run, {total / first['windows'] * 1e3:.4f}"
              f" ms a window with the timers; code imported from {first['code']}):")
        for label, s in first["parts"].items():
            print(f"  {label:<28} {s / first['windows'] * 1e3:>8.4f} ms {s / total:>7.1%}")
        rest = total - sum(first["parts"].values())
        print(f"  {'the rest of observe':<28} {rest / first['windows'] * 1e3:>8.4f} ms "
              f"{rest / total:>7.1%}")


def make_windows(n: int, seed: int = 1) -> list[list[Mention]]:
    """One brand's windows: a diurnal count, a few hashtags, a watch term, one burst."""
    rng = np.random.default_rng(seed)
    watch = ("cancel*",)
    windows = []
    for w in range(n):
        hour = (w * 300 / 3600) % 24
        rate = 30 * (0.15 + 0.85 * np.exp(-((hour - 14) ** 2) / 18))
        if 1500 <= w < 1506:
            rate *= 6
        mentions = []
        for i in range(int(rng.poisson(rate))):
            tags = tuple(f"tag{int(rng.zipf(1.6)) % 500}" for _ in range(int(rng.integers(3))))
            text = f"mention {i} of window {w} about flight {int(rng.integers(100))}"
            mentions.append(Mention(
                id=f"{w}-{i}", ts=w * 300.0 + i, brands=("B",), text=text, hashtags=tags,
                followers=int(rng.lognormal(5, 1.5)), is_retweet=bool(rng.random() < 0.2),
                norm_text=text, sentiment=float(rng.uniform(-1, 1)),
                watch=watch if rng.random() < 0.05 else ()))
        windows.append(mentions)
    return windows


def single_brand(n: int, runs: int) -> None:
    """The original micro-benchmark: one brand, prepared windows, in this process."""
    cfg = detector_config(load_settings())
    prepared = make_windows(n)
    mentions = sum(len(w) for w in prepared)
    observe_us, build_us, sizes = [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        stats = []
        for ms in prepared:
            s = WindowStats()
            for m in ms:
                s.add(m)
            stats.append(s)
        build_us.append((time.perf_counter() - started) / n * 1e6)
        states: dict[str, BrandState] = {}
        started = time.perf_counter()
        for _ in observe_all([(10_000 + i, "B", s) for i, s in enumerate(stats)], cfg, states):
            pass
        observe_us.append((time.perf_counter() - started) / n * 1e6)
        sizes.append(len(pickle.dumps(states["B"])))
    print(f"{n:,} windows, {mentions:,} mentions ({mentions / n:.0f} a window), {runs} runs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"detectors (observe) per window: median {statistics.median(observe_us):,.0f} µs "
          f"(min {min(observe_us):,.0f}, max {max(observe_us):,.0f})")
    print(f"baseline, building the window (WindowStats.add): median "
          f"{statistics.median(build_us):,.0f} µs per window, "
          f"{statistics.median(build_us) / (mentions / n):.1f} µs per mention")
    print(f"brand state pickled (Bytewax snapshot): {statistics.median(sizes) / 1024:,.1f} KiB")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    if argv is None and "--worker" in sys.argv:  # a child of ``compare``: one pass, JSON on stdout
        _, stream, cache, *rest = sys.argv[sys.argv.index("--worker"):]
        print(json.dumps(worker(Path(stream), Path(cache), "--breakdown" in rest)))
        return
    from bench import synth  # not in the worker: the other tree may lack this bench
    synth.add_arguments(ap)
    ap.set_defaults(mentions=200_000, brands=2_000, days=3.0, incidents=20)
    ap.add_argument("--runs", type=int, default=3, help="timed runs per tree (median)")
    ap.add_argument("--compare", type=Path, action="append", default=[],
                    help="another checkout to time the same way (repeatable)")
    ap.add_argument("--single-brand", action="store_true",
                    help="the original benchmark: one brand's prepared windows")
    ap.add_argument("--windows", type=int, default=2000, help="with --single-brand")
    args = ap.parse_args(argv)
    if args.single_brand:
        single_brand(args.windows, args.runs)
        return
    here = Path(__file__).resolve().parent.parent
    trees = list(dict.fromkeys([t.resolve() for t in args.compare] + [here]))
    with tempfile.TemporaryDirectory(prefix="crisiswatch-detectors-") as tmp:
        stream = Path(tmp) / "stream.jsonl"
        summary = synth.generate(synth.config_from(args), stream)
        described = "\n".join(summary.describe().splitlines()[:3])
        print(f"generated (seed {args.seed}): {described}; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        compare(stream, trees, args.runs, Path(tmp))


if __name__ == "__main__":
    main()
