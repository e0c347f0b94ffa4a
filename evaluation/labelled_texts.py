"""Labelled texts for ``crisiswatch eval --topics``: any CSV with a text and a label column.

The airline sample (its ``negativereason`` per complaint) is the default, but a topic
evaluation that only ever reads one file learns that file: a stream of other brands,
labelled by its own people, must run through the same measure. A row without a label
(the airline sample's positive and neutral tweets) or with a label named in ``skip``
("Can't Tell") is left out; a file without the brand column is one brand; without the
time column, its rows are replayed in file order a minute apart.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from crisiswatch.detectors.parse import Invalid, parse_ts

ONE_BRAND = "all texts"  # the brand of a file without a brand column
ROW_SPACING_S = 60.0  # a file without times: one row a minute, in file order


class Complaint(NamedTuple):
    ts: float
    id: str
    text: str
    reason: str  # the label
    brand: str


@dataclass(frozen=True)
class LabelledFile:
    """Where the texts are and which columns say what."""

    path: Path
    text_col: str = "text"
    label_col: str = "negativereason"
    brand_col: str = "airline"
    time_col: str = "tweet_created"
    id_col: str = "tweet_id"
    skip: tuple[str, ...] = ("Can't Tell",)


class LabelledFileError(Exception):
    """The file cannot be read as labelled texts; the message says why."""


@dataclass(frozen=True)
class Loaded:
    rows: list[Complaint]
    notes: list[str]  # what the loader assumed (no brand column, no times, ...)
    left_out: int  # rows without a label or with a skipped one


def load_labelled(spec: LabelledFile) -> Loaded:
    """The labelled rows in time order, each id once (the airline sample repeats rows)."""
    with spec.path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        header = set(reader.fieldnames or ())
        missing = [c for c in (spec.text_col, spec.label_col) if c not in header]
        if missing:
            raise LabelledFileError(f"{spec.path} has no column {', '.join(map(repr, missing))} "
                                    f"(its columns: {', '.join(sorted(header))})")
        notes = []
        if spec.brand_col not in header:
            notes.append(f"no {spec.brand_col!r} column: every text is one brand's")
        if spec.time_col not in header:
            notes.append(f"no {spec.time_col!r} column: rows replayed in file order, "
                         f"{ROW_SPACING_S:.0f}s apart")
        out: dict[str, Complaint] = {}
        left_out = 0
        for n, row in enumerate(reader):
            label = (row.get(spec.label_col) or "").strip()
            text = row.get(spec.text_col) or ""
            if not label or label in spec.skip or not text.strip():
                left_out += 1
                continue
            key = row.get(spec.id_col) or f"row{n}"
            out.setdefault(key, Complaint(_time(row, spec, n), key, text, label,
                                          row.get(spec.brand_col) or ONE_BRAND))
    return Loaded(sorted(out.values()), notes, left_out)


def _time(row: dict[str, str], spec: LabelledFile, n: int) -> float:
    if spec.time_col not in row:
        return n * ROW_SPACING_S
    value = (row[spec.time_col] or "").strip()
    try:
        return parse_ts(float(value) if value.replace(".", "", 1).isdigit() else value)
    except Invalid as e:
        raise LabelledFileError(f"{spec.path}, row {n + 2}: {e}") from None
