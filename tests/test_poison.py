"""Poison records never stop the flow nor ruin a brand: far-future stamps, a brand whose
detectors raise, and the records that once did either, fed through a real replay."""

from __future__ import annotations

import signal
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import orjson
import pytest
from bytewax.testing import run_main

from crisiswatch.config.runtime import build_flow
from crisiswatch.connectors import demo
from crisiswatch.flows.sources import ReplaySource
from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis
from tests.conftest import LiveAPI, replay, settings_for, with_ingest, write_jsonl
from tests.helpers.flow_runs import cli_env, flow_process, published, run_flow
from tests.helpers.waiting import wait_for

T0 = 1_700_000_000 - 1_700_000_000 % 300  # a window boundary


def mention(i: int, t: float, brand: str = "Acme", text: str = "hello") -> dict:
    return {"id": f"{brand}-{i}", "ts": t, "brand": brand, "text": text}


def accounted(store: Store) -> bool:
    s = store.stats()
    return s["read"] + s["fanout"] == s["processed"] + s["duplicate"] + s["late"] + \
        s["dead_lettered"]


@pytest.mark.slow
def test_one_far_future_mention_in_the_demo_replay_makes_nothing_late(
        tmp_path: Path, redis_server: EmbeddedRedis) -> None:
    demo.write(tmp_path / "demo.jsonl")
    records = (tmp_path / "demo.jsonl").read_bytes().splitlines()
    ref = Store(connect(redis_server.url), "ref" + tmp_path.name[-8:])
    replay(settings_for(ref.p), [tmp_path / "demo.jsonl"], redis_server.url)
    middle = len(records) // 2
    # 2099: refused by the clock at parse time; 200 days ahead of the 2026 demo, but not
    # of the wall clock: held as a suspect, then dead-lettered when the stream goes on
    poison = [mention(1, "2099-01-01T00:00:00Z", "Skyways"),
              mention(2, "2026-09-20T00:00:00Z", "Skyways")]
    poisoned = records[:middle] + [orjson.dumps(p) for p in poison] + records[middle:]
    path = write_jsonl(tmp_path / "poisoned.jsonl", poisoned)
    store = Store(connect(redis_server.url), "poi" + tmp_path.name[-8:])
    replay(settings_for(store.p), [path], redis_server.url)

    found, expected = published(store), published(ref)
    assert found["series"] == expected["series"]  # Skyways keeps every window
    assert found["alerts"] == expected["alerts"]
    s, r = found["stats"], expected["stats"]
    assert (s["late"], s["processed"]) == (r["late"], r["processed"])
    assert (s["read"], s["dead_lettered"]) == (r["read"] + 2, r["dead_lettered"] + 2)
    reasons = {d["raw"][:40]: d["reason"] for d in store.deadletters(limit=100)}
    assert any("ahead of the clock, more than ingest.max_future_s" in x
               for x in reasons.values()), reasons
    assert any("ahead of the brand's newest event time" in x and "held, then "
               "dead-lettered" in x for x in reasons.values()), reasons


def test_a_stream_that_resumes_after_a_gap_is_confirmed_not_held_back(
        tmp_path: Path, redis_server: EmbeddedRedis, store: Store) -> None:
    before = [mention(i, T0 + i * 30) for i in range(100)]
    after = [mention(100 + i, T0 + 2 * 86400 + i * 30) for i in range(10)]  # two days on
    straggler = [mention(999, T0 + 99 * 30)]  # in order with the old stream: not late
    path = write_jsonl(tmp_path / "in.jsonl", before + after[:1] + straggler + after[1:])
    replay(settings_for(store.p), [path], redis_server.url)
    s = store.stats()
    assert (s["processed"], s["late"], s["dead_lettered"]) == (111, 0, 0)
    assert accounted(store)
    starts = [p["window_start"] for p in store.series("Acme", limit=1000)]
    assert starts[-1] == T0 + 2 * 86400 + 9 * 30 - (T0 + 9 * 30) % 300


