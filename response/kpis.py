"""Social-care KPIs of one brand over one period, from what the store keeps: the window
series, the incidents with their lifecycle, and the complaint topics.

Two clocks, never mixed in one difference:

- **Event time** (the mentions' own timestamps) places things in the period and measures
  the crisis itself: which windows and incidents belong to the period, mention volume,
  and an incident's *duration* (its first window's start to its last window's end).
- **Wall time** (the server's clock when something happened) measures the people: when
  crisiswatch published the incident (``incident.opened``, stamped by Redis), when
  someone acknowledged or resolved it, when a playbook's response clock started and ran
  out. *Time to acknowledge* and *time to resolve* run from publication to the person's
  action.

Subtracting a window's event time from a person's wall time would be meaningless in a
replay (windows from 2015, people acting today) and wrong even live, where it would
charge the team for the detector's own delay (the window length plus the lateness
allowance). All functions here are pure: they take documents and return numbers.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from crisiswatch.detectors.types import SEVERITY_ORDER

SYSTEM_ACTORS = frozenset({"crisiswatch", "sla-timer"})  # not people: response.lifecycle


def quantiles(values: Iterable[float]) -> dict[str, Any]:
    """Count, median and 90th percentile (linear between ranks, as numpy's default);
    ``None`` for an empty sample rather than a misleading zero."""
    xs = sorted(values)
    if not xs:
        return {"n": 0, "median_s": None, "p90_s": None}
    return {"n": len(xs), "median_s": round(_rank(xs, 0.5), 3),
            "p90_s": round(_rank(xs, 0.9), 3)}


def _rank(xs: list[float], q: float) -> float:
    pos = (len(xs) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def volume(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Mentions and negative share over the period's windows, against what the baseline
    expected. A window's negative share is over its mentions of readable tone (not the
    handle lists, bare links and other languages counted in ``unknown_share``), so each
    window weighs by those: weighted by all its mentions, a storm of unreadable posts
    would lend its share of the readable few to the whole period."""
    mentions = sum(p["count"] for p in points)
    # (readable mentions, negative share, its baseline) of each window
    read = [(p["count"] * (1 - (p.get("unknown_share") or 0.0)), p["negative_share"],
             p.get("negative_share_baseline")) for p in points]
    read_n = sum(n for n, _, _ in read)
    base_n = sum(n for n, _, b in read if b is not None)
    peak = max(points, key=lambda p: (p["count"], -p["window_start"]), default=None)
    return {
        "mentions": mentions,
        "windows": len(points),
        "expected": round(sum(p["expected"] for p in points), 2),
        "negative_share": round(sum(n * share for n, share, _ in read) / read_n, 4)
        if read_n else None,
        "negative_share_baseline": round(sum(n * b for n, _, b in read if b is not None)
                                         / base_n, 4) if base_n else None,
        "anomalous_windows": sum(bool(p["anomalous"]) for p in points),
        "peak": {"window_start": peak["window_start"], "count": peak["count"],
                 "expected": peak["expected"]} if peak else None,
    }


def _people(audit: list[dict[str, Any]], action: str) -> float | None:
    """When a person (not the system or a response clock) first did ``action``."""
    times = [e["at"] for e in audit
             if e.get("action") == action and e.get("actor") not in SYSTEM_ACTORS]
    return min(times) if times else None


def incidents(docs: list[dict[str, Any]], published: dict[str, float]) -> dict[str, Any]:
    """Counts by severity, kind and outcome; response times on the wall clock from
    ``published`` (incident id -> publication time); durations in event time."""
    to_ack, to_resolve, durations = [], [], []
    resolved_people = resolved_detector = acknowledged = unmeasured = 0
    for d in docs:
        acked = (d.get("sla") or {}).get("acknowledged_at")
        resolved = _people(d.get("audit", []), "resolved")
        acknowledged += acked is not None
        if resolved is not None:
            resolved_people += 1
        elif d.get("detector_state", d["state"]) == "resolved":
            resolved_detector += 1
        if d.get("detector_state", d["state"]) == "resolved":
            durations.append(d["last_window"] + d["window_s"] - d["first_window"])
        start = published.get(d["id"])
        if start is None:
            unmeasured += 1
            continue
        if acked is not None:
            to_ack.append(max(0.0, acked - start))
        if resolved is not None:
            to_resolve.append(max(0.0, resolved - start))
    severity = Counter(d["severity"] for d in docs)
    return {
        "total": len(docs),
        "by_severity": {s: severity.get(s, 0) for s in SEVERITY_ORDER},
        "by_kind": dict(sorted(Counter(k for d in docs for k in d["kinds"]).items())),
        "acknowledged": acknowledged,
        "resolved_by_people": resolved_people,
        "resolved_by_detector": resolved_detector,
        "open": len(docs) - resolved_people - resolved_detector,
        "unmeasured": unmeasured,
        "time_to_acknowledge": quantiles(to_ack),
        "time_to_resolve": quantiles(to_resolve),
        "duration": quantiles(durations),
    }


def sla(docs: list[dict[str, Any]], now: float) -> dict[str, Any]:
    """Response-clock compliance: of the incidents where a playbook started a clock, the
    share that a person answered (acknowledged, or resolved) by the earliest deadline.
    A clock still running is ``pending`` and left out of the share."""
    met = breached = pending = 0
    for d in docs:
        audit = d.get("audit", [])
        deadlines = [e["respond_by"] for e in audit
                     if e.get("action") == "playbook.activated" and e.get("respond_by")]
        if not deadlines:
            continue
        deadline = min(deadlines)
        answers = [t for t in ((d.get("sla") or {}).get("acknowledged_at"),
                               _people(audit, "resolved")) if t is not None]
        answered = min(answers) if answers else None
        if answered is not None:
            met += answered <= deadline
            breached += answered > deadline
        elif now > deadline or (d.get("sla") or {}).get("breaches"):
            breached += 1
        else:
            pending += 1
    judged = met + breached
    return {"clocks": met + breached + pending, "met": met, "breached": breached,
            "pending": pending, "compliance": round(met / judged, 4) if judged else None}


def top_topics(topics: list[dict[str, Any]], start: float | None, end: float | None,
               n: int = 5) -> list[dict[str, Any]]:
    """The topics with the most mentions in the period (from each topic's per-window
    series, which keeps its latest windows; its whole size when it has none)."""
    lo = -math.inf if start is None else start
    hi = math.inf if end is None else end
    out = []
    for t in topics:
        mentions = _in_period(t, lo, hi)
        if mentions <= 0:
            continue
        out.append({"id": t["id"], "terms": [term for term, _ in t["terms"][:5]],
                    "mentions": mentions, "size": t["size"],
                    "negative_share": t["negative_share"], "growth": t["growth"],
                    "state": t["state"]})
    out.sort(key=lambda t: (-t["mentions"], -t["size"], t["id"]))
    return out[:n]


def _in_period(t: dict[str, Any], lo: float, hi: float) -> int:
    """A topic's mentions in ``[lo, hi)``: from its per-window series, which keeps its
    latest windows; its whole size when it has none; 0 when its life misses the period."""
    if t["first_window"] >= hi or t["last_window"] < lo:
        return 0
    series = t.get("series") or []
    return sum(c for w, c in series if lo <= w < hi) if series else t["size"]


def emerging_topics(topics: list[dict[str, Any]], start: float | None, end: float | None,
                    examples: int = 3) -> list[dict[str, Any]]:
    """The complaints that grew over days (the ``emerging`` flag the topic detector set
    as of the topic's last window) with mentions in the period, fastest growing first,
    each with a few example posts: what a product team reads first in a weekly report,
    even where no window was surprising enough to open an incident. The flag is the
    topic's latest: one that stopped being young since is no longer listed."""
    lo = -math.inf if start is None else start
    hi = math.inf if end is None else end
    out = []
    for t in topics:
        mentions = _in_period(t, lo, hi) if t.get("emerging") else 0
        if mentions <= 0:
            continue
        out.append({"id": t["id"], "terms": [term for term, _ in t["terms"][:5]],
                    "mentions": mentions, "size": t["size"], "growth": t["growth"],
                    "authors": t.get("authors", 0), "negative_share": t["negative_share"],
                    "first_window": t["first_window"],
                    "examples": t.get("examples", [])[:examples]})
    out.sort(key=lambda t: (-t["growth"], -t["size"], t["id"]))
    return out


def precision(docs: list[dict[str, Any]], verdicts: dict[str, dict[str, Any]]
              ) -> dict[str, Any]:
    """What the team said of the period's paging incidents (``POST /alerts/{id}/feedback``):
    how many were judged, useful, noise (by reason), and the precision, useful over
    judged, for the brand and per kind of evidence (an incident counts for each of its
    kinds). None where nothing was judged: no verdict is no evidence either way."""
    judged = [(a, verdicts[a["id"]]) for a in docs
              if a["severity"] != "info" and a["id"] in verdicts]
    useful = sum(v["verdict"] == "useful" for _, v in judged)
    reasons: dict[str, int] = {}
    per_kind: dict[str, list[int]] = {}
    for a, v in judged:
        if v["verdict"] == "noise":
            reasons[v.get("reason") or "other"] = reasons.get(v.get("reason") or "other", 0) + 1
        for kind in a["kinds"]:
            tally = per_kind.setdefault(kind, [0, 0])
            tally[0] += v["verdict"] == "useful"
            tally[1] += 1
    return {"judged": len(judged), "useful": useful, "noise": len(judged) - useful,
            "noise_reasons": dict(sorted(reasons.items())),
            "precision": round(useful / len(judged), 3) if judged else None,
            "by_kind": {k: round(u / n, 3) for k, (u, n) in sorted(per_kind.items())}}
