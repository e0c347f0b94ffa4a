"""``crisiswatch run --source bluesky`` against a local Jetstream: the documented event
frames (tests/fixtures/jetstream/events.jsonl) and a generated stream of posts in the
same format feed the flow end to end, through a rate-limit answer, a connection cut
mid-stream and malformed frames; every frame is accounted for."""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml

from crisiswatch.config.settings import DEFAULT_CONFIG
from crisiswatch.store import Store
from crisiswatch.store.embedded import EmbeddedRedis, free_port
from tests.helpers.connector_runs import InputWatch
from tests.helpers.flow_runs import CLI, cli_env
from tests.helpers.jetstream_server import Frame, JetstreamServer, frame
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow  # see pyproject's markers

FIXTURES = Path(__file__).parent / "fixtures" / "jetstream"
T0 = 1725516666  # just after the documented examples' own times
REWIND_S = 300


def documented() -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in (FIXTURES / "events.jsonl").read_bytes().splitlines()]


def post(n: int, ts: float, text: str, did: str = "did:plc:fan") -> dict[str, Any]:
    """A post create event shaped like the documented ones."""
    return {"did": f"{did}{n % 17}", "time_us": int(ts * 1_000_000) + 500_000 + n,
            "kind": "commit", "commit": {
                "rev": f"3l3rev{n:06d}", "operation": "create",
                "collection": "app.bsky.feed.post", "rkey": f"3l3post{n:06d}",
                "record": {"$type": "app.bsky.feed.post", "langs": ["en"], "text": text,
                           "createdAt": f"{_iso(ts)}"},
                "cid": f"bafypost{n:06d}"}}


def repost(n: int, ts: float, subject: dict[str, Any]) -> dict[str, Any]:
    c = subject["commit"]
    uri = f"at://{subject['did']}/{c['collection']}/{c['rkey']}"
    return {"did": f"did:plc:rt{n % 13}", "time_us": int(ts * 1_000_000) + 500_000 + n,
            "kind": "commit", "commit": {
                "rev": f"3l3rrev{n:06d}", "operation": "create",
                "collection": "app.bsky.feed.repost", "rkey": f"3l3rp{n:06d}",
                "record": {"$type": "app.bsky.feed.repost", "createdAt": _iso(ts),
                           "subject": {"cid": c["cid"], "uri": uri}},
                "cid": f"bafyrepost{n:06d}"}}


