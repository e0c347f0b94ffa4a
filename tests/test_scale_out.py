"""The flow as a Bytewax cluster: the input split across processes, the results those
of one process."""

from __future__ import annotations

import uuid
from collections import defaultdict
from pathlib import Path

import pytest

from crisiswatch.flows.replay_shards import ShardedReplaySource, line_brand
from crisiswatch.store import Store, connect, shard_of
from crisiswatch.store.embedded import EmbeddedRedis
from tests.conftest import write_jsonl
from tests.helpers.flow_runs import cli_env, published, run_flow

pytestmark = pytest.mark.slow  # see pyproject's markers


def test_the_shards_split_a_file_by_brand_and_keep_its_line_numbers(tmp_path: Path) -> None:
    records: list[dict | str] = [{"id": str(i), "ts": i, "brand": f"B{i % 7}", "text": "x"}
                                 for i in range(3000)]
    records[10] = "not json"
    path = write_jsonl(tmp_path / "in.jsonl", records)
    source = ShardedReplaySource([path], shards=3, batch_size=256)
    seen: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
    for k, part_key in enumerate(source.list_parts()):
        part = source.build_part("read", part_key, None)
        try:
            while True:
                seen[k] += part.next_batch()
        except StopIteration:
            part.close()
    lines = sorted(x for rows in seen.values() for x in rows)
    assert [n for n, _ in lines] == list(range(1, 3001))  # each line read exactly once
    for k, rows in seen.items():
        assert {shard_of(line_brand(raw), 3) for _, raw in rows} == {k}
        assert [n for n, _ in rows] == sorted(n for n, _ in rows)  # in file order
    assert len({line_brand(raw) for rows in seen.values() for _, raw in rows[:50]}) > 3


def test_two_processes_publish_what_one_does_on_the_airline_replay(
        airline_store: Store, airline_jsonl: Path, redis_server: EmbeddedRedis,
        tmp_path: Path) -> None:
    prefix = f"two{uuid.uuid4().hex[:8]}"
    log = tmp_path / "flow.log"
    assert run_flow([str(airline_jsonl), "--processes", "2"],
                    cli_env(redis_server.url, prefix), log) == 0, log.read_text()
    two, one = published(Store(connect(redis_server.url), prefix)), published(airline_store)
    assert one["alerts"], "the airline replay raises incidents"
    assert two["alerts"] == one["alerts"]
    assert two == one
