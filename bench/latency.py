"""Live-mode latency after a window closes: until its incident is visible in the store
and through the API.

    python -m bench.latency [--seconds 240] [--rate 1000] [--brands 200] [--incidents 20]

There is no live source yet (a Redis Streams source is another issue), so "live" is
simulated honestly: the file source paces lines by event time at real speed
(``ReplaySource(speed=1)``), windows are short (``--window-seconds``, 3 s by default)
with no lateness allowance, and the volume detector's warm-up is cut to
``--warmup-windows`` so that incidents (injected by ``bench.synth``: a brand's volume
x5-x10 for a sixth of the run) can open within minutes. A watcher in another process
reads the incident events two ways: straight from the store's event log (a blocking
``XREAD`` on ``p:events``, which the sink writes in the same Lua step as the incident)
and through the real API (``GET /stream``, Server-Sent Events over HTTP from the FastAPI
app under uvicorn). For every incident version that a closed window produced
(``incident.opened`` / ``incident.updated``: its ``last_window`` is that window), the
latency is

    (monotonic time the watcher received it) - (monotonic time the window closed)

where the window closed when the watermark passed its end: with speed 1 and no
lateness, that is the replay clock reaching the window's end, i.e.
``t0 + (window_end - ts0)`` with ``(ts0, t0)`` the first line's event time and the wall
time the source released it (the source's own pacing anchor).

Included: the watermark's lag behind the replay clock (lines released a little after
they are due), Bytewax waking the window operator, the fold result, the detectors and
incident fusion for that window, the steps to the sink, the sink's pipelined Redis
write, and the hand-over to the reader (``XREAD`` wake-up; for the API also the SSE
handler's read, HTTP and the client). Not included: the wait for the window itself to
end (up to one window after a mention) and the lateness allowance (production's default
is 10 minutes: a window closes that long after its end), ingestion from a real live
source, and a client's own polling interval. Windows that the end of the input closed
(not the watermark) are left out.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from multiprocessing import get_context
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson
from bytewax.testing import run_main
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from bench import synth
from crisiswatch.embedded import EmbeddedRedis, free_port
from crisiswatch.settings import Settings, load_settings
from crisiswatch.store import Store, connect
from flows.dataflow import build_flow
from flows.parse import parse_ts
from flows.sources import ReplaySource

PREFIX = "latency"
Seen = tuple[float, str, str, float, int]  # (monotonic time, type, incident id, last_window, s)
PRODUCED_BY_A_WINDOW = ("incident.opened", "incident.updated")


def _seen(now: float, kind: str, data: dict[str, Any]) -> Seen:
    return now, kind, data["id"], float(data["last_window"]), int(data["window_s"])


def _read_store(store: Store, cursor: str, stop: Any, out: list[Seen]) -> None:
    while not stop.is_set():
        for e in store.events.after(cursor, 1000, 200):
            out.append(_seen(time.monotonic(), e["type"], e["data"]))
            cursor = e["id"]


def _read_api(port: int, connected: threading.Event, out: list[Seen]) -> None:
    import httpx

    with httpx.Client(timeout=None) as client, \
            client.stream("GET", f"http://127.0.0.1:{port}/stream",
                          params={"types": "incident"}) as resp:
        kind = ""
        for line in resp.iter_lines():
            if line.startswith("retry:"):
                connected.set()
            elif line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                out.append(_seen(time.monotonic(), kind, orjson.loads(line[6:])))


def watch(url: str, conn: Connection, ready: Any, stop: Any) -> None:
    """The watcher process: serve the API, read the event log and the API's event
    stream until ``stop``, then send back what each saw and when."""
    import uvicorn

    from api.app import create_app

    store = Store(connect(url), PREFIX)
    app = create_app(store)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                          log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    from_store: list[Seen] = []
    from_api: list[Seen] = []
    connected = threading.Event()
    api_reader = threading.Thread(target=_read_api, args=(port, connected, from_api))
    api_reader.start()
    connected.wait(10)
    store_reader = threading.Thread(target=_read_store,
                                    args=(store, store.events.last_id(), stop, from_store))
    store_reader.start()
    ready.set()
    stop.wait()
    store_reader.join()
    app.state.streams_closing = True  # the SSE handler ends within its block time
    api_reader.join(timeout=10)
    server.should_exit = True
    conn.send((from_store, from_api))


def live_settings(config: Path | None, window_seconds: float, warmup_windows: int) -> Settings:
    settings = load_settings(config)
    settings.window.minutes = window_seconds / 60
    settings.window.lateness_minutes = 0
    settings.volume.warmup_windows = warmup_windows
    settings.store.prefix = PREFIX
    settings.topics = settings.topics.model_copy(update={"enabled": False})
    return settings


def _percentiles(values: list[float]) -> str:
    if not values:
        return "no samples"
    q = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 \
        else [values[0]] * 99
    return (f"p50 {q[49] * 1000:,.0f} ms, p90 {q[89] * 1000:,.0f} ms, "
            f"p99 {q[98] * 1000:,.0f} ms, min {min(values) * 1000:,.0f} ms, "
            f"max {max(values) * 1000:,.0f} ms")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=240, help="event time replayed in real time")
    ap.add_argument("--rate", type=float, default=1000, help="mentions per second")
    ap.add_argument("--brands", type=int, default=200)
    ap.add_argument("--incidents", type=int, default=20)
    ap.add_argument("--window-seconds", type=float, default=3)
    ap.add_argument("--warmup-windows", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--config", type=Path, help="settings file (default: configs/default.yaml)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    if args.window_seconds < 1 or args.window_seconds != int(args.window_seconds):
        ap.error("--window-seconds must be a whole number of seconds, at least 1")
    show = not args.quiet and sys.stderr.isatty()
    settings = live_settings(args.config, args.window_seconds, args.warmup_windows)

    with tempfile.TemporaryDirectory(prefix="crisiswatch-bench-") as tmp, \
            EmbeddedRedis() as server:
        path = Path(tmp) / "live.jsonl"
        cfg = synth.SynthConfig(
            mentions=round(args.rate * args.seconds), brands=args.brands,
            distinct_hashtags=max(1000, round(args.rate * args.seconds / 20)),
            days=args.seconds / 86400, seed=args.seed, incidents=args.incidents,
            incident_minutes=args.seconds / 6 / 60, out_of_order_share=0.0)
        summary = synth.generate(cfg, path)
        print(f"generated (seed {args.seed}): {summary.describe()}")
        with path.open("rb") as f:
            ts0 = parse_ts(orjson.loads(f.readline())["ts"])

        ctx = get_context("spawn")
        ready, stop = ctx.Event(), ctx.Event()
        receive, send = ctx.Pipe(duplex=False)
        watcher = ctx.Process(target=watch, args=(server.url, send, ready, stop))
        watcher.start()
        if not ready.wait(60):
            watcher.kill()
            raise SystemExit("the watcher (API and event readers) did not start within 60 s")

        anchor: list[float] = []
        bar = Progress(TextColumn("live replay"), BarColumn(), TimeRemainingColumn(),
                       console=Console(stderr=True), disable=not show, transient=True)
        task = bar.add_task("replay", total=path.stat().st_size)

        def progress(_path: str, n: int) -> None:
            if not anchor:  # the source anchored its pacing on the first line just now
                anchor.append(time.monotonic())
            bar.advance(task, n)

        with bar:
            run_main(build_flow(settings, ReplaySource([path], speed=1.0, progress=progress),
                                server.url))
        time.sleep(0.5)
        stop.set()
        from_store, from_api = receive.recv()
        watcher.join(timeout=30)
        stats = Store(connect(server.url), PREFIX).stats()

    last_ts = summary.last_ts
    t0 = anchor[0]

    def latencies(seen: list[Seen]) -> tuple[list[float], int, set[tuple[str, float]]]:
        out, flushed, windows = [], 0, set()
        for now, kind, alert_id, start, window_s in seen:
            if kind not in PRODUCED_BY_A_WINDOW:
                continue
            if start + window_s > last_ts:
                flushed += 1  # closed by the end of the input, not by the watermark
                continue
            out.append(now - (t0 + start + window_s - ts0))
            windows.add((alert_id, start))
        return out, flushed, windows

    store_lat, flushed, windows = latencies(from_store)
    api_lat, _, _ = latencies(from_api)
    kinds = [k for _, k, _, _, _ in from_store]
    print(f"\nlive replay: {summary.lines:,} lines over {args.seconds:g} s at "
          f"{args.rate:,.0f} mentions/s, {args.window_seconds:g}-s windows, no lateness; "
          f"{stats['processed']:,} processed, {stats['late']:,} late, "
          f"{stats['duplicate']:,} duplicate, {stats['dead_lettered']:,} dead-lettered")
    print(f"incident events: {kinds.count('incident.opened')} opened, "
          f"{kinds.count('incident.updated')} updated, {kinds.count('incident.resolved')} "
          f"resolved; {len(windows):,} brand-windows produced an incident version "
          f"({flushed} more were closed by the end of the input and are left out)")
    print("latency after the window closed (watermark past the window's end) until visible:")
    print(f"  in the store (XREAD on the event log, another process): {_percentiles(store_lat)}"
          f" over {len(store_lat):,}")
    print(f"  through the API (GET /stream, SSE over HTTP):           {_percentiles(api_lat)}"
          f" over {len(api_lat):,}")


if __name__ == "__main__":
    main()
