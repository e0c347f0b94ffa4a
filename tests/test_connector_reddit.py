"""``crisiswatch run --source reddit`` against a local Reddit OAuth API
(tests/helpers/reddit_server.py): comments in the documented Listing shape are polled from
two subreddits through a 429, a server error, a revoked token and a burst larger than a
page; every comment posted reaches the flow, and the ids re-read behind the cursor
(``rewind_ids``) are counted as duplicates."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from crisiswatch.config.settings import DEFAULT_CONFIG
from crisiswatch.store import Store
from crisiswatch.store.embedded import EmbeddedRedis, free_port
from tests.helpers.connector_runs import InputWatch
from tests.helpers.flow_runs import CLI, cli_env
from tests.helpers.reddit_server import RedditServer
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow  # see pyproject's markers

FIXTURE = Path(__file__).parent / "fixtures" / "reddit" / "comment.json"
T0 = 1_725_516_666
CLIENT = ("app-client-id", "app-client-secret")
FIRST_ID = int("k1a2b3c", 36)


def comments() -> list[dict[str, Any]]:
    doc = orjson.loads(FIXTURE.read_bytes())
    out, n = [doc], 0

    def comment(ts: float, body: str) -> dict[str, Any]:
        nonlocal n
        n += 1
        cid = _b36(FIRST_ID + n)
        return {"kind": "t1", "data": {**doc["data"], "id": cid, "name": f"t1_{cid}",
                                       "body": body, "created_utc": ts,
                                       "author": f"user{n % 7}",
                                       "permalink": f"/r/travel/comments/17xyzab/x/{cid}/"}}

    for w in range(40):
        for k in range(3):
            out.append(comment(T0 + w * 300 + k * 90, f"flying @Skyways today {n}"))
        out.append(comment(T0 + w * 300 + 200, f"the lounge in lisbon is nice {n}"))
        if w == 10:
            out.append(comment(T0 + w * 300 + 210, "[deleted]"))
        if w == 24:
            out += [comment(T0 + w * 300 + 5 + k * 5, f"@Skyways app outage, cannot check "
                            f"in #skywaysdown ({k})") for k in range(30)]
    out.insert(60, {"kind": "t1", "data": {"body": "no id here"}})
    return out


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out


def test_run_source_reddit_end_to_end(redis_server: EmbeddedRedis, store: Store,
                                      tmp_path: Path) -> None:
    posted = comments()
    # 30 at the first poll, then 20 a poll, a burst of 100 at the fourth (with the two
    # polls that failed before it: more than a page); failures early, so that what they
    # make the connector read again lies in windows closed by the end
    schedule = [30, 20, 20, 100] + [20] * 20
    with RedditServer("skyways+travel", posted, CLIENT, schedule, rate_limited=1, failing=2,
                      revoked=6) as server:
        data = yaml.safe_load(DEFAULT_CONFIG.read_text())
        data["brands"] = {"Skyways": {"handles": ["@Skyways"], "hashtags": ["#skywaysdown"]}}
        data["volume"]["warmup_windows"] = 12
        data["sources"] = {"reddit": {"subreddits": ["skyways", "r/travel"],
                                      "listings": ["comments"], "api": server.url,
                                      "auth": server.url, "poll_seconds": 0.05,
                                      "rewind_ids": 3},
                           "retry": {"backoff_base_seconds": 0.1, "backoff_max_seconds": 2}}
        cfg = tmp_path / "reddit.yaml"
        cfg.write_text(yaml.safe_dump(data))
        env = cli_env(redis_server.url, store.p, CRISISWATCH_REDDIT_CLIENT_ID=CLIENT[0],
                      CRISISWATCH_REDDIT_CLIENT_SECRET=CLIENT[1])
        log = tmp_path / "run.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([*CLI, "run", "--source", "reddit", "-c", str(cfg),
                                     "--port", str(free_port())], env=env, stdout=out,
                                    stderr=subprocess.STDOUT)
        wanted = {c["data"]["name"] for c in posted if c["data"].get("name")
                  and "skyways" in c["data"]["body"].lower()}
        watch = InputWatch(store)

        try:
            wait_for(lambda: server.posted == len(posted) and set(watch.poll().ids()) == wanted
                     and store.stats()["read"] == sum(watch.ids().values())
                     and store.alerts(), 60, "every comment to reach the flow", proc, log)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    counts = store.connectors.counts("reddit:comments")
    found = watch.ids()
    dups = sum(n - 1 for n in found.values())
    stats = store.stats()
    assert dups > 0 and stats["duplicate"] == dups and stats["read"] == sum(found.values())
    assert stats["late"] == 0 and stats["dead_lettered"] == 0
    assert counts["frames"] == counts["queued"] + counts["unmatched"] + counts["ignored"] \
        + counts["refused"]
    assert counts["refused"] == 1 and counts["ignored.deleted"] == 1
    assert counts["unmatched"] >= 40 and counts["rate_limited"] == 1
    assert counts["reconnects"] >= 2  # the 429 and the 500
    assert len(server.tokens) >= 3  # a token, then a new one after the revoked answer
    assert any("after" in q for q in server.listings)  # the burst was read to its start
    assert all("crisiswatch" in a for a in server.agents)
    entries = watch.records()
    doc = next(e for e in entries if e["id"] == "t1_k1a2b3c")
    assert doc == {"id": "t1_k1a2b3c", "ts": 1725516665.0,
                   "text": "Same here, the @Skyways app logs me out every time",
                   "platform": "reddit",
                   "author": {"id": "t2_9hq7z", "handle": "u/frequent_flyer_22"},
                   "reply_to": "t3_17xyzab",
                   "url": "https://www.reddit.com/r/travel/comments/17xyzab/skyways_app_down/"
                          "k1a2b3c/"}
    incident = store.alerts()[0]
    assert incident["brand"] == "Skyways" and "keyword" in incident["kinds"]
    print(f"{len(posted)} comments over {len(server.listings)} listing requests: "
          f"{counts['queued']} queued ({dups} re-read behind the cursor, counted "
          f"duplicate), {counts['unmatched']} unmatched, {counts['ignored']} ignored, "
          f"{counts['refused']} refused, {counts['reconnects']} reconnects; incident "
          f"{incident['severity']} {incident['kinds']}")


def test_a_submission_is_its_title_and_text() -> None:
    from crisiswatch.connectors.live import Batch
    from crisiswatch.connectors.reddit import Reddit, RedditConfig

    reddit = Reddit(RedditConfig(("travel",), "id", "secret"), "submissions")
    assert reddit.path == "/r/travel/new"
    batch = Batch()
    for child in [
        {"kind": "t3", "data": {"id": "17xyzab", "name": "t3_17xyzab", "title": "Skyways app down?",
                                "selftext": "Since this morning @Skyways logs me out.",
                                "author": "someone_else", "author_fullname": "t2_abc",
                                "created_utc": 1725516000.0,
                                "permalink": "/r/travel/comments/17xyzab/skyways_app_down/"}},
        {"kind": "t3", "data": {"id": "17xyzac", "title": "[removed]", "selftext": ""}},
        {"kind": "t3", "data": {"id": "17xyzad", "title": "", "selftext": ""}},
    ]:
        reddit._item(child, batch)
    assert batch.records == [{
        "id": "t3_17xyzab", "ts": 1725516000.0, "platform": "reddit",
        "text": "Skyways app down?\n\nSince this morning @Skyways logs me out.",
        "author": {"id": "t2_abc", "handle": "u/someone_else"},
        "url": "https://www.reddit.com/r/travel/comments/17xyzab/skyways_app_down/"}]
    assert batch.ignored == {"deleted": 1, "without text": 1} and batch.cursor == "17xyzad"
