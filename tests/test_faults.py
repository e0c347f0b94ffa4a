"""Faults, against real processes: the flow killed with SIGKILL and restarted from its
recovery store, and the Redis server stopped under a running flow and API.

Each run is compared whole (counters, every series, every incident, the incident events
that went out) with one uninterrupted run of the same input: a fault may cost time, never
a mention, a double-counted window or a second copy of an incident.
"""

from __future__ import annotations

import pickle
import signal
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from crisiswatch.flows.replay_shards import line_brand
from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis, free_port
from tests.conftest import LiveAPI, settings_for, with_ingest
from tests.helpers.flow_runs import (
    cli_env,
    flow_process,
    lines_of,
    published,
    replayed,
    run_flow,
    two_days,
)
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow  # see pyproject's markers


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three injected incidents (so there are incidents to duplicate); no broken records
    (dead letters are the parser tests' business)."""
    return two_days(tmp_path_factory.mktemp("faults") / "synth.jsonl", seed=3, incidents=3)


@pytest.fixture(scope="module")
def reference(redis_server: EmbeddedRedis, synth: Path) -> dict[str, Any]:
    """What one uninterrupted run of the file publishes."""
    found = replayed(redis_server.url, synth)
    assert found["alerts"] and found["stats"]["duplicate"] > 0  # something to get wrong
    return found


def input_snapshots(recovery: Path) -> dict[str, Any]:
    """The input positions committed to the recovery store, by partition: where a restart
    resumes (snapshots of epochs not yet committed do not count)."""
    found: dict[str, Any] = {}
    for part in recovery.glob("part-*.sqlite3"):
        db = sqlite3.connect(f"file:{part}?mode=ro", uri=True, timeout=5)
        try:
            for key, blob in db.execute(
                    "SELECT state_key, ser_change FROM snaps WHERE step_id LIKE '%.read' "
                    "AND ser_change IS NOT NULL AND snap_epoch <= "
                    "(SELECT MAX(commit_epoch) FROM commits) ORDER BY snap_epoch"):
                found[key] = pickle.loads(blob)
        except sqlite3.OperationalError:  # being created by the flow's start
            pass
        finally:
            db.close()
    return {k: v for k, v in found.items() if v}


@pytest.mark.parametrize("source", ["files", "stream"])
def test_kill_9_mid_run_and_restart_publish_what_an_uninterrupted_run_does(
        source: str, redis_server: EmbeddedRedis, synth: Path, reference: dict[str, Any],
        tmp_path: Path) -> None:
    prefix = f"k{uuid.uuid4().hex[:8]}"
    store = Store(connect(redis_server.url), prefix)
    lines = lines_of(synth)
    if source == "stream":
        for i in range(0, len(lines), 5000):
            store.inputs.append([(line_brand(x), x) for x in lines[i:i + 5000]])
        args = ["--from-stream", "--drain"]
    else:
        args = [str(synth)]
    recovery = tmp_path / "recovery"
    args += ["--recovery-dir", str(recovery), "--snapshot-interval", "1"]
    env, log = cli_env(redis_server.url, prefix), tmp_path / "flow.log"

    with flow_process(args, env, log) as proc:
        wait_for(lambda: bool(input_snapshots(recovery))
                 and store.stats()["read"] >= 0.3 * len(lines),
                 90, "a snapshot and 30% of the input read", proc, log)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert store.stats()["read"] < len(lines), "killed too late to test anything"
    positions = input_snapshots(recovery)
    if source == "stream":  # what the snapshot does not cover is still unacknowledged
        for k, after in positions.items():
            part = store.inputs.partition(int(k))
            uncovered = part.between(after, part.delivered_through() or after, 1_000_000)
            assert part.group_info()["pending"] >= len(uncovered)

    started = time.perf_counter()
    assert run_flow(args, env, log) == 0, log.read_text()
    print(f"\n{source}: restart ran {time.perf_counter() - started:.1f}s from {positions}")
    assert published(store) == reference
    if source == "stream":  # a third start reads nothing again, and acknowledges it all
        assert run_flow(args, env, log) == 0, log.read_text()
        assert published(store) == reference
        for k in range(store.inputs.partitions()):
            assert store.inputs.partition(k).group_info()["pending"] == 0


def test_redis_restart_under_a_running_flow_and_api_loses_nothing(
        synth: Path, reference: dict[str, Any], tmp_path: Path) -> None:
    server = EmbeddedRedis(port=free_port(), persist=True).start()
    try:
        prefix = f"r{uuid.uuid4().hex[:8]}"
        store = Store(connect(server.url), prefix)
        lines = lines_of(synth)
        head, tail = lines[:-400], lines[-400:]
        token, _ = store.api_keys.create("collector", ["ingest"])
        collector = {"Authorization": f"Bearer {token}",
                     "Content-Type": "application/x-ndjson"}
        api = LiveAPI(store, with_ingest(store, settings_for(prefix)))
        log = tmp_path / "flow.log"
        with api as client:
            for i in range(0, len(head), 2500):
                batch = head[i:i + 2500]
                r = client.post("/mentions", content=b"\n".join(batch), headers=collector)
                assert r.status_code == 202 and r.json()["accepted"] == len(batch), r.text

            args, env = ["--from-stream", "--drain"], cli_env(server.url, prefix)
            with flow_process(args, env, log) as proc:
                wait_for(lambda: store.stats()["read"] >= 0.25 * len(lines), 90,
                         "a quarter of the input read", proc, log)
                server.stop()
                assert client.get("/health").json()["redis"] is False
                down = client.post("/mentions", content=b"\n".join(tail), headers=collector)
                assert down.status_code == 503, down.text  # the collector keeps the batch
                # down until the flow has met the outage: redis-py's own retries ride out a
                # second or two, and a flow busy with what it read may not call Redis for
                # as long (an outage it never saw left it nothing to say)
                time.sleep(2)
                wait_for(lambda: "Redis unavailable" in " ".join(log.read_text().split()),
                         60, "the flow to meet the outage", proc, log)
                server.start()

                r = client.post("/mentions", content=b"\n".join(tail), headers=collector)
                assert r.status_code == 202 and r.json()["accepted"] == len(tail), r.text
                assert client.get("/health").json()["redis"] is True
                assert proc.wait(timeout=120) == 0, log.read_text()
        assert "Redis is back" in log.read_text()
        assert published(store) == reference
    finally:
        server.close()


def test_routine_terms_survive_a_store_that_cannot_be_read(
        redis_server: EmbeddedRedis, store: Store) -> None:
    """The flow asks for a brand's routine terms at every window close: a store gone
    away leaves the last answer in force instead of failing the window."""
    from crisiswatch.flows.routine import RoutineRefresher

    store.routine.put("Acme", "#askacme")
    now = [0.0]
    refresher = RoutineRefresher(store, refresh_s=5, clock=lambda: now[0])
    assert refresher("Acme") == {"#askacme"} and refresher("Other") == frozenset()
    refresher.store = Store(connect(f"redis://127.0.0.1:{free_port()}/0"), "gone")
    now[0] = 10.0  # time to read again, from a store nobody serves
    assert refresher("Acme") == {"#askacme"}
