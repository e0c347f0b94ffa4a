"""An incident's headline in the words a crisis room uses.

The detector's summary leads with the evidence a statistician checks ("p = 1.4e-113");
the person on call first needs what kind of trouble it is, how big, about what, and how
angry: "Outage complaints: 7.9x the usual volume, #northwinddown, 53% negative". This
is that line, a pure function of the incident (its ``kinds`` and ``explanation``),
stored with each version (``StoreWriter.incident``), so the dashboard, the API and
every message say the same thing. The statistics stay in the explanation, under the
headline.
"""

from __future__ import annotations

import re
from typing import Any

from crisiswatch.detectors.types import Explanation, Incident

# What people complain about, told by the incident's characteristic words: the first
# category with a word among its top terms, hashtags or topic terms names the headline.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Safety", ("recall", "injury", "injured", "unsafe", "sick", "poisoning", "fire",
                "explosion", "emergency", "crash landing", "adverse")),
    ("Outage", ("outage", "down", "offline", "not working", "broken", "crash", "crashed",
                "crashing", "error", "errors", "login", "cant login", "unavailable")),
    ("Delay", ("delay", "delayed", "delays", "cancelled", "canceled", "cancellation",
               "late", "stuck", "stranded", "missed")),
    ("Billing", ("refund", "charge", "charged", "bill", "billing", "fee", "fees",
                 "overcharged", "price", "payment")),
    ("Baggage", ("bag", "bags", "baggage", "luggage", "lost")),
    ("Service", ("service", "hold", "rude", "agent", "support", "wait", "waiting",
                 "customer service", "nobody", "ignored")),
)


def headline(incident: Incident) -> str:
    """``<what>: <how much>, <about what>, <how negative>`` (the parts it has)."""
    ex, kinds = incident.explanation, incident.kinds
    parts = [p for p in (_volume(ex, kinds), _tag(ex), _tone(ex)) if p]
    return f"{_subject(ex, kinds)}: {', '.join(parts)}" if parts else _subject(ex, kinds)


def stored_headline(doc: dict[str, Any]) -> str:
    """The headline stored with an incident document; for one stored before headlines
    were, made now; none for a document that holds no incident (a vanished one's id)."""
    if doc.get("headline"):
        return str(doc["headline"])
    return headline(Incident.from_dict(doc)) if "explanation" in doc else ""


def _words(ex: Explanation) -> list[str]:
    """The incident's characteristic words, strongest first."""
    words = [t.lower() for t, _ in ex.top_terms]
    words += [h.tag.lower() for h in ex.hashtags]
    words += [t.lower() for topic in ex.topics for t in topic.terms]
    return words


def _category(ex: Explanation) -> str | None:
    words = _words(ex)
    for name, cues in CATEGORIES:
        for cue in cues:
            pattern = re.compile(rf"(?<![a-z]){re.escape(cue)}(?![a-z])")
            if any(pattern.search(w) or w.endswith(cue) for w in words):  # "#appdown"
                return name
    return None


# What an incident that pages nobody is, by why (``explanation.quiet_kind``)
QUIET_SUBJECTS = {"own": "Your own post being shared", "spam": "Spam",
                  "few accounts": "A few accounts posting over and over",
                  "few voices": "Few people", "quiet term": "A routine burst",
                  "marked noise": "Marked noise before"}


def _subject(ex: Explanation, kinds: tuple[str, ...]) -> str:
    quiet = QUIET_SUBJECTS.get(ex.quiet_kind or "")
    if quiet:
        return quiet
    if ex.watchlist_hits:
        return f"Watchlist: “{ex.watchlist_hits[0].term}”"
    if ex.tone == "positive":
        return "Praise and buzz"
    if ex.tone == "negative" or kinds == ("sentiment",):
        category = _category(ex)
        return f"{category} complaints" if category else "Complaints"
    if "silence" in kinds:
        return "Mentions stopped"
    return "Attention spike"


def _volume(ex: Explanation, kinds: tuple[str, ...]) -> str | None:
    lift = ex.lift
    if not ({"volume", "hashtag"} & set(kinds)):
        return None
    if lift < 1:
        return f"{lift:.0%} of the usual volume"
    if not ex.expected:  # nothing expected: a ratio says nothing
        return f"{ex.observed} mentions where none are usual"
    return f"{lift:.1f}× the usual volume" if lift < 10 else f"{lift:,.0f}× the usual volume"


def _tag(ex: Explanation) -> str | None:
    """The hashtag the burst is about: the one furthest above its own baseline (a new
    one first), else the most frequent."""
    if ex.hashtags:
        best = max(ex.hashtags, key=lambda t: (t.lift is None, t.lift or 0, t.count))
        return f"#{best.tag}"
    return f"#{ex.top_hashtags[0][0]}" if ex.top_hashtags else None


def _tone(ex: Explanation) -> str | None:
    if ex.tone == "unknown":
        return "tone unclear"
    if ex.tone == "positive":
        return f"{ex.positive_share:.0%} positive"
    return f"{ex.negative_share:.0%} negative"
