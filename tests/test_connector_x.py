"""``crisiswatch run --source x`` against a local X API v2 (tests/helpers/x_server.py): rules
built from the brand queries and synced, tweets in the documented shape (the recent
search fixture's) on the filtered stream, a 429 on connect and on search, a cut while
tweets keep coming (filled by recent search from the cursor on), malformed lines."""

from __future__ import annotations

import signal
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from crisiswatch.config.settings import DEFAULT_CONFIG
from crisiswatch.connectors.x import brand_rules
from crisiswatch.detectors.brands import BrandQuery
from crisiswatch.store import Store
from crisiswatch.store.embedded import EmbeddedRedis, free_port
from tests.helpers.connector_runs import InputWatch
from tests.helpers.flow_runs import CLI, cli_env
from tests.helpers.waiting import wait_for
from tests.helpers.x_server import XServer

pytestmark = pytest.mark.slow  # see pyproject's markers

FIXTURE = Path(__file__).parent / "fixtures" / "x" / "recent_search.json"
T0 = 1_725_516_666
TOKEN = "AAAAAAAAAAAAAAAAAAAAAtestbearer"
REWIND_S = 600
EPOCH_MS = 1288834974657


def tweet_id(ts: float, n: int) -> str:
    return str(((int(ts * 1000) - EPOCH_MS) << 22) + n)


def tweets() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    doc = orjson.loads(FIXTURE.read_bytes())
    template, users = doc["data"][2], doc["includes"]["users"]
    out, n = [], 0

    def tweet(ts: float, text: str, **extra: Any) -> dict[str, Any]:
        nonlocal n
        n += 1
        return {**template, "id": tweet_id(ts, n), "text": text,
                "created_at": datetime.fromtimestamp(ts, UTC).isoformat().replace(
                    "+00:00", "Z"), "author_id": users[n % 3]["id"], **extra}

    for w in range(40):
        for k in range(3):
            out.append(tweet(T0 + w * 300 + k * 90, f"@Skyways flying today {n}",
                             entities={}))
        if w == 24:
            burst = [tweet(T0 + w * 300 + 5 + k * 5,
                           f"@Skyways app outage, cannot check in #SkywaysDown ({k})")
                     for k in range(30)]
            out += burst
            out += [tweet(T0 + w * 300 + 170 + k, "RT @x: " + b["text"],
                          referenced_tweets=[{"type": "retweeted", "id": b["id"]}])
                    for k, b in enumerate(burst[:8])]
    return out, users


def config(tmp_path: Path, url: str) -> Path:
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["brands"] = {"Skyways": {"handles": ["@Skyways"], "keywords": ["sky ways"],
                                  "hashtags": ["#SkywaysDown"]}}
    data["volume"]["warmup_windows"] = 12
    data["sources"] = {"x": {"api": url, "token_env": "CW_TEST_X_TOKEN",
                             "rule_suffix": "-is:nullcast", "rewind_seconds": REWIND_S,
                             "search_page": 40, "flush_seconds": 0.05},
                       "retry": {"backoff_base_seconds": 0.1, "backoff_max_seconds": 2}}
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_rules_from_brand_queries_split_when_too_long() -> None:
    rules = brand_rules({"Skyways": BrandQuery(("@Skyways",), ("sky ways",), ("#SkywaysDown",)),
                         "Acme": BrandQuery(keywords=tuple(f"acme{i}" for i in range(60)))},
                        "lang:en", max_chars=120)
    sky = [r for r in rules if r["tag"] == "crisiswatch:Skyways"]
    assert sky == [{"value": '(@Skyways OR "sky ways" OR #SkywaysDown) lang:en',
                    "tag": "crisiswatch:Skyways"}]
    acme = [r["value"] for r in rules if r["tag"] == "crisiswatch:Acme"]
    assert len(acme) > 1 and all(len(v) <= 120 and v.endswith(" lang:en") for v in acme)
    terms = [t for v in acme for t in v.removesuffix(" lang:en").strip("()").split(" OR ")]
    assert terms == [f"acme{i}" for i in range(60)]  # every keyword, once


def test_run_source_x_end_to_end(redis_server: EmbeddedRedis, store: Store,
                                 tmp_path: Path) -> None:
    posts, users = tweets()
    stale = [{"id": "9", "value": "@Skyways", "tag": "crisiswatch:Skyways"},
             {"id": "10", "value": "from:someone", "tag": "other-team"}]
    with XServer(posts, users, TOKEN, first=50, gap=50, rules=stale) as server:
        env = cli_env(redis_server.url, store.p, CW_TEST_X_TOKEN=TOKEN)
        log = tmp_path / "run.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([*CLI, "run", "--source", "x", "-c",
                                     str(config(tmp_path, server.url)), "--port",
                                     str(free_port())], env=env, stdout=out,
                                    stderr=subprocess.STDOUT)
        ids = {t["id"] for t in posts}
        watch = InputWatch(store)

        try:
            wait_for(lambda: server.posted == len(posts) and set(watch.poll().ids()) == ids
                     and store.stats()["read"] == sum(watch.ids().values())
                     and store.alerts(), 40, "every tweet to reach the flow", proc, log)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    output = log.read_text()
    # rules: ours brought in line, the other team's left alone
    assert sorted(r["tag"] for r in server.rules) == ["crisiswatch:Skyways", "other-team"]
    ours = next(r for r in server.rules if r["tag"] == "crisiswatch:Skyways")
    assert ours["value"] == '(@Skyways OR "sky ways" OR #SkywaysDown) -is:nullcast'
    assert {"delete": {"ids": ["9"]}} in server.rule_posts
    # the gap was searched from the rewound cursor, over more than one page
    searched = [q for q in server.searches[1:] if "since_id" in q]
    assert searched[0]["query"] == ours["value"]
    assert int(searched[0]["since_id"]) == int(server.sent[0][-1]) - (REWIND_S * 1000 << 22)
    assert any("next_token" in q for q in searched)
    # nothing lost, repeats counted once
    found = watch.ids()
    dups = sum(n - 1 for n in found.values())
    stats = store.stats()
    assert dups > 0 and stats["duplicate"] == dups and stats["read"] == sum(found.values())
    assert stats["late"] == 0 and stats["dead_lettered"] == 0
    counts = store.connectors.counts("x")
    assert counts["frames"] == counts["queued"] + counts["unmatched"] + counts["ignored"] \
        + counts["refused"]
    assert counts["refused"] == 1 and counts["ignored.error message"] == 1
    assert counts["rate_limited"] == 2 and counts["unmatched"] == 0
    entries = watch.records()
    assert all(e["brand"] == "Skyways" for e in entries)  # the rule's tag said so
    rt = next(e for e in entries if e.get("retweet_of"))
    assert rt["author"]["followers"] in {583420, 120034, 1234}
    assert rt["author"]["handle"].startswith("@")
    incident = store.alerts()[0]
    assert incident["brand"] == "Skyways" and incident["explanation"]["retweets"] >= 8
    assert "x: " in output
    print(f"{len(posts)} tweets over {server.streams} stream requests and "
          f"{len(server.searches)} searches: {counts['queued']} queued ({dups} twice, "
          f"counted duplicate), {counts['refused']} refused, {counts['rate_limited']} "
          f"rate-limited; incident {incident['severity']} {incident['kinds']}")
