"""Many open ``GET /stream`` clients leave the rest of the API answering, every client
gets every event, and a client that stops reading is dropped with a retry hint rather
than held in memory. ``bench/sse_clients.py`` prints the figures for 1,000 clients;
this asserts loosely, with fewer."""

from __future__ import annotations

import asyncio
import socket
import time

import orjson

from bench.sse_clients import open_streams, probe
from crisiswatch.api.fanout import QUEUE_MAX
from crisiswatch.store import Store
from crisiswatch.store.embedded import EmbeddedRedis
from tests.conftest import LiveAPI


def test_two_hundred_open_streams_leave_health_and_alerts_answering(store: Store) -> None:
    api = LiveAPI(store, key=False)

    async def run() -> tuple[dict[str, list[float]], list[int], int]:
        stop, opened = asyncio.Event(), asyncio.Event()
        streams, tasks = await open_streams(api.port, 200, stop, opened)
        open_now = sum(c.open for c in streams)
        for n in range(3):
            await asyncio.to_thread(store.events.publish, "bench.tick", {"n": n})
        took = await probe(api.port, 2.0)
        deadline = time.monotonic() + 10
        while min(c.ticks for c in streams) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return took, [c.ticks for c in streams], open_now

    with api:
        took, ticks, open_now = asyncio.run(run())
    assert open_now == 200
    assert ticks == [3] * 200  # every client, every event, once
    for path, values in took.items():
        assert values and max(values) < 2.0, (path, max(values))


def test_a_client_that_stops_reading_is_dropped_with_a_retry_hint(
        redis_server: EmbeddedRedis, store: Store) -> None:
    live = LiveAPI(store, key=False)
    with live as api:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window
        sock.connect(("127.0.0.1", live.port))
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        time.sleep(0.5)  # subscribed
        big = {"text": "x" * 8_000}
        writer = store.writer()
        for i in range(QUEUE_MAX * 3):  # far more than the socket buffers and the queue
            writer.event("bench.big", {**big, "n": i})
        writer.execute()
        time.sleep(2)  # the reader hands them on; this client's queue overflows
        assert api.get("/health").status_code == 200  # the others are not held up
        sock.settimeout(10)
        received = b""
        while chunk := sock.recv(1 << 20):
            received += chunk
            if b"0\r\n\r\n" in received[-16:]:  # the chunked answer ended
                break
        sock.close()
    tail = received[-2000:].decode(errors="replace")
    assert "event: stream.dropped" in tail and "retry: 5000" in tail, tail[-300:]
    note = orjson.loads(tail.split("event: stream.dropped\ndata: ")[1].split("\n")[0])
    assert note["last_id"] and "Last-Event-ID" in note["reason"]
    assert received.count(b"event: bench.big") < QUEUE_MAX * 3  # not all were held for it
