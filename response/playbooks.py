"""Playbooks: which incident goes to whom, and the conditions that decide it.

A playbook is what a crisis team or a contact center agreed on in advance ("any report
of an adverse drug reaction goes to pharmacovigilance within an hour"). Matching is a
pure function of the incident document, so the same rules give the same answer in the
worker, in the API and in a test fed a dictionary. Every condition that is set must
hold; a list inside a condition matches when any of its entries does. A condition over
a field the incident does not carry (older detectors emit no ``watchlist_hits`` or
``topics``) does not match: a playbook never fires on evidence that is not there.

The types are plain frozen dataclasses; reading and validating the YAML file is the
composition root's job (``crisiswatch/playbook_file.py``).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any

from crisiswatch.detectors.types import SEVERITY_RANK, Severity

NEGATIVE_BELOW = -0.05  # VADER's convention for a negative compound score


@dataclass(frozen=True)
class Destination:
    """A webhook receiver: the URL is operator configuration, never user input.

    ``format`` is ``json``, ``slack``, ``teams`` (an Adaptive Card), ``pagerduty``
    (Events API v2, with its ``routing_key``) or ``email`` (``url`` is ``smtp://`` or
    ``smtps://``, with ``sender`` and ``to``); ``incident_url`` is a link to the incident
    for people (``{id}`` is replaced), shown where the format has links."""

    name: str
    url: str
    format: str = "json"
    routing_key: str = ""
    sender: str = ""
    to: tuple[str, ...] = ()
    incident_url: str = ""

    def link(self, incident_id: str) -> str | None:
        return self.incident_url.replace("{id}", incident_id) if self.incident_url else None


@dataclass(frozen=True)
class Action:
    """One thing a playbook does: ``webhook`` (target = destination name), ``assign``
    (target = team or person) or ``staffing`` (advice; target unused)."""

    kind: str
    target: str | None = None


@dataclass(frozen=True)
class AuthorCondition:
    min_followers: int
    complaint: bool = False  # the author's own post reads negative


@dataclass(frozen=True)
class Conditions:
    brands: tuple[str, ...] = ()  # globs, case-insensitive
    kinds: tuple[str, ...] = ()
    min_severity: Severity | None = None
    keywords: tuple[str, ...] = ()  # in terms, tags, watchlist hits, topics; * = any letters
    watchlist: tuple[str, ...] = ()  # globs over watchlist hit terms; "*" = any hit
    author: AuthorCondition | None = None
    min_reach: int | None = None
    min_negative_share: float | None = None
    topic_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Playbook:
    name: str
    description: str = ""
    when: Conditions = field(default_factory=Conditions)
    auto: bool = True  # False: only activated by hand
    actions: tuple[Action, ...] = ()
    respond_within_minutes: float | None = None
    escalation: tuple[tuple[Action, ...], ...] = ()  # one step each time the clock runs out

    @property
    def destinations(self) -> set[str]:
        steps = (self.actions, *self.escalation)
        return {a.target for step in steps for a in step if a.kind == "webhook" and a.target}

    def destinations_through(self, step: int) -> list[str]:
        """Destinations of the steps run so far (0: the first actions), in order, once."""
        steps = (self.actions, *self.escalation[:step])
        seen = [a.target for s in steps for a in s if a.kind == "webhook" and a.target]
        return list(dict.fromkeys(seen))


@dataclass(frozen=True)
class PlaybookSet:
    playbooks: tuple[Playbook, ...] = ()
    destinations: dict[str, Destination] = field(default_factory=dict)
    source: str = ""  # the file they came from, for messages

    def get(self, name: str) -> Playbook | None:
        return next((p for p in self.playbooks if p.name == name), None)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.playbooks]


def matches(playbook: Playbook, incident: dict[str, Any]) -> list[str] | None:
    """Why the playbook applies to the incident (one reason per condition), or None."""
    c = playbook.when
    ex = incident.get("explanation") or {}
    reasons: list[str] = []
    checks = (
        _brand(c, incident), _kinds(c, incident), _severity(c, incident),
        _keywords(c, ex), _watchlist(c, ex), _author(c, ex), _reach(c, ex),
        _negative_share(c, ex), _topic_terms(c, ex),
    )
    for verdict in checks:
        if verdict is False:
            return None
        if isinstance(verdict, str):
            reasons.append(verdict)
    return reasons or ["no conditions: matches every incident"]


# Each check returns None (condition not set), False (no match) or the reason it holds.
Verdict = str | bool | None


def _brand(c: Conditions, incident: dict[str, Any]) -> Verdict:
    if not c.brands:
        return None
    brand = str(incident.get("brand", ""))
    hit = next((g for g in c.brands if fnmatch.fnmatchcase(brand.lower(), g.lower())), None)
    return f"brand {brand!r} matches {hit!r}" if hit else False


def _kinds(c: Conditions, incident: dict[str, Any]) -> Verdict:
    if not c.kinds:
        return None
    hit = [k for k in incident.get("kinds") or [] if k in c.kinds]
    return f"kind {', '.join(hit)}" if hit else False


def _severity(c: Conditions, incident: dict[str, Any]) -> Verdict:
    if c.min_severity is None:
        return None
    sev = incident.get("severity")
    if sev not in SEVERITY_RANK:
        return False
    ok = SEVERITY_RANK[sev] >= SEVERITY_RANK[c.min_severity]
    return f"severity {sev} >= {c.min_severity}" if ok else False


def _pattern(keyword: str) -> re.Pattern[str]:
    """A keyword as a whole-word, lower-case pattern: "cancel*" also matches
    "cancelled", "#*down" any hashtag that ends in "down"."""
    word = keyword.lower().lstrip("#")
    head = r"[\w-]*" if word.startswith("*") else ""
    tail = r"[\w-]*" if word.endswith("*") else ""
    return re.compile(rf"(?<!\w){head}{re.escape(word.strip('*'))}{tail}(?!\w)")


def _posts(ex: dict[str, Any]) -> list[dict[str, Any]]:
    """The mentions an incident quotes: its examples and its loudest complaints."""
    return [*(ex.get("examples") or []), *(ex.get("loudest_complaints") or [])]


def _keywords(c: Conditions, ex: dict[str, Any]) -> Verdict:
    """Keywords are looked for in the words that characterise the incident as a whole
    (top terms and hashtags, watchlist hits, topic terms), not in one quoted post: one
    "not working" among fifty cancellation complaints is not an outage storm."""
    if not c.keywords:
        return None
    tags = [str(t).lower() for t, *_ in ex.get("top_hashtags") or []]
    texts = [*tags]
    texts += [str(t).lower() for t, *_ in ex.get("top_terms") or []]
    texts += [str(h.get("term", "")).lower() for h in ex.get("watchlist_hits") or []]
    texts += [str(t).lower() for topic in ex.get("topics") or []
              for t in topic.get("terms") or []]
    for kw in c.keywords:
        pattern = _pattern(kw)
        pool = tags if kw.startswith("#") else texts
        if any(pattern.search(t) for t in pool):
            return f"keyword {kw!r} among the incident's terms"
    return False


def _watchlist(c: Conditions, ex: dict[str, Any]) -> Verdict:
    if not c.watchlist:
        return None
    for hit in ex.get("watchlist_hits") or []:
        term = str(hit.get("term", ""))
        glob = next((g for g in c.watchlist if fnmatch.fnmatchcase(term.lower(), g.lower())),
                    None)
        if glob:
            return f"watchlist hit {term!r} ({hit.get('count', '?')}x) matches {glob!r}"
    return False


def _author(c: Conditions, ex: dict[str, Any]) -> Verdict:
    if c.author is None:
        return None
    need = c.author.min_followers
    for e in _posts(ex):
        followers = int(e.get("followers") or 0)
        sentiment = e.get("sentiment")
        if followers < need:
            continue
        if c.author.complaint and (sentiment is None or sentiment >= NEGATIVE_BELOW):
            continue
        what = "a complaint" if c.author.complaint else "a post"
        return f"{what} by {e.get('handle') or 'an author'} with {followers:,} followers"
    if not c.author.complaint and int(ex.get("max_followers") or 0) >= need:
        return f"an author with {int(ex['max_followers']):,} followers (>= {need:,})"
    return False


def _at_least(need: float | None, have: Any, reason: str) -> Verdict:
    """A minimum: None without one, False when ``have`` is missing or below it, else
    ``reason`` formatted with ``have`` and ``need``."""
    if need is None:
        return None
    if have is None or have < need:
        return False
    return reason.format(have=have, need=need)


def _reach(c: Conditions, ex: dict[str, Any]) -> Verdict:
    return _at_least(c.min_reach, ex.get("reach"), "reach {have:,} >= {need:,}")


def _negative_share(c: Conditions, ex: dict[str, Any]) -> Verdict:
    return _at_least(c.min_negative_share, ex.get("negative_share"),
                     "{have:.0%} negative >= {need:.0%}")


def _topic_terms(c: Conditions, ex: dict[str, Any]) -> Verdict:
    if not c.topic_terms:
        return None
    wanted = {t.lower() for t in c.topic_terms}
    for topic in ex.get("topics") or []:
        hit = wanted & {str(t).lower() for t in topic.get("terms") or []}
        if hit:
            return f"topic {topic.get('id', '?')} about {', '.join(sorted(hit))}"
    return False
