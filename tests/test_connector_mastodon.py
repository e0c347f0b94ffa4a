"""``crisiswatch run --source mastodon`` against a local Mastodon instance (hashtag
stream and timeline, tests/helpers/mastodon_server.py): statuses in the documented shape feed
the flow end to end through rate-limit answers, a connection cut while statuses keep
being posted (filled from the timeline from the cursor on), malformed events; every
status posted reaches the flow, and what is read twice is counted as duplicate."""

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
from crisiswatch.connectors.mastodon import html_text
from crisiswatch.store import Store
from crisiswatch.store.embedded import EmbeddedRedis, free_port
from tests.helpers.connector_runs import InputWatch
from tests.helpers.flow_runs import CLI, cli_env
from tests.helpers.mastodon_server import MastodonServer
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow  # see pyproject's markers

FIXTURE = Path(__file__).parent / "fixtures" / "mastodon" / "status.json"
T0 = 1_725_516_666
TOKEN = "mastodon-user-token-0123456789"
REWIND_S = 600


def status(n: int, ts: float, text: str, boost_of: dict[str, Any] | None = None
           ) -> dict[str, Any]:
    """A Status like the documented one, posted at ``ts`` (its id is Snowflake-like)."""
    doc = orjson.loads(FIXTURE.read_bytes())
    sid = str((int(ts * 1000) << 16) + n)
    doc.update(id=sid, created_at=datetime.fromtimestamp(ts, UTC).isoformat(),
               uri=f"https://mstdn.example/users/u{n % 11}/statuses/{sid}",
               url=f"https://mstdn.example/@u{n % 11}/{sid}",
               content=f"<p>{text} <a href=\"https://mstdn.example/tags/skyways\" "
                       "class=\"mention hashtag\">#<span>skyways</span></a></p>")
    doc["account"] = {**doc["account"], "acct": f"u{n % 11}@mstdn.example",
                      "url": f"https://mstdn.example/@u{n % 11}", "followers_count": 10 * n}
    if boost_of is not None:
        doc.update(reblog=boost_of, content="", tags=[])
    return doc


def timeline() -> list[dict[str, Any]]:
    out, n = [orjson.loads(FIXTURE.read_bytes())], 0
    out[0]["id"] = str(int((T0 - 60) * 1000) << 16)
    out[0]["created_at"] = datetime.fromtimestamp(T0 - 60, UTC).isoformat()
    for w in range(40):
        for k in range(3):
            n += 1
            out.append(status(n, T0 + w * 300 + k * 90, f"flying with skyways today {n}"))
        if w == 24:
            burst = []
            for k in range(30):
                n += 1
                burst.append(status(n, T0 + w * 300 + 5 + k * 5,
                                    f"app outage again, cannot check in ({k})"))
            out += burst
            for k, original in enumerate(burst[:8]):
                n += 1
                out.append(status(n, T0 + w * 300 + 170 + k, "", boost_of=original))
    return sorted(out, key=lambda s: int(s["id"]))


def config(tmp_path: Path, url: str) -> Path:
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["brands"] = {"Skyways": {"handles": ["@skyways"], "hashtags": ["#skyways"]}}
    data["volume"]["warmup_windows"] = 12
    data["sources"] = {"mastodon": {"instances": [{"url": url, "token_env": "CW_TEST_TOKEN"}],
                                    "rewind_seconds": REWIND_S, "flush_seconds": 0.05},
                       "retry": {"backoff_base_seconds": 0.1, "backoff_max_seconds": 2}}
    path = tmp_path / "mastodon.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_html_content_becomes_text() -> None:
    assert html_text(orjson.loads(FIXTURE.read_bytes())["content"]) == \
        "@skyways boarding soon & all good #skyways"
    assert html_text("<p>one<br>two</p><p>three</p>") == "one\ntwo\n\nthree"


def test_run_source_mastodon_end_to_end(redis_server: EmbeddedRedis, store: Store,
                                        tmp_path: Path) -> None:
    statuses = timeline()
    uris = {s["uri"] for s in statuses}
    with MastodonServer("skyways", statuses, TOKEN, first=50, gap=50) as server:
        env = cli_env(redis_server.url, store.p, CW_TEST_TOKEN=TOKEN)
        log = tmp_path / "run.log"
        watch = InputWatch(store)
        with log.open("wb") as out:
            proc = subprocess.Popen([*CLI, "run", "--source", "mastodon", "-c",
                                     str(config(tmp_path, server.url)), "--port",
                                     str(free_port())], env=env, stdout=out,
                                    stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: server.posted == len(statuses) and set(watch.poll().ids()) == uris
                     and store.stats()["read"] == sum(watch.ids().values())
                     and store.alerts(), 40,
                     "every status posted to reach the flow and an incident", proc, log)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    output = log.read_text()
    name = f"mastodon:127.0.0.1:{server.port}:tag:skyways"
    # the script happened: 429 on the stream and on the timeline, a cut, a backfill
    assert server.streams >= 3 and server.unauthorized == 0
    assert len(server.sent[0]) == 50
    backfills = [q for q in server.timeline_requests[1:] if "min_id" in q]
    assert backfills and int(backfills[0]["min_id"]) == int(server.sent[0][-1]) - (
        REWIND_S * 1000 << 16)
    assert len(backfills) >= 2  # the gap took more than one page of 40
    # nothing lost: every status posted is in the input streams (some twice)
    queued = watch.ids()
    assert set(queued) == uris
    dups = sum(n - 1 for n in queued.values())
    assert dups > 0
    stats = store.stats()
    assert stats["read"] == sum(queued.values()) and stats["duplicate"] == dups
    assert stats["late"] == 0 and stats["dead_lettered"] == 0
    counts = store.connectors.counts(name)
    assert counts["frames"] == counts["queued"] + counts["unmatched"] + counts["ignored"] \
        + counts["refused"]
    assert counts["queued"] == sum(queued.values()) and counts["unmatched"] == 0
    assert counts["ignored.delete"] == 1 and counts["ignored.edit"] == 1
    assert counts["refused"] == 1 and counts["rate_limited"] == 2
    assert "not JSON" in store.connectors.refused(name)[0]["reason"]
    # mapping: boosts are retweets of the original, authors carry followers
    entries = watch.records()
    boosts = [e for e in entries if e.get("is_retweet")]
    assert len({b["id"] for b in boosts}) == 8
    assert all(b["retweet_of"].startswith("https://mstdn.example/users/") for b in boosts)
    assert all(b["text"].startswith("app outage again") for b in boosts)
    doc = next(e for e in entries if e["text"].startswith("@skyways boarding soon"))
    assert doc["author"] == {"id": "https://mstdn.example/@traveller",
                             "handle": "@traveller@mstdn.example", "followers": 182}
    assert doc["lang"] == "en" and doc["hashtags"] == ["skyways"]
    incident = store.alerts()[0]
    assert incident["brand"] == "Skyways" and incident["explanation"]["retweets"] >= 8
    assert f"{name}:" in output
    print(f"{len(statuses)} statuses over {server.streams} stream requests and "
          f"{len(server.timeline_requests)} timeline requests: {counts['queued']} queued "
          f"({dups} twice, counted duplicate), {counts['ignored']} ignored, "
          f"{counts['refused']} refused, {counts['rate_limited']} rate-limited; incident "
          f"{incident['severity']} {incident['kinds']}")
