"""The Numenta Anomaly Benchmark's window-based score, written from the NAB paper (Lavin &
Ahmad, 2015) and checked against the behaviour of NAB v1.1's reference scorer (its
``sweeper``), so that our figures can sit beside NAB's published scoreboard.

Why it is scored this way (NAB's rules):
- Labels are *windows* around each anomaly, not points, because a detector that fires a
  little before or after the labelled instant is useful. Only the first detection inside a
  window counts; the earlier it is, the more it earns: a row at relative position
  ``y = -(end - i + 1) / width`` earns ``A_TP * σ(y) / σ(-1)`` with the scaled sigmoid
  ``σ(y) = 2 / (1 + e^{5y}) - 1``. The window's first row earns exactly ``A_TP``; its last
  row ``A_TP * σ(-1/width) / σ(-1)``, close to 0.
- A window without a detection costs ``A_FN``.
- Every detection outside a window costs ``A_FP``. Right after a window, NAB softens the
  cost by the same sigmoid of the distance past the window's end, ``y = (i - end) /
  (width - 1)``, so an alert that lags an anomaly is cheaper than one out of the blue:
  it costs ``A_FP * σ(y)`` (about 0 right after the window, ``-A_FP`` from about one
  window-width past it, exactly ``-A_FP`` beyond three). A detection with no window before
  it costs the full ``A_FP``, however close the next window is. (NAB divides by
  ``width - 1``; for a one-row window, where that is 0, we charge the full ``A_FP``.)
- The probationary period, the first ``min(floor(0.15 n), 0.15 * 5000)`` rows of a series
  of ``n`` rows, is for learning: detections there are ignored, and a window lying wholly
  inside it is neither rewarded nor missed.
- Raw scores add up over series (per corpus, overall) before normalising:
  ``100 * (raw - null) / (perfect - null)``, where the null detector (no detections)
  scores ``-A_FN`` per scorable window and the perfect one ``A_TP`` per window.

``sweep`` ranks every threshold on a continuous anomaly score, as NAB's optimiser does;
``score_detections`` scores one fixed decision. Both read the same per-row weights, so they
agree wherever they meet.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

PROBATION_PERCENT = 0.15
PROBATION_CAP_ROWS = 5000  # NAB caps the probation at 15 % of 5,000 rows


@dataclass(frozen=True)
class CostMatrix:
    """The weights of one NAB application profile (``profiles.json``)."""

    tp: float
    fp: float
    fn: float

    @classmethod
    def from_profile(cls, profile: dict) -> CostMatrix:
        m = profile["CostMatrix"]
        return cls(tp=float(m["tpWeight"]), fp=float(m["fpWeight"]), fn=float(m["fnWeight"]))


@dataclass(frozen=True)
class Score:
    """A raw NAB score with the baselines it is normalised against; adds up over series."""

    raw: float = 0.0
    null: float = 0.0
    perfect: float = 0.0
    detected: int = 0  # windows with a (first) detection
    missed: int = 0  # scorable windows without one
    false_positives: int = 0  # detections outside every window, after the probation

    def __add__(self, other: Score) -> Score:
        return Score(self.raw + other.raw, self.null + other.null,
                     self.perfect + other.perfect, self.detected + other.detected,
                     self.missed + other.missed, self.false_positives + other.false_positives)

    @property
    def normalised(self) -> float | None:
        """100 for the perfect detector, 0 for the null one; None without any window to find
        (a corpus of anomaly-free series only costs false positives: read its raw score)."""
        if self.perfect == self.null:
            return None
        return 100.0 * (self.raw - self.null) / (self.perfect - self.null)


def total(scores: Iterable[Score]) -> Score:
    return sum(scores, Score())


def scaled_sigmoid(y: float) -> float:
    """NAB's ``2 * sigmoid(-5 y) - 1``: +0.987 at y = -1, 0 at y = 0, -1 beyond y = 3."""
    if y > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def probation_rows(n: int, percent: float = PROBATION_PERCENT) -> int:
    """Rows at the start of a series whose detections NAB ignores."""
    return int(min(math.floor(percent * n), percent * PROBATION_CAP_ROWS))


def window_rows(timestamps: Sequence[datetime],
                limits: Iterable[tuple[datetime, datetime]]) -> list[tuple[int, int]]:
    """Row ranges (first, last, inclusive) of labelled windows given as timestamp limits.

    NAB's labels name rows by their exact timestamps; taking the first row at or after the
    start and the run of rows up to the end gives the same rows there, and still sensible
    ones for labels made on other data. Windows that cover no row are dropped.
    """
    rows = []
    for start, end in sorted(limits):
        first = next((i for i, t in enumerate(timestamps) if t >= start), None)
        if first is None or timestamps[first] > end:
            continue
        last = first
        while last + 1 < len(timestamps) and timestamps[last + 1] <= end:
            last += 1
        rows.append((first, last))
    return rows


