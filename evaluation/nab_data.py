"""Reading a directory in the Numenta Anomaly Benchmark's layout.

The layout is NAB's own (``data/<corpus>/<series>.csv`` with ``timestamp,value``,
``labels/combined_windows.json``, and the profiles at ``config/profiles.json`` as NAB's
repository keeps them, or at ``profiles.json`` beside ``data/`` as some copies do), so a
checkout of NAB, a copy or an extension of it can be pointed at, not only the one in
``../shared/data/nab``. Errors name the file and line,
because a benchmark directory is usually assembled by hand.
"""

from __future__ import annotations

import csv
import itertools
import json
import statistics
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from crisiswatch.evaluation.nab_scoring import CostMatrix, window_rows


class NabLayoutError(ValueError):
    """The directory is not in NAB's layout, or one of its files cannot be read."""


@dataclass(frozen=True)
class NabSeries:
    corpus: str
    name: str  # file name, e.g. ``nyc_taxi.csv``
    path: Path
    raw: list[tuple[str, str]]  # the rows as written, for the result files
    timestamps: list[datetime]
    values: list[float]
    windows: list[tuple[int, int]]  # labelled windows as row ranges, inclusive

    @property
    def key(self) -> str:
        """The series' name in NAB's label file: ``<corpus>/<file>``."""
        return f"{self.corpus}/{self.name}"

    @property
    def interval_s(self) -> int:
        """The sampling interval: the median gap between consecutive rows, which survives
        the missing rows, repeated stamps and collector hiccups that real series have."""
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(self.timestamps)]
        positive = [g for g in gaps if g > 0]
        return max(1, round(statistics.median(positive))) if positive else 1


@dataclass(frozen=True)
class NabBenchmark:
    series: list[NabSeries]
    profiles: dict[str, CostMatrix]
    unlabelled: list[str]  # data files the label file does not name: NAB skips them too


def load(data_dir: Path) -> NabBenchmark:
    """Every labelled series under ``data_dir``, with its windows, and the profiles."""
    data, labels_path = data_dir / "data", data_dir / "labels" / "combined_windows.json"
    for p in (data, labels_path):
        if not p.exists():
            raise NabLayoutError(
                f"{data_dir} is not in NAB's layout: {p.relative_to(data_dir)} is missing "
                f"(expected data/<corpus>/<series>.csv, labels/combined_windows.json, "
                f"{' or '.join(PROFILE_PATHS)})")
    profiles_path = profiles_file(data_dir)
    labels = _json(labels_path)
    profiles = {name: _profile(profiles_path, name, p) for name, p in _json(profiles_path).items()}
    series, unlabelled = [], []
    for path in sorted(data.glob("*/*.csv")):
        key = f"{path.parent.name}/{path.name}"
        if key not in labels:
            unlabelled.append(key)
            continue
        series.append(_series(path, labels[key]))
    if not series:
        raise NabLayoutError(f"no labelled series under {data}: the keys of {labels_path} "
                             "must name files as <corpus>/<series>.csv")
    return NabBenchmark(series, profiles, unlabelled)


PROFILE_PATHS = ("config/profiles.json", "profiles.json")  # NAB's own place first


def profiles_file(data_dir: Path) -> Path:
    """Where the directory keeps its scoring profiles: NAB's ``config/profiles.json``, or
    a ``profiles.json`` beside ``data/``."""
    for relative in PROFILE_PATHS:
        if (data_dir / relative).is_file():
            return data_dir / relative
    raise NabLayoutError(f"{data_dir} is not in NAB's layout: no scoring profiles (expected "
                         f"{' or '.join(PROFILE_PATHS)})")


def _json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise NabLayoutError(f"cannot read {path}: {e}") from None
    if not isinstance(value, dict):
        raise NabLayoutError(f"{path}: expected a JSON object")
    return value


def _profile(path: Path, name: str, profile: dict) -> CostMatrix:
    try:
        return CostMatrix.from_profile(profile)
    except (KeyError, TypeError, ValueError):
        raise NabLayoutError(f"{path}: profile {name!r} needs CostMatrix with tpWeight, "
                             "fpWeight and fnWeight") from None


def _series(path: Path, limits: list) -> NabSeries:
    raw: list[tuple[str, str]] = []
    timestamps: list[datetime] = []
    values: list[float] = []
    with path.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:2]] != ["timestamp", "value"]:
            raise NabLayoutError(f"{path}: the header must be 'timestamp,value', got {header}")
        for line, row in enumerate(reader, start=2):
            try:
                timestamps.append(datetime.fromisoformat(row[0]))
                values.append(float(row[1]))
            except (IndexError, ValueError):
                raise NabLayoutError(f"{path}:{line}: expected timestamp,value, got {row}"
                                     ) from None
            raw.append((row[0], row[1]))
    if not raw:
        raise NabLayoutError(f"{path}: no rows")
    try:
        window_limits = [(datetime.fromisoformat(a), datetime.fromisoformat(b))
                         for a, b in limits]
    except (TypeError, ValueError):
        raise NabLayoutError(f"labels for {path.parent.name}/{path.name}: each window must be "
                             f"[start, end] timestamps, got {limits}") from None
    return NabSeries(path.parent.name, path.name, path, raw, timestamps, values,
                     window_rows(timestamps, window_limits))
