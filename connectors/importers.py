"""Importers: map other shapes of mention data onto the mention contract.

An importer maps fields and never judges them: a row whose timestamp cannot be read is
still written (with the raw value), so that the flow's parser dead-letters it with a
reason instead of the import dropping it silently.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from crisiswatch.connectors.table_import import Mapping, table_rows
from crisiswatch.connectors.x_api import x_v2_rows
from crisiswatch.detectors.parse import Invalid, parse_ts

AIRLINE_TS_FORMAT = "%Y-%m-%d %H:%M:%S %z"  # "2015-02-24 11:35:52 -0800"


def airline_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Twitter US Airline Sentiment (Tweets.csv) rows as mention records, in file order.

    The labels (sentiment, negative reason) ride along under ``labels`` for evaluation;
    the flow ignores them.
    """
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            yield _airline_record(row)


def _airline_record(row: dict[str, str]) -> dict[str, Any]:
    raw_ts = row.get("tweet_created", "")
    try:
        ts: str = datetime.strptime(raw_ts, AIRLINE_TS_FORMAT).isoformat()
    except ValueError:
        ts = raw_ts
    record: dict[str, Any] = {
        "id": row.get("tweet_id", ""),
        "ts": ts,
        "brand": row.get("airline", ""),
        "text": row.get("text", ""),
        "platform": "twitter",
        "author": {"handle": row.get("name") or None},
        "metrics": {"shares": _int(row.get("retweet_count"))},
        "labels": {
            "sentiment": row.get("airline_sentiment") or None,
            "negativereason": row.get("negativereason") or None,
        },
    }
    return record


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def sorted_by_time(records: Iterator[dict[str, Any] | bytes]) -> list[dict[str, Any] | bytes]:
    """Exports come in any order (Tweets.csv is grouped by airline, newest first); a
    replay in event-time order keeps every record within the lateness allowance.
    Records whose time cannot be read (and raw lines that are not JSON) keep their order
    at the end."""
    keyed = []
    for i, rec in enumerate(records):
        try:
            key = (0, parse_ts(rec["ts"]), i)  # ISO-8601 or epoch seconds, as the flow reads
        except (TypeError, KeyError, Invalid):
            key = (1, 0.0, i)
        keyed.append((key, rec))
    keyed.sort(key=lambda kr: kr[0])
    return [rec for _, rec in keyed]


def import_rows(kind: str, path: Path, mapping: Mapping | None = None
                ) -> Iterator[dict[str, Any] | bytes]:
    """The records of an export: ``airline`` (Tweets.csv), ``x-v2`` (X API v2 JSON),
    or ``csv`` / ``ndjson`` with a column mapping. ValueError says what is wrong."""
    if kind in ("csv", "ndjson"):
        if mapping is None or "text" not in mapping.columns:
            raise ValueError(f"{kind} needs --map with at least text=COLUMN (and ts=COLUMN)")
        return table_rows(path, mapping, kind)
    if mapping is not None and mapping.columns:
        raise ValueError(f"--map is for csv and ndjson; {kind} knows its columns")
    return IMPORTERS[kind](path)


IMPORTERS: dict[str, Callable[[Path], Iterator[Any]]] = {
    "airline": airline_rows, "x-v2": x_v2_rows}
KINDS = (*IMPORTERS, "csv", "ndjson")
