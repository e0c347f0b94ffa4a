"""``crisiswatch eval --nab DIR``: the volume detector on the Numenta Anomaly Benchmark.

The volume detector is built for counts of mentions, and NAB is the public benchmark of
streaming anomaly detectors whose scoring rewards early alerts and charges false ones,
which is what a crisis team needs too. So each NAB series is replayed through the same
``detectors.volume.update`` the flow calls, one window per row, and scored with NAB's rules
(``nab_scoring``).

How a NAB series becomes a count stream (one rule for every series, no per-corpus knobs):
- the window length is the series' sampling interval (the median gap between rows) and a
  row's window index is ``(timestamp - first timestamp) // interval``;
- a series whose values are all non-negative integers is a count already (taxi passengers,
  requests, …) and is used as it is;
- any other series (CPU %, temperatures, prices, …) has no natural unit, so its range is
  mapped onto ``0 … COUNT_SCALE``: ``round((value - min) / (max - min) * COUNT_SCALE)``.
  NAB hands every detector the series' min and max for the same purpose (its base detector
  exposes them), so this reads nothing else from the future. The scale, 100, puts these
  series in the range of a brand's counts per window that the detector's noise model (a
  negative binomial with dispersion capped at ``max_dispersion``) was built for; a larger
  scale shrinks the relative noise the model allows and makes heavy-tailed sensors alert
  on their ordinary spikes.
The detector runs with the configuration ``run`` uses (``-c FILE``, else the shipped
defaults): it is the detector the product ships that is measured.

What counts as a detection is what the product tells people: the opening of an incident.
``detectors.incidents`` opens one on a window with a signal (a spike, or a record low: the
``silence`` signal, ``detect_drops``) and folds the ones that follow into it until
``cooldown_windows`` pass without one; a NAB detection is that first window. (Scoring every
anomalous window instead would charge a lasting level shift as hundreds of false
positives, an alert storm the product never sends.)

The anomaly score NAB's result files need, in [0, 1], is ``s / (s + s0)`` of the surprise
``s = -log10(p)``, with ``s0 = -log10(p_threshold)``, so 0.5 is the p-value at which the
detector can alert. An alert also needs the minimum lift and excess, the end of the warm-up
and no incident already open, so rows that open an incident are lifted to at least 0.5 and
all others are held just below it: ``anomaly_score >= 0.5`` is then exactly the product's
decision.
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from crisiswatch.detectors.incidents import IncidentConfig
from crisiswatch.detectors.volume import VolumeConfig, VolumeState, update
from crisiswatch.evaluation.nab_data import NabLayoutError, NabSeries, load
from crisiswatch.evaluation.nab_scoring import (
    Score,
    SeriesScores,
    score_detections,
    sweep,
    total,
)

__all__ = ["NabLayoutError", "run"]

DETECTOR_NAME = "crisiswatch"  # NAB result files are <detector>_<series>.csv, no '_' in it
COUNT_SCALE = 100
ALERT_THRESHOLD = 0.5
BELOW_ALERT = 0.4999
PROFILES_SHOWN = {"standard": "standard", "reward_low_FP_rate": "low FP",
                  "reward_low_FN_rate": "low FN"}

# NAB's published scoreboard (normalised, null 0, perfect 100) over all seven of its corpora
# (58 series, realTweets included): standard, low FP, low FN. The standard column is the one
# in ../shared/data/README.md; the other two are from the scoreboard in NAB's README.
SCOREBOARD: list[tuple[str, float, float | None, float | None]] = [
    ("ARTime", 74.9, 65.1, 80.4),
    ("Numenta HTM", 70.1, 63.1, 74.3),
    ("CAD OSE", 69.9, 67.0, 73.2),
    ("earthgecko Skyline", 58.2, 46.2, 63.9),
    ("KNN CAD", 58.0, 43.4, 64.8),
    ("Relative Entropy", 54.6, 47.6, 58.8),
    ("Random Cut Forest", 51.7, 38.4, 59.7),
    ("Twitter ADVec", 47.1, 33.6, 53.5),
    ("Windowed Gaussian", 39.6, 20.9, 47.4),
    ("random", 16.8, None, None),
]


@dataclass(frozen=True)
class Detected:
    series: NabSeries
    anomaly_scores: list[float]
    alerts: list[bool]


def default_volume(window_s: int) -> VolumeConfig:
    return VolumeConfig(window_s=window_s)


def run(data_dir: Path, results: Path | None, console: Console,
        volume: Callable[[int], VolumeConfig] = default_volume, verbose: bool = False) -> dict:
    """Detect on every labelled series of ``data_dir`` with ``volume(window_s)``'s
    configuration, score with every profile, print the tables (one row per series too
    when ``verbose``, so a regression can be found) and write NAB result files under
    ``results``; returns the figures."""
    started = time.perf_counter()
    bench = load(data_dir)
    for key in bench.unlabelled:
        console.print(f"[yellow]skipped {key}:[/] not in labels/combined_windows.json")
    progress = Progress(TextColumn("NAB"), BarColumn(), MofNCompleteColumn(),
                        TimeRemainingColumn(), TextColumn("{task.description}"),
                        console=console, disable=not console.is_terminal)
    detected = []
    with progress:
        task = progress.add_task("", total=len(bench.series))
        for s in bench.series:
            progress.update(task, description=s.key)
            detected.append(detect(s, volume(s.interval_s)))
            progress.advance(task)
    figures = _score(detected, bench.profiles)
    figures["seconds"] = round(time.perf_counter() - started, 2)
    figures["threshold"] = ALERT_THRESHOLD
    _print(figures, console, verbose)
    if results is not None:
        write_results(detected, results)
        console.print(f"NAB result files written under {results}/<corpus>/{DETECTOR_NAME}_"
                      f"<series>.csv; the detector alerts where anomaly_score >= "
                      f"{ALERT_THRESHOLD} (the threshold to give NAB's scorer)")
    return figures


def as_counts(values: list[float]) -> list[int]:
    """Values as the non-negative integer counts the volume detector models (module doc)."""
    if all(v >= 0 and v == int(v) for v in values):
        return [int(v) for v in values]
    low, high = min(values), max(values)
    if high == low:
        return [0] * len(values)
    return [round((v - low) / (high - low) * COUNT_SCALE) for v in values]


def detect(series: NabSeries, cfg: VolumeConfig) -> Detected:
    """Replay one series through the volume detector, as the flow would, window by window;
    a detection is a window that opens an incident (a spike or a silence)."""
    interval = cfg.window_s
    cooldown = IncidentConfig().cooldown_windows
    state = VolumeState()
    floor = -math.log10(cfg.p_threshold)
    first = series.timestamps[0]
    last_signal: int | None = None
    scores, alerts = [], []
    for ts, count in zip(series.timestamps, as_counts(series.values), strict=True):
        window = int((ts - first).total_seconds() // interval)
        v = update(state, window, count, cfg)
        signal = v.anomalous or v.drop
        opens = signal and (last_signal is None or window - last_signal > cooldown)
        if signal:
            last_signal = window
        surprise = max(0.0, -math.log10(max(v.p_value, 1e-300)))
        a = surprise / (surprise + floor)
        scores.append(max(a, ALERT_THRESHOLD) if opens else min(a, BELOW_ALERT))
        alerts.append(opens)
    return Detected(series, scores, alerts)


def _score(detected: list[Detected], profiles: dict) -> dict:
    corpora = sorted({d.series.corpus for d in detected})
    figures: dict = {"corpora": {}, "overall": {}, "optimised": {}}
    per_profile = {name: [score_detections(d.alerts, d.series.windows, cost) for d in detected]
                   for name, cost in profiles.items()}
    for corpus in [*corpora, None]:
        keep = [i for i, d in enumerate(detected) if corpus is None or d.series.corpus == corpus]
        scores = {name: total(per_profile[name][i] for i in keep) for name in profiles}
        any_profile = next(iter(scores.values()))
        entry = {"series": len(keep),
                 "windows": sum(len(detected[i].series.windows) for i in keep),
                 "detected": any_profile.detected, "missed": any_profile.missed,
                 "false_positives": any_profile.false_positives,
                 "profiles": {name: _figures(s) for name, s in scores.items()}}
        if corpus is None:
            figures["overall"] = entry
        else:
            figures["corpora"][corpus] = entry
    counted = per_profile[next(iter(profiles))]  # counts are the same under every profile
    figures["series"] = [
        {"series": d.series.key.removesuffix(".csv"), "windows": len(d.series.windows),
         "detected": counted[i].detected, "missed": counted[i].missed,
         "false_positives": counted[i].false_positives,
         "profiles": {name: _figures(per_profile[name][i]) for name in profiles}}
        for i, d in enumerate(detected)]
    for name, cost in profiles.items():
        threshold, best = sweep((SeriesScores(d.anomaly_scores, d.series.windows)
                                 for d in detected), cost)
        figures["optimised"][name] = {"threshold": threshold, **_figures(best)}
    return figures


def _figures(s: Score) -> dict:
    return {"score": s.normalised, "raw": round(s.raw, 4), "null": s.null, "perfect": s.perfect}


def _cell(p: dict) -> str:
    return f"[dim]raw {p['raw']:.2f}[/]" if p["score"] is None else f"{p['score']:.1f}"


def _print(figures: dict, console: Console, verbose: bool = False) -> None:
    """The tables; on a log or a pipe, where rich assumes 80 columns, at 110 (130 with
    the per-series rows) so that the names and figures are not cut."""
    narrow = console.width
    if not console.is_terminal:
        console.width = max(narrow, 130 if verbose else 110)
    try:
        if verbose:
            _series_table(figures, console)
        _tables(figures, console)
    finally:
        console.width = narrow


def _shown(figures: dict) -> list[str]:
    shown = [p for p in PROFILES_SHOWN if p in figures["overall"]["profiles"]]
    return shown + [p for p in figures["overall"]["profiles"] if p not in PROFILES_SHOWN]


def _series_table(figures: dict, console: Console) -> None:
    shown = _shown(figures)
    table = Table(title="per series (a series' score is its own raw score normalised "
                  "between its null and perfect detectors)")
    for col in ("series", "windows", "found", "missed", "FP"):
        table.add_column(col, justify="left" if col == "series" else "right", no_wrap=True)
    for p in shown:
        table.add_column(PROFILES_SHOWN.get(p, p), justify="right", no_wrap=True)
    for e in figures["series"]:
        table.add_row(e["series"], str(e["windows"]), str(e["detected"]), str(e["missed"]),
                      str(e["false_positives"]), *(_cell(e["profiles"][p]) for p in shown))
    console.print(table)


def _tables(figures: dict, console: Console) -> None:
    shown = _shown(figures)
    ours = Table(title="crisiswatch volume detector: NAB score per corpus (null 0, perfect 100)",
                 caption="found / missed: labelled windows; FP: detections outside them; "
                 "corpora without windows show their raw cost")
    for col in ("corpus", "series", "windows", "found", "missed", "FP"):
        ours.add_column(col, justify="left" if col == "corpus" else "right", no_wrap=True)
    for p in shown:
        ours.add_column(PROFILES_SHOWN.get(p, p), justify="right", no_wrap=True)
    for corpus, e in [*figures["corpora"].items(), ("overall", figures["overall"])]:
        ours.add_row(corpus, str(e["series"]), str(e["windows"]), str(e["detected"]),
                     str(e["missed"]), str(e["false_positives"]),
                     *(_cell(e["profiles"][p]) for p in shown),
                     style="bold" if corpus == "overall" else None)
    console.print(ours)

    overall, opt = figures["overall"]["profiles"], figures["optimised"]
    board = Table(title="NAB scoreboard (published figures: all 7 NAB corpora, 58 series; "
                  f"ours: the {figures['overall']['series']} series given)")
    for col in ("detector", "standard", "low FP", "low FN"):
        board.add_column(col, justify="left" if col == "detector" else "right", no_wrap=True)
    ours_rows = [
        ("[bold]crisiswatch, its own alerts[/]",
         *(overall[p]["score"] if p in overall else None for p in PROFILES_SHOWN)),
        ("[bold]crisiswatch, NAB-optimised threshold[/]",
         *(opt[p]["score"] if p in opt else None for p in PROFILES_SHOWN)),
    ]
    for name, *vals in sorted([*SCOREBOARD, *ours_rows],
                              key=lambda r: -(r[1] if r[1] is not None else -1e9)):
        board.add_row(name, *("—" if v is None else f"{v:.1f}" for v in vals))
    console.print(board)
    console.print(
        f"{figures['overall']['series']} series in {figures['seconds']:.1f}s. Own alerts: an "
        f"incident opens, i.e. anomaly_score >= {ALERT_THRESHOLD}. NAB-optimised: one "
        "anomaly-score threshold per profile chosen on the whole benchmark, as NAB reports "
        "its detectors (" + ", ".join(f"{PROFILES_SHOWN.get(p, p)} {opt[p]['threshold']:.4g}"
                                      for p in shown) + ").")


def write_results(detected: list[Detected], out: Path) -> None:
    """NAB's result files: ``<corpus>/<detector>_<series>.csv`` with timestamp, value,
    anomaly_score and label, where label is NAB's ground truth (1 inside a labelled window),
    as NAB's own runner writes it; NAB's scorer reads only the anomaly score."""
    for d in detected:
        path = out / d.series.corpus / f"{DETECTOR_NAME}_{d.series.name}"
        path.parent.mkdir(parents=True, exist_ok=True)
        inside = [0] * len(d.anomaly_scores)
        for first, last in d.series.windows:
            inside[first:last + 1] = [1] * (last - first + 1)
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["timestamp", "value", "anomaly_score", "label"])
            for (ts, value), a, label in zip(d.series.raw, d.anomaly_scores, inside,
                                             strict=True):
                w.writerow([ts, value, f"{a:.6f}", label])
