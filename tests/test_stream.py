"""The live stream over real HTTP: events as they happen, and a client that drops and
comes back with Last-Event-ID gets every event exactly once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import orjson

from crisiswatch.store import Store
from tests.helpers.activation import incident, live_api, write


def sse(response: httpx.Response, within: float = 10.0) -> Iterator[dict]:
    """Parse Server-Sent Events (comments and the retry hint are skipped); the keep-alive
    comments every 2 s let this notice a stream that has gone quiet for too long."""
    deadline = time.monotonic() + within
    event: dict = {}
    for line in response.iter_lines():
        assert time.monotonic() < deadline, "no event in time"
        if not line:
            if "data" in event:
                yield event
            event = {}
        elif not line.startswith((":", "retry:")):
            field, _, value = line.partition(":")
            event[field] = value.removeprefix(" ")


def read(api: httpx.Client, n: int, **kwargs: object) -> list[dict]:
    got = []
    with api.stream("GET", "/stream", timeout=httpx.Timeout(10.0), **kwargs) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        for event in sse(r):
            got.append(event)
            if len(got) == n:
                break
    return got


def test_incident_writes_publish_opened_updated_resolved_once(store: Store) -> None:
    write(store, incident("a", window=0))
    write(store, incident("a", window=0))  # identical re-emission (recovery): nothing
    write(store, incident("a", window=2))
    write(store, incident("a", window=1))  # an older version after a newer one: nothing
    write(store, incident("a", window=2, state="resolved"))
    store.writer().execute()
    events = store.events.after("0")
    assert [e["type"] for e in events] == ["incident.opened", "incident.updated",
                                           "incident.resolved"]
    assert store.detector_alert("a")["state"] == "resolved"
    assert [e["data"]["last_window"] for e in events] == [incident(window=w)["last_window"]
                                                          for w in (0, 2, 2)]


def test_reconnecting_client_gets_every_event_exactly_once(store: Store) -> None:
    write(store, incident("a", window=0))
    write(store, incident("a", window=1))
    with live_api(store) as api:
        first = read(api, 2, params={"since": "0"})
        assert [e["event"] for e in first] == ["incident.opened", "incident.updated"]
        assert orjson.loads(first[0]["data"])["id"] == "a"

        # while the client is away
        api.post("/alerts/a/ack", json={"actor": "ana", "note": "seen"})
        write(store, incident("b", severity="warning"))
        w = store.writer()
        w.event("topic.updated", {"id": "t1", "terms": ["refund"], "size": 4})
        w.execute()
        write(store, incident("a", window=1, state="resolved"))
        api.post("/alerts/b/assign", json={"actor": "bo", "assignee": "care"})

        rest = read(api, 5, headers={"Last-Event-ID": first[-1]["id"]})
        assert [e["event"] for e in rest] == ["lifecycle.acknowledged", "incident.opened",
                                              "topic.updated", "incident.resolved",
                                              "lifecycle.assigned"]
        seen = [e["id"] for e in first + rest]
        assert seen == [e["id"] for e in store.events.after("0")]  # all, once, in order
        assert len(set(seen)) == len(seen)
        assert orjson.loads(rest[0]["data"])["actor"] == "ana"

        # filtered, and live: an event written after the client connected
        with api.stream("GET", "/stream", params={"types": "lifecycle"},
                        timeout=httpx.Timeout(10.0)) as r:
            api.post("/alerts/b/resolve", json={"actor": "bo", "note": "answered"})
            live = next(sse(r))
        assert live["event"] == "lifecycle.resolved"
        assert orjson.loads(live["data"])["note"] == "answered"

        bad = api.get("/stream", headers={"Last-Event-ID": "yesterday"})
        assert bad.status_code == 422 and "not an event id" in bad.json()["error"]["message"]
