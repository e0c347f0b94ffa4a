"""The generic importer: any CSV or NDJSON export, its columns mapped onto the mention
contract (``--map text=Content,ts=Date,author.handle=Author``).

Teams export mentions from other listening tools in shapes nobody can list in advance,
so the mapping is given, not guessed. Values are converted only where the meaning is
certain: counts to integers ("1,234" too), a true/false column to a boolean, a hashtag
list to tags, and timestamps to ISO-8601: with ``--tz`` a time written without a zone
is read in that zone (exports usually write the account's local time), with
``--ts-format`` a non-ISO time is read by that ``strptime`` format, and epoch numbers
above 10^11 are milliseconds. What cannot be converted is written as it was, so that
the flow's parser dead-letters the record with a reason a person can act on
(``ts has no time zone: ...``) instead of the import dropping it silently. A row
without an id gets a stable one from its time, author and text, so that importing the
same export twice is counted as duplicates, not twice.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import orjson

MENTION_FIELDS = ("id", "ts", "brand", "text", "author.id", "author.handle",
                  "author.followers", "platform", "lang", "url", "retweet_of", "reply_to",
                  "is_retweet", "hashtags", "metrics.likes", "metrics.shares")
COUNTS = {"author.followers", "metrics.likes", "metrics.shares"}
EPOCH_MS_ABOVE = 1e11
TRUE, FALSE = {"true", "yes", "1", "y", "t"}, {"false", "no", "0", "n", "f", ""}


def parse_map(text: str) -> dict[str, str]:
    """``field=Column,...`` (a column name may hold spaces; an NDJSON column is a dotted
    path into the object) -> {field: column}; ValueError says what is wrong."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, column = part.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not column:
            raise ValueError(f"{part!r}: write field=Column")
        if name not in MENTION_FIELDS:
            raise ValueError(f"{name!r} is not a mention field (known: "
                             f"{', '.join(MENTION_FIELDS)})")
        mapping[name] = column
    return mapping


@dataclass(frozen=True)
class Mapping:
    columns: dict[str, str]  # mention field -> column
    tz: tzinfo | None = None  # the zone of times written without one
    ts_format: str | None = None  # strptime format of a time that is not ISO-8601
    constants: dict[str, str] = field(default_factory=dict)  # e.g. platform

    def record(self, row: dict[str, Any], missing: list[str]) -> dict[str, Any]:
        """One row as a mention record; ``missing`` collects mapped columns the row
        does not have (a misspelt column shows on the first row, not as empty data)."""
        out: dict[str, Any] = dict(self.constants)
        for name, column in self.columns.items():
            value = _lookup(row, column)
            if value is _ABSENT:
                missing.append(column)
                continue
            if value is None or value == "":
                continue
            _put(out, name, self._convert(name, value))
        if "id" not in out:
            key = orjson.dumps([out.get("ts"), (out.get("author") or {}).get("handle"),
                                out.get("text")])
            out["id"] = "import:" + hashlib.sha256(key).hexdigest()[:20]
        return out

    def _convert(self, name: str, value: Any) -> Any:
        if name == "ts" and isinstance(value, int | float) and not isinstance(value, bool):
            return value / 1000 if value >= EPOCH_MS_ABOVE else value
        if not isinstance(value, str):
            return value
        if name == "ts":
            return self._ts(value)
        if name in COUNTS:
            try:
                return int(float(value.replace(",", "").strip()))
            except ValueError:
                return value
        if name == "is_retweet":
            low = value.strip().lower()
            return True if low in TRUE else False if low in FALSE else value
        if name == "hashtags":
            return [t.lstrip("#") for t in value.replace(",", " ").split() if t.lstrip("#")]
        return value

    def _ts(self, value: str) -> str | float:
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            return number / 1000 if number >= EPOCH_MS_ABOVE else number
        try:
            dt = (datetime.strptime(text, self.ts_format) if self.ts_format
                  else datetime.fromisoformat(text))
        except ValueError:
            return value
        if dt.tzinfo is None:
            if self.tz is None:
                return value  # the parser says: no time zone, add one (or --tz)
            dt = dt.replace(tzinfo=self.tz)
        return dt.isoformat()


_ABSENT = object()


def _lookup(row: dict[str, Any], column: str) -> Any:
    if column in row:
        return row[column]
    value: Any = row
    for part in column.split("."):
        if not isinstance(value, dict) or part not in value:
            return _ABSENT
        value = value[part]
    return value


def _put(out: dict[str, Any], name: str, value: Any) -> None:
    head, _, tail = name.partition(".")
    if tail:
        out.setdefault(head, {})[tail] = value
    else:
        out[head] = value


def table_rows(path: Path, mapping: Mapping, kind: str) -> Iterator[dict[str, Any] | bytes]:
    """``kind`` ``csv`` or ``ndjson``; an NDJSON line that is not a JSON object is
    passed on as it is (the flow dead-letters it with the reason). Raises ValueError
    when a mapped column is in no row (a misspelt ``--map``)."""
    missing: list[str] = []
    seen = 0
    if kind == "csv":
        with path.open(encoding="utf-8-sig", newline="") as f:  # -sig: Excel's BOM
            reader = csv.DictReader(f)
            absent = [c for c in mapping.columns.values() if c not in (reader.fieldnames or [])]
            if absent:
                raise ValueError(f"no column {', '.join(map(repr, absent))} in {path} "
                                 f"(columns: {', '.join(reader.fieldnames or [])})")
            for row in reader:
                yield mapping.record(row, missing)
        return
    with path.open("rb") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                yield line.rstrip(b"\r\n")
                continue
            if not isinstance(obj, dict):
                yield line.rstrip(b"\r\n")
                continue
            seen += 1
            yield mapping.record(obj, missing)
    absent = Counter(missing)
    never = sorted(c for c in set(mapping.columns.values()) if absent[c] == seen)
    if seen and never:
        raise ValueError(f"no record of {path} has {', '.join(map(repr, never))}")
