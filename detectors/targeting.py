"""The brand a post is about, and whether it is the brand's own.

A post lands in every tracked brand's stream whose name, handle or cashtag it holds:
"...BOYCOTT of ALL @A brands", retweeted by someone who also tagged @B, is in B's stream
too, and its watch term paged B four times. A watch term in such a post counts for the
brand it is aimed at: the brand named nearest to the term (a clause's subject is
usually next to what it says), and not for a brand that is only named further away.

A post by one of the brand's own accounts, or a retweet of one ("RT @acme: ..."), is
the brand's own content: a burst of it is the brand's campaign being shared, not the
public turning on it.

``Lenses`` knows every configured brand's names; ``Lenses.lens(brand)`` gives one
brand's view. Brands that arrive without configuration (a ticker in a cashtag stream)
are named by their cashtag and their name; any other cashtag is another company.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from crisiswatch.detectors.support import retweet_source
from crisiswatch.detectors.types import Mention
from crisiswatch.detectors.watchlist import Watchlist

_CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z][A-Za-z.]{0,5})(?![\w$])")


@dataclass(frozen=True)
class BrandNames:
    """How people name one brand: its handles (without '@'), keywords and hashtags
    (without '#'), as the brand queries and the ``owned`` setting give them."""

    handles: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    owned: tuple[str, ...] = ()  # handles of the brand's own accounts


_NO_HANDLES: frozenset[str] = frozenset()  # shared: an empty frozenset is 216 bytes a brand


def _phrases(brand: str, names: BrandNames) -> set[str]:
    out = {"@" + h.lstrip("@").lower() for h in (*names.handles, *names.owned)}
    out |= {k.lower() for k in names.keywords}
    out |= {"#" + t.lstrip("#").lower() for t in names.hashtags}
    if len(brand) >= 4:  # "Delta" names the brand; "C" or "HD" alone name anything
        out.add(brand.lower())
    out.add("$" + brand.lower())
    return out


def _pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted(set(phrases), key=len, reverse=True)
    if not ordered:
        return None
    alternation = "|".join(re.escape(p) for p in ordered)
    return re.compile(rf"(?<![\w@#$])(?:{alternation})(?![\w])", re.IGNORECASE)


@dataclass(frozen=True)
class BrandLens:
    """One brand's view of a mention: is it the brand's own, which of its watch terms
    are aimed at the brand."""

    brand: str
    owned: frozenset[str]
    own_names: re.Pattern[str] | None
    other_names: re.Pattern[str] | None  # other configured brands' names
    own_cashtag: str  # "$c": any other cashtag names another company

    def is_own(self, m: Mention) -> bool:
        if not self.owned:
            return False
        if m.handle is not None and m.handle.lstrip("@").lower() in self.owned:
            return True
        source = retweet_source(m.text) if m.is_retweet or m.text[:3].upper() == "RT " \
            else None
        return source is not None and source in self.owned

    def watch_terms(self, m: Mention, watchlist: Watchlist) -> tuple[str, ...]:
        """The mention's watch terms that are aimed at this brand: each term's nearest
        brand name is this brand's, or the post names no other brand."""
        text = m.text
        others = self._others(text)
        if not others:
            return m.watch
        own = [x.start() for x in self.own_names.finditer(text)] if self.own_names else []
        kept = []
        for term, at in watchlist.spans(text):
            near_own = min((abs(p - at) for p in own), default=None)
            near_other = min(abs(p - at) for p in others)
            if near_own is not None and near_own <= near_other and term not in kept:
                kept.append(term)
        return tuple(sorted(t for t in kept if t in m.watch))

    def _others(self, text: str) -> list[int]:
        """Where the text names another brand: a configured brand's name, or a cashtag
        that is not this brand's."""
        at = [x.start() for x in _CASHTAG.finditer(text)
              if "$" + x.group(1).lower() != self.own_cashtag]
        if self.other_names is not None:
            at += [x.start() for x in self.other_names.finditer(text)]
        return at


@dataclass
class Lenses:
    """Every configured brand's names, and a lens per brand made on first use."""

    names: Mapping[str, BrandNames] = field(default_factory=dict)
    _lenses: dict[str, BrandLens] = field(init=False, default_factory=dict)

    def lens(self, brand: str) -> BrandLens:
        lens = self._lenses.get(brand)
        if lens is None:
            own = self.names.get(brand, BrandNames())
            mine = _phrases(brand, own)
            others = set().union(*(_phrases(b, n) for b, n in self.names.items()
                                   if b != brand)) - mine
            lens = self._lenses[brand] = BrandLens(
                brand=brand,
                owned=frozenset(h.lstrip("@").lower() for h in own.owned) or _NO_HANDLES,
                own_names=_pattern(mine),
                other_names=_pattern(p for p in others if not p.startswith("$")),
                own_cashtag="$" + brand.lower())
        return lens
