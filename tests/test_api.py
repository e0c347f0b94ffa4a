"""The HTTP API over a real store: typed answers, JSON errors, 503 when Redis is gone."""

from __future__ import annotations

import csv
import io
import time
import urllib.parse
from pathlib import Path

import httpx
import pytest

from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis, free_port
from tests.conftest import LiveAPI, replay, settings_for, write_jsonl

T0 = 1_700_000_100


def test_openapi_documents_every_endpoint(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    for path in ("/health", "/brands", "/brands/{brand}/series", "/alerts", "/alerts/{alert_id}",
                 "/stats", "/deadletters", "/late"):
        assert path in spec["paths"], path
        assert "200" in spec["paths"][path]["get"]["responses"]
    assert "AlertOut" in spec["components"]["schemas"]
    assert api.get("/docs").status_code == 200


def test_errors_are_json_with_a_message_and_the_right_status(api: httpx.Client) -> None:
    r = api.get("/alerts/nope")
    assert r.status_code == 404
    assert r.json() == {"error": {"status": 404, "message": "no alert with id 'nope'"}}
    r = api.get("/brands/Nobody/series")
    assert r.status_code == 404 and "GET /brands" in r.json()["error"]["message"]
    r = api.get("/alerts", params={"since": "last tuesday"})
    assert r.status_code == 422
    assert r.json()["error"]["message"] == "'since' is not a time: 'last tuesday'"
    r = api.get("/alerts", params={"since": "2015-02-23T10:00:00"})
    assert r.status_code == 422 and "no time zone" in r.json()["error"]["message"]
    r = api.get("/alerts", params={"severity": "apocalyptic"})
    assert r.status_code == 422 and "severity" in r.json()["error"]["message"]
    assert api.get("/nowhere").json()["error"]["status"] == 404


def test_reads_what_the_flow_wrote(tmp_path: Path, redis_server: EmbeddedRedis, store: Store,
                                   api: httpx.Client) -> None:
    records = [{"id": f"q{i}", "ts": T0 + i * 60, "brand": "Acme", "text": "fine #ok"}
               for i in range(1500)]
    records += [{"id": f"b{i}", "ts": T0 + 1500 * 60 + i, "brand": "Acme",
                 "text": "everything is broken #down"} for i in range(200)]
    records += ['{"id": 1}']
    replay(settings_for(store.p), [write_jsonl(tmp_path / "in.jsonl", records)],
           redis_server.url)

    assert api.get("/health").json()["status"] == "ok"
    assert [b["brand"] for b in api.get("/brands").json()] == ["Acme"]
    alerts = api.get("/alerts", params={"severity": "warning"}).json()
    assert len(alerts) == 1
    assert dict(alerts[0]["explanation"]["top_hashtags"])["down"] == 200
    assert api.get("/alerts", params={"brand": "Other"}).json() == []
    assert api.get("/alerts", params={"since": T0 + 10 * 86400}).json() == []
    dead = api.get("/deadletters").json()
    assert dead[0]["reason"] == "missing field 'text'"
    stats = api.get("/stats").json()
    assert stats["dead_lettered"] == 1 and stats["processed"] == 1700


@pytest.mark.slow
def test_api_answers_503_while_redis_is_down_and_recovers(prefix: str) -> None:
    server = EmbeddedRedis(port=free_port()).start()
    try:
        # Anonymous: this server keeps nothing across a restart, keys included.
        with LiveAPI(Store(connect(server.url), prefix), key=False) as api:
            assert api.get("/alerts").status_code == 200
            server.stop()
            r = api.get("/alerts")
            assert r.status_code == 503
            assert "the store (Redis) is unavailable" in r.json()["error"]["message"]
            health = api.get("/health").json()
            assert (health["status"], health["redis"], health["flow"]) == ("degraded", False, {})
            server.start()
            r = api.get("/alerts")
            if r.status_code == 503:  # within a second of the last failure: fail fast
                time.sleep(float(r.headers["retry-after"]))  # as a client is told
                r = api.get("/alerts")
            assert r.status_code == 200
    finally:
        server.close()


def test_odd_brand_names_are_addressable_and_a_csv_never_runs_them(
        tmp_path: Path, redis_server: EmbeddedRedis, store: Store) -> None:
    brands = ["AT&T/Mobile", '=HYPERLINK("http://evil.example","click")', "+1 Air", "Ünï ✈"]
    records = [{"id": f"{i}", "ts": T0 + i * 30, "brand": b, "text": "hello"}
               for i in range(20) for b in brands]
    replay(settings_for(store.p), [write_jsonl(tmp_path / "in.jsonl", records)],
           redis_server.url)
    with LiveAPI(store) as api:
        assert sorted(b["brand"] for b in api.get("/brands").json()) == sorted(brands)
        for brand in brands:
            quoted = urllib.parse.quote(brand, safe="")  # '/' as %2F, as the dashboard does
            series = api.get(f"/brands/{quoted}/series")
            assert series.status_code == 200, brand
            assert sum(p["count"] for p in series.json()["points"]) == 20
            assert api.get(f"/brands/{quoted}/topics").status_code == 200, brand
        rows = list(csv.reader(io.StringIO(api.get("/reports", params={"format": "csv"}).text)))
        cells = {row[0] for row in rows[1:]}
        assert cells == {"AT&T/Mobile", "'=HYPERLINK(\"http://evil.example\",\"click\")",
                         "'+1 Air", "Ünï ✈"}


def test_swagger_ui_is_served_from_the_package_not_a_cdn(api: httpx.Client) -> None:
    page = api.get("/docs").text
    assert "cdn" not in page.lower() and "https://" not in page
    assert api.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert api.get("/docs/assets/swagger-ui.css").status_code == 200
    assert api.get("/redoc").status_code == 404  # ReDoc has no packaged copy: off
