"""Detection is unchanged by the performance work: each replay publishes exactly what
the code before it published (``tests/replay_fingerprints.py`` says what is compared)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from crisiswatch.store import Store
from crisiswatch.store.embedded import EmbeddedRedis
from tests.conftest import replay, settings_for
from tests.replay_fingerprints import GOLDEN, STREAMS, fingerprint

pytestmark = pytest.mark.slow  # see pyproject's markers

EXPECTED = orjson.loads(GOLDEN.read_bytes())


def test_the_airline_replay_publishes_what_it_did_before(airline_store: Store) -> None:
    assert fingerprint(airline_store) == EXPECTED["airline"]


@pytest.mark.parametrize("name", [n for n in STREAMS if n != "airline"])
def test_synthetic_replays_publish_what_they_did_before(
        name: str, tmp_path: Path, redis_server: EmbeddedRedis, store: Store,
        prefix: str) -> None:
    path = tmp_path / f"{name}.jsonl"
    STREAMS[name](path)
    replay(settings_for(prefix), [path], redis_server.url)
    found, expected = fingerprint(store), EXPECTED[name]
    assert found["stats"] == expected["stats"]
    assert found["incidents"] == expected["incidents"]
    changed = sorted(b for b in expected["series"] if found["series"].get(b) !=
                     expected["series"][b])
    assert not changed, f"series changed for {len(changed)} brand(s): {changed[:5]}"

