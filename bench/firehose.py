"""Can one process carry the firehose? Throughput of the flow against its ceilings.

    python -m bench.firehose --mentions 200000 --brands 2000 --runs 3
    python -m bench.firehose --input mentions.jsonl --runs 3 [--profile]
    python -m bench.firehose --runs 3 --compare ../main   # realistic stream: vs main

Generates a synthetic stream (``bench.synth``) into a temporary file, or reads
``--input``, and measures in one run, each stage ``--runs`` times in a fresh process of
its own (so that peak memory is per stage; the flow stages each run in a fresh process,
see ``stages.fresh_runs``):

(a) the ceiling: read and parse every line (``Parser.parse``), no flow;
(b) the engine's ceiling: a Bytewax flow that reads the file with ``ReplaySource`` and
    discards every line (items travel in the source's batches of 8,000 lines);
(c) the crisiswatch flow (``build_flow``) without topics, into a fresh embedded Redis;
(d) the same with topics on the ``static`` embedding backend (the shipped table, or a
    rebuild by ``crisiswatch models build``).

The generated stream has the firehose's density by default (``--rate 6000`` mentions
per second of event time: 200,000 mentions cover about half a minute), so each brand's
window holds many mentions and per-mention costs dominate, as they do live. ``--rate 0
--days 3`` spreads the same mentions over three days instead: a replay of history, with
many small windows (per-window costs dominate) and baselines that warm up, so the
detectors raise incidents. Throughput differs between the two; both are worth knowing.

Then, unless ``--input`` or ``--no-realistic``, the stream the product really works on:
as many mentions and brands over ``--realistic-days`` (3) of event time with 20 injected
incidents, so windows close for days, baselines warm up and incidents of every kind fire
(the stream above closes about one window per brand). (c) runs on it in fresh processes,
alternating with each ``--compare`` checkout's (c) (e.g. a ``git worktree`` of main: its
own code end to end), and (d) with this code; it prints their rates, this code's rate
against the one-window stream's and against each other checkout's, and their incidents.

It prints mentions/s (every line read counts) as the median, min and max of the runs,
the ratios to (b), peak RSS per stage, and where the time of (c) goes: each component
of the flow timed alone over the same input, as a share of the measured flow time; the
remainder is what Bytewax itself costs (scheduling, moving items between steps, the
keyed exchange, the window operator's bookkeeping, the counters). A benchmark, not a
test: it asserts nothing, and figures are comparable only within one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from bench import stages, synth


def _rate_row(label: str, lines: int, r: stages.StageResult) -> str:
    rates = [lines / s for s in r.seconds]
    cpu = lines / statistics.median(r.cpu_seconds)
    return (f"{label:<40} {statistics.median(rates):>11,.0f} {min(rates):>11,.0f} "
            f"{max(rates):>11,.0f} {cpu:>11,.0f} {r.peak_rss_mib:>9,.0f} MiB")


def _ratio(a: stages.StageResult | None, b: stages.StageResult) -> str:
    if a is None:
        return "n/a"
    return f"{statistics.median(b.seconds) / statistics.median(a.seconds):.3f}"


def measure(path: Path, runs: int, config: Path | None, show: bool, profile: bool
            ) -> stages.StageResult:
    """Run every stage over ``path``, print the figures, return (c)'s."""
    lines = sum(1 for _ in path.open("rb"))
    size_mib = path.stat().st_size / 2**20
    print(f"input: {path} ({lines:,} lines, {size_mib:,.1f} MiB); {runs} run(s) a stage, "
          f"each stage in a fresh process; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs at the start")
    a = stages.isolated(stages.ceiling, path, runs, config)
    b = stages.isolated(stages.passthrough, path, runs, show)
    c = stages.fresh_runs(stages.full_flow, path, runs, config, False, show)
    if profile:  # one more run of (c), profiled and not timed (0 timed runs)
        c.profile = stages.isolated(stages.full_flow, path, 0, config, False, show, True).profile
    why_not = stages.topics_unavailable(config)
    d = None if why_not else stages.fresh_runs(stages.full_flow, path, runs, config, True, show)
    shares = stages.isolated(stages.components, path, runs, config)

    print(f"\n{'stage':<40} {'mentions/s':>11} {'min':>11} {'max':>11} {'per CPU-s':>11} "
          f"{'peak RSS':>13}")
    print(_rate_row("(a) ceiling: read + parse, no flow", lines, a))
    print(_rate_row("(b) Bytewax pass-through", lines, b))
    print(_rate_row("(c) crisiswatch flow, no topics", lines, c))
    if d is not None:
        print(_rate_row("(d) crisiswatch flow + topics (static)", lines, d))
    else:
        print(f"{'(d) crisiswatch flow + topics (static)':<40} not available here: {why_not}")
    print(f"ratios: (c)/(b) = {_ratio(c, b)}; (d)/(b) = {_ratio(d, b)}; "
          f"(a)/(b) = {_ratio(a, b)}  (of median wall times; per CPU-s: this process's CPU "
          "time, which others' load disturbs less; the embedded Redis is another process)")
    for label, r in (("(c)", c), ("(d)", d)):
        if r is None:
            continue
        f = r.facts
        print(f"{label} outcome of the last run: {f['read']:,} read, {f['processed']:,} "
              f"processed, {f['duplicate']:,} duplicate, {f['late']:,} late, "
              f"{f['dead_lettered']:,} dead-lettered; {f['brands']:,} brands, "
              f"{stages.incidents_text(f)}; Redis used_memory {f['redis_used_mib']:,.1f} MiB "
              f"(peak {f['redis_peak_mib']:,.1f} MiB, not in the peak RSS above)")

    flow_s = statistics.median(c.seconds)
    parts = shares.facts["components"]
    windows = shares.facts["windows"]
    print(f"\ntime shares of (c) (median {flow_s:.2f} s): each component timed alone over the "
          f"same input, median of {runs} run(s), in one more process (peak RSS "
          f"{shares.peak_rss_mib:,.0f} MiB: it holds the whole input); {windows:,} brand-windows "
          f"closed, {lines / max(windows, 1):,.1f} mentions a brand-window:")
    for name, s in parts.items():
        print(f"  {name:<56} {s:>8.2f} s {s / flow_s:>7.1%}")
    rest = flow_s - sum(parts.values())
    if rest >= 0:
        print(f"  {'Bytewax and the rest (remainder)':<56} {rest:>8.2f} s {rest / flow_s:>7.1%}")
    else:  # alone, over the whole input held in memory, the parts run slower than inside
        print(f"  the components' sum exceeds the flow's time by {-rest:.2f} s: Bytewax's own "
              "share is too small to show against their noise")
    if c.profile:
        print("\ncProfile of an extra, untimed run of (c), by own time:\n" + c.profile)
    return c


