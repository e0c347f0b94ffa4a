"""Webhook delivery against real HTTP receivers on 127.0.0.1: signatures, retries,
dead letters and re-drive, and a worker killed mid-delivery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from crisiswatch.response.lifecycle import Message
from crisiswatch.response.playbooks import PlaybookSet
from crisiswatch.store import Store
from crisiswatch.store.embedded import EmbeddedRedis, free_port
from crisiswatch.worker.webhooks import backoff
from tests.helpers.activation import (
    SECRET,
    Receiver,
    fast_config,
    fast_worker,
    incident,
    live_api,
    playbook_file,
    verify,
    write,
)
from tests.helpers.waiting import wait_for

ROOT = Path(__file__).resolve().parents[1]


def message(n: int, url: str, incident_id: str = "inc-x") -> Message:
    key = f"msg-{n:03d}"
    body = orjson.dumps({"n": n, "idempotency_key": key}).decode()
    return Message(key, "rx", url, "json", body, "test", incident_id, "p", 0, time.time())


def test_playbook_webhooks_are_signed_and_carry_their_key(store: Store, tmp_path: Path) -> None:
    with Receiver() as rx:
        playbooks = playbook_file(tmp_path, f"""
destinations:
  machine: {{url: "{rx.url('/json')}"}}
  chat: {{url: "{rx.url('/slack')}", format: slack}}
playbooks:
  - name: crit
    when: {{min_severity: critical}}
    actions: [{{webhook: machine}}, {{webhook: chat}}]
