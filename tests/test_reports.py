"""``GET /reports`` over real HTTP: volume and negative share from the series, incidents
by severity, response times on the wall clock from the lifecycle, SLA compliance, top
and emerging topics; JSON and CSV agree."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import pytest

from crisiswatch.detectors.topic_clustering import update
from crisiswatch.detectors.topics import BrandTopics, TopicConfig
from crisiswatch.response import kpis, lifecycle
from crisiswatch.response.lifecycle import Context
from crisiswatch.response.staffing import StaffingConfig
from crisiswatch.store import Store
from tests.conftest import LiveAPI
from tests.helpers.activation import T0, incident, playbook_file, write
from tests.helpers.topic_data import DAY, SCAM, TEMPLATES, fixture_embedder, slow_complaint

DAY_FROM, DAY_TO = "2015-02-23T00:00:00-08:00", "2015-02-24T00:00:00-08:00"
PLAYBOOKS = """\
playbooks:
  - name: care
    respond_within_minutes: 30
    actions: [{assign: care-team}]
  - name: fast
    auto: false
    respond_within_minutes: 1
    actions: [{assign: duty}]
"""


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_airline_report_adds_up_the_series_and_the_incidents(airline_store: Store) -> None:
    with LiveAPI(airline_store) as api:
        period = {"brand": "Delta", "from": DAY_FROM, "to": DAY_TO}
        r = api.get("/reports", params=period)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        report = r.json()
        (delta,) = report["brands"]
        assert delta["brand"] == "Delta" and report["end"] - report["start"] == 86400

        points = [p for p in api.get("/brands/Delta/series", params={
            "from": DAY_FROM, "to": DAY_TO}).json()["points"] if p["window_start"] < report["end"]]
        volume = delta["volume"]
        assert volume["mentions"] == sum(p["count"] for p in points) > 150
        readable = [p["count"] * (1 - p["unknown_share"]) for p in points]
        negatives = sum(p["negative_share"] * n for p, n in zip(points, readable, strict=True))
        assert volume["negative_share"] == pytest.approx(negatives / sum(readable), abs=1e-4)
        assert volume["anomalous_windows"] == sum(p["anomalous"] for p in points) > 0

        alerts = [a for a in api.get("/alerts", params={"brand": "Delta"}).json()
                  if report["start"] <= a["first_window"] < report["end"]]
        incidents = delta["incidents"]
        assert incidents["total"] == len(alerts) >= 1
        severities = [a["severity"] for a in alerts]  # "our fleet's on fleek" among them
        assert incidents["by_severity"] == {s: severities.count(s)
                                            for s in ("info", "warning", "critical")}
        # nobody acted in a replay: no response times, and no zeros pretending otherwise
        assert incidents["time_to_acknowledge"] == {"n": 0, "median_s": None, "p90_s": None}
        assert incidents["unmeasured"] == 0  # every incident.opened event is still kept
        lasted = [a["last_window"] + a["window_s"] - a["first_window"] for a in alerts]
        duration = incidents["duration"]
        assert duration["n"] == len(alerts)  # the detector closed them all (event time)
        assert min(lasted) <= duration["median_s"] <= duration["p90_s"] <= max(lasted)
        assert delta["sla"] == {"clocks": 0, "met": 0, "breached": 0, "pending": 0,
                                "compliance": None}

        r = api.get("/reports", params=period, headers={"Accept": "text/csv"})
        assert r.headers["content-type"].startswith("text/csv")
        assert "attachment" in r.headers["content-disposition"]
        (row,) = csv_rows(r.text)
        assert row["brand"] == "Delta" and row["start"] == "2015-02-23T08:00:00+00:00"
        assert int(row["mentions"]) == volume["mentions"]
        assert int(row["incidents_critical"]) == severities.count("critical")
        assert int(row["incidents"]) == len(alerts)
        assert row["tta_median_s"] == "" and row["sla_compliance"] == ""

        everyone = csv_rows(api.get("/reports", params={"format": "csv"}).text)
        assert [b["brand"] for b in everyone] == [b["brand"] for b in api.get("/brands").json()]
        whole = api.get("/reports").json()
        assert sum(b["volume"]["mentions"] for b in whole["brands"]) == sum(
            int(b["mentions"]) for b in everyone)
        assert sum(b["incidents"]["total"] for b in whole["brands"]) == len(
            api.get("/alerts", params={"limit": 1000}).json())

        assert api.get("/reports", params={"brand": "Nobody"}).status_code == 404
        r = api.get("/reports", params={"from": DAY_TO, "to": DAY_FROM})
        assert r.status_code == 422 and "must be before" in r.json()["error"]["message"]
        assert api.get("/reports", params={"to": "tomorrow"}).status_code == 422
        assert api.get("/reports", params={"from": "nan"}).status_code == 422  # not a 503


def test_the_negative_share_of_a_period_is_over_the_mentions_whose_tone_was_read() -> None:
    """A window's negative share is of its readable mentions; a storm of handle lists
    (90 % unknown) must not lend its few readable posts' share to the whole period."""
    calm = {**window("Acme", T0, 10, 0.2), "unknown_share": 0.0}
    storm = {**window("Acme", T0 + 300, 100, 0.8), "unknown_share": 0.9}
    assert kpis.volume([calm, storm])["negative_share"] == 0.5  # 10 and 10 read
    assert kpis.volume([{**calm, "unknown_share": 1.0}])["negative_share"] is None


