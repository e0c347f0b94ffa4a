"""A war room: many open ``GET /stream`` clients, and how fast the rest of the API
answers meanwhile.

    python -m bench.sse_clients [--clients 1000] [--seconds 20] [--rate 2]

Redis (embedded) and the API (uvicorn, one process, as ``crisiswatch api`` runs it with
anonymous read on loopback and no rate limit) run in their own processes; a third
process opens the stream clients (plain asyncio sockets: a client costs a connection,
not a thread, so the load is the server's), and this one publishes ``bench.tick``
events at ``--rate`` a second into the event log, and measures ``GET /health`` and
``GET /alerts`` one after the other, first with no stream open (the baseline), then
with every client open.
Printed: p50 and p99 of each, the clients still open at the end and the ticks each
received (every client should see every tick). Figures, never a pass or a fail.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from multiprocessing import get_context
from multiprocessing.connection import Connection

import httpx

from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis, free_port

PREFIX = "sseclients"
PROBED = ("/health", "/alerts")


def serve(url: str, port: int) -> None:
    """The API process, with the client the CLI gives it (fails fast)."""
    import uvicorn

    from crisiswatch.api.app import create_app
    from crisiswatch.api.config import ApiConfig, SecurityConfig

    security = SecurityConfig(anonymous_read=True, rate_per_second=None,
                              anonymous_rate_per_second=None)
    app = create_app(Store(connect(url, fast=True), PREFIX), ApiConfig(security=security))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", backlog=4096)


class Client:
    """One open stream: counts the ticks it receives until closed."""

    def __init__(self) -> None:
        self.ticks = 0
        self.open = False

    async def run(self, port: int, stop: asyncio.Event) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /stream?types=bench HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Accept: text/event-stream\r\n\r\n")
        await writer.drain()
        self.open = (await reader.readline()).startswith(b"HTTP/1.1 200")
        try:
            while not stop.is_set():
                line = await reader.readline()
                if not line:
                    break
                if line.startswith(b"event: bench.tick"):
                    self.ticks += 1
        finally:
            self.open = False
            writer.close()


async def probe(port: int, seconds: float) -> dict[str, list[float]]:
    """Each probed route in turn, as fast as it answers, for ``seconds``."""
    took: dict[str, list[float]] = {p: [] for p in PROBED}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for path in PROBED:
                started = time.perf_counter()
                r = await http.get(path)
                took[path].append(time.perf_counter() - started)
                assert r.status_code == 200, (path, r.status_code)
    return took


async def ticker(store: Store, rate: float, stop: asyncio.Event) -> int:
    sent = 0
    while not stop.is_set():
        await asyncio.to_thread(store.events.publish, "bench.tick", {"n": sent})
        sent += 1
        await asyncio.sleep(1 / rate)
    return sent


async def open_streams(port: int, clients: int, stop: asyncio.Event,
                       opened: asyncio.Event) -> tuple[list[Client], list[asyncio.Task]]:
    streams = [Client() for _ in range(clients)]
    tasks = [asyncio.create_task(c.run(port, stop)) for c in streams]
    deadline = time.monotonic() + 60
    while sum(c.open for c in streams) < clients and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    opened.set()
    return streams, tasks


def stream_clients(port: int, clients: int, conn: Connection) -> None:
    """The clients' process: open them, say how many opened, hold them until told, then
    send back how many are still open and the ticks each received."""

    async def run() -> None:
        stop, opened = asyncio.Event(), asyncio.Event()
        streams, tasks = await open_streams(port, clients, stop, opened)
        conn.send(sum(c.open for c in streams))
        await asyncio.to_thread(conn.recv)
        await asyncio.sleep(0.5)  # the last ticks arrive
        still_open = sum(c.open for c in streams)
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        conn.send((still_open, [c.ticks for c in streams]))

    asyncio.run(run())


async def ticking(store: Store, port: int, seconds: float, rate: float
                  ) -> tuple[dict[str, list[float]], int]:
    """Probe for ``seconds`` while ticks are published; returns the probe and the ticks."""
    stop = asyncio.Event()
    ticks = asyncio.create_task(ticker(store, rate, stop))
    took = await probe(port, seconds)
    stop.set()
    return took, await ticks


def ms(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1] * 1000


def report(label: str, took: dict[str, list[float]]) -> None:
    for path, values in took.items():
        print(f"  {label:<22} {path:<8} n={len(values):>5}  p50 {ms(values, 50):7.1f} ms  "
              f"p99 {ms(values, 99):7.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--rate", type=float, default=2, help="ticks published a second")
    args = ap.parse_args()
    port = free_port()
    with EmbeddedRedis(port=free_port()) as redis:
        store = Store(connect(redis.url), PREFIX)
        api = get_context("spawn").Process(target=serve, args=(redis.url, port), daemon=True)
        api.start()
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                    break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline, "the API did not start"
                    time.sleep(0.2)
            base = asyncio.run(probe(port, min(args.seconds, 5)))
            ours, theirs = get_context("spawn").Pipe()
            clients = get_context("spawn").Process(
                target=stream_clients, args=(port, args.clients, theirs), daemon=True)
            clients.start()
            opened = ours.recv()
            took, sent = asyncio.run(ticking(store, port, args.seconds, args.rate))
            ours.send("stop")
            still_open, received = ours.recv()
            clients.join(10)
        finally:
            api.terminate()
            api.join(10)
    print("GET /health and GET /alerts, one after the other (client latency):")
    report("no stream open", base)
    report(f"{args.clients} streams open", took)
    print(f"  streams: {opened} opened, {still_open} still open at the end; {sent} ticks "
          f"published at {args.rate:g}/s, received per client: min {min(received)}, "
          f"median {statistics.median(received):.0f}")


if __name__ == "__main__":
    main()
