"""A brand's id memory: exact while a window is open, compact and bounded after."""

from __future__ import annotations

import pickle
from pathlib import Path

from crisiswatch.flows.dedup import LATE_FOLDED_AT, SeenIds, _digest
from crisiswatch.store import Store
from crisiswatch.store.embedded import EmbeddedRedis
from tests.conftest import replay, settings_for, write_jsonl

T0 = 1_700_000_000 - 1_700_000_000 % 300  # a window boundary


def test_an_id_is_a_duplicate_while_its_window_is_open_and_after_it_closed() -> None:
    seen = SeenIds(horizon_windows=12, max_ids=1000)
    seen.count("a", 10)
    seen.count("b", 11)
    assert seen.in_open_window("a") and seen.in_open_window("b")
    assert not seen.in_open_window("c")
    seen.close(10)
    assert not seen.in_open_window("a") and seen.in_open_window("b")
    assert seen.seen_late("a", 11)  # a re-sent record of the closed window
    assert not seen.seen_late("c", 11)  # a late record seen for the first time ...
    assert seen.seen_late("c", 11)  # ... is remembered: its re-send is a duplicate
    restored = pickle.loads(pickle.dumps(seen))  # snapshots keep it all
    assert restored.seen_late("a", 11) and restored.seen_late("c", 11)


def test_closed_windows_are_forgotten_past_the_horizon_and_the_bound() -> None:
    seen = SeenIds(horizon_windows=3, max_ids=250)
    for window in range(10):
        for i in range(100):
            seen.count(f"{window}-{i}", window)
        seen.close(window)
        assert seen.closed_ids <= 250
    assert not seen.seen_late("6-0", 10)  # over the bound: the last 2 windows are kept
    assert seen.seen_late("8-0", 10) and seen.seen_late("9-99", 10)
    assert not seen.seen_late("9-0", 12)  # the watermark moved on: past the horizon
    wide = SeenIds(horizon_windows=3, max_ids=10_000)
    for window in range(10):
        wide.count(f"id{window}", window)
        wide.close(window)
    assert [w for w, _ in wide.closed] == [7, 8, 9]  # the horizon


def test_digests_are_stable_across_processes() -> None:
    assert _digest("1900000000000000000") == 1_900_000_000_000_000_000
    assert _digest("x1") == 0x3D8B16E46CA980B6  # BLAKE2b: a snapshot from any process
    assert _digest("x1") == _digest("x1") != _digest("x2")
    assert 0 <= _digest("é\udc80") < 2**64  # lone surrogates do not break it


def test_a_batch_sent_again_after_its_windows_closed_is_counted_as_duplicates(
        tmp_path: Path, redis_server: EmbeddedRedis, store: Store) -> None:
    first = [{"id": f"m{i}", "ts": T0 + i * 10, "brand": "Acme", "text": "hello"}
             for i in range(60)]
    later = [{"id": f"n{i}", "ts": T0 + 3600 + i, "brand": "Acme", "text": "later"}
             for i in range(5)]  # the watermark moves an hour on: the first windows close
    # eight of them: a few mentions do not move the watermark 8 h on (they wait as
    # suspects until ingest.jump_confirm of them confirm the jump)
    much_later = [{"id": f"z{i}", "ts": T0 + 8 * 3600 + i, "brand": "Acme", "text": "next day"}
                  for i in range(8)]
    records = first + later + first[:30] + much_later + first[30:]
    replay(settings_for(store.p), [write_jsonl(tmp_path / "in.jsonl", records)],
           redis_server.url)
    s = store.stats()
    # re-sent within the 6 h horizon: duplicates; re-sent after it: late, never counted
    assert (s["processed"], s["duplicate"], s["late"]) == (73, 30, 30)
    assert s["read"] == s["processed"] + s["duplicate"] + s["late"] + s["dead_lettered"]


def test_a_replay_of_old_data_keeps_late_ids_compact() -> None:
    """Only late records and no window closing (yesterday's file into a running flow):
    the late ids still join the compact memory, and their re-sends are duplicates."""
    seen = SeenIds(horizon_windows=72, max_ids=1_000_000)
    ids = [f"old{i}" for i in range(10_000)]
    assert not any(seen.seen_late(i, 500) for i in ids)
    assert len(seen.late) < LATE_FOLDED_AT <= seen.closed_ids
    assert all(seen.seen_late(i, 500) for i in ids)