def window(brand: str, start: float, count: int, negative: float) -> dict[str, Any]:
    """A window record as the flow stores it (the WindowPoint contract)."""
    return {"brand": brand, "window_start": start, "window_end": start + 300, "count": count,
            "retweets": 0, "negative_share": negative, "positive_share": 0.1,
            "mean_sentiment": -0.2, "reach": 0, "max_followers": 0, "hashtags": [],
            "expected": 4.0, "p_value": 0.5, "surprise": 0.3, "lift": count / 4,
            "horizon": 1, "anomalous": count > 20, "warming_up": False,
            "negative_share_baseline": 0.25, "signals": []}


def act(store: Store, alert_id: str, decide: Any) -> None:
    assert store.lifecycle.transact(alert_id, decide) is not None


def test_response_times_and_sla_compliance_come_from_the_lifecycle(
        store: Store, tmp_path: Path) -> None:
    """Response times run on the wall clock from the moment the incident was published:
    the lifecycle is driven here with chosen times after that moment, so the expected
    medians are exact."""
    w = store.writer()
    for n, count in enumerate((10, 30, 4)):
        w.window("Acme", T0 + 300 * n, window("Acme", T0 + 300 * n, count, 0.5))
    w.topic({"id": "tp1", "brand": "Acme", "state": "active", "merged_into": None,
             "terms": [["refund", 0.9], ["delay", 0.5]], "size": 40, "texts": 30,
             "weight": 12.0, "window_count": 6, "expected": 2.0, "growth": 2.33,
             "mean_sentiment": -0.5, "negative_share": 0.8, "first_window": T0 - 3600,
             "last_window": T0 + 300, "updated_window": T0 + 300, "window_s": 300,
             "examples": [], "series": [[T0 - 3600, 25], [T0, 9], [T0 + 300, 6]]})
    w.execute()
    write(store, *(incident(i, severity=s) for i, s in (
        ("met", "critical"), ("late", "critical"), ("running", "warning"),
        ("ignored", "warning"), ("closed-by-person", "info"))))
    write(store, incident("quiet", severity="info", state="resolved"))
    published = {e["data"]["id"]: int(e["id"].split("-")[0]) / 1000
                 for e in store.events.after("0") if e["type"] == "incident.opened"}
    assert store.events.first_times("incident.opened", set(published), page=2) == published

    playbooks = playbook_file(tmp_path, PLAYBOOKS)
    care, fast = playbooks.get("care"), playbooks.get("fast")

    def activate(alert_id: str, playbook: Any, at: float) -> None:
        ctx = Context(store.detector_alert(alert_id), playbooks, StaffingConfig(), at)
        act(store, alert_id, lambda s: lifecycle.activate(s, ctx, playbook, "crisiswatch", "",
                                                          ["test"], "auto"))

    p = published
    activate("met", care, p["met"] + 5)
    act(store, "met", lambda s: lifecycle.acknowledge(s, "ana", "", p["met"] + 600))
    activate("late", care, p["late"] + 5)  # answered after its 30 minutes
    act(store, "late", lambda s: lifecycle.acknowledge(s, "bo", "", p["late"] + 3000))
    act(store, "late", lambda s: lifecycle.resolve(s, "bo", "", p["late"] + 4000))
    activate("running", care, time.time())  # its clock is still running
    activate("ignored", fast, time.time() - 120)  # ran out a minute ago, nobody answered
    act(store, "closed-by-person",
        lambda s: lifecycle.resolve(s, "cy", "", p["closed-by-person"] + 200))

    with LiveAPI(store) as api:
        report = api.get("/reports", params={"brand": "Acme", "from": T0 - 7200,
                                             "to": T0 + 3600}).json()
        csv_row = csv_rows(api.get("/reports", params={"brand": "Acme", "from": T0 - 7200,
                                                       "to": T0 + 3600},
                                   headers={"Accept": "text/csv"}).text)[0]
    (acme,) = report["brands"]
    assert acme["volume"]["mentions"] == 44 and acme["volume"]["windows"] == 3
    assert acme["volume"]["negative_share"] == 0.5
    assert acme["volume"]["anomalous_windows"] == 1
    assert acme["volume"]["peak"] == {"window_start": T0 + 300, "count": 30, "expected": 4.0}

    inc = acme["incidents"]
    assert inc["total"] == 6
    assert inc["by_severity"] == {"info": 2, "warning": 2, "critical": 2}
    assert inc["acknowledged"] == 2 and inc["resolved_by_people"] == 2
    assert inc["resolved_by_detector"] == 1 and inc["open"] == 3
    # acknowledged after 600 s and 3000 s: median 1800, p90 600 + 0.9 * 2400
    assert inc["time_to_acknowledge"] == {"n": 2, "median_s": pytest.approx(1800, abs=0.01),
                                          "p90_s": pytest.approx(2760, abs=0.01)}
    assert inc["time_to_resolve"] == {"n": 2, "median_s": pytest.approx(2100, abs=0.01),
                                      "p90_s": pytest.approx(3620, abs=0.01)}
    assert inc["duration"] == {"n": 1, "median_s": 300.0, "p90_s": 300.0}  # event time
    # met in 10 min; late at 50 min; ignored past its 1 minute; running still counting
    assert acme["sla"] == {"clocks": 4, "met": 1, "breached": 2, "pending": 1,
                           "compliance": pytest.approx(1 / 3, abs=1e-4)}
    (topic,) = acme["top_topics"]
    assert topic["id"] == "tp1" and topic["terms"] == ["refund", "delay"]
    assert topic["mentions"] == 40  # all three series points lie in the period

    assert csv_row["tta_median_s"] == "1800.0" and csv_row["sla_met"] == "1"
    assert csv_row["sla_compliance"] == "0.3333" and csv_row["top_topics"] == "refund delay (40)"


