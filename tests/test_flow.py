"""The real Bytewax flow on small files built for the case: nothing is ever lost."""

from __future__ import annotations

import pickle
from pathlib import Path

from crisiswatch.config.runtime import detector_config, flow_config
from crisiswatch.config.settings import load_settings
from crisiswatch.detectors.types import Mention
from crisiswatch.flows.brand_windows import BrandWindows, BrandWindowsState
from crisiswatch.flows.dedup import SeenIds
from crisiswatch.flows.items import Count
from crisiswatch.store import Store
from crisiswatch.store.embedded import EmbeddedRedis
from tests.conftest import replay, settings_for, write_jsonl

T0 = 1_700_000_000 - 1_700_000_000 % 300  # a window boundary


def m(i: int, t: float, brand: str | None = "Acme", text: str = "hello") -> dict:
    rec = {"id": f"m{i}", "ts": t, "text": text}
    if brand:
        rec["brand"] = brand
    return rec


def test_bad_late_duplicate_and_multi_brand_records_are_all_accounted_for(
    tmp_path: Path, redis_server: EmbeddedRedis, store: Store
) -> None:
    records: list = [m(i, T0 + i * 10) for i in range(100)]  # 1000 s of in-order mentions
    records += [m(5, T0 + 50), m(6, T0 + 60)]  # repeats: duplicates
    records += [m(1000, T0 - 3600)]  # an hour behind the watermark: late
    records += [m(1001, T0 + 1000, brand=None, text="@NorthwindTel and @Skyways both down")]
    records += ["not json", '{"id": "x"}', b"\xff\xfe"]
    path = write_jsonl(tmp_path / "in.jsonl", records)
    replay(settings_for(store.p), [path], redis_server.url)

    s = store.stats()
    assert s["read"] == 107
    assert s["duplicate"] == 2 and s["late"] == 1 and s["dead_lettered"] == 3
    assert s["fanout"] == 1  # the mention that names two brands is processed for each
    assert s["processed"] == 100 + 2
    assert s["read"] + s["fanout"] == s["processed"] + s["duplicate"] + s["late"] + \
        s["dead_lettered"]

    reasons = sorted(d["reason"] for d in store.deadletters())
    assert reasons[0].startswith("missing field 'text'")
    assert reasons[1].startswith("not JSON")
    assert reasons[2].startswith("not valid UTF-8")
    late = store.late()
    assert [(r["id"], r["brand"]) for r in late] == [("m1000", "Acme")]
    assert set(store.brands()) == {"Acme", "Northwind Telecom", "Skyways"}
    windows = store.series("Acme")
    assert sum(w["count"] for w in windows) == 100
    assert [w["window_start"] for w in windows] == sorted(w["window_start"] for w in windows)


def test_replaying_the_same_input_twice_stores_the_same_state(
    tmp_path: Path, redis_server: EmbeddedRedis, store: Store
) -> None:
    # A quiet day, then a burst: one incident. Replaying again (as after a recovery that
    # re-emits windows) must not add windows or incidents.
    records = [m(i, T0 + i * 60) for i in range(2000)]
    records += [m(10_000 + i, T0 + 2000 * 60 + i) for i in range(300)]
    path = write_jsonl(tmp_path / "in.jsonl", records)
    settings = settings_for(store.p)
    replay(settings, [path], redis_server.url)
    def counters() -> dict:
        return {k: v for k, v in store.stats().items() if k != "status"}  # not the heartbeat

    first = (store.series("Acme"), store.alerts(), counters())
    replay(settings, [path], redis_server.url)
    assert (store.series("Acme"), store.alerts(), counters()) == first
    assert len(first[1]) == 1 and first[1][0]["brand"] == "Acme"


def test_window_length_and_lateness_come_from_settings(
    tmp_path: Path, redis_server: EmbeddedRedis, store: Store
) -> None:
    records = [m(i, T0 + i * 30) for i in range(20)] + [m(99, T0 + 5)]  # 9.5 min behind
    path = write_jsonl(tmp_path / "in.jsonl", records)
    replay(settings_for(store.p, window__minutes=1, window__lateness_minutes=0),
           [path], redis_server.url)
    windows = store.series("Acme")
    assert {w["window_end"] - w["window_start"] for w in windows} == {60}
    assert store.stats()["late"] == 1


def test_a_paced_replay_does_not_wait_for_a_far_future_timestamp(tmp_path: Path) -> None:
    from crisiswatch.flows.sources import ReplaySource

    path = write_jsonl(tmp_path / "in.jsonl", [
        m(1, T0), {"id": "bad", "ts": T0 + 10 * 365 * 86400, "brand": "Acme", "text": "x"},
        m(2, T0),
    ])
    part = ReplaySource([path], speed=1.0).build_part("read", str(path), None)
    lines = [n for n, _ in part.next_batch()]
    assert lines == [1, 2, 3]  # all due now: the bad stamp is the parser's to refuse


def test_a_brand_is_snapshotted_only_when_recovery_keeps_it() -> None:
    """Bytewax asks every brand touched in an epoch for a snapshot, recovery or not:
    without recovery the answer is empty (nothing keeps it), with recovery it is the
    whole state, from which the brand resumes where it was."""
    settings = load_settings()
    assert flow_config(settings).snapshots  # the safe default: snapshot
    mentions = [Mention(id=f"m{i}", ts=1_700_000_000.0 + i, brands=("B",), text=f"post {i}",
                        hashtags=()) for i in range(5)]

    def logic(state: BrandWindowsState, snapshots: bool) -> BrandWindows:
        return BrandWindows(detector_config(settings), 600, state, lambda: 0.0,
                            snapshots=snapshots)

    quiet = logic(BrandWindowsState(SeenIds(72, 1000)), snapshots=False)
    quiet.on_batch([("B", mentions)])
    assert quiet.snapshot() == b"" and quiet.s.open  # the state itself is untouched
    kept = logic(BrandWindowsState(SeenIds(72, 1000)), snapshots=True)
    kept.on_batch([("B", mentions)])
    resumed = logic(pickle.loads(kept.snapshot()), snapshots=True)
    assert resumed.s.brand == "B" and sum(w.count for w in resumed.s.open.values()) == 5
    out, _ = resumed.on_batch([("B", mentions[:2])])  # sent again after the crash
    assert Count("duplicate", 2) in out
