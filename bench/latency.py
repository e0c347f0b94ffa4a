"""Live-mode latency after a window closes: until its incident is visible in the store
and through the API, on the real live path (Redis input streams -> ``crisiswatch flow
--from-stream`` -> store -> API).

    python -m bench.latency [--seconds 240] [--rate 1000] [--brands 200] [--incidents 20]

Four processes on this machine, all on one clock (``time.time()``; Redis stamps its
stream entry ids with the same clock):

- **producer**: appends mentions to the input streams in real time through
  ``Store.inputs.append``, the call ``POST /mentions`` (``api/ingest.py``) makes once it
  has validated a batch, every ``--tick-ms`` (one MULTI/EXEC of XADDs, as one request
  would). Each mention's ``ts`` is the wall clock at append (epoch seconds, one stamp per
  batch taken just before the XADDs). Why not through HTTP: what ``POST /mentions`` does
  before its append (HTTP, validation) happens before the mention is "appended to the
  input stream" and cannot change the part measured here; it would only take CPU from
  the flow on a 2-core machine. The mentions come from ``bench.synth`` (its brands with
  Zipf volumes, texts and retweets; no broken, re-sent or out-of-order records, which
  the API would refuse or a live collector would not produce): ``--rate`` mentions/s over
  ``--brands`` brands, with ``--incidents`` injected incidents (a brand's volume x5-x10
  for a sixth of the run, after the first third), so that incidents open and update.
- **flow**: the production command, ``python -m crisiswatch.cli flow --from-stream
  --recovery-dir DIR`` (snapshots every ``--snapshot-interval`` s, as in production;
  ``--no-recovery`` leaves them out), configured through the environment
  (``CRISISWATCH_*``): ``--window-seconds`` windows (3 by default), no lateness
  allowance, the volume detector's warm-up cut to ``--warmup-windows`` so incidents can
  open within the run, topics off.
- **watcher**: receives incident events two ways: a blocking ``XREAD`` on the store's
  event log (``p:events``, which the sink writes in the same Lua step as the incident),
  and the real API's ``GET /stream`` (Server-Sent Events from the FastAPI app under
  uvicorn, over HTTP).
- this process: an embedded Redis, the set-up, the progress display and the figures.

Latency, for every incident version that a closed window produced (``incident.opened``
/ ``incident.updated``: its ``last_window`` is that window), is

    (wall time the watcher received it) - (wall time the window closed)

where a window closes when the brand's watermark passes its end. With ``ts`` = wall
clock at append and no lateness allowance, the watermark is event time, so a window
ending at event time E closes at wall time E (the flow's watermark also advances with
the wall clock while a brand is quiet: ``flows/brand_windows.py``). The figure is split
at the moment the incident was written to the store: the event log entry's id is Redis's
wall clock (ms) when the sink's Lua step ran.

Included: the input path of the last mentions before E (XADD, the source's
``XREADGROUP`` poll, parse, enrich, the exchange to the brand's step: a watermark that
lags the wall clock closes the window that much later), Bytewax waking the brand's step
(a new mention past E, or its ``notify_at`` wake-up when the brand is quiet), the
window's detectors and incident fusion, the way to the sink and its pipelined Redis
write, epoch boundaries with their snapshots (with recovery), and the hand-over to the
reader (``XREAD`` wake-up; for the API also the SSE handler's read, HTTP and the client).
Excluded by definition: the window length (a mention waits up to a window for its window
to end) and the lateness allowance (production's default is 10 minutes: a window closes
that long after its end). Also excluded: what happens before a mention is appended (a
collector, ``POST /mentions``), ``incident.resolved`` versions (a later window resolves
an incident; its nominal window is not the one that produced it) and a client's own
polling interval. Without a lateness allowance, a mention whose way into the flow took
longer than that of the brand's previous one, across a window end, arrives behind the
watermark: it is counted as late (printed with the flow's counts; about 1% at 1,000/s
here), not folded into its window.

A benchmark: it prints figures and asserts nothing; the machine is shared, so its load
average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from bench import synth
from bench.latency_watch import PREFIX, latencies, report, watch
from crisiswatch.config.settings import load_settings
from crisiswatch.detectors.parse import parse_ts
from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis

# -- the producer -------------------------------------------------------------------

@dataclass(frozen=True)
class Produced:
    """What the producer did: mentions and batches appended, how far behind its schedule
    it fell at worst (a late append only shifts a mention's ``ts``, never the figures),
    and its first and last append (wall time)."""

    mentions: int
    batches: int
    behind_s: float
    first: float
    last: float


def produce(url: str, path: str, ts0: float, tick_s: float, go: Any, appended: Any,
            conn: Connection) -> None:
    """The producer process: append the synthetic stream's mentions at the pace of their
    event times, each stamped with the wall clock at append, every ``tick_s`` at most."""
    store = Store(connect(url), PREFIX)
    store.inputs.partitions()  # pinned by the set-up, like the API's attach()
    go.wait()
    t0 = time.time()
    n = batches = 0
    behind = 0.0
    first = last = t0
    with open(path, "rb") as f:
        lines = (orjson.loads(line) for line in f if line.strip())
        rec: dict[str, Any] | None = next(lines, None)
        due = t0 + parse_ts(rec["ts"]) - ts0 if rec else 0.0
        while rec is not None:
            now = time.time()
            batch: list[dict[str, Any]] = []
            while rec is not None and due <= now:
                if not batch:
                    behind = max(behind, now - due)
                batch.append(rec)
                rec = next(lines, None)
                if rec is not None:
                    due = t0 + parse_ts(rec["ts"]) - ts0
            if batch:
                stamp = time.time()
                store.inputs.append([(m["brand"], orjson.dumps({**m, "ts": stamp}))
                                     for m in batch])
                last = time.time()
                if not batches:
                    first = stamp
                n += len(batch)
                batches += 1
                appended.value = n
            if rec is not None:
                time.sleep(max(0.0, max(due, now + tick_s) - time.time()))
    conn.send(Produced(n, batches, behind, first, last))


# -- the flow -----------------------------------------------------------------------

def flow_env(url: str, window_seconds: int, warmup_windows: int) -> dict[str, str]:
    """The live settings, as an operator would set them for ``crisiswatch flow``."""
    return {**os.environ, "REDIS_URL": url,
            "CRISISWATCH_WINDOW__MINUTES": repr(window_seconds / 60),
            "CRISISWATCH_WINDOW__LATENESS_MINUTES": "0",
            "CRISISWATCH_VOLUME__WARMUP_WINDOWS": str(warmup_windows),
            "CRISISWATCH_STORE__PREFIX": PREFIX,
            "CRISISWATCH_TOPICS__ENABLED": "false"}


def flow_command(config: Path | None, recovery_dir: Path | None, snapshot_s: int
                 ) -> list[str]:
    cmd = [sys.executable, "-m", "crisiswatch.cli", "flow", "--from-stream",
           "--snapshot-interval", str(snapshot_s)]
    if recovery_dir is not None:
        cmd += ["--recovery-dir", str(recovery_dir)]
    if config is not None:
        cmd += ["--config", str(config)]
    return cmd


def _wait_reading(store: Store, partitions: int, flow: subprocess.Popen[bytes],
                  log: Path, timeout: float = 120) -> None:
    """Until the flow's source has made its consumer group on every input stream."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if flow.poll() is not None:
            raise SystemExit(f"the flow exited with status {flow.returncode}:\n"
                             f"{log.read_text(errors='replace')[-3000:]}")
        if all(store.inputs.partition(k).group_info() is not None for k in range(partitions)):
            return
        time.sleep(0.1)
    raise SystemExit(f"the flow did not start reading within {timeout:.0f} s")


def _stop_flow(flow: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as an operator stops it; SIGKILL if it does not stop."""
    if flow.poll() is None:
        flow.send_signal(signal.SIGINT)
    try:
        flow.wait(timeout=20)
    except subprocess.TimeoutExpired:
        flow.kill()
        flow.wait()


# -- the run ------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=240, help="how long the producer appends")
    ap.add_argument("--rate", type=float, default=1000, help="mentions per second")
    ap.add_argument("--brands", type=int, default=200)
    ap.add_argument("--incidents", type=int, default=20)
    ap.add_argument("--window-seconds", type=float, default=3)
    ap.add_argument("--warmup-windows", type=int, default=10)
    ap.add_argument("--tick-ms", type=float, default=10,
                    help="the producer appends what is due this often (one batch)")
    ap.add_argument("--snapshot-interval", type=int, default=10,
                    help="seconds between the flow's snapshots (its CLI's default)")
    ap.add_argument("--no-recovery", action="store_true",
                    help="run the flow without --recovery-dir (no snapshots)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--config", type=Path, help="settings file (default: configs/default.yaml)")
    ap.add_argument("--quiet", action="store_true", help="no progress display")
    args = ap.parse_args(argv)
    if args.window_seconds < 1 or args.window_seconds != int(args.window_seconds):
        ap.error("--window-seconds must be a whole number of seconds, at least 1")
    window_s = int(args.window_seconds)
    show = not args.quiet and sys.stderr.isatty()
    partitions = load_settings(args.config).ingest.partitions
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="crisiswatch-bench-") as tmp, \
            EmbeddedRedis() as server:
        path = Path(tmp) / "live.jsonl"
        cfg = synth.SynthConfig(
            mentions=round(args.rate * args.seconds), brands=args.brands,
            distinct_hashtags=max(1000, round(args.rate * args.seconds / 20)),
            days=args.seconds / 86400, seed=args.seed, incidents=args.incidents,
            incident_minutes=args.seconds / 6 / 60, out_of_order_share=0.0,
            duplicate_share=0.0, bad_share=0.0)
        summary = synth.generate(cfg, path)
        print(f"generated (seed {args.seed}): {summary.describe()}")
        store = Store(connect(server.url), PREFIX)
        store.inputs.pin(partitions)

        log = Path(tmp) / "flow.log"
        recovery = None if args.no_recovery else Path(tmp) / "recovery"
        command = flow_command(args.config, recovery, args.snapshot_interval)
        ctx = get_context("spawn")
        ready, stop, go = ctx.Event(), ctx.Event(), ctx.Event()
        appended = ctx.Value("q", 0)
        watched, watch_end = ctx.Pipe(duplex=False)
        produced, produce_end = ctx.Pipe(duplex=False)
        watcher = ctx.Process(target=watch, args=(server.url, watch_end, ready, stop))
        producer = ctx.Process(target=produce, args=(server.url, str(path), summary.first_ts,
                                                      args.tick_ms / 1000, go, appended,
                                                      produce_end))
        with log.open("wb") as log_file:
            flow = subprocess.Popen(command, env=flow_env(server.url, window_s,
                                                          args.warmup_windows),
                                    stdin=subprocess.DEVNULL, stdout=log_file,
                                    stderr=subprocess.STDOUT)
        try:
            watcher.start()
            producer.start()
            _wait_reading(store, partitions, flow, log)
            if not ready.wait(60):
                raise SystemExit("the watcher (API and event readers) did not start "
                                 "within 60 s")
            go.set()
            started = time.monotonic()
            bar = Progress(TextColumn("{task.description}"), BarColumn(),
                           TimeRemainingColumn(), console=Console(stderr=True),
                           disable=not show, transient=True)
            task = bar.add_task("live", total=args.seconds)
            with bar:
                while not produced.poll(0.5):
                    if not producer.is_alive() and not produced.poll():
                        raise SystemExit(f"the producer exited with status "
                                         f"{producer.exitcode}")
                    if flow.poll() is not None:
                        raise SystemExit(f"the flow exited with status {flow.returncode}:\n"
                                         f"{log.read_text(errors='replace')[-3000:]}")
                    if show:
                        bar.update(task, completed=min(time.monotonic() - started,
                                                       args.seconds),
                                   description=f"live: {appended.value:,} appended, "
                                   f"{store.stats()['read']:,} read by the flow")
                done: Produced = produced.recv()
            # The last windows end within a window of the last append and close then.
            time.sleep(window_s + 2)
            stop.set()
            from_store, from_api = watched.recv()
            watcher.join(timeout=30)
            load_after = os.getloadavg()
        finally:
            for p in (producer, watcher):
                if p.is_alive():
                    p.kill()
            _stop_flow(flow)
        stats = store.stats()

    on_store, on_api = latencies(from_store), latencies(from_api)
    kinds = [s[2] for s in from_store]
    windows = {start for _, start in on_store.versions}
    incidents = {incident for incident, _ in on_store.versions}
    print(f"\nproducer: {done.mentions:,} mentions appended over {done.last - done.first:.0f} s "
          f"({done.mentions / max(done.last - done.first, 1e-9):,.0f}/s; asked "
          f"{args.rate:,.0f}/s over {args.brands} brands, {args.incidents} injected "
          f"incidents) to {partitions} input streams with Store.inputs.append, "
          f"{done.batches:,} batches (every {args.tick_ms:g} ms at most), at worst "
          f"{done.behind_s * 1000:,.0f} ms behind schedule; ts = wall clock at append")
    print(f"flow: {' '.join(['crisiswatch', *command[3:]]).replace(tmp, '$TMP')}; "
          f"{window_s}-s windows, no lateness, volume warm-up {args.warmup_windows} windows; "
          f"{stats['read']:,} read, {stats['processed']:,} processed, {stats['late']:,} late, "
          f"{stats['duplicate']:,} duplicate, {stats['dead_lettered']:,} dead-lettered")
    print(f"incident events: {kinds.count('incident.opened')} opened, "
          f"{kinds.count('incident.updated')} updated, {kinds.count('incident.resolved')} "
          f"resolved; measured: {len(on_store.versions):,} incident versions produced by a "
          f"closed window, of {len(incidents)} incidents, from {len(windows)} distinct "
          f"window ends; through the API: {len(on_api.versions):,} "
          f"({len(on_store.versions - on_api.versions)} seen only in the store)")
    print("latency after the window closed (wall time = its end) until received:")
    report("in the store (XREAD on the event log, another process)", on_store)
    report("through the API (GET /stream, SSE over HTTP)         ", on_api)
    print(f"load average (1, 5, 15 min): before {', '.join(f'{x:.2f}' for x in load_before)};"
          f" after {', '.join(f'{x:.2f}' for x in load_after)} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
