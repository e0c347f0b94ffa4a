"""What crisiswatch pages people for (issue 21), replayed through the real flow
(``tests/helpers/precision_streams.py``): the brand's own post retweeted is ``info`` and
says so; a boycott aimed at one brand pages that brand, not the one whose stream it fell
into; twenty template posts from three accounts page nobody; a small topic alone pages
nobody; a stream a few hours old whose volume and complaints rise together pages within
30 minutes; a pattern a team marked noise is downgraded when it comes back, saying why."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from bytewax.testing import run_main

from crisiswatch.config.runtime import build_flow
from crisiswatch.flows.sources import ReplaySource
from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis
from tests.conftest import LiveAPI, replay, settings_for
from tests.helpers import precision_streams as ps
from tests.helpers import storm_streams as ss
from tests.helpers.topic_data import fixture_embedder

PAGING = ("warning", "critical")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
        ) -> tuple[Store, list[dict[str, Any]]]:
    """The cases replayed once, topics on; every incident version published, in order."""
    path = ps.write(Path(tmp_path_factory.mktemp("precision")) / "cases.jsonl")
    prefix = f"prec{uuid.uuid4().hex[:8]}"
    run_main(build_flow(ps.brands(settings_for(prefix)), ReplaySource([path]),
                        redis_server.url, embedder=fixture_embedder()))
    store = Store(connect(redis_server.url), prefix)
    versions = [e["data"] for e in store.events.after("0", count=1_000_000)
                if e["type"].startswith("incident.")]
    return store, versions


def incidents(store: Store, brand: str, since: float = ps.AT - ss.HOUR) -> list[dict]:
    return sorted((a for a in store.alerts(brand=brand, limit=1000)
                   if a["last_window"] >= since), key=lambda a: a["first_window"])


def test_a_burst_of_retweets_of_the_brands_own_post_is_info_and_says_so(
        run: tuple[Store, list[dict[str, Any]]]) -> None:
    store, _ = run
    found = incidents(store, ps.OWN)
    assert found, "the burst was not reported at all"
    assert all(a["severity"] == "info" for a in found), [a["severity"] for a in found]
    burst = found[0]["explanation"]
    assert "your own post is being shared" in burst["summary"] or \
        "the brand's own post being shared" in burst["summary"], burst["summary"]
    assert burst["support"]["own_share"] > 0.5 and burst["quiet_reason"]


def test_a_watch_term_aimed_at_another_brand_pages_that_brand_not_this_one(
        run: tuple[Store, list[dict[str, Any]]]) -> None:
    store, _ = run
    bystander = [a for a in incidents(store, ps.BYSTANDER) if "keyword" in a["kinds"]]
    assert bystander == [], [a["explanation"]["summary"] for a in bystander]
    (aimed,) = [a for a in incidents(store, ps.AIMED) if "keyword" in a["kinds"]]
    assert aimed["severity"] in PAGING
    assert "boycott*" in aimed["explanation"]["summary"]


def test_twenty_template_posts_from_three_accounts_do_not_page(
        run: tuple[Store, list[dict[str, Any]]]) -> None:
    store, _ = run
    found = incidents(store, ps.TEMPLATED)
    assert found, "the burst was not reported at all"
    assert all(a["severity"] == "info" for a in found), \
        [(a["severity"], a["explanation"]["summary"]) for a in found]
    assert any("from only 3 accounts" in a["explanation"]["summary"] for a in found)


def test_a_small_topic_alone_does_not_page(run: tuple[Store, list[dict[str, Any]]]) -> None:
    store, _ = run
    found = incidents(store, ps.TOPICAL)
    topical = [a for a in found if "topic" in a["kinds"]]
    assert topical, "the planted complaint formed no topic signal"
    assert all(a["severity"] == "info" for a in found if a["kinds"] == ["topic"])
    assert not [a for a in found if a["severity"] in PAGING], \
        [(a["kinds"], a["explanation"]["summary"]) for a in found]


def test_a_young_stream_whose_volume_and_complaints_rise_pages_within_30_minutes(
        run: tuple[Store, list[dict[str, Any]]]) -> None:
    _, versions = run
    deadline = ps.AT + 30 * 60
    paged = [v for v in versions if v["brand"] == ps.YOUNG and v["first_window"] >= ps.AT
             and v["severity"] in PAGING and v["updated_window"] + ss.WINDOW <= deadline]
    assert paged, [(v["updated_window"] - ps.AT, v["severity"], v["kinds"]) for v in versions
                   if v["brand"] == ps.YOUNG]
    before = [v for v in versions if v["brand"] == ps.YOUNG and v["first_window"] < ps.AT
              and v["severity"] in PAGING]
    assert before == []  # its first three hours page nobody


def test_an_incident_marked_noise_is_downgraded_when_its_pattern_comes_back(
        tmp_path: Path, redis_server: EmbeddedRedis, store: Store, prefix: str) -> None:
    """A team marks a hashtag burst noise through the API; the next burst of the same tag
    (a later replay into the same store, as a live flow would meet it) is ``info`` and its
    summary says who marked what; the report counts the verdict."""
    settings = settings_for(prefix)
    replay(settings, [ps.write_noisy(tmp_path / "first.jsonl", ss.T0, 1)], redis_server.url)
    (first,) = [a for a in store.alerts(brand=ps.NOISY, limit=100) if "hashtag" in a["kinds"]]
    assert first["severity"] in PAGING
    assert "#giftcodown" in first["explanation"]["pattern"]["terms"]
    with LiveAPI(store) as api:
        refused = api.post(f"/alerts/{first['id']}/feedback", json={"verdict": "noise"})
        assert refused.status_code == 422  # noise needs a reason
        said = api.post(f"/alerts/{first['id']}/feedback",
                        json={"verdict": "noise", "reason": "routine", "actor": "ana"})
        assert said.status_code == 200, said.text
        assert api.get(f"/alerts/{first['id']}/feedback").json()["actor"] == "ana"
        report = api.get("/reports", params={"brand": ps.NOISY}).json()
        (mine,) = report["brands"]
        assert mine["precision"]["judged"] == 1 and mine["precision"]["precision"] == 0.0
        assert mine["precision"]["noise_reasons"] == {"routine": 1}
    later = ss.T0 + 3 * ss.DAY
    replay(settings, [ps.write_noisy(tmp_path / "again.jsonl", later, 2)], redis_server.url)
    (again,) = [a for a in store.alerts(brand=ps.NOISY, limit=100)
                if "hashtag" in a["kinds"] and a["first_window"] >= later]
    assert again["severity"] == "info"
    summary = again["explanation"]["summary"]
    assert f"marked noise (routine) by ana on incident {first['id']}" in summary, summary
    assert "#giftcodown" in summary
