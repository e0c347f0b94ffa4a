"""``POST /mentions`` over real HTTP into a real Redis, and the flow reading what it
queued: the reasons a collector gets, the limits, and a batch sent twice."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from bytewax.testing import run_main

from crisiswatch.config.runtime import build_flow
from crisiswatch.config.settings import Settings
from crisiswatch.flows.redis_source import RedisStreamSource
from crisiswatch.store import LayoutMismatch, Store, connect, token_digest
from crisiswatch.store.embedded import EmbeddedRedis
from tests.conftest import LiveAPI, replay, settings_for, with_ingest, write_jsonl
from tests.helpers.cli import cli
from tests.helpers.flow_runs import cli_env, published, run_flow

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_700_000_000


@pytest.fixture
def settings(prefix: str) -> Settings:
    return settings_for(prefix)


@pytest.fixture
def served(store: Store, settings: Settings) -> Iterator[LiveAPI]:
    api = LiveAPI(store, with_ingest(store, settings))
    with api:
        yield api


def key(store: Store, *scopes: str) -> dict[str, str]:
    token, _ = store.api_keys.create("collector", list(scopes))
    return {"Authorization": f"Bearer {token}"}


def queued(store: Store) -> list[dict[str, Any]]:
    """What waits in the input streams for the flow."""
    out = []
    for k in range(store.inputs.partitions()):
        out += [orjson.loads(raw) for _, raw in store.inputs.partition(k).between(
            None, "+", 100_000)]
    return out


def post(client: httpx.Client, body: bytes, kind: str, headers: dict[str, str]
         ) -> httpx.Response:
    return client.post("/mentions", content=body, headers={**headers, "Content-Type": kind})


def test_each_record_is_checked_like_the_flow_and_the_valid_ones_are_queued(
        served: LiveAPI, store: Store) -> None:
    records: list[Any] = [
        {"id": "a1", "ts": T0, "brand": "Acme", "text": "order arrived"},
        {"id": "a2", "ts": T0 + 1, "brand": "Acme"},
        {"id": "a3", "ts": "yesterday", "brand": "Acme", "text": "late again"},
        "just a string",
        {"id": "s1", "ts": "2023-11-14T22:13:20Z", "text": "@Skyways lost my bag"},
        {"id": "n1", "ts": T0 + 2, "text": "no brand named here"},
    ]
    r = post(served.client, orjson.dumps(records), "application/json", key(store, "ingest"))
    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 2, "rejected": 4, "errors": [
        {"index": 1, "reason": "missing field 'text'"},
        {"index": 2, "reason": "ts not a timestamp: 'yesterday'"},
        {"index": 3, "reason": "not a JSON object: got string"},
        {"index": 5, "reason": "no brand: field 'brand' is absent and no brand query matches"},
    ]}
    # the brand query of configs/default.yaml found Skyways: the flow will too
    assert sorted(m["id"] for m in queued(store)) == ["a1", "s1"]

    lines = b"\n".join([orjson.dumps(records[0] | {"id": "a4"}), b"", b"{broken",
                        orjson.dumps(records[4] | {"id": "s2"}) + b"\r"])
    r = post(served.client, lines, "application/x-ndjson", key(store, "ingest"))
    assert r.status_code == 202, r.text
    body = r.json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert body["errors"][0]["index"] == 2 and body["errors"][0]["reason"].startswith("not JSON")
    assert sorted(m["id"] for m in queued(store)) == ["a1", "a4", "s1", "s2"]


def test_what_cannot_be_taken_is_refused_with_the_reason(
        redis_server: EmbeddedRedis, store: Store, settings: Settings) -> None:
    settings.ingest.max_records = 3
    settings.ingest.max_body_bytes = 2000
    api = LiveAPI(store, with_ingest(store, settings))
    ok = {"id": "a", "ts": T0, "brand": "Acme", "text": "hi"}
    with api, httpx.Client(base_url=api.url, timeout=10) as client:  # no key by default
        collector = key(store, "ingest")
        cases = [
            (b"[]", "text/plain", collector, 415, "application/x-ndjson"),
            (b"{oops", "application/json", collector, 400, "not JSON"),
            (b"42", "application/json", collector, 400, "JSON array"),
            (b"", "application/json", collector, 400, "empty body"),
            (orjson.dumps([ok] * 4), "application/json", collector, 413, "split the batch"),
            (b"[" + b" " * 3000 + b"]", "application/json", collector, 413, "2,000 bytes"),
            (orjson.dumps([ok]), "application/json", {}, 401, "scope 'ingest'"),
            (orjson.dumps([ok]), "application/json", key(store, "read"), 403, "lacks scope"),
        ]
        for body, kind, headers, status, says in cases:
            r = post(client, body, kind, headers)
            assert r.status_code == status, (kind, body[:20], r.text)
            assert says in r.json()["error"]["message"], r.text
    assert queued(store) == []


def test_the_same_batch_sent_twice_is_counted_once(
        served: LiveAPI, store: Store, settings: Settings, redis_server: EmbeddedRedis,
        tmp_path: Path) -> None:
    batch = [{"id": f"m{i}", "ts": T0 + i * 20, "brand": "Acme" if i % 3 else "Globex",
              "text": "checkout broken #acmedown" if i > 300 else "all good"}
             for i in range(400)]
    for _ in range(2):
        r = post(served.client, orjson.dumps(batch), "application/json",
                 key(store, "ingest"))
        assert r.status_code == 202 and r.json()["accepted"] == len(batch), r.text

    source = RedisStreamSource(redis_server.url, store.p, store.inputs.partitions(), drain=True)
    run_main(build_flow(settings, source, redis_server.url))

    once = Store(connect(redis_server.url), f"once{uuid.uuid4().hex[:8]}")
    replay(settings_for(once.p), [write_jsonl(tmp_path / "b.jsonl", batch)], redis_server.url)
    twice, expected = published(store), published(once)
    assert twice["stats"] == expected["stats"] | {"read": 800, "duplicate": 400}
    assert twice["stats"]["processed"] == 400
    twice.pop("stats"), expected.pop("stats")
    assert twice == expected


def test_a_changed_partition_count_is_refused(redis_server: EmbeddedRedis, store: Store,
                                              tmp_path: Path) -> None:
    assert store.inputs.pin(4) == 4
    with pytest.raises(LayoutMismatch, match="set up with 4 partitions"):
        store.inputs.pin(8)
    env = cli_env(redis_server.url, store.p, CRISISWATCH_INGEST__PARTITIONS="8")
    log = tmp_path / "flow.log"
    assert run_flow(["--from-stream", "--drain"], env, log, timeout=60) == 2
    assert "set up with 4 partitions" in " ".join(log.read_text().split())


def test_a_key_limited_to_its_brands_pushes_only_those(served: LiveAPI, store: Store) -> None:
    records: list[dict[str, Any]] = [
        {"id": "a1", "ts": T0, "brand": "Acme", "text": "order arrived"},
        {"id": "b1", "ts": T0, "brand": "Beta", "text": "order arrived"},
        {"id": "s1", "ts": T0, "text": "@Skyways lost my bag"},  # matched by its text
        {"id": "h1", "ts": T0, "text": "@HarborBank lost my card"},
        {"id": "sh", "ts": T0, "text": "@Skyways and @HarborBank both lost my things"},
        {"id": "b2", "ts": T0, "brand": "Beta"},  # invalid first: the parser's reason
        {"id": "a2", "ts": T0, "brand": "Acme", "text": "@HarborBank is slow"},  # brand wins
    ]
    token, key_record = store.api_keys.create("partner", ["ingest"], brands=["Skyways", "Acme"])
    assert key_record["brands"] == ["Acme", "Skyways"]
    only = "it may ingest only 'Acme', 'Skyways'"
    r = post(served.client, orjson.dumps(records), "application/json",
             {"Authorization": f"Bearer {token}"})
    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 3, "rejected": 4, "errors": [
        {"index": 1, "reason": f"this API key may not ingest brand 'Beta'; {only}"},
        {"index": 3, "reason": f"this API key may not ingest brand 'Harbor Bank'; {only}"},
        {"index": 4, "reason": "this API key may not ingest brand 'Harbor Bank', which the "
         "record names besides 'Skyways' (a record is counted for every brand it names, so "
         "it is refused whole: set field 'brand' to one of the key's brands to send it for "
         f"that brand alone); {only}"},
        {"index": 5, "reason": "missing field 'text'"},
    ]}
    assert sorted(m["id"] for m in queued(store)) == ["a1", "a2", "s1"]

    # a key without a list, and one stored before keys had the field, push any brand
    old_token, old = store.api_keys.create("old collector", ["ingest"])
    del old["brands"]
    store.r.hset(store.api_keys.key, token_digest(old_token), orjson.dumps(old))
    for headers in (key(store, "ingest"), {"Authorization": f"Bearer {old_token}"}):
        r = post(served.client, orjson.dumps(records), "application/json", headers)
        assert r.status_code == 202 and r.json()["accepted"] == 6, r.text
        assert [e["index"] for e in r.json()["errors"]] == [5]
    assert len(queued(store)) == 3 + 2 * 6


def test_keys_create_brand_stores_the_limit_the_api_applies(
        served: LiveAPI, store: Store, redis_server: EmbeddedRedis) -> None:
    env = {"REDIS_URL": redis_server.url, "CRISISWATCH_STORE__PREFIX": store.p,
           "COLUMNS": "200"}
    r = cli("keys", "create", "--name", "partner", "--scope", "ingest", "--brand", "Acme",
            "--brand", " Beta ", cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip()
    stored = store.api_keys.verify(token)
    assert stored is not None and stored["brands"] == ["Acme", "Beta"]
    assert "ingests only Acme, Beta" in " ".join(r.stderr.split())
    listed = cli("keys", "list", cwd=ROOT, env=env).stdout
    assert "Acme, Beta" in listed and "any" in listed  # LiveAPI's own admin key: any brand

    r = cli("keys", "create", "--name", "reader", "--scope", "read", "--brand", "Acme",
            cwd=ROOT, env=env)
    assert r.returncode == 2 and "add --scope ingest" in " ".join(r.stderr.split())

    batch = [{"id": "a1", "ts": T0, "brand": "Acme", "text": "hi"},
             {"id": "g1", "ts": T0, "brand": "Globex", "text": "hi"}]
    r = post(served.client, orjson.dumps(batch), "application/json",
             {"Authorization": f"Bearer {token}"})
    assert r.status_code == 202, r.text
    assert (r.json()["accepted"], r.json()["errors"]) == (1, [
        {"index": 1, "reason": "this API key may not ingest brand 'Globex'; it may ingest "
         "only 'Acme', 'Beta'"}])
    assert [m["id"] for m in queued(store)] == ["a1"]
