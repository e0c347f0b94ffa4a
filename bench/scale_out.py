"""The flow as a Bytewax cluster of 1, 2, … local processes, and crash recovery's cost.

    python -m bench.scale_out [--mentions 200000] [--brands 500] [--processes 1 2]
        [--runs 2] [--source files|stream] [--recovery]

Runs ``crisiswatch flow`` as an operator would (a child process against an embedded
Redis, topics off) over a synthetic stream (``bench.synth``), the process counts
interleaved run by run so that a noisy neighbour hurts each alike, and prints for each
run the wall time, the CPU seconds of the whole process tree (what the work costs,
whatever else runs on the machine) and mentions/s. ``--recovery`` snapshots every 10 s
into a fresh recovery directory per run. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.synth import SynthConfig, generate
from crisiswatch.flows.replay_shards import line_brand
from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def one_run(path: Path, url: str, processes: int, source: str, recovery: Path | None
            ) -> tuple[float, float, int]:
    """(wall s, CPU s, records read) of one ``crisiswatch flow`` to the end."""
    prefix = f"b{uuid.uuid4().hex[:8]}"
    store = Store(connect(url), prefix)
    args = ["--processes", str(processes)]
    if source == "stream":
        lines = [x for x in path.read_bytes().splitlines() if x.strip()]
        for i in range(0, len(lines), 5000):
            store.inputs.append([(line_brand(x), x) for x in lines[i:i + 5000]])
        args += ["--from-stream", "--drain"]
    else:
        args.append(str(path))
    if recovery is not None:
        args += ["--recovery-dir", str(recovery / prefix)]
    env = {**os.environ, "REDIS_URL": url, "CRISISWATCH_STORE__PREFIX": prefix,
           "CRISISWATCH_TOPICS__ENABLED": "false"}
    cpu, started = _children_cpu(), time.perf_counter()
    subprocess.run([sys.executable, "-m", "crisiswatch.cli", "flow", *args], env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started, _children_cpu() - cpu, store.stats()["read"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mentions", type=int, default=200_000)
    ap.add_argument("--brands", type=int, default=500)
    ap.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--source", choices=["files", "stream"], default="files")
    ap.add_argument("--recovery", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="cw-scale-") as tmp, EmbeddedRedis() as redis:
        path = Path(tmp) / "synth.jsonl"
        generate(SynthConfig(mentions=args.mentions, brands=args.brands, days=3), path)
        recovery = Path(tmp) / "recovery" if args.recovery else None
        results: dict[int, list[tuple[float, float, int]]] = {n: [] for n in args.processes}
        for run in range(args.runs):
            for n in args.processes:
                wall, cpu, read = one_run(path, redis.url, n, args.source, recovery)
                results[n].append((wall, cpu, read))
                print(f"run {run + 1}, {n} process(es): {wall:6.1f} s wall, {cpu:6.1f} s CPU, "
                      f"{read / wall:8,.0f} mentions/s (load {os.getloadavg()[0]:.1f})",
                      flush=True)
        base = statistics.median(w for w, _, _ in results[args.processes[0]])
        for n, rows in results.items():
            wall = statistics.median(w for w, _, _ in rows)
            cpu = statistics.median(c for _, c, _ in rows)
            print(f"{n} process(es), median of {len(rows)}: {wall:.1f} s wall "
                  f"({base / wall:.2f}x the first), {cpu:.1f} s CPU, "
                  f"{rows[0][2] / wall:,.0f} mentions/s")


if __name__ == "__main__":
    main()
