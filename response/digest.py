"""A shift's or a day's digest for a team: what it says, and how the channels the
playbooks use receive it.

The digest (incidents opened, acknowledged, resolved; response times against the
response clocks; the top complaint topics; the worst incidents by headline) is made
here from documents the caller read (``store/digest.py`` reads them, for ``GET /digest``
and for the activation worker's schedule alike), and reads in Slack, in Teams and in an
e-mail as below, pure like the incident messages of ``response/notify.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from crisiswatch.detectors.types import SEVERITY_RANK
from crisiswatch.response import kpis
from crisiswatch.response.notify import when
from crisiswatch.response.playbooks import Destination

FORMATS = ("json", "slack", "teams", "email")
WORST = 5


@dataclass(frozen=True)
class Team:
    """Whose digest: the incidents of these playbooks (none: every incident)."""

    name: str
    playbooks: tuple[str, ...] = ()

    def handles(self, incident: dict[str, Any]) -> bool:
        return not self.playbooks or bool({p["name"] for p in incident["playbooks"]}
                                          & set(self.playbooks))


def document(team: Team, start: float, end: float, incidents: list[dict[str, Any]],
             published: dict[str, float], topics: list[dict[str, Any]],
             now: float) -> dict[str, Any]:
    """The digest of ``incidents`` (those the team handles, first seen in [start, end));
    ``published``: when each was opened (``kpis.incidents``); ``topics``: their brands'."""
    worst = sorted(incidents,
                   key=lambda a: (-SEVERITY_RANK.get(a["severity"], 0), -a["first_window"]))
    return {
        "team": team.name, "start": start, "end": end, "generated_at": now,
        "incidents": kpis.incidents(incidents, published),
        "sla": kpis.sla(incidents, now),
        "top_topics": kpis.top_topics(topics, start, end),
        "worst": [{"id": a["id"], "brand": a["brand"], "severity": a["severity"],
                   "state": a["state"], "headline": a.get("headline", "")}
                  for a in worst[:WORST]],
    }


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.0f} min"


def lines(d: dict[str, Any]) -> list[tuple[str, str]]:
    """The figures, worded once for every format: (label, value)."""
    i, sla = d["incidents"], d["sla"]
    tta = i["time_to_acknowledge"]
    compliance = "-" if sla["compliance"] is None else f"{sla['compliance']:.0%}"
    return [
        ("Opened", f"{i['total']} ({i['by_severity']['critical']} critical, "
                   f"{i['by_severity']['warning']} warning, {i['by_severity']['info']} info)"),
        ("Acknowledged", str(i["acknowledged"])),
        ("Resolved", f"{i['resolved_by_people'] + i['resolved_by_detector']} "
                     f"({i['resolved_by_people']} by people)"),
        ("Still open", str(i["open"])),
        ("Time to acknowledge", f"median {_minutes(tta['median_s'])}, "
                                f"p90 {_minutes(tta['p90_s'])} (n = {tta['n']})"),
        ("Response clocks", f"{sla['met']} met, {sla['breached']} missed, "
                            f"{sla['pending']} running ({compliance} in time)"),
    ]


def title(d: dict[str, Any]) -> str:
    return (f"crisiswatch digest for {d['team']}: {when(d['start'])} to {when(d['end'])}")


def _topics(d: dict[str, Any]) -> list[str]:
    return [f"{' · '.join(t['terms'][:4])} ({t['mentions']} mentions)"
            for t in d["top_topics"]]


def _worst(d: dict[str, Any]) -> list[str]:
    return [f"[{a['severity'].upper()}] {a['brand']}: {a['headline']} ({a['state']})"
            for a in d["worst"]]


def render(dest: Destination, d: dict[str, Any]) -> str:
    """The request body of the digest for ``dest`` (as ``response.notify.render``)."""
    if dest.format == "slack":
        return _slack(d)
    if dest.format == "teams":
        return _teams(d)
    if dest.format == "email":
        return _email(dest, d)
    return orjson.dumps({"event": "digest", "digest": d}).decode()


def _slack(d: dict[str, Any]) -> str:
    facts = [f"*{k}:* {v}" for k, v in lines(d)]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title(d)[:150]}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in facts]},
    ]
    if d["top_topics"]:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text":
                       "*Top complaint topics*\n" + "\n".join(f"• {t}" for t in _topics(d))}})
    if d["worst"]:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text":
                       "*Incidents*\n" + "\n".join(f"• {w}" for w in _worst(d))}})
    text = f"{title(d)}\n" + "; ".join(f"{k}: {v}" for k, v in lines(d)[:3])
    return orjson.dumps({"text": text, "blocks": blocks}).decode()


def _teams(d: dict[str, Any]) -> str:
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": title(d), "weight": "Bolder", "size": "Medium",
         "wrap": True},
        {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in lines(d)]},
    ]
    for head, items in (("Top complaint topics", _topics(d)), ("Incidents", _worst(d))):
        if items:
            body.append({"type": "TextBlock", "text": head, "weight": "Bolder", "wrap": True})
            body.append({"type": "TextBlock", "text": "\n".join(f"- {x}" for x in items),
                         "wrap": True})
    card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard", "version": "1.4", "body": body, "msteams": {"width": "Full"}}
    return orjson.dumps({"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
         "content": card}]}).decode()


def _email(dest: Destination, d: dict[str, Any]) -> str:
    text = [title(d), ""] + [f"{k}: {v}" for k, v in lines(d)]
    for head, items in (("Top complaint topics", _topics(d)), ("Incidents", _worst(d))):
        if items:
            text += ["", f"{head}:"] + [f"  - {x}" for x in items]
    return orjson.dumps({"from": dest.sender, "to": list(dest.to), "subject": title(d),
                         "text": "\n".join(text) + "\n"}).decode()