def test_a_suspect_that_the_brand_catches_up_with_is_folded_not_dead_lettered(
        tmp_path: Path, redis_server: EmbeddedRedis, store: Store) -> None:
    settings = settings_for(store.p, ingest__max_jump_s=600)
    early = [mention(i, T0 + i * 60) for i in range(10)]
    ahead = [mention(50, T0 + 9 * 60 + 700)]  # 700 s ahead of a 600 s bound, and then
    # within it by the third mention in order (T0 + 12 min): folded, not dead-lettered
    catch_up = [mention(10 + i, T0 + (10 + i) * 60) for i in range(20)]
    path = write_jsonl(tmp_path / "in.jsonl", early + ahead + catch_up)
    replay(settings, [path], redis_server.url)
    s = store.stats()
    assert (s["processed"], s["late"], s["dead_lettered"]) == (31, 0, 0)


class FailingEmbedder:
    """A topic embedding backend with a bug that only one brand's texts reach."""

    name, dim = "failing", 8

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if any("poison" in t for t in texts):
            raise ValueError("year 10000 is out of range")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        out[:, 0] = 1.0
        return out


def test_a_brand_whose_detectors_raise_is_quarantined_and_every_other_brand_goes_on(
        tmp_path: Path, redis_server: EmbeddedRedis, store: Store) -> None:
    records = []
    for i in range(120):
        t = T0 + i * 30
        records += [mention(i, t, "Good"), mention(i, t, "Bad", "poison" if i == 20
                                                   else "fine")]
    path = write_jsonl(tmp_path / "in.jsonl", records)
    settings = settings_for(store.p)
    run_main(build_flow(settings, ReplaySource([path]), redis_server.url,
                        embedder=FailingEmbedder()))
    assert accounted(store)
    good, bad = store.series("Good", limit=1000), store.series("Bad", limit=1000)
    assert sum(p["count"] for p in good) == 120 and len(good) == 12
    # the window with the poison is dead-lettered whole; the brand's later windows go on
    assert len(bad) == 11 and sum(p["count"] for p in bad) == 110
    [dead] = store.deadletters()
    assert dead["brand"] == "Bad" and dead["reason"] == (
        f"the detectors failed on the window at {_iso(T0 + 600)}: ValueError: year 10000 is "
        "out of range")
    assert store.stats()["dead_lettered"] == 10


