"""A flood of brands cannot push the flow out of memory: past ``ingest.max_brands`` the
mentions of further brands are dead-lettered with the reason, the admitted brands go on,
and a restarted flow admits the brands the store already publishes first."""

from __future__ import annotations

from pathlib import Path

from crisiswatch.store import Store
from crisiswatch.store.embedded import EmbeddedRedis
from tests.conftest import replay, settings_for, write_jsonl

T0 = 1_700_000_000 - 1_700_000_000 % 300


def mentions(brands: list[str], n: int, start: float = T0) -> list[dict]:
    return [{"id": f"{b}-{start}-{i}", "ts": start + i * 10, "brand": b, "text": "hello"}
            for i in range(n) for b in brands]


def test_brands_past_the_limit_are_dead_lettered_and_the_others_go_on(
        tmp_path: Path, redis_server: EmbeddedRedis, store: Store) -> None:
    settings = settings_for(store.p, ingest__max_brands=3)
    records = mentions(["A", "B", "C", "D", "E"], 20)
    replay(settings, [write_jsonl(tmp_path / "one.jsonl", records)], redis_server.url)
    s = store.stats()
    assert (s["read"], s["processed"], s["dead_lettered"]) == (100, 60, 40)
    assert store.brands() == ["A", "B", "C"]
    reasons = {d["brand"]: d["reason"] for d in store.deadletters(limit=100)}
    assert set(reasons) == {"D", "E"}
    assert "past the flow's limit of 3 brands (ingest.max_brands)" in reasons["D"]

    # a restart: the published brands come first, whatever the input's order
    later = mentions(["Z", "A"], 10, start=T0 + 3600)
    replay(settings, [write_jsonl(tmp_path / "two.jsonl", later)], redis_server.url)
    assert sum(p["count"] for p in store.series("A", limit=100)) == 30
    assert "Z" not in store.brands()
    assert any(d.get("brand") == "Z" for d in store.deadletters(limit=100))