""")
        with fast_worker(store, playbooks):
            write(store, incident("inc-s"))
            wait_for(lambda: len(rx.requests) == 2)
            wait_for(lambda: store.outbox.counts()["delivered"] == 2)
    by_path = {q["path"]: q for q in rx.requests}
    for q in by_path.values():
        assert verify(q["headers"], q["body"])
        assert not verify(q["headers"], q["body"] + b" ")  # any change breaks it
        assert q["headers"]["X-Crisiswatch-Event"] == "playbook.activated"
    as_json = orjson.loads(by_path["/json"]["body"])
    assert as_json["idempotency_key"] == by_path["/json"]["headers"]["Idempotency-Key"]
    assert as_json["incident"]["id"] == "inc-s" and as_json["playbook"]["name"] == "crit"
    as_slack = orjson.loads(by_path["/slack"]["body"])
    assert set(as_slack) == {"text", "blocks"} and "[CRITICAL] Acme" in as_slack["text"]
    audit = [e for e in store.alert("inc-s")["audit"] if e["action"] == "webhook.delivered"]
    assert sorted(e["destination"] for e in audit) == ["chat", "machine"]


def test_a_receiver_failing_twice_gets_exactly_one_accepted_delivery(store: Store) -> None:
    config = fast_config()
    with Receiver(statuses=[500, 503]) as rx, fast_worker(store, playbooks(), config):
        store.outbox.enqueue([message(1, rx.url())])
        started = time.time()
        wait_for(lambda: store.outbox.counts()["delivered"] == 1)
        took = time.time() - started
    assert [q["status"] for q in rx.requests] == [500, 503, 200]
    assert {q["headers"]["Idempotency-Key"] for q in rx.requests} == {"msg-001"}
    assert len({q["body"] for q in rx.requests}) == 1  # the same bytes every time
    assert list(rx.accepted) == ["msg-001"] and rx.repeats == []
    gaps = [b["at"] - a["at"] for a, b in zip(rx.requests, rx.requests[1:], strict=False)]
    assert gaps[0] >= 0.025 and gaps[1] >= 0.05  # at least half the nominal backoff
    counts = store.outbox.counts()
    assert counts == {"delivered": 1, "retried": 2, "redriven": 0, "queued": 0, "dead": 0}
    assert store.outbox.recent()[0]["attempts"] == 3
    print(f"fail, fail, succeed: delivered after {took:.3f} s, gaps "
          f"{', '.join(f'{g:.3f}' for g in gaps)} s")


def test_a_receiver_down_too_long_ends_dead_and_is_redriven(store: Store) -> None:
    port = free_port()  # nothing listens here yet
    config = fast_config()
    with fast_worker(store, playbooks(), config), live_api(store) as api:
        store.outbox.enqueue([message(7, f"http://127.0.0.1:{port}/hook", "inc-d")])
        dead = wait_for(lambda: api.get("/webhooks/dead").json())
        assert dead[0]["message"]["id"] == "msg-007" and dead[0]["attempts"] == 3
        assert "ConnectError" in dead[0]["error"]
        status = api.get("/webhooks").json()
        assert status["dead"] == 1 and status["queued"] == 0 and status["pending"] == []
        assert store.lifecycle.audit("inc-d")[-1]["action"] == "webhook.dead"
        with Receiver(port=port) as rx:
            r = api.post("/webhooks/dead/msg-007/redrive")
            assert r.status_code == 200 and r.json()["id"] == "msg-007"
            wait_for(lambda: store.outbox.counts()["delivered"] == 1)
        assert list(rx.accepted) == ["msg-007"] and len(rx.requests) == 1
        assert api.get("/webhooks/dead").json() == []
        assert api.post("/webhooks/dead/msg-007/redrive").status_code == 404
        assert api.get("/webhooks").json()["redriven"] == 1


def test_refusals_and_hosts_off_the_allowlist_are_not_retried(store: Store) -> None:
    config = fast_config(allowed_hosts=["127.0.0.1"])
    with Receiver(default=400) as rx, fast_worker(store, playbooks(), config):
        store.outbox.enqueue([message(1, rx.url()),
                              message(2, f"http://localhost:{rx.port}/hook")])
        wait_for(lambda: store.outbox.counts()["dead"] == 2)
    errors = {d["message"]["id"]: (d["attempts"], d["error"]) for d in store.outbox.dead()}
    assert errors["msg-001"] == (1, "HTTP 400: ok")
    assert errors["msg-002"][0] == 1 and "not on webhooks.allowed_hosts" in errors["msg-002"][1]
    assert len(rx.requests) == 1  # localhost was never called


def test_backoff_grows_with_jitter_and_stops_at_the_cap() -> None:
    assert backoff(1, 2, 600, lambda: 0.0) == 1.0 and backoff(1, 2, 600, lambda: 1.0) == 2.0
    assert backoff(4, 2, 600, lambda: 0.5) == 12.0  # 16 s nominal: 8 fixed + 4 jitter
    assert backoff(20, 2, 600, lambda: 1.0) == 600.0


def playbooks() -> PlaybookSet:
    """None: these tests queue messages themselves; the worker only delivers them."""
    return PlaybookSet()


def start_worker(redis_url: str, prefix: str, playbook_path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "REDIS_URL": redis_url, "CRISISWATCH_STORE__PREFIX": prefix,
           "CRISISWATCH_WEBHOOK_SECRET": SECRET.decode(),
           "CRISISWATCH_ACTIVATION__PLAYBOOKS": str(playbook_path),
           "CRISISWATCH_ACTIVATION__POLL_SECONDS": "0.05",
           "CRISISWATCH_WEBHOOKS__TIMEOUT_SECONDS": "1",
           "CRISISWATCH_WEBHOOKS__LEASE_SECONDS": "4",
           "CRISISWATCH_WEBHOOKS__CONCURRENCY": "4",
           "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "crisiswatch.cli", "worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_restarting_the_worker_mid_delivery_loses_and_doubles_nothing(
        store: Store, redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    n = 40
    empty = tmp_path / "playbooks.yaml"
    empty.write_text("playbooks: []\n")
    with Receiver(delay=0.1) as rx:
        store.outbox.enqueue([message(i, rx.url()) for i in range(n)])
        started = time.time()
        # 1. a graceful stop (SIGTERM) in the middle: the requests in flight finish
        proc = start_worker(redis_server.url, store.p, empty)
        wait_for(lambda: len(rx.accepted) >= 8 and rx.arrived > len(rx.requests), timeout=30,
                 every=0.002)
        proc.send_signal(signal.SIGTERM)
        in_flight = rx.arrived - len(rx.requests)
        assert proc.wait(timeout=20) == 0, proc.stderr.read() if proc.stderr else ""
        after_stop = len(rx.accepted)
        assert rx.repeats == [] and after_stop + store.outbox.counts()["queued"] == n
        assert store.outbox.counts()["delivered"] == after_stop  # the last answers recorded
        assert in_flight > 0 and [p for p in store.outbox.pending(n) if p["attempts"]] == []
        # 2. a kill (SIGKILL) in the middle: leases bring the requests in flight back
        proc = start_worker(redis_server.url, store.p, empty)
        wait_for(lambda: len(rx.accepted) >= after_stop + 12, timeout=30)
        proc.kill()
        proc.wait(timeout=10)
        killed_at = len(rx.accepted)
        # 3. a fresh worker finishes the job
        proc = start_worker(redis_server.url, store.p, empty)
        try:
            wait_for(lambda: store.outbox.counts()["queued"] == 0, timeout=30)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
        took = time.time() - started
    assert sorted(rx.accepted) == sorted(f"msg-{i:03d}" for i in range(n))  # none lost
    for key, body in rx.accepted.items():
        assert orjson.loads(body)["idempotency_key"] == key
    # a repeat can only be a request in flight when the worker was killed: the receiver
    # had answered, the worker had not written it down; the key lets the receiver drop it
    assert len(rx.repeats) <= 4 and len(rx.requests) == n + len(rx.repeats)
    counts = store.outbox.counts()
    assert counts["delivered"] == n and counts["dead"] == 0
    print(f"{n} messages, stopped with {in_flight} in flight after {after_stop}, killed "
          f"after {killed_at}: all "
          f"delivered in {took:.1f} s, {len(rx.repeats)} repeat(s) dropped by key")
