"""Digests and headlines: GET /digest over real HTTP on a real Redis, the digest
schedule queueing each period once per channel, and the plain-language headline."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson

from crisiswatch.detectors.types import Incident
from crisiswatch.response import lifecycle
from crisiswatch.response.headline import headline
from crisiswatch.store import Store
from crisiswatch.worker.config import DigestConfig
from crisiswatch.worker.digests import DigestSchedule
from tests.conftest import LiveAPI
from tests.helpers.activation import T0, incident, playbook_file

PLAYBOOKS = """\
destinations:
  pr-slack: {url: "http://127.0.0.1:9/slack", format: slack}
  pr-teams: {url: "http://127.0.0.1:9/teams", format: teams}
  pr-mail: {url: "smtp://127.0.0.1:9", format: email, from: "cw@example.com",
            to: ["pr@example.com"]}
playbooks:
  - name: pr
    when: {min_severity: warning}
    actions: [{webhook: pr-slack}]
"""


def test_headlines_say_what_how_much_and_how_negative() -> None:
    def said(**doc: Any) -> str:
        return headline(Incident.from_dict(incident(**doc)))

    assert said() == "Outage complaints: 6.0× the usual volume, #acmedown, 60% negative"
    assert said(tone="calm", top_terms=[["game", 9]], hashtags=[], top_hashtags=[],
                negative_share=0.2, lift=14.2) == \
        "Attention spike: 14× the usual volume, 20% negative"
    assert said(tone="positive", positive_share=0.7, hashtags=[],
                top_hashtags=[["launch", 9]]) == \
        "Praise and buzz: 6.0× the usual volume, #launch, 70% positive"
    assert said(watchlist_hits=[{"term": "lawsuit", "severity": "critical", "count": 4}],
                kinds=("keyword",)).startswith("Watchlist: “lawsuit”: #acmedown")


def test_digest_counts_incidents_and_goes_to_each_channel_once(store: Store,
                                                                tmp_path: Path) -> None:
    playbooks = playbook_file(tmp_path, PLAYBOOKS)
    w = store.writer()
    w.incident(Incident.from_dict(incident("a-1", severity="critical")))
    w.incident(Incident.from_dict(incident("g-1", brand="Globex", severity="warning",
                                           top_terms=[["refund", 3]])))
    w.execute()
    store.lifecycle.transact("a-1", lambda s: lifecycle.acknowledge(s, "ana", "", time.time()))
    day = (T0 - 3600, T0 + 86_400)
    with LiveAPI(store) as api:
        d = api.get("/digest", params={"from": day[0], "to": day[1]}).json()
        assert (d["incidents"]["total"], d["incidents"]["acknowledged"]) == (2, 1)
        assert d["incidents"]["by_severity"] == {"critical": 1, "warning": 1, "info": 0}
        assert [x["id"] for x in d["worst"]] == ["a-1", "g-1"]
        assert d["worst"][0]["headline"].startswith("Outage complaints")
        slack = api.get("/digest", params={"from": day[0], "to": day[1], "format": "slack"})
        text = orjson.dumps(slack.json()["blocks"]).decode()
        assert "Opened:* 2 (1 critical, 1 warning, 0 info)" in text and "Outage" in text
        assert api.get("/digest", params={"team": "nobody"}).status_code == 404
        empty = api.get("/digest", params={"from": T0 + 86_400, "to": T0 + 90_000}).json()
        assert empty["incidents"]["total"] == 0

    schedule = DigestSchedule(store, [DigestConfig(
        team="pr", every_hours=24, destinations=("pr-slack", "pr-teams", "pr-mail"))],
        playbooks)
    now = T0 + 86_400 + 60  # just after the day that holds both incidents ended
    assert schedule.run_due(now) == 3
    assert schedule.run_due(now + 600) == 0  # the same period: not again
    queued = [orjson.loads(m) for m in store.r.hvals(store.keys.outbox())]
    assert sorted(m["destination"] for m in queued) == ["pr-mail", "pr-slack", "pr-teams"]
    mail = orjson.loads(next(m["body"] for m in queued if m["format"] == "email"))
    assert mail["to"] == ["pr@example.com"] and "crisiswatch digest for pr" in mail["subject"]
    assert "Opened: 2 (1 critical, 1 warning, 0 info)" in mail["text"]
    assert "Acknowledged: 1" in mail["text"]