def _iso(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def stream() -> tuple[list[Frame], int]:
    """Two hours of a few posts every 5 minutes, an outage burst (posts and reposts of
    them), an hour after it; unmatched chatter, likes and two malformed frames among
    them. Returns the frames and the index after which to cut the first connection."""
    events: list[dict[str, Any]] = documented()
    n = 0
    for w in range(40):
        for k in range(3):
            n += 1
            events.append(post(n, T0 + w * 300 + k * 90, f"flying @skyways.bsky.social today {n}"))
        n += 1
        events.append(post(n, T0 + w * 300 + 200, f"nice weather in lisbon {n}"))
        if w == 10:  # a post deleted: not a new mention
            events.append({**documented()[1], "time_us": int((T0 + w * 300) * 1e6) + 7,
                           "commit": {**documented()[1]["commit"],
                                      "collection": "app.bsky.feed.post"}})
        if w == 24:
            burst = []
            for k in range(30):
                n += 1
                burst.append(post(n, T0 + w * 300 + 5 + k * 5,
                                  f"@skyways.bsky.social app outage, cannot check in "
                                  f"#skywaysdown ({k})", did="did:plc:angry"))
            events += burst
            for k, original in enumerate(burst[:10]):
                n += 1
                events.append(repost(n, T0 + w * 300 + 180 + k, original))
    frames = [frame(e) for e in events]
    frames.sort(key=lambda f: f.time_us)
    at = T0 * 1_000_000 + 30 * 300 * 1_000_000  # after the burst, before the end
    frames.append(Frame(at, b'{"did": "did:plc:x", "time_us": '))  # cut short
    frames.append(Frame(at + 1, orjson.dumps({"did": "did:plc:x", "time_us": at + 1,
                                              "kind": "commit", "commit": {
                                                  "operation": "create", "rkey": "x",
                                                  "collection": "app.bsky.feed.post"}})))
    frames.sort(key=lambda f: f.time_us)
    return frames, 60


def config(tmp_path: Path, url: str) -> Path:
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["brands"] = {"Skyways": {"handles": ["@skyways"], "hashtags": ["#skywaysdown"]}}
    data["volume"]["warmup_windows"] = 12  # an hour of history is enough to alert here
    data["sources"] = {"bluesky": {"url": url, "rewind_seconds": REWIND_S,
                                   "flush_seconds": 0.05},
                       "retry": {"backoff_base_seconds": 0.1, "backoff_max_seconds": 2}}
    path = tmp_path / "bluesky.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def mentions_of(frames: list[Frame]) -> Counter[str]:
    """At-uris of the posts and reposts sent that name the brand, with how often."""
    seen: Counter[str] = Counter()
    matched: set[str] = set()
    for f in frames:
        try:
            e = orjson.loads(f.payload)
            c, rec = e["commit"], e["commit"]["record"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue
        uri = f"at://{e['did']}/{c['collection']}/{c['rkey']}"
        if c["collection"] == "app.bsky.feed.post" and "skyways" in rec["text"]:
            matched.add(uri)
            seen[uri] += 1
        elif c["collection"] == "app.bsky.feed.repost" and rec["subject"]["uri"] in matched:
            seen[uri] += 1
    return seen


def test_run_source_bluesky_end_to_end(redis_server: EmbeddedRedis, store: Store,
                                       tmp_path: Path) -> None:
    frames, cut = stream()
    with JetstreamServer(frames, reject=1, drops={0: cut}) as js:
        cfg = config(tmp_path, js.url)
        env = cli_env(redis_server.url, store.p)
        log = tmp_path / "run.log"
        port = free_port()
        with log.open("wb") as out:
            proc = subprocess.Popen([*CLI, "run", "--source", "bluesky", "-c", str(cfg),
                                     "--port", str(port)], env=env, stdout=out,
                                    stderr=subprocess.STDOUT)
        watch = InputWatch(store)
        try:
            sent = lambda: [f for c in js.connections for f in c.sent]  # noqa: E731
            expected = lambda: mentions_of(sent())  # noqa: E731
            wait_for(lambda: len(js.connections) == 2 and len(js.connections[1].sent)
                     == len(js.selected(js.connections[1])), 30,
                     "the stream replayed after the cut", proc, log)
            total = sum(expected().values())
            wait_for(lambda: sum(watch.poll().ids().values()) == total
                     and store.stats()["read"] == total and store.alerts(), 30,
                     "the flow to read every mention and open an incident", proc, log)
            (api,) = httpx.get(f"http://127.0.0.1:{port}/connectors", timeout=10).json()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    output = log.read_text()
    first, second = js.connections
    # the handshake was refused once, honoured; the first connection cut mid-stream
    assert js.rejected == 1 and len(first.sent) == cut and first.cursor is None
    assert second.collections == ["app.bsky.feed.post", "app.bsky.feed.repost"]
    assert second.cursor == first.sent[-1].time_us - REWIND_S * 1_000_000
    again = [f for f in second.sent if f.time_us <= first.sent[-1].time_us]
    assert again, "the rewind re-sent what came just before the cut"
    # nothing lost: every brand mention sent is in the input streams, repeats included
    seen = expected()
    assert watch.ids() == seen
    dups = sum(n - 1 for n in seen.values())
    assert dups > 0
    stats = store.stats()
    assert stats["read"] == sum(seen.values()) and stats["duplicate"] == dups
    assert stats["late"] == 0 and stats["dead_lettered"] == 0
    # every frame accounted for by the connector
    counts = store.connectors.counts("bluesky")
    sent_n = len(first.sent) + len(second.sent)
    assert counts["frames"] == sent_n
    assert counts["queued"] + counts["unmatched"] + counts["ignored"] + counts["refused"] \
        == sent_n
    assert counts["queued"] == sum(seen.values())
    assert counts["refused"] == 2 and counts["rate_limited"] == 1 and counts["reconnects"] >= 2
    assert counts["ignored.identity"] == 1 and counts["ignored.account"] == 1
    assert counts["ignored.delete"] == 1 and counts["ignored.heartbeat"] == 1
    assert not any(b"feed.like" in f.payload for f in first.sent + second.sent)
    reasons = sorted(r["reason"] for r in store.connectors.refused("bluesky"))
    assert reasons[0].startswith("create commit without 'record'") and "not JSON" in reasons[1]
    # the burst is an incident with its hashtag and its reposts
    incident = store.alerts()[0]
    assert incident["brand"] == "Skyways" and "hashtag" in incident["kinds"]
    assert incident["explanation"]["retweets"] >= 10
    # the documented post: handle from the identity event, reply link, tag facet
    doc = next(r for r in watch.records() if r["id"].endswith("feed.post/3l3f6o1bbbb2s"))
    assert doc["author"] == {"id": "did:plc:ufbl4k27gp6kzas5glhz7fim",
                             "handle": "yohenrique.bsky.social"}
    assert doc["reply_to"].endswith("/3l3aaaaaaaa2s") and doc["hashtags"] == ["skywaysdown"]
    assert doc["lang"] == "en" and doc["url"].startswith("https://bsky.app/profile/")
    assert "bluesky:" in output and "1 rate-limited" in output
    # the same ledger through the API (GET /connectors)
    assert api["name"] == "bluesky" and api["frames"] == sent_n
    assert api["ignored_by"]["identity"] == 1 and len(api["recent_refused"]) == 2
    print(f"{sent_n} frames over 2 connections ({js.rejected} refused with 429): "
          f"{counts['queued']} queued ({dups} again after the cut, counted duplicate), "
          f"{counts['unmatched']} unmatched, {counts['ignored']} ignored, "
          f"{counts['refused']} refused; incident {incident['severity']} "
          f"{incident['kinds']}")


def test_run_source_refuses_what_cannot_run(tmp_path: Path) -> None:
    """An unknown source, a source configured to read nothing: each stops at once with
    what to do, before anything starts."""
    env = {k: v for k, v in cli_env("redis://127.0.0.1:1/0", "unused").items()
           if k != "REDIS_URL"}
    cases = [(["run", "--source", "myspace"], "unknown source 'myspace'"),
             (["run", "--source", "mastodon"], "sources.mastodon reads nothing"),
             (["connect", "reddit"], "sources.reddit reads nothing")]
    for args, message in cases:
        r = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True,
                           timeout=60, cwd=tmp_path)
        assert r.returncode == 2, (args, r.stderr)
        assert message in " ".join(r.stderr.split()), (args, r.stderr)
