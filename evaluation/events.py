"""Backtest on a labelled stream: was each labelled event caught, how fast, and how many
alerts fired where nothing was labelled.

Labels are a CSV of ``brand,start,end,kind,expect[,notes]`` (``expect``: ``alert``
must be caught; ``maybe`` is reported only; ``benign`` may be silent or ``info``;
``no_alert`` must stay silent for ``quiet_hours`` after ``start``, e.g. a stream start).
The stream is replayed through the real flow into an embedded Redis, as fast as the
machine goes. Besides the per-event table it prints a NAB-style score (the Numenta
Anomaly Benchmark's window scoring, three profiles, null detector 0, perfect 100) where
each brand's stream is a series of windows, the ``alert`` rows are the labelled
windows, and an incident's opening window is a detection.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from crisiswatch.config.settings import Settings, load_settings
from crisiswatch.detectors.types import SEVERITY_RANK
from crisiswatch.evaluation import paging, replays
from crisiswatch.evaluation.incident_table import when
from crisiswatch.evaluation.nab_scoring import (
    CostMatrix,
    Score,
    probation_rows,
    score_detections,
    total,
)

# NAB's application profiles (Lavin & Ahmad 2015, table 1).
PROFILES = {
    "standard": CostMatrix(tp=1.0, fp=0.11, fn=1.0),
    "reward_low_FP_rate": CostMatrix(tp=1.0, fp=0.22, fn=1.0),
    "reward_low_FN_rate": CostMatrix(tp=1.0, fp=0.11, fn=2.0),
}
LABEL_TIME = "%Y-%m-%d %H:%M %z"


@dataclass(frozen=True)
class Label:
    brand: str
    start: float
    end: float | None
    kind: str
    expect: str

    def overlaps(self, alert: dict[str, Any], quiet_hours: float) -> bool:
        end = self.end if self.end is not None else self.start + quiet_hours * 3600
        return alert["first_window"] < end and alert["last_window"] + alert["window_s"] > \
            self.start


def read_labels(path: Path) -> list[Label]:
    labels = []
    with path.open(encoding="utf-8", newline="") as f:
        for i, row in enumerate(csv.DictReader(f), start=2):
            try:
                labels.append(Label(
                    brand=row["brand"], start=_time(row["start"]),
                    end=_time(row["end"]) if row.get("end") else None,
                    kind=row.get("kind", ""), expect=row["expect"]))
            except (KeyError, ValueError) as e:
                raise ValueError(f"{path}:{i}: cannot read label: {e}") from None
    return labels


def _time(text: str) -> float:
    try:
        return datetime.strptime(text.strip(), LABEL_TIME).timestamp()
    except ValueError:
        return datetime.fromisoformat(text.strip()).timestamp()


def evaluate(labels: list[Label], alerts: list[dict], series: dict[str, list[dict]],
             window_s: int, quiet_hours: float = 6.0) -> dict[str, Any]:
    """Per-label verdicts, false alerts per brand-day and NAB-style scores."""
    nab = _nab(labels, alerts, series, window_s)
    events = []
    for i, lab in enumerate(labels):
        hits = sorted((a for a in alerts if a["brand"] == lab.brand
                       and lab.overlaps(a, quiet_hours)), key=lambda a: a["first_window"])
        serious = [a for a in hits if a["severity"] != "info"]
        first = serious[0] if serious else None  # an info incident pages nobody
        if lab.expect in ("no_alert", "benign"):  # silent, or info at most
            ok = not serious
        elif lab.expect == "alert":
            ok = bool(serious)
        else:
            ok = None  # "maybe": reported, not judged
        events.append({
            "brand": lab.brand, "kind": lab.kind, "expect": lab.expect,
            "start": lab.start, "ok": ok, "incidents": len(hits),
            "nab": nab["verdicts"].get(i),
            "severity": max((a["severity"] for a in hits), default=None,
                            key=SEVERITY_RANK.__getitem__),
            "delay_minutes": round(max(first["first_window"] + window_s - lab.start, 0) / 60)
            if first else None,
            "delay_windows": int(max(first["first_window"] - lab.start, 0) // window_s)
            if first else None,
        })
    labelled = [(lab, lab.end if lab.end is not None else lab.start + quiet_hours * 3600)
                for lab in labels]
    false_by_brand: dict[str, int] = {}
    for a in alerts:
        if a["severity"] == "info":
            continue
        if not any(lab.brand == a["brand"] and lab.overlaps(a, quiet_hours) for lab, _ in
                   labelled):
            false_by_brand[a["brand"]] = false_by_brand.get(a["brand"], 0) + 1
    days = {b: max((pts[-1]["window_end"] - pts[0]["window_start"]) / 86400, 1 / 24)
            for b, pts in series.items() if pts}
    false_rate = {b: round(false_by_brand.get(b, 0) / d, 3) for b, d in sorted(days.items())}
    return {"events": events, "false_alerts": false_by_brand,
            "false_alerts_per_brand_day": false_rate,
            "false_alerts_per_brand_day_mean":
                round(sum(false_by_brand.values()) / max(sum(days.values()), 1e-9), 3),
            "nab": nab["profiles"],
            "differences": _differences(labels, alerts, nab["roles"], quiet_hours)}


def _differences(labels: list[Label], alerts: list[dict], roles: dict[str, str],
                 quiet_hours: float) -> list[dict[str, Any]]:
    """The warning or critical incidents that the false-alert count and the NAB-style
    score see differently, each with the reason: the two tables then add up."""
    out = []
    for a in sorted(alerts, key=lambda a: a["first_window"]):
        role = roles.get(a["id"])
        if role is None:
            continue  # info: neither table counts it
        near = [lab for lab in labels if lab.brand == a["brand"]
                and lab.overlaps(a, quiet_hours)]
        if not near and role != "false positive":
            why = role.split(": ", 1)[1]  # "ignored: <why>"
        elif near and role == "false positive":
            lab = near[0]
            why = (f"overlaps the {lab.kind} window but opened before it; NAB counts only "
                   "an opening inside a window" if lab.expect == "alert" else
                   f"overlaps the {lab.kind} row ({lab.expect}); NAB scores only `alert` rows")
        else:
            continue
        out.append({"id": a["id"], "brand": a["brand"], "first_window": a["first_window"],
                    "false_alert": not near, "nab": role.split(":")[0], "why": why})
    return out


def _nab(labels: list[Label], alerts: list[dict], series: dict[str, list[dict]],
         window_s: int) -> dict[str, Any]:
    """Each brand's stream as one NAB series of windows from its first to its last.

    NAB's rules leave some of what the events table judges out of the score, and a
    reader comparing the two tables must be told which and why: the first 15 % of a
    series (at most 750 rows) is NAB's probation period (a labelled window inside it is
    neither caught nor missed, an alert inside it is no false positive), only an
    incident's *opening*
    window is a detection (one opened before a labelled window and still running in it
    catches it for the events table, not for NAB), and a label outside the brand's
    stream has no rows to score. ``verdicts`` says, for every ``alert`` label (by its
    index in ``labels``), how NAB scored it; ``roles`` what each warning or critical
    incident was to it (``detection``, ``false positive`` or ``ignored: ...``)."""
    per_profile: dict[str, list[Score]] = {p: [] for p in PROFILES}
    verdicts: dict[int, str] = {}
    roles: dict[str, str] = {}
    for i, lab in enumerate(labels):
        if lab.expect == "alert" and not series.get(lab.brand):
            verdicts[i] = "unscored: no mentions of the brand"
    for brand, pts in series.items():
        if not pts:
            continue
        t0, t1 = pts[0]["window_start"], pts[-1]["window_start"]
        n = int((t1 - t0) // window_s) + 1
        skip = probation_rows(n)

        def row(t: float, t0: float = t0, n: int = n) -> int:
            return min(max(int((t - t0) // window_s), 0), n - 1)

        probation = f"the brand's first {skip} windows, before {when(t0 + skip * window_s)}"
        detections = [False] * n
        opened = {a["id"]: row(a["first_window"]) for a in alerts
                  if a["brand"] == brand and a["severity"] != "info"}
        for r in opened.values():
            detections[r] = True
        windows = []
        for i, lab in enumerate(labels):
            if lab.brand != brand or lab.expect != "alert":
                continue
            if lab.end is None or lab.end <= t0 or lab.start >= t1:
                verdicts[i] = "unscored: outside the brand's stream"
                continue
            first, last = row(lab.start), row(lab.end)
            windows.append((first, last))
            verdicts[i] = _verdict(detections, first, last, skip, probation)
        for alert_id, r in opened.items():
            roles[alert_id] = (f"ignored: opened in NAB's probation period ({probation})"
                               if r < skip else "detection"
                               if any(first <= r <= last for first, last in windows)
                               else "false positive")
        for name, cost in PROFILES.items():
            per_profile[name].append(score_detections(detections, windows, cost))
    out: dict[str, Any] = {}
    for name, scores in per_profile.items():
        s = total(scores)
        out[name] = {"score": None if s.normalised is None else round(s.normalised, 1),
                     "detected": s.detected, "missed": s.missed,
                     "false_positives": s.false_positives}
    return {"profiles": out, "verdicts": verdicts, "roles": roles}


def _verdict(detections: list[bool], first: int, last: int, skip: int, probation: str) -> str:
    """How NAB scores one labelled window of rows ``first..last``."""
    if last < skip:
        return f"unscored: inside NAB's probation period ({probation})"
    if any(detections[max(first, skip):last + 1]):
        return "detected"
    if any(detections[first:skip]):
        return f"missed: its only detection is in NAB's probation period ({probation})"
    return "missed: no incident opened inside the window"


def run(stream: Path, labels_path: Path | None, console: Console,
        settings: Settings | None = None, config: Path | None = None) -> dict[str, Any]:
    """Replay ``stream`` (JSON lines, or the airline ``Tweets.csv``) with the configuration
    ``run`` would use (``settings``, read from ``config``) and judge it against
    ``labels_path`` (None: no labels, the paging incidents are printed to be read);
    print the tables and return the figures."""
    settings = settings or load_settings(config)
    labels = read_labels(labels_path) if labels_path is not None else []
    embedder = replays.embedder_for(settings, console)
    evaluated = replays.describe(settings, config, topics=embedder is not None)
    console.print(f"evaluating the configuration `crisiswatch run` runs: {evaluated}")
    with tempfile.TemporaryDirectory(prefix="crisiswatch-eval-") as tmp:
        ran = replays.replay(replays.as_stream(stream, Path(tmp)), settings, console, embedder)
    figures = evaluate(labels, ran.alerts, ran.series, settings.window_s)
    figures["configuration"] = evaluated
    figures["incidents"] = {sev: sum(a["severity"] == sev for a in ran.alerts)
                            for sev in ("critical", "warning", "info")}
    figures.update(paging.print_paged(ran.alerts, ran.series, console))
    _print(figures, console)
    return figures


def _print(figures: dict[str, Any], console: Console) -> None:
    if "incidents" in figures:
        n = figures["incidents"]
        console.print(f"{sum(n.values())} incident(s) in the replay: " +
                      ", ".join(f"{k} {v}" for k, v in n.items()))
    table = Table(title="Labelled events")
    for col in ("brand", "kind", "expect", "verdict", "incidents", "severity", "caught after",
                "NAB-style"):
        table.add_column(col)
    for e in figures["events"]:
        verdict = {True: "[green]ok[/]", False: "[red]FAIL[/]", None: "-"}[e["ok"]]
        delay = (f"{e['delay_minutes']} min ({e['delay_windows']} windows)"
                 if e["delay_minutes"] is not None and e["expect"] in ("alert", "maybe") else "")
        table.add_row(e["brand"], e["kind"], e["expect"], verdict, str(e["incidents"]),
                      e["severity"] or "", delay, (e["nab"] or "").split(":")[0])
    console.print(table)
    rates = ", ".join(f"{b} {r}" for b, r in figures["false_alerts_per_brand_day"].items())
    console.print(f"false alerts (warning or critical, outside every labelled window) per "
                  f"brand per day: mean {figures['false_alerts_per_brand_day_mean']}; {rates}")
    nab = Table(title="NAB-style score (null detector 0, perfect 100)")
    for col in ("profile", "score", "detected", "missed", "false positives"):
        nab.add_column(col)
    for name, s in figures["nab"].items():
        nab.add_row(name, str(s["score"]), str(s["detected"]), str(s["missed"]),
                    str(s["false_positives"]))
    console.print(nab)
    for e in figures["events"]:  # labels the two tables judge differently, and why
        verdict = e["nab"]
        if verdict and ((e["ok"] and verdict != "detected")
                        or (not e["ok"] and verdict.startswith("unscored"))):
            console.print(f"{e['brand']} {e['kind']}: {'ok' if e['ok'] else 'FAIL'} above, "
                          f"NAB-style {verdict}")
    for d in figures["differences"]:
        what = f"{d['brand']} incident {d['id']} ({when(d['first_window'])})"
        console.print(f"{what} is a false alert above, but the NAB-style score ignores it: "
                      f"{d['why']}" if d["false_alert"] else
                      f"{what} is no false alert above, but a NAB-style false positive: "
                      f"it {d['why']}")
