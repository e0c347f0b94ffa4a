"""Bounded memory: 10,000 brands and 1,000,000 distinct hashtags through the full flow.

    python -m bench.memory [--mentions 2000000] [--brands 10000] \
        [--distinct-hashtags 1000000] [--rate 6000] [--ceiling-mib 1536]
    python -m bench.memory --one-mention-brands 100000 [--max-brands N]

The second form is the brand flood: one mention each of N distinct brands (a collector
that writes handles into ``brand``), under ``ingest.max_brands`` (``--max-brands``; 0:
no bound). It prints the same peak RSS and outcomes: past the bound, the flood is
dead-lettered and memory stays bounded.

Generates the stream (``bench.synth``: every tag of the vocabulary is placed on at least
one ordinary original, so a million distinct tags really reach the parser, the window
counters and the brands' term trackers, not only the file), runs the crisiswatch flow
(no topics) over it once in a fresh process, and prints that process's peak RSS against
the stated ceiling, its RSS at every tenth of the input (a bounded flow levels off; a
leak climbs with the input), the embedded Redis's memory (``INFO memory``, a process of
its own, not in the RSS), the throughput, and the record outcomes. ``late`` and
``dead-lettered`` tell whether any tag-bearing mention missed the windows: broken lines
carry no tags, and with no late records every tag went through the window step.

What is bounded in the flow and what is not, so the ceiling means something: windows
keep top-k counters (64 a counter), brands keep at most ``terms.capacity`` tracked terms
and the last ``max(volume.horizons)`` windows; the duplicate filter (``flows/dedup.py``)
remembers the ids of each open window as strings (about 100 bytes an id) and, once the
window closes, as 64-bit digests (8 bytes an id) for ``dedup.horizon_hours`` of event
time, at most ``dedup.max_ids`` per brand. In a short, dense run every window is still
open at the end (the stream covers less than the window length and lateness allowance),
so every id is held as a string: that is what the RSS column shows climbing, at about
100 bytes a mention, and it is the open-window term of the bound, reached.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import orjson

from bench import stages, synth

T0 = 1_700_000_000


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    synth.add_arguments(ap)
    ap.set_defaults(mentions=2_000_000, brands=10_000, distinct_hashtags=1_000_000, rate=6000.0)
    ap.add_argument("--ceiling-mib", type=float, default=1536.0,
                    help="the stated memory ceiling for the flow process (peak RSS)")
    ap.add_argument("--config", type=Path, help="settings file (default: configs/default.yaml)")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    ap.add_argument("--one-mention-brands", type=int, default=0,
                    help="instead: one mention each of this many distinct brands")
    ap.add_argument("--max-brands", type=int, help="ingest.max_brands for the run (0: none)")
    args = ap.parse_args(argv)
    show = not args.quiet and sys.stderr.isatty()
    if args.max_brands is not None:  # the flow's child process reads its environment
        os.environ["CRISISWATCH_INGEST__MAX_BRANDS"] = str(args.max_brands or 10**12)
    if args.one_mention_brands:
        brand_flood(args.one_mention_brands, args.config, show, args.ceiling_mib)
        return

    with tempfile.TemporaryDirectory(prefix="crisiswatch-bench-") as tmp:
        path = Path(tmp) / "memory.jsonl"
        summary = synth.generate(synth.config_from(args), path, progress=show)
        print(f"generated (seed {args.seed}): {summary.describe()}")
        if summary.distinct_topical_tags < args.distinct_hashtags:
            print(f"note: only {summary.distinct_topical_tags:,} of {args.distinct_hashtags:,} "
                  "topical tags fit in the stream's tag slots: raise --mentions")
        r = stages.isolated(stages.full_flow, path, 1, args.config, False, show)

    f = r.facts
    seconds = statistics.median(r.seconds)
    verdict = "within" if r.peak_rss_mib <= args.ceiling_mib else "OVER"
    cpu = statistics.median(r.cpu_seconds)
    print(f"\nfull flow, no topics: {summary.lines:,} lines in {seconds:.1f} s "
          f"({summary.lines / seconds:,.0f} mentions/s; {summary.lines / cpu:,.0f} per CPU-s of "
          f"the flow process); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          "at the end")
    print(f"peak RSS of the flow process: {r.peak_rss_mib:,.0f} MiB, {verdict} the stated "
          f"ceiling of {args.ceiling_mib:,.0f} MiB")
    marks = [(share, rss) for share, rss in f["rss_by_progress"]
             if round(share * 20) % 2 == 0]
    print("RSS as the input is read: " + ", ".join(f"{share:.0%} {rss:,.0f} MiB"
                                                   for share, rss in marks))
    print(f"embedded Redis: used_memory {f['redis_used_mib']:,.1f} MiB, peak "
          f"{f['redis_peak_mib']:,.1f} MiB")
    print(f"outcome: {f['read']:,} read, {f['processed']:,} processed, {f['duplicate']:,} "
          f"duplicate, {f['late']:,} late, {f['dead_lettered']:,} dead-lettered; "
          f"{f['brands']:,} brands, {stages.incidents_text(f)}")
    print(f"hashtags through the flow: {summary.distinct_hashtags:,} distinct in the input; "
          + ("no mention was late, so all of them went through the window step"
             if f["late"] == 0 else f"{f['late']:,} late mentions may have carried some"))


def brand_flood(brands: int, config: Path | None, show: bool, ceiling_mib: float) -> None:
    """One mention each of ``brands`` distinct brands, over an hour of event time."""
    with tempfile.TemporaryDirectory(prefix="crisiswatch-bench-") as tmp:
        path = Path(tmp) / "brands.jsonl"
        with path.open("wb") as f:
            for i in range(brands):
                f.write(orjson.dumps({"id": f"m{i}", "ts": T0 + i * 3600 / brands,
                                      "brand": f"handle{i}", "text": f"hello @handle{i}"})
                        + b"\n")
        r = stages.isolated(stages.full_flow, path, 1, config, False, show)
    f = r.facts
    bound = os.environ.get("CRISISWATCH_INGEST__MAX_BRANDS", "the settings'")
    verdict = "within" if r.peak_rss_mib <= ceiling_mib else "OVER"
    print(f"{brands:,} brands of one mention each, ingest.max_brands {bound}: peak RSS of "
          f"the flow process {r.peak_rss_mib:,.0f} MiB, {verdict} the stated ceiling of "
          f"{ceiling_mib:,.0f} MiB; {statistics.median(r.seconds):.1f} s")
    print(f"outcome: {f['read']:,} read, {f['processed']:,} processed, {f['dead_lettered']:,} "
          f"dead-lettered; {f['brands']:,} brands published")


if __name__ == "__main__":
    main()
