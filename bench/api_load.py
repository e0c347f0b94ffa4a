"""Load on the API while the flow ingests: concurrent readers and live-stream clients.

    python -m bench.api_load [--readers 20] [--sse 5] [--seconds 30] [--ticks 20]

Five processes on one machine, as a small deployment would run them: Redis (embedded),
the API (uvicorn, one process, production guard: a key on every request, the rate-limit
bucket checked in Redis each time), the flow replaying a synthetic stream paced to last
the whole run (the writer), a ticker publishing ``bench.tick`` events with their wall
time into the event log, and the clients. The store is first filled by replaying the
first two thirds of the stream unpaced, so that the readers read real series and
incidents.

Readers are closed loops (a reader sends its next request when the last one answered),
each cycling over ``GET /alerts``, ``GET /brands/{brand}/series`` (the last 24 hours of
a random brand) and ``GET /stats``; latency is the client's, request to full answer.
Stream clients (their own process) hold ``GET /stream`` open and measure each tick from
its publication to its arrival. The first ``--warmup`` seconds are not counted. Errors
are answers other than 200 and failed requests, by kind. Beside the clients' figures,
the API's own (from its ``/metrics`` histogram): the time from the request reaching the
app to its response headers, which leaves out the clients' own queueing and parsing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from multiprocessing import get_context
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import synth
from crisiswatch.config.settings import Settings, load_settings
from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis, free_port

PREFIX = "apiload"
READ_PATHS = ("/alerts", "/brands/{brand}/series", "/stats")


def _settings() -> Settings:
    settings = load_settings()
    settings.store.prefix = PREFIX
    # The topic table is built on first use (~30 s): not what this measures.
    settings.topics = settings.topics.model_copy(update={"enabled": False})
    return settings


def replay(url: str, path: Path, speed: float | None) -> None:
    """The writer: the real flow over ``path`` (paced at ``speed`` if given)."""
    from bytewax.testing import run_main

    from crisiswatch.config.runtime import build_flow
    from crisiswatch.flows.sources import ReplaySource

    run_main(build_flow(_settings(), ReplaySource([path], speed=speed), url))


def serve(url: str, port: int, guard: bool) -> None:
    """The API process, guarded as in production (no anonymous read, every request's
    key looked up and its bucket checked), or (``guard`` off) open and unlimited, to
    see what the guard costs."""
    import uvicorn

    from crisiswatch.api.app import create_app
    from crisiswatch.api.config import ApiConfig, SecurityConfig

    security = SecurityConfig(anonymous_read=False) if guard else SecurityConfig(
        anonymous_read=True, anonymous_rate_per_second=None)
    app = create_app(Store(connect(url), PREFIX), ApiConfig(security=security))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def tick(url: str, rate: float, counted_from: float, stop: Any, conn: Connection) -> None:
    """Publish ``bench.tick`` events at ``rate`` per second until ``stop``, those from
    ``counted_from`` (wall time) on marked ``counted``; sends back how many those were."""
    store, n, counted, started = Store(connect(url), PREFIX), 0, 0, time.monotonic()
    while not stop.is_set():
        sent = time.time()
        store.publish("bench.tick", {"n": n, "sent": sent, "counted": sent >= counted_from})
        counted += sent >= counted_from
        n += 1
        time.sleep(max(0.0, started + n / rate - time.monotonic()))
    conn.send(counted)


def stream_clients(port: int, token: str | None, clients: int, ready: Any, stop: Any,
                   conn: Connection) -> None:
    """``clients`` live streams in one process (``ready`` once all are connected); sends
    back (latencies, counted ticks received per client, errors)."""
    latencies: list[float] = []
    received = [0] * clients
    errors: Counter[str] = Counter()
    connected = 0

    async def client(i: int, http: httpx.AsyncClient) -> None:
        nonlocal connected
        try:
            async with http.stream("GET", "/stream", params={"types": "bench"}) as r:
                if r.status_code != 200:
                    errors[str(r.status_code)] += 1
                    return
                async for line in r.aiter_lines():
                    if line.startswith("retry:"):  # the stream's first line: from now on
                        connected += 1
                        if connected == clients:
                            ready.set()
                    elif line.startswith("data: "):
                        now = time.time()
                        event = orjson.loads(line[6:])
                        if event["counted"]:
                            received[i] += 1
                            latencies.append(now - event["sent"])
        except httpx.HTTPError as e:
            errors[type(e).__name__] += 1

    async def run() -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=None,
                                     headers=_auth(token)) as http:
            tasks = [asyncio.create_task(client(i, http)) for i in range(clients)]
            while not stop.is_set():
                await asyncio.sleep(0.1)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run())
    conn.send((latencies, received, dict(errors)))


async def readers(port: int, token: str | None, n: int, seconds: float, warmup: float,
                  brands: list[tuple[str, float]]) -> tuple[dict[str, list[float]],
                                                            dict[str, Counter[str]]]:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, Counter[str]] = defaultdict(Counter)
    started = time.monotonic()
    counting, end = started + warmup, started + warmup + seconds
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)

    async def reader(i: int, http: httpx.AsyncClient) -> None:
        rng = random.Random(i)
        k = i
        while (now := time.monotonic()) < end:
            path = READ_PATHS[k % len(READ_PATHS)]
            k += 1
            params: dict[str, Any] = {}
            url = path
            if "{brand}" in path:
                brand, last = rng.choice(brands)
                url = path.replace("{brand}", brand)
                params["from"] = last - 86400
            t0 = time.perf_counter()
            try:
                r = await http.get(url, params=params)
                status = None if r.status_code == 200 else str(r.status_code)
            except httpx.HTTPError as e:
                status = type(e).__name__
            took = time.perf_counter() - t0
            if now >= counting:
                latencies[path].append(took)
                if status:
                    errors[path][status] += 1

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30,
                                 limits=limits,
                                 headers=_auth(token)) as http:
        await asyncio.gather(*(reader(i, http) for i in range(n)))
    return latencies, errors


def _ms(values: list[float], q: int) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0] * 1000:.1f}"
    return f"{statistics.quantiles(values, n=100, method='inclusive')[q - 1] * 1000:.1f}"


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _wait_for_api(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the API did not answer on port {port} within {timeout:g} s")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--readers", type=int, default=20, help="concurrent REST readers")
    ap.add_argument("--sse", type=int, default=5, help="concurrent GET /stream clients")
    ap.add_argument("--seconds", type=float, default=30, help="measured time")
    ap.add_argument("--warmup", type=float, default=3, help="seconds not counted first")
    ap.add_argument("--ticks", type=float, default=20, help="stream events published per s")
    ap.add_argument("--mentions", type=int, default=60_000, help="synthetic stream size")
    ap.add_argument("--brands", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-writer", dest="writer", action="store_false",
                    help="no flow writing during the run (the API's own capacity)")
    ap.add_argument("--no-guard", dest="guard", action="store_false",
                    help="anonymous read without rate limits, and no key sent: the "
                    "guard's cost by difference")
    args = ap.parse_args(argv)
    load_before = os.getloadavg()[0]  # other work on the machine skews every figure

    ctx = get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="crisiswatch-bench-") as tmp, \
            EmbeddedRedis() as server:
        path = Path(tmp) / "stream.jsonl"
        summary = synth.generate(synth.SynthConfig(
            mentions=args.mentions, brands=args.brands, days=3.0, seed=args.seed,
            incidents=3, distinct_hashtags=2000), path)
        lines = path.read_bytes().splitlines(keepends=True)
        cut = len(lines) * 2 // 3
        seed_part, live_part = Path(tmp) / "seed.jsonl", Path(tmp) / "live.jsonl"
        seed_part.write_bytes(b"".join(lines[:cut]))
        live_part.write_bytes(b"".join(lines[cut:]))
        started = time.perf_counter()
        replay(server.url, seed_part, None)
        store = Store(connect(server.url), PREFIX)
        seeded = store.stats()
        print(f"seeded the store: {seeded['processed']:,} mentions of {summary.brands_present} "
              f"brands in {time.perf_counter() - started:.1f} s; "
              f"{len(store.alerts(limit=1000))} incident(s)")
        # a key of its own rate, high enough that the bucket is checked but never empties
        token: str | None = store.api_keys.create("bench", ["read"], rate_per_second=1e6,
                                                  burst=1e6)[0] if args.guard else None
        brands = [(b, store.series(b, limit=1, newest=True)[0]["window_start"])
                  for b in store.brands()]

        port = free_port()
        api = ctx.Process(target=serve, args=(server.url, port, args.guard), daemon=True)
        api.start()
        _wait_for_api(port)
        # the last third of the event time, spread over the whole run
        speed = (summary.last_ts - summary.first_ts) / 3 / (args.warmup + args.seconds + 5)
        writer = ctx.Process(target=replay, args=(server.url, live_part, speed), daemon=True)
        stop_ticks, stop_streams, connected = ctx.Event(), ctx.Event(), ctx.Event()
        tick_rx, tick_tx = ctx.Pipe(duplex=False)
        sse_rx, sse_tx = ctx.Pipe(duplex=False)
        sse = ctx.Process(target=stream_clients, args=(port, token, args.sse, connected,
                                                       stop_streams, sse_tx))
        sse.start()
        if not connected.wait(60):
            raise SystemExit("the stream clients did not connect within 60 s")
        if args.writer:
            writer.start()
        ticker = ctx.Process(target=tick, args=(server.url, args.ticks,
                                                time.time() + args.warmup, stop_ticks, tick_tx))
        ticker.start()
        latencies, errors = asyncio.run(readers(port, token, args.readers, args.seconds,
                                                args.warmup, brands))
        in_progress, server_side = _server_view(port, token)
        ingested = store.stats()["processed"]  # the writer's own total (a run of its own)
        stop_ticks.set()
        published = tick_rx.recv()
        time.sleep(1.0)  # the last ticks reach the clients
        stop_streams.set()
        sse_lat, received, sse_errors = sse_rx.recv()
        for p in (ticker, sse):
            p.join(timeout=30)
        if args.writer:
            writer.kill()
        api.kill()

    total = sum(len(v) for v in latencies.values())
    writing = (f"while the flow ingested {ingested:,} mentions "
               f"({ingested / (args.seconds + args.warmup):,.0f}/s)" if args.writer
               else "nothing writing but the ticker")
    guard = "keys and rate limits on" if args.guard else "guard off (anonymous, unlimited)"
    print(f"\n{guard}: {args.readers} readers and {args.sse} stream clients for {args.seconds:g} s "
          f"(after {args.warmup:g} s warm-up) on {os.cpu_count()} CPU cores (1-min load "
          f"average {load_before:.1f} before it started), {writing}")
    print(f"{'endpoint':<26}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p90 ms':>9}"
          f"{'p99 ms':>9}{'max ms':>9}{'server p50/p99 ms':>19}  errors")
    for path in READ_PATHS:
        v = latencies[path]
        s50, s99 = server_side.get(path, (0.0, 0.0))
        print(f"GET {path:<22}{len(v):>9,}{len(v) / args.seconds:>8,.0f}{_ms(v, 50):>9}"
              f"{_ms(v, 90):>9}{_ms(v, 99):>9}{max(v, default=0) * 1000:>9.1f}"
              f"{f'{s50 * 1000:.1f} / {s99 * 1000:.1f}':>19}  {dict(errors[path]) or 0}")
    print(f"all reads: {total:,} requests, {total / args.seconds:,.0f}/s, "
          f"{sum(sum(c.values()) for c in errors.values())} errors")
    expected = published * args.sse
    print(f"GET /stream: {args.sse} clients ({in_progress} connected at the end, per "
          f"/metrics); {published:,} ticks published, {sum(received):,} of {expected:,} "
          f"deliveries received; tick latency p50 {_ms(sse_lat, 50)} ms, p90 "
          f"{_ms(sse_lat, 90)} ms, p99 {_ms(sse_lat, 99)} ms, max "
          f"{max(sse_lat, default=0) * 1000:.1f} ms; errors {sse_errors or 0}")


def _server_view(port: int, token: str | None) -> tuple[int, dict[str, tuple[float, float]]]:
    """What the API's own /metrics says: open GET /stream responses, and p50/p99 of its
    time to response headers per read route (interpolated in the histogram's buckets,
    as Prometheus' histogram_quantile does; the whole run, warm-up included)."""
    from prometheus_client.parser import text_string_to_metric_families

    r = httpx.get(f"http://127.0.0.1:{port}/metrics",
                  headers=_auth(token), timeout=10)
    streams, buckets = 0, defaultdict(list)
    for family in text_string_to_metric_families(r.text):
        for m in family.samples:
            if m.name == "crisiswatch_http_responses_in_progress" \
                    and m.labels["route"] == "/stream":
                streams = int(m.value)
            elif m.name == "crisiswatch_http_request_duration_seconds_bucket" \
                    and m.labels["method"] == "GET" and m.labels["status"] == "2xx":
                buckets[m.labels["route"]].append((float(m.labels["le"]), m.value))
    return streams, {route: (_quantile(b, 0.5), _quantile(b, 0.99))
                     for route, b in buckets.items()}


def _quantile(buckets: list[tuple[float, float]], q: float) -> float:
    buckets.sort()
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == float("inf"):
                return lower
            return lower + (le - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = le, count
    return lower


if __name__ == "__main__":
    main()
