"""Fingerprints of everything a replay publishes, to prove that speed-ups leave
detection unchanged.

``tests/golden/replays.json`` holds the fingerprints made by the code before the
performance work (issue 8), regenerated once since, when the top-k counters became exact
until they fill (the explanations' term counts and examples moved; every incident, its
kinds, severity and windows, and every stat stayed), for three streams: the airline
sample; a dense slice of the synthetic firehose (``bench.synth`` at 6,000 mentions/s:
windows of hundreds of mentions overflow every top-k counter); and three synthetic days
of 40 brands with injected incidents (baselines warm up, detectors fire). A fingerprint
is the record outcomes, each incident (id, brand, kinds, severity, windows, and a digest
of its whole explanation) and a digest of every brand's series. Digests rather than
documents: the explanations quote tweets, and the airline sample may not be copied into
the project.

Regenerate (only when a change to detection is intended, and say so in the commit):

    python -m tests.replay_fingerprints --write
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench import synth
from crisiswatch.connectors.importers import airline_rows, sorted_by_time
from crisiswatch.store import Store

GOLDEN = Path(__file__).parent / "golden" / "replays.json"
AIRLINE_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "airline" / "Tweets.csv"


def _airline(path: Path) -> None:
    with path.open("wb") as f:
        for row in sorted_by_time(airline_rows(AIRLINE_CSV)):
            f.write(orjson.dumps(row) + b"\n")


# name -> writes the stream to a path
STREAMS: dict[str, Callable[[Path], Any]] = {
    "airline": _airline,
    "synthetic_dense": lambda p: synth.generate(synth.SynthConfig(
        mentions=40_000, brands=150, distinct_hashtags=20_000, days=40_000 / 6000 / 86400,
        seed=11, incidents=1), p),
    "synthetic_days": lambda p: synth.generate(synth.SynthConfig(
        mentions=60_000, brands=40, distinct_hashtags=5_000, days=3.0, seed=12,
        incidents=3), p),
}


def _digest(value: Any) -> str:
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def fingerprint(store: Store) -> dict[str, Any]:
    """What a replay published, reduced to what must not change."""
    stats = store.stats()
    stats.pop("status")
    incidents = sorted(
        ({"id": a["id"], "brand": a["brand"], "kinds": a["kinds"], "severity": a["severity"],
          "first_window": a["first_window"], "last_window": a["last_window"],
          "explanation": _digest(a["explanation"])}
         for a in (store.detector_alert(x["id"]) for x in store.alerts(limit=100_000))
         if a is not None),
        key=lambda a: a["id"])
    series = {b: _digest(store.series(b, limit=1_000_000)) for b in store.brands()}
    return {"stats": stats, "incidents": incidents, "series": series}


def main() -> None:
    from bytewax.testing import run_main
    from crisiswatch.embedded import EmbeddedRedis

    from crisiswatch.config.runtime import build_flow  # the flow configured by Settings
    from crisiswatch.config.settings import load_settings
    from crisiswatch.flows.sources import ReplaySource
    from crisiswatch.store import connect

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help=f"write {GOLDEN}")
    args = ap.parse_args()
    found = {}
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis() as server:
        for name, write in STREAMS.items():
            path = Path(tmp) / f"{name}.jsonl"
            write(path)
            settings = load_settings()
            settings.store.prefix = name
            run_main(build_flow(settings, ReplaySource([path]), server.url))
            found[name] = fingerprint(Store(connect(server.url), name))
    text = orjson.dumps(found, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
    if args.write:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text + "\n")
        print(f"wrote {GOLDEN}: " + ", ".join(f"{n}: {len(f['incidents'])} incidents"
                                              for n, f in found.items()))
    else:
        print(text)


if __name__ == "__main__":
    main()