def realistic(path: Path, lines: int, runs: int, config: Path | None, trees: list[Path],
              one_window: stages.StageResult | None, show: bool) -> None:
    """(c) on the realistic stream, in alternating fresh processes of each checkout in
    ``trees`` (this one last), and (d) with this one: figures of the same run."""
    here = trees[-1]
    results: dict[Path, list[stages.StageResult]] = {t: [] for t in trees}
    loads = []
    for r in range(runs):
        for t in trees if r % 2 == 0 else trees[::-1]:
            loads.append(os.getloadavg()[0])
            results[t].append(stages.flow_in_tree(t, path, config, False))
    why_not = stages.topics_unavailable(config)
    d = None if why_not else stages.fresh_runs(stages.full_flow, path, runs, config, True, show)
    print(f"\n{'realistic stream: stage':<40} {'mentions/s':>11} {'min':>11} {'max':>11} "
          f"{'per CPU-s':>11} {'peak RSS':>13}   (load average {statistics.median(loads):.1f}"
          f", median over the runs)")
    merged = {t: stages.StageResult([s for x in rs for s in x.seconds],
                                    [s for x in rs for s in x.cpu_seconds],
                                    max(x.peak_rss_mib for x in rs), rs[-1].facts)
              for t, rs in results.items()}
    for t, c in merged.items():
        print(_rate_row(f"(c) no topics, {'this code' if t == here else str(t)[-28:]}",
                        lines, c))
    if d is not None:
        print(_rate_row("(d) + topics (static), this code", lines, d))
    else:
        print(f"{'(d) + topics (static)':<40} not available here: {why_not}")
    c = merged[here]
    if one_window is not None:
        print(f"this code's (c) on the realistic stream / on the one-window stream: "
              f"{_ratio(c, one_window)}")
    for t in trees[:-1]:
        print(f"this code's (c) / {t}'s (c), realistic stream: {_ratio(c, merged[t])}")
    for t, r in merged.items():
        f = r.facts
        print(f"{'this code' if t == here else t}: {f['processed']:,} processed, "
              f"{f['duplicate']:,} duplicate, {f['late']:,} late, {f['dead_lettered']:,} "
              f"dead-lettered; {stages.incidents_text(f)}; Redis used_memory "
              f"{f['redis_used_mib']:,.1f} MiB")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    synth.add_arguments(ap)
    ap.set_defaults(mentions=200_000, brands=2_000, rate=6000.0)  # --rate 0: use --days
    ap.add_argument("--input", type=Path, help="measure this JSON lines file instead of "
                    "generating one")
    ap.add_argument("--runs", type=int, default=3, help="runs of each stage (median reported)")
    ap.add_argument("--config", type=Path, help="settings file (default: configs/default.yaml)")
    ap.add_argument("--profile", action="store_true",
                    help="also profile (c) with cProfile, in one extra run that is not timed")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    ap.add_argument("--realistic-days", type=float, default=3.0,
                    help="event time of the realistic stream (as many mentions and brands, "
                    "20 incidents): windows close, baselines warm up, incidents fire")
    ap.add_argument("--no-realistic", action="store_true",
                    help="measure only the one-window stream")
    ap.add_argument("--compare", type=Path, action="append", default=[],
                    help="another checkout (e.g. main) whose (c) runs on the realistic "
                    "stream beside this code's, alternating fresh processes (repeatable)")
    args = ap.parse_args(argv)
    show = not args.quiet and sys.stderr.isatty()
    if args.input is not None:
        if not args.input.is_file():
            ap.error(f"no such input file: {args.input}")
        measure(args.input, args.runs, args.config, show, args.profile)
        return
    with tempfile.TemporaryDirectory(prefix="crisiswatch-bench-") as tmp:
        path = Path(tmp) / "firehose.jsonl"
        summary = synth.generate(synth.config_from(args), path, progress=show)
        print(f"generated (seed {args.seed}): {summary.describe()}")
        c = measure(path, args.runs, args.config, show, args.profile)
        if args.no_realistic:
            return
        path.unlink()
        shaped = replace(synth.config_from(args), days=args.realistic_days, incidents=20)
        summary = synth.generate(shaped, path, progress=show)
        print("\nthe realistic stream: " + "\n".join(summary.describe().splitlines()[:3]))
        here = Path(__file__).resolve().parent.parent
        trees = list(dict.fromkeys([t.resolve() for t in args.compare] + [here]))
        realistic(path, summary.lines, args.runs, args.config, trees, c, show)


if __name__ == "__main__":
    main()
