"""What teams said of past incidents, as the detectors use it: a pattern marked noise
is not paged again.

A team that reads an incident and marks it ``noise`` (spam, the brand's own content,
the wrong brand, routine) is telling the tool what to stop paging for, without editing
YAML. The incident's *pattern* is what it was about: the hashtags and watch terms that
fired, the hashtags it was made of, and its topics' words. When a later incident of the
same brand shares a term, or two words of a topic, with a pattern marked noise, it is
reported as ``info`` and its summary says who marked what, and why. Feedback never
crosses brands: one team's triage is no other team's rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

VERDICTS = ("useful", "noise")
REASONS = ("spam", "own content", "wrong brand", "routine", "other")
PATTERN_TAGS = 3  # the incident's most frequent hashtags that belong to its pattern
PATTERN_TAG_MIN = 5  # ... with at least this many mentions
TOPIC_OVERLAP = 2  # words a topic must share with a noise topic to be the same


@dataclass(frozen=True)
class Pattern:
    """What an incident was about: its terms (hashtags as "#tag", watch terms as the
    watchlist writes them) and its topics' words."""

    terms: frozenset[str] = frozenset()
    topic_words: frozenset[str] = frozenset()

    def same_as(self, other: Pattern) -> str | None:
        """What this pattern shares with ``other`` that makes them the same (None: not)."""
        shared = sorted(self.terms & other.terms)
        if shared:
            return ", ".join(shared)
        words = sorted(self.topic_words & other.topic_words)
        if len(words) >= TOPIC_OVERLAP:
            return "topic words " + ", ".join(words)
        return None

    def to_dict(self) -> dict[str, list[str]]:
        return {"terms": sorted(self.terms), "topic_words": sorted(self.topic_words)}


@dataclass(frozen=True)
class NoiseMark:
    """A pattern a team marked noise for a brand: who, why, on which incident."""

    pattern: Pattern
    reason: str
    incident: str
    actor: str | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NoiseMark:
        p = d.get("pattern") or {}
        return cls(Pattern(frozenset(p.get("terms", ())), frozenset(p.get("topic_words", ()))),
                   d.get("reason") or "other", d["incident"], d.get("actor"))


def pattern(signals: Iterable[Mapping[str, Any]], hashtags: Iterable[tuple[str, int]]
            ) -> Pattern:
    """An incident's pattern from its signals (as dicts: ``kind`` and ``details``) and
    its hashtags with their counts, most frequent first.

    >>> sorted(pattern([{"kind": "hashtag", "details": {"term": "#win"}},
    ...                 {"kind": "topic", "details": {"terms": ["free", "prize"]}}],
    ...                [("win", 40), ("acme", 9), ("x", 1)]).terms)
    ['#acme', '#win']
    """
    terms: set[str] = set()
    words: set[str] = set()
    for s in signals:
        details = s.get("details") or {}
        if s.get("kind") in ("hashtag", "keyword") and details.get("term"):
            terms.add(details["term"])
        elif s.get("kind") == "topic":
            words.update(details.get("terms") or ())
    frequent = [t for t, n in hashtags if n >= PATTERN_TAG_MIN][:PATTERN_TAGS]
    terms.update("#" + t for t in frequent)
    return Pattern(frozenset(terms), frozenset(words))


def marked(p: Pattern, marks: Iterable[NoiseMark]) -> str | None:
    """Why an incident of pattern ``p`` pages nobody: the first noise mark it repeats."""
    for mark in marks:
        same = p.same_as(mark.pattern)
        if same:
            who = f" by {mark.actor}" if mark.actor else ""
            return (f"marked noise ({mark.reason}){who} on incident {mark.incident}, "
                    f"which had the same {same}")
    return None
