"""A connector cannot stall on a frame it cannot read: a 10 MB frame among ordinary ones
from a local Jetstream is refused with its size as the reason, the cursor moves past it
and the posts after it are queued on the same connection; a frame over even the
WebSocket's own limit, which closes every connection that meets it, shows the
connector as stalled on ``GET /connectors`` and ``GET /health``."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import httpx

from crisiswatch.config.runtime import live_runners
from crisiswatch.connectors.live import LiveRunner
from crisiswatch.store import Store
from crisiswatch.store.embedded import EmbeddedRedis
from tests.conftest import API, LiveAPI, settings_for
from tests.helpers.jetstream_server import JetstreamServer, frame
from tests.helpers.waiting import wait_for
from tests.test_connector_bluesky import post

T0 = 1725516666
BIG = 10 * 1_048_576


def frames() -> list[Any]:
    before = [post(n, T0 + n, f"flying @skyways.bsky.social today {n}") for n in range(10)]
    big = post(10, T0 + 10, "skyways " + "x" * BIG)
    after = [post(n, T0 + n, f"still flying @skyways.bsky.social {n}") for n in range(11, 21)]
    return [frame(e) for e in [*before, big, *after]]


def run_connector(store: Store, url: str, **bluesky: object) -> LiveRunner:
    """The Bluesky connector as ``crisiswatch connect bluesky`` wires it, started."""
    settings = settings_for(store.p)
    settings.sources.bluesky = settings.sources.bluesky.model_copy(
        update={"url": url, "flush_seconds": 0.05, "rewind_seconds": 3, **bluesky})
    settings.sources.retry = settings.sources.retry.model_copy(
        update={"backoff_base_seconds": 0.1, "backoff_max_seconds": 0.5})
    [runner] = live_runners(settings, store, "bluesky")
    return runner.start()


def test_a_ten_megabyte_frame_is_refused_and_the_posts_after_it_are_read(
        redis_server: EmbeddedRedis, store: Store) -> None:
    sent = frames()
    last = str(sent[-1].time_us)
    with JetstreamServer(sent) as server:
        runner = run_connector(store, server.url)
        try:
            wait_for(lambda: store.connectors.cursor("bluesky") == last, 30,
                     "the cursor past the last frame")
        finally:
            runner.stop()
        api = LiveAPI(store)
        with api as client:
            [found] = client.get("/connectors").json()
    assert len(server.connections) == 1  # read past it, no reconnect
    assert (found["frames"], found["queued"], found["refused"], found["reconnects"]) == \
        (21, 20, 1, 0), found
    [refused] = found["recent_refused"]
    assert refused["reason"].startswith(f"frame of {len(sent[10].payload):,} characters, "
                                        "over sources.bluesky.max_frame_bytes (1,048,576): "
                                        "skipped unread; the cursor moves past it")
    assert found["state"] == "running"


def test_a_connector_that_meets_the_same_frame_on_every_reconnect_is_stalled(
        redis_server: EmbeddedRedis, store: Store) -> None:
    api = LiveAPI(store, replace(API, connector_stall_s=1.0))
    with JetstreamServer(frames()) as server, api as client:
        runner = run_connector(store, server.url, read_limit_bytes=1_048_576,
                               max_frame_bytes=524_288)
        try:
            wait_for(lambda: len(server.connections) >= 3, 30, "reconnects")
            time.sleep(1.2)  # no progress for longer than the stall bound
            wait_for(lambda: _state(client) == "stalled", 10, "stalled")
            health = client.get("/health").json()
        finally:
            runner.stop()
    assert health["connectors"] == {"bluesky": "stalled"}
    assert health["status"] == "degraded"
    counts = store.connectors.counts("bluesky")
    assert counts["queued"] >= 10 and counts["reconnects"] >= 2


def _state(client: httpx.Client) -> str:
    return client.get("/connectors").json()[0]["state"]