@dataclass(frozen=True)
class RowWeights:
    """What a detection at each scorable row would be worth, and which window it falls in.

    ``rows[k]`` is a row index (probationary rows left out), ``weight[k]`` the score of a
    detection there, ``window[k]`` the index of its window or -1 outside every window.
    ``scorable_windows`` are the windows with at least one row after the probation.
    """

    rows: list[int]
    weight: list[float]
    window: list[int]
    scorable_windows: list[int]
    n_windows: int


def row_weights(n: int, windows: Sequence[tuple[int, int]], cost: CostMatrix,
                probation_percent: float = PROBATION_PERCENT) -> RowWeights:
    """Per-row worth of a detection in a series of ``n`` rows with these windows."""
    windows = sorted(windows)
    starts = [w[0] for w in windows]
    max_tp = scaled_sigmoid(-1.0)
    skip = probation_rows(n, probation_percent)
    rows, weight, where = [], [], []
    for i in range(skip, n):
        k = bisect.bisect_right(starts, i) - 1  # last window starting at or before i
        if k >= 0 and i <= windows[k][1]:
            first, last = windows[k]
            width = last - first + 1
            w = cost.tp * scaled_sigmoid(-(last - i + 1) / width) / max_tp
        else:
            w, k = _false_positive(i, windows, k, cost), -1
        rows.append(i)
        weight.append(w)
        where.append(k)
    scorable = sorted({k for k in where if k >= 0})
    return RowWeights(rows, weight, where, scorable, len(windows))


def _false_positive(i: int, windows: Sequence[tuple[int, int]], before: int,
                    cost: CostMatrix) -> float:
    """Cost of a detection at row ``i`` outside every window; ``before`` is the last window
    that starts before ``i`` (so it has ended), or -1."""
    if before < 0:
        return -cost.fp
    first, last = windows[before]
    if last == first:
        return -cost.fp
    return cost.fp * scaled_sigmoid((i - last) / (last - first))


def score_detections(detections: Sequence[bool], windows: Sequence[tuple[int, int]],
                     cost: CostMatrix, probation_percent: float = PROBATION_PERCENT) -> Score:
    """NAB score of one series for a yes/no detection per row."""
    rw = row_weights(len(detections), windows, cost, probation_percent)
    best = {k: -cost.fn for k in rw.scorable_windows}
    fp_cost, fps = 0.0, 0
    for i, w, k in zip(rw.rows, rw.weight, rw.window, strict=True):
        if not detections[i]:
            continue
        if k < 0:
            fp_cost += w
            fps += 1
        else:
            best[k] = max(best[k], w)
    detected = sum(1 for k in best if best[k] > -cost.fn)
    return Score(raw=fp_cost + sum(best.values()), null=-cost.fn * len(best),
                 perfect=cost.tp * rw.n_windows, detected=detected,
                 missed=len(best) - detected, false_positives=fps)


@dataclass(frozen=True)
class SeriesScores:
    """One series for ``sweep``: its anomaly score per row and its windows."""

    anomaly_scores: Sequence[float]
    windows: Sequence[tuple[int, int]]


def sweep(series: Iterable[SeriesScores], cost: CostMatrix,
          probation_percent: float = PROBATION_PERCENT) -> tuple[float, Score]:
    """The threshold on the anomaly score that maximises the summed raw score over all the
    series, and that score: what NAB's optimiser does before it reports a detector.

    A row is a detection when its anomaly score is at or above the threshold. Walking the
    rows from the highest score down, each step lowers the threshold past one row: an FP row
    adds its cost, a window row can only raise its window's best. Ties move together.
    """
    points: list[tuple[float, float, tuple[int, int] | None]] = []
    null = perfect = 0.0
    best: dict[tuple[int, int], float] = {}
    for s, one in enumerate(series):
        rw = row_weights(len(one.anomaly_scores), one.windows, cost, probation_percent)
        for i, w, k in zip(rw.rows, rw.weight, rw.window, strict=True):
            points.append((one.anomaly_scores[i], w, (s, k) if k >= 0 else None))
        for k in rw.scorable_windows:
            best[(s, k)] = -cost.fn
        null -= cost.fn * len(rw.scorable_windows)
        perfect += cost.tp * rw.n_windows
    points.sort(key=lambda p: p[0], reverse=True)
    fp_cost, fps, found, window_sum = 0.0, 0, 0, null
    top = (math.inf, Score(raw=null, null=null, perfect=perfect, missed=len(best)))
    for j, (threshold, w, key) in enumerate(points):
        if key is None:
            fp_cost += w
            fps += 1
        elif w > best[key]:
            found += best[key] == -cost.fn
            window_sum += w - best[key]
            best[key] = w
        if j + 1 < len(points) and points[j + 1][0] == threshold:
            continue
        if fp_cost + window_sum > top[1].raw:
            top = (threshold, Score(raw=fp_cost + window_sum, null=null, perfect=perfect,
                                    detected=found, missed=len(best) - found,
                                    false_positives=fps))
    return top