def _iso(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# Every record found to stop the flow or ruin a brand, as a collector sent it.
POISON: list[dict] = [
    {"id": "p-year10000", "ts": "9999-12-31T10:30:00-14:00", "brand": "Acme", "text": "x"},
    {"id": "p-year1", "ts": "0001-01-01T00:00:00+01:00", "brand": "Acme", "text": "x"},
    {"id": "p-1969", "ts": "1969-12-31T23:00:00Z", "brand": "Acme", "text": "x"},
    {"id": "p-2099", "ts": "2099-01-01T00:00:00Z", "brand": "Acme", "text": "x"},
    {"id": "p-huge", "ts": 1e300, "brand": "Acme", "text": "x"},
    {"id": "p-ctrl", "ts": T0, "brand": "Ac\u0000me", "text": "x"},
    {},
]
# Accepted, and handled by the flow: a brand 30 days ahead of itself (held, then
# dead-lettered), names that once were unreachable or dangerous in a spreadsheet.
ODD: list[dict] = [
    {"id": "p-ahead", "ts": T0 + 30 * 86400, "brand": "Acme", "text": "x"},
    *({"id": f"slash-{i}", "ts": T0 + i * 30, "brand": "Ac/me", "text": "ok"}
      for i in range(5)),
    *({"id": f"formula-{i}", "ts": T0 + i * 30, "brand": '=HYPERLINK("http://x","y")',
       "text": "ok"} for i in range(5)),
]
BRANDS = ["Acme", "Globex", "Initech", "Umbrella"]


def good_records() -> list[dict]:
    return [mention(i, T0 + i * 15, brand) for i in range(240) for brand in BRANDS]


@pytest.mark.slow
@pytest.mark.parametrize("source", ["stream", "files"])
def test_poison_through_post_mentions_and_a_file_survives_kill_and_restart(
        source: str, redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    prefix = f"pz{tmp_path.name[-8:]}"
    store = Store(connect(redis_server.url), prefix)
    good = good_records()
    records = good[:400] + POISON + ODD + good[400:]
    recovery = tmp_path / "recovery"
    env, log = cli_env(redis_server.url, prefix), tmp_path / "flow.log"
    if source == "stream":
        api = LiveAPI(store, with_ingest(store, settings_for(prefix)))
        with api as client:
            r = client.post("/mentions", json=records)
        assert r.status_code == 202, r.text
        answer = r.json()
        assert answer["rejected"] == len(POISON)
        assert answer["accepted"] == len(good) + len(ODD)
        # a collector that writes to Redis itself (or an older API) gets them through
        store.inputs.append([(p.get("brand") or "?", orjson.dumps(p)) for p in POISON])
        first, again = ["--from-stream"], ["--from-stream", "--drain"]
    else:
        path = write_jsonl(tmp_path / "in.jsonl", records)
        first, again = [str(path), "--speed", "600"], [str(path)]
    total = len(records)
    common = ["--recovery-dir", str(recovery), "--snapshot-interval", "1"]
    with flow_process(first + common, env, log) as proc:
        wait_for(lambda: store.stats()["read"] >= total // 3, 60, "a third read", proc, log)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert run_flow(again + common, env, log) == 0, log.read_text()

    s = store.stats()
    assert s["read"] == total and accounted(store), s
    for brand in BRANDS:
        assert sum(p["count"] for p in store.series(brand, limit=1000)) == 240, brand
    assert s["processed"] == len(good) + 10
    reasons = [d["reason"] for d in store.deadletters(limit=100)]
    assert s["dead_lettered"] == len(POISON) + 1 == len(reasons), reasons
    assert sum("ahead of the brand's newest event time" in x for x in reasons) == 1, reasons
    assert sum(x.startswith("ts out of range") for x in reasons) == 2, reasons
    assert "Traceback" not in log.read_text()


def test_an_item_the_store_cannot_take_is_dead_lettered_and_the_flow_goes_on(
        tmp_path: Path, redis_server: EmbeddedRedis, store: Store) -> None:
    """A number JSON cannot hold (orjson's limit is 64 bits) once stopped the sink, and
    every restart with it: the batch is written item by item, the bad one dead-lettered."""
    from crisiswatch.flows.items import StatsItem, WindowItem
    from crisiswatch.flows.sinks import StoreSink

    sink = StoreSink(redis_server.url, store.p, 100).build("store", 0, 1)
    record = {"brand": "Acme", "window_start": T0, "count": 1}
    sink.write_batch([WindowItem("Acme", T0, record),
                      WindowItem("Acme", T0 + 300, {**record, "reach": 2**64}),
                      StatsItem({"read": 2, "processed": 2})])
    assert [p["window_start"] for p in store.series("Acme")] == [T0]
    assert store.stats()["read"] == 2
    [dead] = store.deadletters()
    assert dead["reason"] == ("could not store this window: TypeError: Integer exceeds "
                              "64-bit range")


def test_a_stream_that_resumes_in_steps_keeps_every_step(
        tmp_path: Path, redis_server: EmbeddedRedis, store: Store) -> None:
    """One mention a day after the last, then the stream two days on (the airline
    sample's American starts so): the step is released with the jump that confirms it,
    not folded after it as late."""
    before = [mention(i, T0 + i * 30) for i in range(20)]
    step = [mention(50, T0 + 86400)]
    after = [mention(100 + i, T0 + 2 * 86400 + i * 30) for i in range(10)]
    replay(settings_for(store.p), [write_jsonl(tmp_path / "in.jsonl", before + step + after)],
           redis_server.url)
    s = store.stats()
    assert (s["processed"], s["late"], s["dead_lettered"]) == (31, 0, 0)
