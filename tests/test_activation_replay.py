"""The shipped playbooks on real incidents: the airline replay (copied, the shared store
stays read-only) and the demo stream replayed through the real flow."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from crisiswatch.config import runtime
from crisiswatch.config.settings import load_settings
from crisiswatch.connectors import demo
from crisiswatch.detectors.types import Incident
from crisiswatch.response.playbooks import PlaybookSet
from crisiswatch.store import Store
from crisiswatch.store.embedded import EmbeddedRedis
from crisiswatch.worker.activation import ActivationEngine
from tests.conftest import replay, settings_for
from tests.helpers.activation import live_api
from tests.helpers.airline import overlaps, ts

pytestmark = pytest.mark.slow  # see pyproject's markers


def shipped() -> PlaybookSet:
    return runtime.playbooks(load_settings())


def activations(store: Store) -> list[tuple[str, str, str, list[str]]]:
    rows = []
    for a in sorted(store.alerts(limit=1000), key=lambda a: a["first_window"]):
        when = datetime.fromtimestamp(a["first_window"], UTC).strftime("%Y-%m-%d %H:%M")
        rows.append((when, a["brand"], a["severity"], [p["name"] for p in a["playbooks"]]))
    return rows


def test_airline_incidents_activate_the_expected_playbooks(airline_store: Store,
                                                           store: Store) -> None:
    # copy the incidents, as the flow wrote them, into this test's own prefix
    docs = [airline_store.detector_alert(a["id"]) for a in airline_store.alerts(limit=1000)]
    w = store.writer()
    for doc in sorted(docs, key=lambda d: d["first_window"]):
        w.incident(Incident.from_dict(doc))
    w.execute()
    engine = ActivationEngine(store, shipped(), runtime.staffing(load_settings()))
    engine.drain()
    table = activations(store)
    print("\nairline incidents and the playbooks they activated:")
    for row in table:
        print(f"  {row[0]} UTC  {row[1]:<15} {row[2]:<8} {', '.join(row[3]) or '-'}")

    alerts = store.alerts(limit=1000)
    fleek = [a for a in alerts if a["brand"] == "Delta"
             and overlaps(a, ts("2015-02-23 10:00 -0800"), ts("2015-02-23 13:00 -0800"))]
    assert len(fleek) == 1 and fleek[0]["severity"] == "critical", fleek
    (pr,) = [p for p in fleek[0]["playbooks"] if p["name"] == "pr-legal-critical"]
    assert pr["reasons"] == ["severity critical >= critical"]
    assert pr["respond_by"] - pr["at"] == 15 * 60
    assert pr["staffing"]["peak_extra_agents"] >= 1  # a 4x spike needs more hands
    assert fleek[0]["assignee"] == "pr-legal"
    for a in alerts:  # the PR/legal playbook is exactly the critical incidents
        names = [p["name"] for p in a["playbooks"]]
        assert ("pr-legal-critical" in names) == (a["severity"] == "critical"), a["id"]
        assert "adverse-drug-reaction" not in names  # airlines report no drug reactions
    # three webhooks per activation at most: everything that activated has its messages
    queued = {(m["message"]["incident_id"], m["message"]["playbook"])
              for m in store.outbox.pending(1000)}
    assert (fleek[0]["id"], "pr-legal-critical") in queued
    with live_api(store, shipped()) as api:
        assert api.get(f"/alerts/{fleek[0]['id']}").json()["playbooks"][0]["name"] == \
            fleek[0]["playbooks"][0]["name"]


def test_demo_outage_routes_to_the_noc_with_staffing(redis_server: EmbeddedRedis,
                                                     store: Store, tmp_path: Path) -> None:
    path = tmp_path / "demo.jsonl"
    demo.write(path)
    replay(settings_for(store.p), [path], redis_server.url)
    ActivationEngine(store, shipped(), runtime.staffing(load_settings())).drain()
    table = activations(store)
    print("\ndemo incidents and the playbooks they activated:", *table, sep="\n  ")
    outage = [a for a in store.alerts(brand="Northwind Telecom")
              if overlaps(a, demo.OUTAGE_START.timestamp(),
                          demo.OUTAGE_START.timestamp() + demo.OUTAGE_HOURS * 3600)]
    assert len(outage) == 1, table
    (noc,) = [p for p in outage[0]["playbooks"] if p["name"] == "noc-outage"]
    assert any(r.startswith("keyword") for r in noc["reasons"]), noc["reasons"]
    # activated on the outage's first window, which alone could be a one-window burst:
    # the median staffs nothing yet, the cautious P90 does
    first_hour = noc["staffing"]["hours"][0]
    assert first_hour["extra_agents_p90"] >= 1 and noc["staffing"]["forecast"]["shape"] == "blip"
    assert outage[0]["assignee"] == "network-operations"
    destinations = {m["message"]["destination"] for m in store.outbox.pending(1000)
                    if m["message"]["incident_id"] == outage[0]["id"]}
    assert {"network-operations", "contact-center"} <= destinations
