"""Acknowledge, assign, escalate, resolve and activate through the real API, with the
audit trail; response clocks that escalate on time, stop on acknowledgement and survive
a worker restart."""

from __future__ import annotations

import time
from pathlib import Path

import orjson

from crisiswatch.response.staffing import StaffingConfig
from crisiswatch.store import Store
from crisiswatch.worker.activation import ActivationEngine, Worker
from tests.helpers.activation import (
    Receiver,
    fast_config,
    fast_worker,
    incident,
    live_api,
    playbook_file,
    write,
)
from tests.helpers.waiting import wait_for

PLAYBOOKS = """\
destinations:
  oncall: {{url: "{url}/oncall"}}
  boss: {{url: "{url}/boss"}}
playbooks:
  - name: critical
    when: {{min_severity: critical}}
    respond_within_minutes: {sla}
    actions: [{{assign: pr-legal}}, {{webhook: oncall}}, staffing]
    escalation:
      - [{{webhook: boss}}, {{assign: boss}}]
  - name: manual-only
    auto: false
    actions: [{{webhook: oncall}}]
"""


def test_people_act_on_an_incident_and_every_change_is_audited(store: Store,
                                                               tmp_path: Path) -> None:
    playbooks = playbook_file(tmp_path, PLAYBOOKS.format(url="http://127.0.0.1:9", sla=30))
    write(store, incident("inc-1", severity="warning"))
    with live_api(store, playbooks) as api:
        before = api.get("/alerts/inc-1").json()
        assert before["state"] == "open" and before["detector_state"] == "open"
        assert before["audit"] == [] and before["playbooks"] == [] and before["assignee"] is None

        r = api.post("/alerts/inc-1/assign", json={"actor": "ana", "note": "social desk",
                                                   "assignee": "care-team"})
        assert r.status_code == 200 and r.json()["assignee"] == "care-team"
        assert r.json()["state"] == "open"  # assigning is not acknowledging
        r = api.post("/alerts/inc-1/ack", json={"actor": "ana", "note": "on it"})
        assert r.json()["state"] == "acknowledged"
        assert r.json()["sla"]["acknowledged_at"] is not None
        r = api.post("/alerts/inc-1/ack", json={"actor": "bo"})
        assert r.status_code == 409 and "already acknowledged" in r.json()["error"]["message"]

        r = api.post("/alerts/inc-1/activate", json={"actor": "ana", "playbook": "manual-only",
                                                     "note": "loop in on-call"})
        assert r.status_code == 200
        (act,) = r.json()["playbooks"]
        assert act["name"] == "manual-only" and act["how"] == "manual" and act["actor"] == "ana"
        assert act["reasons"] == ["no conditions: matches every incident"]
        r = api.post("/alerts/inc-1/activate", json={"actor": "ana", "playbook": "manual-only"})
        assert r.status_code == 409 and "already active" in r.json()["error"]["message"]
        r = api.post("/alerts/inc-1/activate", json={"actor": "ana", "playbook": "nope"})
        assert r.status_code == 404 and "manual-only" in r.json()["error"]["message"]

        r = api.post("/alerts/inc-1/escalate", json={"actor": "ana", "note": "press asking"})
        assert r.json()["state"] == "escalated"
        r = api.post("/alerts/inc-1/resolve", json={"actor": "bo", "note": "statement out"})
        assert r.json()["state"] == "resolved" and r.json()["detector_state"] == "open"
        r = api.post("/alerts/inc-1/assign", json={"actor": "bo", "assignee": "x"})
        assert r.status_code == 409 and "resolved" in r.json()["error"]["message"]

        after = api.get("/alerts/inc-1").json()
        trail = [(e["actor"], e["action"], e["note"]) for e in after["audit"]]
        assert trail == [
            ("ana", "assigned", "social desk"),
            ("ana", "acknowledged", "on it"),
            ("ana", "playbook.activated", "loop in on-call"),
            ("crisiswatch", "webhook.queued", ""),
            ("ana", "escalated", "press asking"),
            ("crisiswatch", "escalation.exhausted", "no escalation step left"),
            ("bo", "resolved", "statement out"),
        ]
        assert all(e["at"] >= before["last_window"] for e in after["audit"])
        assert api.get("/alerts").json()[0] == after  # the list shows the same read model
        assert api.post("/alerts/nope/ack", json={"actor": "a"}).status_code == 404
        assert api.post("/alerts/inc-1/ack", json={"note": "x"}).status_code == 422
        # the detector's later versions never overwrite what people did
        write(store, incident("inc-1", severity="warning", state="resolved"))
        again = api.get("/alerts/inc-1").json()
        assert again["detector_state"] == "resolved" and again["audit"] == after["audit"]


