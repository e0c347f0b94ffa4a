"""A hung Redis (SIGSTOP: a long fork, a partition, a slow command) does not hang the
API: a real redis-server is stopped under a real uvicorn, every route answers within
about a second, ``/health`` says the store is hung, and all recovers by itself."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from api.security import SecurityConfig
from store import Store, connect
from store.embedded import EmbeddedRedis, free_port
from tests.conftest import LiveAPI

ROUTES = ["/health", "/alerts", "/stats", "/brands", "/stream", "/brands/Acme/series",
          "/late"]
UNLIMITED = SecurityConfig(rate_per_second=None, anonymous_rate_per_second=None)


def timed(client: httpx.Client, method: str, path: str) -> tuple[int, float]:
    started = time.perf_counter()
    r = client.request(method, path, json={"actor": "a"} if method == "POST" else None)
    return r.status_code, time.perf_counter() - started


def test_a_stopped_redis_is_answered_fast_and_called_hung_and_recovers(prefix: str) -> None:
    server = EmbeddedRedis(port=free_port()).start()
    assert server.process is not None
    pid = server.process.pid
    stopped = False
    try:
        store = Store(connect(server.url, fast=True), prefix)  # the client the CLI gives
        with LiveAPI(store, UNLIMITED) as api:
            assert api.get("/health").json()["store"] == "ok"
            os.kill(pid, signal.SIGSTOP)
            stopped = True
            took = []
            for _ in range(2):  # a tripped breaker, and one that closed again
                for path in ROUTES:
                    status, seconds = timed(api, "GET", path)
                    took.append(seconds)
                    assert status == (200 if path == "/health" else 503), path
                status, seconds = timed(api, "POST", "/alerts/a/ack")
                assert status == 503
                took.append(seconds)
                time.sleep(1.1)  # past the breaker's second: the store is tried again
            health = api.get("/health").json()
            assert (health["redis"], health["store"], health["status"]) == \
                (False, "hung", "degraded")
            with ThreadPoolExecutor(60) as pool:  # a burst of callers at once
                burst = list(pool.map(lambda _: timed(api, "GET", "/alerts"), range(60)))
            assert {s for s, _ in burst} == {503}
            took += [t for _, t in burst]
            print(f"\nwhile Redis is stopped: max {max(took) * 1000:.0f} ms over "
                  f"{len(took)} requests")
            assert max(took) < 1.5, sorted(took)[-5:]

            os.kill(pid, signal.SIGCONT)
            stopped = False
            deadline = time.monotonic() + 10
            while (h := api.get("/health").json())["store"] != "ok":
                assert time.monotonic() < deadline, h
                time.sleep(0.2)
            assert api.get("/alerts").status_code == 200
    finally:
        if stopped:
            os.kill(pid, signal.SIGCONT)
        server.close()
