"""Keyword watchlists: terms a brand's team must hear about, with a severity.

Pharma watches "adverse reaction" and "side effect"; telcos "outage" and "no signal";
everyone "boycott" and "lawsuit". A term ending in ``*`` matches any word that starts
with it ("cancel*" matches "cancelled" and "cancellation"). All terms compile into one
regular expression, so a mention is scanned once however long the list.

Most mentions hold no watch term, and the expression tries every term at every word
start, so each term also gives a *needle*: its longest run of ASCII letters whose only
case-insensitive equivalents are their own upper and lower case (every letter but i, s
and k, which ``re.IGNORECASE`` also matches to 'ı', 'ſ' and the Kelvin sign). A text
whose lower case contains no needle cannot match, and skips the expression: the same
answer at a fraction of the cost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class WatchTerm:
    term: str
    severity: str = "warning"
    min_count: int = 3
    brands: tuple[str, ...] = ()  # empty: every brand

    def applies_to(self, brand: str) -> bool:
        return not self.brands or brand in self.brands


@dataclass
class Watchlist:
    terms: tuple[WatchTerm, ...] = ()
    _by_key: dict[str, WatchTerm] = field(init=False, default_factory=dict)
    _pattern: re.Pattern[str] | None = field(init=False, default=None)
    _needles: tuple[str, ...] | None = field(init=False, default=None)  # None: no filter

    def __post_init__(self) -> None:
        parts = []
        for i, t in enumerate(self.terms):
            key = f"t{i}"
            self._by_key[key] = t
            phrase = t.term.lower()
            prefix = phrase.endswith("*")
            body = r"\s+".join(re.escape(w) for w in phrase.rstrip("*").split())
            tail = r"\w*" if prefix else ""
            parts.append(f"(?P<{key}>{body}{tail})")
        if parts:
            self._pattern = re.compile(rf"(?<!\w)(?:{'|'.join(parts)})(?!\w)", re.IGNORECASE)
            needles = tuple(_needle(t.term) for t in self.terms)
            self._needles = None if "" in needles else needles

    def match(self, text: str) -> tuple[str, ...]:
        """The watch terms (as configured, e.g. "cancel*") that ``text`` contains."""
        if self._pattern is None:
            return ()
        if self._needles is not None and not any(map(text.lower().__contains__,
                                                      self._needles)):
            return ()
        found = {self._by_key[m.lastgroup].term for m in self._pattern.finditer(text)
                 if m.lastgroup}
        return tuple(sorted(found))

    def get(self, term: str) -> WatchTerm | None:
        return next((t for t in self.terms if t.term == term), None)


def _needle(term: str) -> str:
    """The longest run of the term's letters that a matching text must contain, in lower
    case, whatever its case ("" when the term has none)."""
    runs = re.findall(r"[abcdefghjlmnopqrtuvwxyz]+", term.lower())
    return max(runs, key=len, default="")
