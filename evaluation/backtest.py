"""Backtest: one history replayed under two configurations, and the incidents that
differ between them.

A team about to change a threshold, a sensitivity or a watchlist wants to know what
the change would have done to the incidents it already lived through before it pages
anyone with it: which new ones it raises, which it silences, which it grades
differently. Both replays run the real flow as ``crisiswatch run`` does (see
``replays``), each into an embedded Redis of its own, so the two runs share nothing.

Incidents are matched across the runs by brand and overlapping time (first window to
the end of the last): the same crisis seen by both configurations rarely opens in the
same window, so ids, which are derived from the opening window, do not match. Each
incident is matched at most once, to the one of the other run it overlaps most; what is
left over appeared (only the new configuration raises it) or vanished (only the old).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.table import Table

from crisiswatch.config.settings import Settings
from crisiswatch.evaluation import replays
from crisiswatch.evaluation.incident_table import when

Change = Literal["appeared", "vanished", "severity changed", "unchanged"]
CHANGES: tuple[Change, ...] = ("appeared", "vanished", "severity changed", "unchanged")


@dataclass(frozen=True)
class Pair:
    """An incident of the old run, of the new run, or of both (matched)."""

    old: dict[str, Any] | None
    new: dict[str, Any] | None

    @property
    def change(self) -> Change:
        if self.old is None:
            return "appeared"
        if self.new is None:
            return "vanished"
        return "unchanged" if self.old["severity"] == self.new["severity"] else \
            "severity changed"

    @property
    def start(self) -> float:
        return min(a["first_window"] for a in (self.old, self.new) if a is not None)


def _span(a: dict[str, Any]) -> tuple[float, float]:
    return a["first_window"], a["last_window"] + a["window_s"]


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> float:
    (a0, a1), (b0, b1) = _span(a), _span(b)
    return min(a1, b1) - max(a0, b0)


def match(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[Pair]:
    """Pair the incidents of two runs by brand and overlapping time, the largest overlaps
    first; the unpaired ones stand alone. Sorted by brand, then time."""
    candidates = sorted(
        ((_overlap(o, n), i, j) for i, o in enumerate(old) for j, n in enumerate(new)
         if o["brand"] == n["brand"] and _overlap(o, n) > 0),
        key=lambda c: (-c[0], c[1], c[2]))
    used_old: set[int] = set()
    used_new: set[int] = set()
    pairs = []
    for _, i, j in candidates:
        if i not in used_old and j not in used_new:
            used_old.add(i)
            used_new.add(j)
            pairs.append(Pair(old[i], new[j]))
    pairs += [Pair(o, None) for i, o in enumerate(old) if i not in used_old]
    pairs += [Pair(None, n) for j, n in enumerate(new) if j not in used_new]
    return sorted(pairs, key=lambda p: ((p.old or p.new or {})["brand"], p.start))


def run(stream: Path, new: Settings, old: Settings, new_path: Path | None,
        old_path: Path | None, console: Console,
        feedback: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """Replay ``stream`` (JSON lines, or an airline ``Tweets.csv``) under ``old`` and
    ``new`` and compare their incidents; returns the comparison as plain data.
    ``feedback`` (verdicts as ``GET /feedback`` lists them) is given to the new run
    only: what a team's triage so far would have changed."""
    runs = {}
    with tempfile.TemporaryDirectory(prefix="crisiswatch-backtest-") as tmp:
        lines = replays.as_stream(stream, Path(tmp))
        for name, settings, path, said in (("old", old, old_path, ()),
                                           ("new", new, new_path, feedback)):
            embedder = replays.embedder_for(settings, console)
            described = replays.describe(settings, path, topics=embedder is not None)
            if said:
                described += f"; with {len(said)} feedback verdict(s)"
            console.print(f"{name}: {described}")
            ran = replays.replay(lines, settings, console, embedder, label=f"replay ({name})",
                                 feedback=said)
            runs[name] = {"configuration": described, "alerts": ran.alerts}
    pairs = match(runs["old"]["alerts"], runs["new"]["alerts"])
    counts = {c: sum(p.change == c for p in pairs) for c in CHANGES}
    return {
        "file": str(stream),
        "settings_changed": setting_changes(old, new),
        "old": {"configuration": runs["old"]["configuration"],
                "incidents": len(runs["old"]["alerts"])},
        "new": {"configuration": runs["new"]["configuration"],
                "incidents": len(runs["new"]["alerts"])},
        "counts": counts,
        "changes": [{"change": p.change, "brand": (p.old or p.new or {})["brand"],
                     "old": _brief(p.old), "new": _brief(p.new)}
                    for p in sorted(pairs, key=lambda p: CHANGES.index(p.change))],
    }


def setting_changes(old: Settings, new: Settings) -> list[dict[str, Any]]:
    """The settings the two configurations set differently, by dotted name: what the
    incident changes are the consequence of (a file copied and edited by hand often
    changes more than its author meant)."""
    out: list[dict[str, Any]] = []

    def walk(a: Any, b: Any, name: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                walk(a.get(key), b.get(key), f"{name}.{key}" if name else str(key))
        elif a != b:
            out.append({"setting": name, "old": a, "new": b})

    walk(old.model_dump(mode="json"), new.model_dump(mode="json"), "")
    return out


def _brief(a: dict[str, Any] | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {"id": a["id"], "severity": a["severity"], "kinds": a["kinds"],
            "first_window": a["first_window"], "last_window": a["last_window"],
            "first_window_time": when(a["first_window"]),
            "summary": a["explanation"]["summary"]}


def print_report(report: dict[str, Any], console: Console) -> None:
    """The counts, then one row an incident: appeared, vanished, severity changed first."""
    changed = report["settings_changed"]
    console.print("settings that differ (old → new): " + ("; ".join(
        f"{c['setting']}: {c['old']} → {c['new']}" for c in changed) if changed else "none"))
    c = report["counts"]
    console.print(f"old: {report['old']['incidents']} incident(s), new: "
                  f"{report['new']['incidents']}; " + ", ".join(f"{k} {v}" for k, v in c.items()))
    if not report["changes"]:
        console.print("no incidents in either run")
        return
    table = Table(title=f"incidents of {report['file']}, new configuration against old")
    for col in ("change", "brand", "first window", "severity (old → new)", "id (new, else old)",
                "summary"):
        table.add_column(col, overflow="fold")
    for ch in report["changes"]:
        shown = ch["new"] or ch["old"]
        old_sev = ch["old"]["severity"] if ch["old"] else "-"
        new_sev = ch["new"]["severity"] if ch["new"] else "-"
        table.add_row(ch["change"], ch["brand"], shown["first_window_time"],
                      f"{old_sev} → {new_sev}", shown["id"], shown["summary"])
    console.print(table)
