"""``POST /mentions/{id}/label`` over real HTTP, stored in a real Redis stream."""

from __future__ import annotations

import httpx

from crisiswatch.store import Store
from tests.conftest import LiveAPI


def test_label_is_stored_and_read_back_in_order(api: httpx.Client, store: Store) -> None:
    first = api.post("/mentions/m-1/label", json={
        "label": "negative", "text": "been on hold 2 hours, great service", "actor": "ana"})
    assert first.status_code == 202, first.text
    body = first.json()
    assert body["mention_id"] == "m-1" and body["label"] == "negative"
    assert body["actor"] == "ana" and body["text"] == "been on hold 2 hours, great service"
    second = api.post("/mentions/m-2/label", json={"label": "positive", "text": "thanks!"})
    assert second.status_code == 202, second.text
    assert second.json()["actor"] is None

    stored = store.labels.after("0")
    assert [e["id"] for e in stored] == [body["id"], second.json()["id"]]
    assert stored[0]["text"] == "been on hold 2 hours, great service"
    assert stored[0]["ts"] == body["ts"]
    # Reading on from the last id seen returns only what came after it.
    assert [e["mention_id"] for e in store.labels.after(body["id"])] == ["m-2"]
    assert store.labels.after(second.json()["id"]) == []
    assert store.labels.count() == 2


def test_label_without_text_is_refused_with_a_reason(api: httpx.Client, store: Store) -> None:
    for payload in ({"label": "negative"}, {"label": "negative", "text": "   "}):
        r = api.post("/mentions/m-9/label", json=payload)
        assert r.status_code == 422
        assert "'text' is required" in r.json()["error"]["message"]
    assert store.labels.count() == 0


def test_unknown_label_is_refused(api: httpx.Client, store: Store) -> None:
    r = api.post("/mentions/m-3/label", json={"label": "angry", "text": "grr"})
    assert r.status_code == 422
    assert "label" in r.json()["error"]["message"]
    assert store.labels.count() == 0


def test_labelling_needs_a_key(store: Store) -> None:
    with LiveAPI(store, key=False) as anonymous:
        r = anonymous.post("/mentions/m-4/label", json={"label": "negative", "text": "late"})
    assert r.status_code == 401
    assert store.labels.count() == 0
