"""Topics through the real store and the real HTTP API: listing by growth, one topic
with its examples and series, idempotent writes, events, errors."""

from __future__ import annotations

import httpx

from crisiswatch.detectors.topic_clustering import update
from crisiswatch.detectors.topics import BrandTopics, TopicConfig, TopicUpdate
from crisiswatch.store import Store
from tests.helpers.topic_data import (
    MERGE_CFG,
    MERGE_STEPS,
    SCAM,
    TEMPLATES,
    WINDOW,
    at_angle,
    fixture_embedder,
    items_of,
    planted,
    slow_complaint,
)


def publish(store: Store, brand: str, updates: list[TopicUpdate]) -> None:
    """What the flow's sink does with each window's topics."""
    for n, out in enumerate(updates):
        w = store.writer()
        w.window(brand, n * WINDOW, {"window_start": n * WINDOW})
        for record in out.topics:
            w.topic(record)
        w.execute()


def stream(brand: str, windows: list[list[str]], cfg: TopicConfig | None = None
           ) -> list[TopicUpdate]:
    emb, state = fixture_embedder(), BrandTopics()
    return [update(state, brand, n * WINDOW, items_of(texts, 100 * n), emb.embed(texts),
                   cfg or TopicConfig())
            for n, texts in enumerate(windows)]


def test_topics_are_listed_by_growth_and_served_with_examples(store: Store,
                                                              api: httpx.Client) -> None:
    data = [t for t, _ in planted(n_per_topic=20)]
    # the planted topics arrive over four windows; then one of them surges
    surge = [t for t, label in planted(n_per_topic=40, seed=9) if label == 3][:30]
    updates = stream("Acme", [data[:25], data[25:50], data[50:75], data[75:], surge])
    publish(store, "Acme", updates)

    listed = api.get("/brands/Acme/topics").json()
    assert len(listed) == 5
    assert listed[0]["growth"] == max(t["growth"] for t in listed)
    assert "parcel" in {w for w, _ in listed[0]["terms"]}  # the surging topic leads
    assert [t["growth"] for t in listed] == sorted((t["growth"] for t in listed), reverse=True)
    assert all(t["examples"] and t["state"] == "active" for t in listed)

    one = api.get(f"/topics/{listed[0]['id']}").json()
    assert one["series"][-1] == [4 * WINDOW, 30]
    assert sum(n for _, n in one["series"]) == one["size"]
    assert one["examples"][0]["copies"] >= 1 and one["examples"][0]["text"]

    # since: topics with mentions at or after that time
    recent = api.get("/brands/Acme/topics", params={"since": 4 * WINDOW}).json()
    assert [t["id"] for t in recent] == [listed[0]["id"]]
    assert api.get("/brands/Acme/topics", params={"limit": 2}).status_code == 200
    assert len(api.get("/brands/Acme/topics", params={"limit": 2}).json()) == 2


def test_topic_writes_are_idempotent_and_publish_state_changes(store: Store) -> None:
    updates = stream("Acme", [[t for t, _ in planted(n_per_topic=10)]])
    records = updates[0].topics
    publish(store, "Acme", updates)
    start = store.events.last_id()
    publish(store, "Acme", updates)  # a window re-emitted after recovery
    assert store.events.after(start) == []
    assert len(store.topics("Acme")) == len(records)

    # an older version arriving late changes nothing; a state change is an event
    rec = records[0]
    w = store.writer()
    w.topic({**rec, "updated_window": rec["updated_window"] - WINDOW, "size": 1})
    w.topic({**rec, "state": "faded", "updated_window": rec["updated_window"] + WINDOW})
    w.execute()
    assert store.topic(rec["id"])["state"] == "faded"
    assert [e["type"] for e in store.events.after(start)] == ["topic.faded"]


def test_merged_topics_leave_the_list_and_point_to_their_successor(store: Store,
                                                                   api: httpx.Client) -> None:
    state = BrandTopics()
    publish(store, "Acme", [update(state, "Acme", w * WINDOW, *at_angle(deg, n), MERGE_CFG)
                            for w, (deg, n) in enumerate(MERGE_STEPS)])
    merged = [t for t in store.topics("Acme", merged=True) if t["state"] == "merged"]
    assert len(merged) == 1
    listed = [t["id"] for t in api.get("/brands/Acme/topics").json()]
    assert listed == [merged[0]["merged_into"]]
    shown = api.get(f"/topics/{merged[0]['id']}").json()
    assert shown["state"] == "merged" and shown["merged_into"] == listed[0]


def test_topic_errors_are_json(store: Store, api: httpx.Client) -> None:
    r = api.get("/topics/nope")
    assert r.status_code == 404
    assert r.json() == {"error": {"status": 404, "message": "no topic with id 'nope'"}}
    r = api.get("/brands/Nobody/topics")
    assert r.status_code == 404 and "GET /brands" in r.json()["error"]["message"]
    publish(store, "Acme", stream("Acme", [["a login failure"]]))
    r = api.get("/brands/Acme/topics", params={"since": "last week"})
    assert r.status_code == 422 and "'since' is not a time" in r.json()["error"]["message"]
    assert api.get("/brands/Acme/topics", params={"since": "2015-02-23T10:00:00Z"}).json() == []
    spec = api.get("/openapi.json").json()
    assert {"/brands/{brand}/topics", "/topics/{topic_id}"} <= set(spec["paths"])
    assert "TopicDetail" in spec["components"]["schemas"]


def test_a_complaint_growing_over_days_is_listed_as_emerging(store: Store,
                                                             api: httpx.Client) -> None:
    """GET /brands/{brand}/topics flags the complaint that grew over two days (60 posts
    from 40 authors among ordinary traffic), with its examples; ?emerging=true lists it
    alone."""
    emb, state, cfg = fixture_embedder(templates=(*TEMPLATES, SCAM)), BrandTopics(), TopicConfig()
    w = store.writer()
    for start, items in slow_complaint():
        out = update(state, "Acme", start, items, emb.embed([i.text for i in items]), cfg)
        w.window("Acme", start, {"window_start": start})
        for record in out.topics:
            w.topic(record)
    w.execute()

    listed = api.get("/brands/Acme/topics").json()
    assert len(listed) >= 5 and sum(t["emerging"] for t in listed) == 1
    [found] = api.get("/brands/Acme/topics", params={"emerging": "true"}).json()
    assert "scam" in {w for w, _ in found["terms"]} and found["authors"] == 40
    assert found["examples"] and "scam" in " ".join(e["text"] for e in found["examples"])
    others = api.get("/brands/Acme/topics", params={"emerging": "false"}).json()
    assert len(others) == len(listed) - 1 and not any(t["emerging"] for t in others)
