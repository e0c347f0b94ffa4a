"""A hung Redis (SIGSTOP: a long fork, a partition, a slow command) does not hang the
API: a real redis-server is stopped under a real uvicorn, every route answers within
about a second, ``/health`` says the store is hung, and all recovers by itself. The
flow rides it out as it does a refusal, and reads on after SIGCONT."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
import pytest

from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis, free_port
from tests.conftest import LiveAPI
from tests.helpers.flow_runs import cli_env, flow_process
from tests.helpers.waiting import wait_for

ROUTES = ["/health", "/alerts", "/stats", "/brands", "/stream", "/brands/Acme/series",
          "/late"]


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
        with LiveAPI(store) as api:
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


@pytest.mark.slow
def test_the_flow_rides_out_a_stopped_redis_and_reads_on(prefix: str, tmp_path: Path) -> None:
    """Stopped longer than the flow's 10 s command timeout: its reads and writes time
    out, are retried with backoff, and nothing is lost or counted twice."""
    server = EmbeddedRedis(port=free_port()).start()
    assert server.process is not None
    pid, stopped = server.process.pid, False
    store = Store(connect(server.url), prefix)

    def send(start: int) -> None:
        store.inputs.append([("Acme", orjson.dumps({"id": f"m{i}", "ts": time.time(),
                                                    "brand": "Acme", "text": "hi"}))
                             for i in range(start, start + 100)])

    log = tmp_path / "flow.log"
    try:
        with flow_process(["--from-stream"], cli_env(server.url, prefix), log) as proc:
            send(0)
            wait_for(lambda: store.stats()["read"] == 100, 60, "the first 100", proc, log)
            os.kill(pid, signal.SIGSTOP)
            stopped = True
            time.sleep(12)
            os.kill(pid, signal.SIGCONT)
            stopped = False
            send(100)
            wait_for(lambda: store.stats()["read"] == 200, 60, "the next 100", proc, log)
            assert proc.poll() is None, log.read_text()
        s = store.stats()
        assert (s["duplicate"], s["late"], s["dead_lettered"]) == (0, 0, 0), s
    finally:
        if stopped:
            os.kill(pid, signal.SIGCONT)
        server.close()
