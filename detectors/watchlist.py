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

A hit's severity needs support. One post saying "I think you may have had a data
breach" is a lead, not a crisis: a term's configured ``severity`` applies once its hits
are supported (``support_mentions`` mentions from ``support_authors`` distinct
witnesses, or mentions that reached ``support_reach`` followers together); short of
that the hit is one level lower, and ``info`` with a single witness, unless the term
says otherwise (``unsupported``: e.g. ``critical`` for a pharmacovigilance team that
must treat every single report as one). Witnesses are authors who tell rather than
wonder ("data breach?" supports nothing), a retweet standing for the post it repeats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crisiswatch.detectors.types import SEVERITY_ORDER, SEVERITY_RANK, Severity


@dataclass(frozen=True)
class WatchTerm:
    term: str
    severity: Severity = "warning"  # once supported
    min_count: int = 3  # mentions (over a horizon) that make a hit at all
    brands: tuple[str, ...] = ()  # empty: every brand
    support_mentions: int = 3
    support_authors: int = 2
    support_reach: int = 100_000
    unsupported: Severity | None = None  # severity short of support; None: one level lower

    def applies_to(self, brand: str) -> bool:
        return not self.brands or brand in self.brands

    def supported(self, mentions: int, authors: int, reach: int) -> bool:
        return (mentions >= self.support_mentions and authors >= self.support_authors) \
            or reach >= self.support_reach

    def severity_for(self, mentions: int, authors: int, reach: int) -> Severity:
        """The severity of a hit with this much support. ``authors`` are witnesses:
        distinct authors who tell rather than wonder, a retweet counting for the post
        it repeats. Short of support a hit is one level lower, and ``info`` with fewer
        than two witnesses (one post, or only questions and rumours) unless the term
        sets ``unsupported``."""
        if self.supported(mentions, authors, reach):
            return self.severity
        if self.unsupported is not None:
            return self.unsupported
        if authors < min(2, self.support_authors):
            return "info"  # one voice, or only questions: a lead, not a page
        return SEVERITY_ORDER[max(SEVERITY_RANK[self.severity] - 1, 0)]


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

    def spans(self, text: str) -> list[tuple[str, int]]:
        """Each watch-term hit in ``text`` with where it starts: what deciding which
        brand a term is aimed at, and whether its clause wonders, reads."""
        if self._pattern is None:
            return []
        return [(self._by_key[m.lastgroup].term, m.start())
                for m in self._pattern.finditer(text) if m.lastgroup]

    def get(self, term: str) -> WatchTerm | None:
        return next((t for t in self.terms if t.term == term), None)


def _needle(term: str) -> str:
    """The longest run of the term's letters that a matching text must contain, in lower
    case, whatever its case ("" when the term has none)."""
    runs = re.findall(r"[abcdefghjlmnopqrtuvwxyz]+", term.lower())
    return max(runs, key=len, default="")
