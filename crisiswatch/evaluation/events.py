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

import orjson
from bytewax.testing import run_main
from rich.console import Console
from rich.table import Table

from crisiswatch.embedded import EmbeddedRedis
from crisiswatch.evaluation.nab_scoring import CostMatrix, Score, score_detections, total
from crisiswatch.settings import Settings, load_settings
from crisiswatch.store import Store, connect
from flows.dataflow import build_flow
from flows.importers import airline_rows, sorted_by_time
from flows.sources import ReplaySource

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


def replay(stream: Path, settings: Settings) -> tuple[list[dict], dict[str, list[dict]]]:
    """All incidents, and each brand's window series, of one replay of ``stream``."""
    with EmbeddedRedis() as server:
        run_main(build_flow(settings, ReplaySource([stream]), server.url))
        store = Store(connect(server.url), settings.store.prefix)
        alerts = store.alerts(limit=100_000)
        series = {b: store.series(b, limit=1_000_000) for b in store.brands()}
    return alerts, series


def evaluate(labels: list[Label], alerts: list[dict], series: dict[str, list[dict]],
             window_s: int, quiet_hours: float = 6.0) -> dict[str, Any]:
    """Per-label verdicts, false alerts per brand-day and NAB-style scores."""
    events = []
    for lab in labels:
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
            "severity": max((a["severity"] for a in hits), default=None,
                            key=lambda s: ("info", "warning", "critical").index(s)),
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
            "nab": _nab(labels, alerts, series, window_s)}


def _nab(labels: list[Label], alerts: list[dict], series: dict[str, list[dict]],
         window_s: int) -> dict[str, Any]:
    """Each brand's stream as one NAB series of windows from its first to its last."""
    per_profile: dict[str, list[Score]] = {p: [] for p in PROFILES}
    for brand, pts in series.items():
        if not pts:
            continue
        t0, t1 = pts[0]["window_start"], pts[-1]["window_start"]
        n = int((t1 - t0) // window_s) + 1
        detections = [False] * n
        for a in alerts:
            if a["brand"] == brand and a["severity"] != "info":
                detections[min(max(int((a["first_window"] - t0) // window_s), 0), n - 1)] = True
        windows = [(max(int((lab.start - t0) // window_s), 0),
                    min(int((lab.end - t0) // window_s), n - 1))
                   for lab in labels if lab.brand == brand and lab.expect == "alert"
                   and lab.end is not None and lab.end > t0 and lab.start < t1]
        for name, cost in PROFILES.items():
            per_profile[name].append(score_detections(detections, windows, cost))
    out = {}
    for name, scores in per_profile.items():
        s = total(scores)
        out[name] = {"score": None if s.normalised is None else round(s.normalised, 1),
                     "detected": s.detected, "missed": s.missed,
                     "false_positives": s.false_positives}
    return out


def airline_stream(csv_path: Path, into: Path) -> Path:
    """The airline sample as mention JSON lines, in event-time order."""
    with into.open("wb") as f:
        for rec in sorted_by_time(airline_rows(csv_path)):
            f.write(orjson.dumps(rec) + b"\n")
    return into


def run(stream: Path, labels_path: Path, console: Console,
        settings: Settings | None = None) -> dict[str, Any]:
    """Replay ``stream`` (JSON lines, or the airline ``Tweets.csv``) and judge it against
    ``labels_path``; print the tables and return the figures."""
    settings = settings or load_settings()
    labels = read_labels(labels_path)
    with tempfile.TemporaryDirectory(prefix="crisiswatch-eval-") as tmp:
        if stream.suffix == ".csv":
            stream = airline_stream(stream, Path(tmp) / "stream.jsonl")
        alerts, series = replay(stream, settings)
    figures = evaluate(labels, alerts, series, settings.window_s)
    _print(figures, console)
    return figures


def _print(figures: dict[str, Any], console: Console) -> None:
    table = Table(title="Labelled events")
    for col in ("brand", "kind", "expect", "verdict", "incidents", "severity", "caught after"):
        table.add_column(col)
    for e in figures["events"]:
        verdict = {True: "[green]ok[/]", False: "[red]FAIL[/]", None: "-"}[e["ok"]]
        delay = (f"{e['delay_minutes']} min ({e['delay_windows']} windows)"
                 if e["delay_minutes"] is not None and e["expect"] in ("alert", "maybe") else "")
        table.add_row(e["brand"], e["kind"], e["expect"], verdict, str(e["incidents"]),
                      e["severity"] or "", delay)
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
