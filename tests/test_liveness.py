"""``GET /health`` against a real flow process: an idle flow is alive, a killed one dead."""

from __future__ import annotations

import signal
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis
from tests.conftest import API, LiveAPI
from tests.helpers.flow_runs import cli_env, flow_process
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow  # see pyproject's markers

STALE_S = 1.5  # observability.stale_after_seconds of this test's API


def test_an_idle_flow_is_running_and_a_killed_one_is_dead(
        redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    prefix = f"hb{uuid.uuid4().hex[:8]}"
    store = Store(connect(redis_server.url), prefix)
    env = cli_env(redis_server.url, prefix, CRISISWATCH_OBSERVABILITY__HEARTBEAT_SECONDS="0.2")
    log = tmp_path / "flow.log"
    api = LiveAPI(store, replace(API, stale_after_s=STALE_S))
    with api as client, flow_process(["--from-stream"], env, log) as proc:
        wait_for(lambda: store.stats()["status"].get("heartbeat") is not None, 60,
                 "the flow's first heartbeat", proc, log)
        first = float(store.stats()["status"]["heartbeat"])
        # nothing to read for longer than the heartbeat may be stale: still running
        wait_for(lambda: float(store.stats()["status"]["heartbeat"]) > first + STALE_S, 10,
                 "heartbeats while idle", proc, log)
        health = client.get("/health").json()
        assert (health["status"], health["flow_state"]) == ("ok", "running"), health
        assert health["flow_heartbeat_age_s"] < STALE_S
        assert store.stats()["read"] == 0

        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed = time.monotonic()
        wait_for(lambda: client.get("/health").json()["flow_state"] == "dead", 10,
                 "GET /health to find the process gone")
        print(f"\nkill -9 -> flow_state dead after {time.monotonic() - killed:.1f} s "
              f"(stale after {STALE_S} s)")
        health = client.get("/health").json()
        assert health["status"] == "degraded"
        status = store.stats()["status"]  # the stored status agrees now
        assert status["state"] == "dead" and f"process {status['pid']}" in status["error"]
