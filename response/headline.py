"""An incident's headline in the words a crisis room uses.

The detector's summary leads with the evidence a statistician checks ("p = 1.4e-113");
the person on call first needs what kind of trouble it is, how big, about what, and how
angry: "Outage complaints: 7.9x the usual volume, #northwinddown, 53% negative". This
is that line, a pure function of the incident document (its ``kinds`` and
``explanation``), so the dashboard, the API and every message say the same thing. The
statistics stay in the explanation, under the headline.

>>> headline({"kinds": ["volume", "hashtag"], "explanation": {"tone": "negative",
...     "lift": 7.94, "observed": 127, "expected": 16.0, "negative_share": 0.53,
...     "hashtags": [{"tag": "northwinddown", "count": 80, "lift": None}],
...     "top_terms": [["outage", 40], ["app", 30]]}})
'Outage complaints: 7.9× the usual volume, #northwinddown, 53% negative'
"""

from __future__ import annotations

import re
from typing import Any

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


def headline(incident: dict[str, Any]) -> str:
    """``<what>: <how much>, <about what>, <how negative>`` (the parts it has)."""
    ex = incident.get("explanation") or {}
    kinds = list(incident.get("kinds") or [])
    parts = [p for p in (_volume(ex, kinds), _tag(ex), _tone(ex)) if p]
    return f"{_subject(ex, kinds)}: {', '.join(parts)}" if parts else _subject(ex, kinds)


def _words(ex: dict[str, Any]) -> list[str]:
    """The incident's characteristic words, strongest first."""
    words = [str(t).lower() for t, *_ in ex.get("top_terms") or []]
    words += [str(h.get("tag", "")).lower() for h in ex.get("hashtags") or []]
    words += [str(t).lower() for topic in ex.get("topics") or []
              for t in topic.get("terms") or []]
    return words


def _category(ex: dict[str, Any]) -> str | None:
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


def _subject(ex: dict[str, Any], kinds: list[str]) -> str:
    quiet = QUIET_SUBJECTS.get(ex.get("quiet_kind") or "")
    if quiet:
        return quiet
    hits = ex.get("watchlist_hits") or []
    if hits:
        return f"Watchlist: “{hits[0].get('term', '?')}”"
    tone = ex.get("tone")
    if tone == "positive":
        return "Praise and buzz"
    if tone == "negative" or kinds == ["sentiment"]:
        category = _category(ex)
        return f"{category} complaints" if category else "Complaints"
    if "silence" in kinds:
        return "Mentions stopped"
    return "Attention spike"


def _volume(ex: dict[str, Any], kinds: list[str]) -> str | None:
    lift, observed = ex.get("lift"), ex.get("observed")
    if not isinstance(lift, (int, float)) or not ({"volume", "hashtag"} & set(kinds)):
        return None
    if lift < 1:
        return f"{lift:.0%} of the usual volume"
    if not ex.get("expected"):  # nothing expected: a ratio says nothing
        return f"{observed} mentions where none are usual"
    return f"{lift:.1f}× the usual volume" if lift < 10 else f"{lift:,.0f}× the usual volume"


def _tag(ex: dict[str, Any]) -> str | None:
    """The hashtag the burst is about: the one furthest above its own baseline (a new
    one first), else the most frequent."""
    tags = ex.get("hashtags") or []
    if tags:
        best = max(tags, key=lambda t: (t.get("lift") is None, t.get("lift") or 0,
                                        t.get("count", 0)))
        return f"#{best.get('tag')}"
    top = ex.get("top_hashtags") or []
    return f"#{top[0][0]}" if top else None


def _tone(ex: dict[str, Any]) -> str | None:
    tone, neg = ex.get("tone"), ex.get("negative_share")
    if tone == "unknown":
        return "tone unclear"
    if tone == "positive" and isinstance(ex.get("positive_share"), (int, float)):
        return f"{ex['positive_share']:.0%} positive"
    return f"{neg:.0%} negative" if isinstance(neg, (int, float)) else None
