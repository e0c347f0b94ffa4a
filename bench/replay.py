"""Replay throughput of the full flow, against a read+parse baseline in the same run.

    python -m bench.replay [FILE.jsonl | --airline PATH] [--runs 3]

Prints mentions/s for each run and the median, the baseline (read and parse the same
lines, no flow), peak RSS of this process, and the incidents raised. A benchmark, not a
test: it asserts nothing; the machines are shared and noisy, so compare figures taken
in the same run.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import orjson
from bytewax.testing import run_main

from crisiswatch.config import runtime
from crisiswatch.config.runtime import build_flow
from crisiswatch.config.settings import load_settings
from crisiswatch.connectors.importers import airline_rows, sorted_by_time
from crisiswatch.flows.sources import ReplaySource
from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis

DEFAULT_AIRLINE = Path(__file__).resolve().parents[2] / "shared/data/airline/Tweets.csv"


def baseline(path: Path) -> float:
    """Seconds to read and parse every line: the floor under any flow."""
    parser = runtime.parser(load_settings())
    started = time.perf_counter()
    with path.open("rb") as f:
        for i, line in enumerate(f):
            parser.parse(line.rstrip(b"\n"), i)
    return time.perf_counter() - started


def full_run(path: Path) -> tuple[float, Store, EmbeddedRedis]:
    server = EmbeddedRedis().start()
    settings = load_settings()
    started = time.perf_counter()
    run_main(build_flow(settings, ReplaySource([path]), server.url))
    return time.perf_counter() - started, Store(connect(server.url)), server


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", type=Path, help="mention JSON lines")
    ap.add_argument("--airline", type=Path, default=DEFAULT_AIRLINE,
                    help="Tweets.csv to import when no FILE is given")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.file
        if path is None:
            path = Path(tmp) / "airline.jsonl"
            path.write_bytes(b"".join(orjson.dumps(r) + b"\n"
                                      for r in sorted_by_time(airline_rows(args.airline))))
        n = sum(1 for _ in path.open("rb"))
        rates, base_rates = [], []
        for run in range(args.runs):
            base_rates.append(n / baseline(path))
            elapsed, store, server = full_run(path)
            rates.append(n / elapsed)
            stats = store.stats()
            alerts = store.alerts(limit=1000)
            server.close()
            print(f"run {run + 1}: {n / elapsed:,.0f} mentions/s ({elapsed:.2f} s); "
                  f"read+parse baseline {base_rates[-1]:,.0f}/s")
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\n{n:,} records from {path.name}; {stats['processed']:,} processed, "
              f"{stats['duplicate']:,} duplicate, {stats['late']:,} late, "
              f"{stats['dead_lettered']:,} dead-lettered")
        print(f"full flow: median {statistics.median(rates):,.0f} mentions/s over {args.runs} runs"
              f" (min {min(rates):,.0f}, max {max(rates):,.0f})")
        print(f"read+parse baseline: median {statistics.median(base_rates):,.0f}/s; "
              f"flow/baseline = {statistics.median(rates) / statistics.median(base_rates):.2f}")
        print(f"peak RSS of the benchmark process: {peak_mib:,.0f} MiB")
        print(f"\n{len(alerts)} incident(s):")
        for a in sorted(alerts, key=lambda a: a["first_window"]):
            print(f"  [{a['severity']}] {a['explanation']['summary']}")


if __name__ == "__main__":
    main()
