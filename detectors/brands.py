"""Brand queries: assign brands to mentions that arrive without one.

Commercial listening tools track a brand by its handles, its keywords and its hashtags,
because people complain about a brand without tagging it (UniSuper's customers used a
hashtag while the company had no handle at all). A mention may match several brands.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class BrandQuery:
    handles: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()


@dataclass
class BrandMatcher:
    """Matches text and hashtags against every brand's query at once.

    Handles and keywords compile into one alternation so a mention is scanned once,
    whatever the number of brands; hashtags are a dictionary look-up.
    """

    queries: Mapping[str, BrandQuery]
    _by_phrase: dict[str, set[str]] = field(init=False, default_factory=dict)
    _by_tag: dict[str, set[str]] = field(init=False, default_factory=dict)
    _pattern: re.Pattern[str] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        for brand, q in self.queries.items():
            for handle in q.handles:
                phrase = "@" + handle.lstrip("@").lower()
                self._by_phrase.setdefault(phrase, set()).add(brand)
            for kw in q.keywords:
                self._by_phrase.setdefault(kw.lower(), set()).add(brand)
            for tag in q.hashtags:
                self._by_tag.setdefault(tag.lstrip("#").lower(), set()).add(brand)
        if self._by_phrase:
            alternation = "|".join(
                re.escape(p) for p in sorted(self._by_phrase, key=len, reverse=True)
            )
            self._pattern = re.compile(rf"(?<![\w@])(?:{alternation})(?!\w)", re.IGNORECASE)

    def match(self, text: str, hashtags: Iterable[str]) -> tuple[str, ...]:
        """Brands whose query matches, sorted so the result is deterministic."""
        found: set[str] = set()
        if self._pattern is not None:
            for hit in self._pattern.findall(text):
                found |= self._by_phrase[hit.lower()]
        for tag in hashtags:
            found |= self._by_tag.get(tag, set())
        return tuple(sorted(found))
