"""The labelled-events backtest (``crisiswatch eval``): the events table and the NAB-style
score judge one replay, and where NAB's rules see it otherwise, the output says so."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from crisiswatch.evaluation import events
from crisiswatch.evaluation.events import Label
from tests.conftest import write_jsonl

T0 = 1_700_006_400
W = 300
N = 1000  # windows in the brand's series: NAB's probation is its first 150


def at(row: int) -> float:
    return T0 + row * W


def incident(first: int, last: int, severity: str = "warning") -> dict:
    return {"id": f"i{first}", "brand": "A", "severity": severity, "first_window": at(first),
            "last_window": at(last), "window_s": W}


def label(first: int, last: int, kind: str, expect: str = "alert") -> Label:
    return Label("A", at(first), at(last), kind, expect)


SERIES = {"A": [{"window_start": at(0), "window_end": at(1)},
                {"window_start": at(N - 1), "window_end": at(N)}]}
LABELS = [label(50, 60, "early"),  # inside the probation period
          label(400, 420, "ongoing"),  # caught by an incident that opened before it
          label(700, 720, "clean"),  # an incident opens inside it
          label(590, 640, "campaign", "benign")]
ALERTS = [incident(55, 58), incident(100, 104),  # both in the probation period
          incident(395, 430), incident(705, 710), incident(600, 610), incident(800, 805),
          incident(900, 905, "info")]


def test_every_label_says_how_the_nab_style_score_took_it() -> None:
    figures = events.evaluate(LABELS, ALERTS, SERIES, W)
    by_kind = {e["kind"]: e for e in figures["events"]}
    assert by_kind["early"]["ok"] and by_kind["ongoing"]["ok"] and by_kind["clean"]["ok"]
    assert by_kind["early"]["nab"].startswith("unscored: inside NAB's probation period")
    assert by_kind["ongoing"]["nab"] == "missed: no incident opened inside the window"
    assert by_kind["clean"]["nab"] == "detected"
    assert by_kind["campaign"]["nab"] is None and not by_kind["campaign"]["ok"]
    nab = figures["nab"]["standard"]
    assert (nab["detected"], nab["missed"]) == (1, 1)  # 'early' is neither


def test_incidents_counted_differently_are_listed_with_the_reason() -> None:
    figures = events.evaluate(LABELS, ALERTS, SERIES, W)
    diff = {d["id"]: d for d in figures["differences"]}
    assert set(diff) == {"i100", "i395", "i600"}  # i55 is in a label: its row says it
    assert diff["i100"]["false_alert"] and diff["i100"]["nab"] == "ignored"
    assert "probation" in diff["i100"]["why"]
    assert diff["i395"]["nab"] == "false positive" and "opened before it" in diff["i395"]["why"]
    assert diff["i600"]["nab"] == "false positive" and "(benign)" in diff["i600"]["why"]
    # the two tables now add up: NAB's false positives are the false alerts, less those
    # it ignores, plus those it charges that the events table does not call false
    false_alerts = sum(figures["false_alerts"].values())
    nab_fp = figures["nab"]["standard"]["false_positives"]
    listed = figures["differences"]
    assert nab_fp == false_alerts - sum(d["false_alert"] for d in listed) + \
        sum(d["nab"] == "false positive" for d in listed)
    out = io.StringIO()
    events._print(figures, Console(file=out, width=300))
    said = out.getvalue()
    assert "A early: ok above, NAB-style unscored: inside NAB's probation period" in said
    assert "A ongoing: ok above, NAB-style missed: no incident opened inside the window" in said
    assert "A incident i100 (" in said and "a false alert above, but the NAB-style score " \
        "ignores it: opened in NAB's probation period" in said


def test_eval_names_the_configuration_it_ran_and_honours_it(tmp_path: Path) -> None:
    """`crisiswatch eval -c FILE` replays with that file's settings, as `run -c FILE`
    does, and says so before its tables."""
    stream = write_jsonl(tmp_path / "s.jsonl", [
        {"id": str(i), "ts": T0 + 60 * i, "brand": "A", "text": "hello"} for i in range(50)])
    labels = tmp_path / "labels.csv"
    labels.write_text("brand,start,end,kind,expect\n"
                      "A,2023-11-15 00:00 +0000,2023-11-15 01:00 +0000,test,maybe\n")
    config = tmp_path / "more.yaml"
    config.write_text("sensitivity: more\nbrands:\n  A: {sensitivity: fewer}\n"
                      "topics: {enabled: false}\n")
    out = io.StringIO()
    figures = events.run(stream, labels, Console(file=out, width=200), config=config)
    assert figures["configuration"] == (f"{config}: sensitivity more; A: fewer; topics off; "
                                        "sentiment complaint; 5-min windows")
    assert f"evaluating the configuration `crisiswatch run` runs: {config}" in out.getvalue()
    assert figures["incidents"] == {"critical": 0, "warning": 0, "info": 0}