def test_matching_playbook_activates_once_with_staffing_and_payload(store: Store,
                                                                    tmp_path: Path) -> None:
    playbooks = playbook_file(tmp_path, PLAYBOOKS.format(url="http://127.0.0.1:9", sla=30))
    engine = ActivationEngine(store, playbooks, StaffingConfig())
    write(store, incident("inc-w", severity="warning"))
    write(store, incident("inc-c", severity="critical"))
    write(store, incident("inc-c", severity="critical", window=1))  # an update
    assert engine.drain() == 4  # the three versions, and the activation's own event
    assert [e["type"] for e in store.events.after("0")] == [
        "incident.opened", "incident.opened", "incident.updated", "playbook.activated"]
    assert engine.drain() == 0
    assert store.alert("inc-w")["playbooks"] == []
    doc = store.alert("inc-c")
    (act,) = doc["playbooks"]
    assert act["name"] == "critical" and act["how"] == "auto"
    assert act["reasons"] == ["severity critical >= critical"]
    assert act["respond_by"] == doc["sla"]["respond_by"]
    assert act["respond_by"] - act["at"] == 30 * 60
    assert doc["assignee"] == "pr-legal"
    assert act["staffing"]["peak_extra_agents"] >= 1
    (pending,) = store.outbox.pending()
    body = orjson.loads(pending["message"]["body"])
    assert body["event"] == "playbook.activated" and body["idempotency_key"] == pending[
        "message"]["id"]
    assert body["incident"]["id"] == "inc-c" and body["assignee"] == "pr-legal"
    assert body["staffing"] == act["staffing"]
    with live_api(store, playbooks) as api:
        advice = api.get("/alerts/inc-c/staffing")
        assert advice.status_code == 200 and advice.json()["hours"][0]["extra_agents"] >= 1
        names = [p["name"] for p in api.get("/playbooks").json()]
        assert names == ["critical", "manual-only"]


def test_response_clock_escalates_on_time_and_not_after_acknowledgement(
        store: Store, tmp_path: Path) -> None:
    sla_s = 1.2
    config = fast_config()
    with Receiver() as rx:
        playbooks = playbook_file(tmp_path, PLAYBOOKS.format(url=rx.url(""), sla=sla_s / 60))
        with fast_worker(store, playbooks, config), live_api(store, playbooks) as api:
            write(store, incident("late", severity="critical"),
                  incident("quick", severity="critical"))
            wait_for(lambda: all(store.alert(i)["playbooks"] for i in ("late", "quick")))
            r = api.post("/alerts/quick/ack", json={"actor": "ana", "note": "got it"})
            (quick_act,) = r.json()["playbooks"]
            assert quick_act["respond_by"] is None

            escalation = wait_for(lambda: [e for e in store.alert("late")["audit"]
                                           if e["action"] == "escalation.step"], timeout=5)
            (act,) = store.alert("late")["playbooks"]
            fired = escalation[0]["at"]
            delay = fired - act["at"]
            print(f"response clock of {sla_s} s fired after {delay:.3f} s")
            assert sla_s <= delay <= sla_s + 0.5, delay  # poll 0.05 s
            doc = store.alert("late")
            assert doc["state"] == "escalated" and doc["assignee"] == "boss"
            assert doc["sla"]["breaches"] == 1 and act["step"] == 1
            assert doc["sla"]["respond_by"] is None  # the last step: the clock stops
            boss = wait_for(lambda: [q for q in rx.requests if q["path"] == "/boss"])
            assert orjson.loads(boss[0]["body"])["event"] == "playbook.escalated"

            time.sleep(max(quick_act["at"] + sla_s + 0.5 - time.time(), 0))
            quick = store.alert("quick")
            assert quick["state"] == "acknowledged"
            assert not [e for e in quick["audit"] if e["action"].startswith(("sla", "escal"))]
            assert quick["sla"]["breaches"] == 0 and store.timers.count() == 0
            assert {q["path"] for q in rx.requests} == {"/oncall", "/boss"}
            assert sum(q["path"] == "/boss" for q in rx.requests) == 1


def test_response_clock_survives_a_worker_restart(store: Store, tmp_path: Path) -> None:
    config = fast_config()
    playbooks = playbook_file(tmp_path, PLAYBOOKS.format(url="http://127.0.0.1:9", sla=0.01))
    with Worker(store, config, playbooks):  # no secret: activates, delivers nothing
        write(store, incident("inc-r", severity="critical"))
        wait_for(lambda: store.alert("inc-r")["playbooks"])
    (act,) = store.alert("inc-r")["playbooks"]
    assert store.timers.due("inc-r", "critical") == act["respond_by"]
    time.sleep(max(act["respond_by"] - time.time(), 0) + 0.2)  # ran out while stopped
    assert not [e for e in store.alert("inc-r")["audit"] if e["action"] == "sla.breached"]
    with Worker(store, config, playbooks):
        breach = wait_for(lambda: [e for e in store.alert("inc-r")["audit"]
                                   if e["action"] == "sla.breached"], timeout=3)
    assert breach[0]["actor"] == "sla-timer" and store.alert("inc-r")["state"] == "escalated"