def test_a_report_without_incidents_or_topics_is_zeros_and_nulls(store: Store) -> None:
    w = store.writer()
    w.window("Calm", T0, window("Calm", T0, 3, 0.0))
    w.execute()
    with LiveAPI(store) as api:
        r = api.get("/reports", params={"brand": "Calm", "from": T0 + 3600})
        (calm,) = r.json()["brands"]
        assert calm["volume"] == {"mentions": 0, "windows": 0, "expected": 0.0,
                                  "negative_share": None, "negative_share_baseline": None,
                                  "anomalous_windows": 0, "peak": None}
        assert calm["incidents"]["total"] == 0 and calm["top_topics"] == []


def test_the_report_lists_the_complaint_that_emerged_over_days_with_examples(
        store: Store) -> None:
    """60 complaints of one kind from 40 authors over two days, among ordinary traffic,
    written window by window as the flow's sink does: the report lists that topic as
    emerging, with its examples, and none of the ordinary ones; a period that ends before
    the complaint began does not list it."""
    emb, state, cfg = fixture_embedder(templates=(*TEMPLATES, SCAM)), BrandTopics(), TopicConfig()
    w = store.writer()
    for start, items in slow_complaint(days_before=1.5):
        out = update(state, "Acme", start, items, emb.embed([i.text for i in items]), cfg)
        w.window("Acme", start, window("Acme", start, len(items), 0.5))
        for record in out.topics:
            w.topic(record)
    w.execute()

    with LiveAPI(store) as api:
        (acme,) = api.get("/reports", params={"brand": "Acme"}).json()["brands"]
        (row,) = csv_rows(api.get("/reports", params={"brand": "Acme", "format": "csv"}).text)
        (before,) = api.get("/reports", params={"brand": "Acme", "to": 1.4 * DAY}
                            ).json()["brands"]
    (found,) = acme["emerging_topics"]
    assert {"fraud", "pin"} <= set(found["terms"]) and found["authors"] == 40
    assert found["mentions"] >= 24 and found["growth"] > 0
    assert 1 <= len(found["examples"]) <= 3
    assert all("scam" in e["text"] for e in found["examples"])
    stored = {t["id"]: t for t in store.topics("Acme", limit=1000)}
    assert stored[found["id"]]["emerging"]
    ordinary = [t["id"] for t in acme["top_topics"] if t["id"] != found["id"]]
    assert ordinary and not any(stored[i]["emerging"] for i in ordinary)  # listed only once
    assert row["emerging_topics"].startswith(" ".join(found["terms"][:3]))
    assert before["emerging_topics"] == []  # born after that period


def test_emerging_topics_come_fastest_growing_first_with_three_examples() -> None:
    def topic(tid: str, growth: float, emerging: bool = True, last: float = T0) -> dict:
        return {"id": tid, "terms": [["t", 1.0]] * 6, "size": 30, "growth": growth,
                "authors": 9, "negative_share": 0.9, "first_window": T0 - 3600,
                "last_window": last, "emerging": emerging, "series": [[last, 30]],
                "examples": [{"id": str(n)} for n in range(5)]}

    found = kpis.emerging_topics([topic("slow", 1.5), topic("fast", 3.0),
                                  topic("plain", 9.0, emerging=False),
                                  topic("gone", 9.0, last=T0 - 600)], T0 - 300, T0 + 300)
    assert [t["id"] for t in found] == ["fast", "slow"]
    assert len(found[0]["examples"]) == 3 and len(found[0]["terms"]) == 5
