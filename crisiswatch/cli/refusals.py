"""Dead-lettered records said where the user looks: the end-of-run summary names the
commonest reasons, with counts, and what to do about each. Left under
``GET /deadletters``, "0 processed, 8 dead-lettered" after an import read as a bug."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

# a reason's kind (its text before the first ': ', where the value it quotes starts)
# and what fixes it
ADVICE: dict[str, str] = {
    "no brand": "add --map brand=COLUMN to the import, or brand queries (handles, keywords, "
                "hashtags) under brands: in the settings",
    "ts has no time zone": "import with --tz ZONE (such as --tz UTC), or write the offset",
    "ts not a timestamp": "import with --ts-format (a strptime format such as "
                          "'%d/%m/%Y %H:%M')",
    "missing field 'text'": "map the text column: --map text=COLUMN",
    "missing field 'ts'": "map the time column: --map ts=COLUMN",
    "not JSON": "one JSON object a line: crisiswatch import converts CSV and NDJSON exports",
}


def kind(reason: str) -> str:
    return reason.split(": ", 1)[0]


def top_reasons(deadletters: Iterable[Mapping[str, Any]], n: int = 3
                ) -> list[tuple[str, int, str | None]]:
    """The ``n`` commonest kinds of reason: (kind, count, advice or None)."""
    counts = Counter(kind(str(d.get("reason", ""))) for d in deadletters)
    return [(k, c, ADVICE.get(k)) for k, c in counts.most_common(n)]


def refusal_lines(deadletters: list[Mapping[str, Any]], total: int) -> list[str]:
    """The summary's lines about the ``total`` dead-lettered records, from those kept."""
    if not total:
        return []
    among = "" if len(deadletters) >= total else f" (among the {len(deadletters):,} kept)"
    lines = [f"dead-lettered{among}, by reason (GET /deadletters lists them):"]
    for k, count, advice in top_reasons(deadletters):
        lines.append(f"  {count:,} x {k}" + (f": {advice}" if advice else ""))
    return lines
