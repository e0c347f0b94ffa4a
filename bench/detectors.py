"""Detector cost per closed window, and the size of a brand's detector state.

    python -m bench.detectors [--windows 2000] [--runs 5]

Feeds prepared windows (a diurnal count, a few hashtags, a watch term now and then, one
burst) through ``detectors.brand.observe`` and prints the median microseconds per window
of several runs, beside the cost of building the window itself (``WindowStats.add`` for
its mentions) as a baseline measured in the same run, and the pickled size of the state
(what Bytewax snapshots per brand). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import time

import numpy as np

from crisiswatch.settings import load_settings
from detectors.brand import BrandState, observe
from detectors.types import Mention
from detectors.window import WindowStats


def make_windows(n: int, seed: int = 1) -> list[list[Mention]]:
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    cfg = load_settings().detector_config()
    prepared = make_windows(args.windows)
    mentions = sum(len(w) for w in prepared)
    observe_us, build_us, sizes = [], [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        stats = []
        for ms in prepared:
            s = WindowStats()
            for m in ms:
                s.add(m)
            stats.append(s)
        build_us.append((time.perf_counter() - started) / len(prepared) * 1e6)
        state = BrandState()
        started = time.perf_counter()
        for i, s in enumerate(stats):
            observe(state, "B", 10_000 + i, s, cfg)
        observe_us.append((time.perf_counter() - started) / len(prepared) * 1e6)
        sizes.append(len(pickle.dumps(state)))
    print(f"{args.windows:,} windows, {mentions:,} mentions ({mentions / args.windows:.0f} a "
          f"window), {args.runs} runs")
    print(f"detectors (observe) per window: median {statistics.median(observe_us):,.0f} µs "
          f"(min {min(observe_us):,.0f}, max {max(observe_us):,.0f})")
    print(f"baseline, building the window (WindowStats.add): median "
          f"{statistics.median(build_us):,.0f} µs per window, "
          f"{statistics.median(build_us) / (mentions / args.windows):.1f} µs per mention")
    print(f"brand state pickled (Bytewax snapshot): {statistics.median(sizes) / 1024:,.1f} KiB")


if __name__ == "__main__":
    main()
