"""What operators see: /health from heartbeats, /metrics in Prometheus' format, and the
key commands of the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis, free_port
from tests.conftest import LiveAPI
from tests.helpers.activation import incident, write

ROOT = Path(__file__).resolve().parents[1]


def samples(api: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = api.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def test_health_judges_the_flow_and_the_worker_by_their_heartbeats(store: Store) -> None:
    with LiveAPI(store) as api:
        h = api.get("/health").json()
        assert (h["status"], h["flow_state"], h["worker_state"]) == ("ok", "unknown", "unknown")
        w = store.writer()
        w.stats({"read": 3, "processed": 3})
        w.execute()
        store.outbox.set_worker(seen=time.time() - 5)
        h = api.get("/health").json()
        assert (h["status"], h["flow_state"], h["worker_state"]) == ("ok", "running", "running")
        assert 0 <= h["flow_heartbeat_age_s"] < 5 and 5 <= h["worker_heartbeat_age_s"] < 10
        store.set_status(state="running", heartbeat=time.time() - 600)  # it died mid-run
        h = api.get("/health").json()
        assert (h["status"], h["flow_state"]) == ("degraded", "stalled")
        assert h["flow"]["state"] == "running"
        store.set_status(state="finished")  # a replay that ended is not a dead flow
        assert api.get("/health").json()["flow_state"] == "finished"
        store.outbox.set_worker(seen=time.time() - 600)
        h = api.get("/health").json()
        assert (h["status"], h["worker_state"]) == ("degraded", "stalled")


def test_metrics_count_records_windows_alerts_deliveries_and_requests(store: Store) -> None:
    w = store.writer()
    end = time.time() - 900
    w.window("Acme", end - 300, {"window_start": end - 300, "window_end": end, "count": 4})
    w.stats({"read": 12, "processed": 9, "duplicate": 1, "late": 1, "dead_lettered": 1,
             "fanout": 0})
    w.execute()
    write(store, incident("a", severity="critical"), incident("b", severity="warning"),
          incident("c", severity="warning", state="resolved"))
    with LiveAPI(store) as api:
        api.post("/alerts/b/ack", json={"actor": "ana"}).raise_for_status()
        for _ in range(3):
            api.get("/alerts").raise_for_status()
        with api.stream("GET", "/stream") as live:
            assert live.status_code == 200
            m = samples(api)
    assert m["crisiswatch_redis_up", ()] == 1
    assert m["crisiswatch_records_read_total", ()] == 12
    assert m["crisiswatch_records_total", (("outcome", "processed"),)] == 9
    assert m["crisiswatch_records_total", (("outcome", "dead_lettered"),)] == 1
    assert m["crisiswatch_records_in_flight", ()] == 0
    assert m["crisiswatch_window_end_timestamp_seconds", (("brand", "Acme"),)] == end
    assert 899 < m["crisiswatch_window_lag_seconds", (("brand", "Acme"),)] < 960
    assert m["crisiswatch_alerts", (("severity", "critical"), ("state", "open"))] == 1
    assert m["crisiswatch_alerts", (("severity", "warning"), ("state", "acknowledged"))] == 1
    assert m["crisiswatch_alerts", (("severity", "warning"), ("state", "resolved"))] == 1
    assert m["crisiswatch_webhook_deliveries_total", (("outcome", "delivered"),)] == 0
    assert m["crisiswatch_webhook_messages", (("state", "queued"),)] == 0
    assert m["crisiswatch_heartbeat_age_seconds", (("component", "flow"),)] < 60
    alerts = (("method", "GET"), ("route", "/alerts"), ("status", "2xx"))
    assert m["crisiswatch_http_request_duration_seconds_count", alerts] == 3
    assert m["crisiswatch_http_request_duration_seconds_count",
             (("method", "POST"), ("route", "/alerts/{alert_id}/ack"), ("status", "2xx"))] == 1
    assert m["crisiswatch_http_responses_in_progress", (("route", "/stream"),)] == 1


@pytest.mark.slow
def test_metrics_say_redis_is_down_instead_of_failing(prefix: str) -> None:
    server = EmbeddedRedis(port=free_port()).start()
    try:
        with LiveAPI(Store(connect(server.url), prefix), key=False) as api:
            server.stop()
            m = samples(api)  # anonymous read: no key to check in the store
            assert m["crisiswatch_redis_up", ()] == 0
            assert ("crisiswatch_records_read_total", ()) not in m
    finally:
        server.close()


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "crisiswatch.cli", *args], cwd=ROOT,
                          env={**os.environ, **env, "COLUMNS": "200"}, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.slow
def test_keys_are_created_listed_and_revoked_from_the_cli(redis_server: EmbeddedRedis,
                                                          prefix: str) -> None:
    env = {"REDIS_URL": redis_server.url, "CRISISWATCH_STORE__PREFIX": prefix}
    r = cli("keys", "create", "--name", "oncall", "--scope", "read", "--scope", "operate",
            env=env)
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip()
    store = Store(connect(redis_server.url), prefix)
    key = store.api_keys.verify(token)
    assert key is not None and key["scopes"] == ["operate", "read"]
    assert token not in str(store.r.hgetall(f"{prefix}:apikeys"))  # only its digest
    r = cli("keys", "list", env=env)
    assert key["id"] in r.stdout and "oncall" in r.stdout and token not in r.stdout
    r = cli("keys", "revoke", key["id"], env=env)
    assert r.returncode == 0 and store.api_keys.verify(token) is None


def test_the_api_refuses_anonymous_read_beyond_loopback(redis_server: EmbeddedRedis,
                                                        prefix: str) -> None:
    env = {"REDIS_URL": redis_server.url, "CRISISWATCH_STORE__PREFIX": prefix}
    r = cli("api", "--host", "0.0.0.0", "--port", str(free_port()), "--no-worker", env=env)
    assert r.returncode == 2
    assert "refusing to start the API: anonymous read is on" in " ".join(r.stderr.split())
