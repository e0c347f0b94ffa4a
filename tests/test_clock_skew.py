"""A wrong clock cannot hijack a brand's event time: a mention stamped ahead of the wall
clock through ``POST /mentions`` and a live flow, and a short run of wall-clock stamps
inside a 2015 replay, leave the honest mentions on time and every window as it was."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from crisiswatch.store import Store
from crisiswatch.store.embedded import EmbeddedRedis
from tests.conftest import LiveAPI, replay, settings_for, with_ingest, write_jsonl
from tests.helpers.flow_runs import cli_env, run_flow


def test_one_mention_an_hour_ahead_makes_no_live_mention_late(
        redis_server: EmbeddedRedis, store: Store, tmp_path: Path) -> None:
    """50 minutes ahead (within ingest.max_future_s, so accepted with 202), then 600
    mentions stamped as they are sent: the brand's event time leads the wall clock by
    ingest.max_lead_s at most, so none of them is late, and nothing is lost."""
    now = time.time()
    ahead = {"id": "ahead", "ts": now + 50 * 60, "brand": "Acme", "text": "clock ahead"}
    honest = [{"id": f"h{i}", "ts": now + i * 0.05, "brand": "Acme", "text": "on time"}
              for i in range(600)]
    api = LiveAPI(store, with_ingest(store, settings_for(store.p)))
    with api as client:
        for body in ([ahead], honest[:300], honest[300:]):
            r = client.post("/mentions", json=body)
            assert r.status_code == 202 and r.json()["rejected"] == 0, r.text
    env = cli_env(redis_server.url, store.p)
    log = tmp_path / "flow.log"
    assert run_flow(["--from-stream", "--drain"], env, log, timeout=90) == 0, log.read_text()
    s = store.stats()
    assert (s["read"], s["late"], s["dead_lettered"]) == (601, 0, 0), s
    assert s["processed"] == 601  # the early one too, in its own window
    assert store.late() == []


@pytest.mark.slow
def test_three_wall_clock_stamps_in_the_airline_replay_change_no_window(
        airline_jsonl: Path, airline_store: Store, redis_server: EmbeddedRedis,
        store: Store, tmp_path: Path) -> None:
    """Three consecutive United mentions stamped now, in the middle of 2015: held as
    suspects, outvoted by the in-order mentions after them and dead-lettered with the
    reason; United's windows are those of the clean replay, and nothing is late that
    was not."""
    lines = airline_jsonl.read_bytes().splitlines()
    middle = len(lines) // 2
    now = time.time()
    wrong = [orjson.dumps({"id": f"wall-{i}", "ts": now + i, "brand": "United",
                           "text": "stamped by a wrong clock"}) for i in range(3)]
    path = write_jsonl(tmp_path / "skewed.jsonl", lines[:middle] + wrong + lines[middle:])
    replay(settings_for(store.p), [path], redis_server.url)

    for brand in airline_store.brands():
        assert store.series(brand, limit=100_000) == \
            airline_store.series(brand, limit=100_000), brand
    s, r = store.stats(), airline_store.stats()
    assert (s["late"], s["processed"]) == (r["late"], r["processed"])
    assert s["dead_lettered"] == r["dead_lettered"] + 3
    reasons = [d["reason"] for d in store.deadletters(limit=1000)
               if d["raw"].find("wall-") >= 0]
    assert len(reasons) == 3 and all("held, then dead-lettered" in x for x in reasons)
    assert all(x["reason"] for x in store.late(limit=10))  # a late record says why


def test_a_late_mention_says_why_on_get_late(
        tmp_path: Path, redis_server: EmbeddedRedis, store: Store, api: Any) -> None:
    t0 = 1_700_000_100
    records = [{"id": f"m{i}", "ts": t0 + i * 60, "brand": "Acme", "text": "on time"}
               for i in range(30)] + [{"id": "old", "ts": t0, "brand": "Acme", "text": "late"}]
    replay(settings_for(store.p), [write_jsonl(tmp_path / "in.jsonl", records)],
           redis_server.url)
    [late] = api.get("/late").json()
    assert late["id"] == "old"
    assert late["reason"].startswith("its window at 2023-11-14T22:15:00Z had closed: "
                                     "the brand's watermark 2023-11-14T22:3")
