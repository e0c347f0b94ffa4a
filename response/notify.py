"""Webhook bodies: what a receiver gets when a playbook activates or escalates.

The body is rendered once, when the message is queued, and stored with it: every
retry sends the same bytes under the same idempotency key, so a receiver can drop a
repeat by its key and verify the signature over exactly what it received.

Formats: ``json`` (the whole story, for machines and ticketing systems), ``slack``
(an incoming-webhook message: ``text`` plus Block Kit ``blocks``), ``teams`` (a
Microsoft Teams incoming-webhook / Workflows message carrying an Adaptive Card),
``pagerduty`` (a PagerDuty Events API v2 alert event whose ``dedup_key`` is the incident
id, so that every message about one incident lands on one PagerDuty alert, and
``follow_up`` gives its ``acknowledge`` and ``resolve``) and ``email`` (the message's
envelope and text as JSON; the delivery worker speaks SMTP).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from crisiswatch.detectors.timefmt import iso, minute
from crisiswatch.response.headline import stored_headline
from crisiswatch.response.playbooks import Destination

SEVERITY_MARK = {"critical": ":rotating_light:", "warning": ":warning:",
                 "info": ":information_source:"}


def when(ts: float | None) -> str:
    """A time in a message, for people (``-``: none)."""
    return "-" if ts is None else minute(ts)


def incident_digest(incident: dict[str, Any]) -> dict[str, Any]:
    """The incident as a receiver needs it: identity, severity and the explanation."""
    keys = ("id", "brand", "kinds", "severity", "state", "first_window", "last_window",
            "window_s", "updated_window", "explanation")
    return {k: incident[k] for k in keys if k in incident}


def render(dest: Destination, *, event: str, key: str, incident: dict[str, Any],
           playbook: str, description: str, step: int, actor: str, note: str,
           reasons: list[str], respond_by: float | None, staffing: dict[str, Any] | None,
           assignee: str | None) -> str:
    """The request body for one message, as text (stored and signed as is)."""
    if dest.format in ("slack", "teams", "email"):
        text = _Text(event=event, incident=incident, playbook=playbook, step=step,
                     actor=actor, note=note, reasons=reasons, respond_by=respond_by,
                     staffing=staffing, assignee=assignee, link=dest.link(_id(incident)))
        return {"slack": _slack, "teams": _teams, "email": _email}[dest.format](text, dest)
    if dest.format == "pagerduty":
        return _pagerduty(dest, incident=incident, key=key, playbook=playbook, step=step,
                          reasons=reasons, respond_by=respond_by, staffing=staffing,
                          assignee=assignee)
    body = {
        "event": event,
        "idempotency_key": key,
        "playbook": {"name": playbook, "description": description, "step": step},
        "actor": actor,
        "note": note,
        "reasons": reasons,
        "respond_by": respond_by,
        "assignee": assignee,
        "staffing": staffing,
        "incident": incident_digest(incident),
    }
    return orjson.dumps(body).decode()


def _id(incident: dict[str, Any]) -> str:
    return str(incident.get("id", "?"))


@dataclass(frozen=True)
class _Text:
    """What the human formats (Slack, Teams, e-mail) say, worded once for all three."""

    event: str
    incident: dict[str, Any]
    playbook: str
    step: int
    actor: str
    note: str
    reasons: list[str]
    respond_by: float | None
    staffing: dict[str, Any] | None
    assignee: str | None
    link: str | None

    @property
    def severity(self) -> str:
        return str(self.incident.get("severity", "info"))

    def head(self, mark: str = "", bold: str = "") -> str:
        """``[CRITICAL] Acme: playbook noc activated (step 1)``; ``bold`` wraps the name."""
        what = "escalated" if self.event == "playbook.escalated" else "activated"
        return (f"{mark}[{self.severity.upper()}] {self.incident.get('brand', '?')}: playbook "
                f"{bold}{self.playbook}{bold} {what}"
                + (f" (step {self.step})" if self.step else ""))

    @property
    def summary(self) -> str:
        """The headline in plain words, then the detector's own line."""
        said = (self.incident.get("explanation") or {}).get("summary") or "(no summary)"
        return f"{stored_headline(self.incident)}\n{said}"

    @property
    def why(self) -> str | None:
        return "; ".join(self.reasons) if self.reasons else None

    def facts(self) -> list[tuple[str, str]]:
        return [("Kinds", ", ".join(self.incident.get("kinds") or [])),
                ("Respond by", when(self.respond_by)),
                ("Assignee", self.assignee or "unassigned"),
                ("Incident", _id(self.incident))]


def _slack(t: _Text, dest: Destination) -> str:
    head = t.head(f"{SEVERITY_MARK.get(t.severity, '')} ", bold="*")
    lines = [t.summary]
    if t.why:
        lines.append("Why: " + t.why)
    if t.note:
        lines.append(f"Note from {t.actor}: {t.note}")
    fields = [f"*{k}:* {f'`{v}`' if k == 'Incident' else v}" for k, v in t.facts()]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": head}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    if t.staffing:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"Staffing: {t.staffing['summary']}"}]})
    return orjson.dumps({"text": f"{head}\n{lines[0]}", "blocks": blocks}).decode()


TEAMS_COLOR = {"critical": "Attention", "warning": "Warning", "info": "Accent"}


def _teams(t: _Text, dest: Destination) -> str:
    """An Adaptive Card (schema version 1.4, which Teams renders) in the message
    envelope that Teams incoming webhooks and Workflows accept."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": t.head(), "weight": "Bolder", "size": "Medium",
         "wrap": True, "color": TEAMS_COLOR.get(t.severity, "Default")},
        {"type": "TextBlock", "text": t.summary, "wrap": True},
        {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in t.facts()]},
    ]
    if t.why:
        body.append({"type": "TextBlock", "text": f"Why: {t.why}", "wrap": True,
                     "isSubtle": True})
    if t.note:
        body.append({"type": "TextBlock", "text": f"Note from {t.actor}: {t.note}",
                     "wrap": True})
    if t.staffing:
        body.append({"type": "TextBlock", "text": f"Staffing: {t.staffing['summary']}",
                     "wrap": True, "isSubtle": True})
    card: dict[str, Any] = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                            "type": "AdaptiveCard", "version": "1.4", "body": body,
                            "msteams": {"width": "Full"}}
    if t.link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the incident",
                            "url": t.link}]
    return orjson.dumps({"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
         "content": card}]}).decode()


def _email(t: _Text, dest: Destination) -> str:
    lines = [t.summary, ""]
    if t.why:
        lines.append(f"Why: {t.why}")
    if t.note:
        lines.append(f"Note from {t.actor}: {t.note}")
    lines += [f"{k}: {v}" for k, v in t.facts()]
    if t.staffing:
        lines.append(f"Staffing: {t.staffing['summary']}")
    if t.link:
        lines += ["", f"Open the incident: {t.link}"]
    return orjson.dumps({"from": dest.sender, "to": list(dest.to), "subject": t.head(),
                         "text": "\n".join(lines) + "\n"}).decode()


PAGERDUTY_SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}
PAGERDUTY_SUMMARY_MAX = 1024  # characters, the Events API's limit
PAGERDUTY_DEDUP_MAX = 255


def _pagerduty(dest: Destination, *, incident: dict[str, Any], key: str, playbook: str,
               step: int, reasons: list[str], respond_by: float | None,
               staffing: dict[str, Any] | None, assignee: str | None) -> str:
    """A ``trigger``: a new alert, or one more log entry on the open alert of the same
    ``dedup_key`` (an escalation step, another playbook routed here)."""
    ex = incident.get("explanation") or {}
    sev = str(incident.get("severity", "info"))
    brand = str(incident.get("brand", "?"))
    summary = f"[{sev.upper()}] {brand}: {stored_headline(incident)}"
    details = {
        "incident": _id(incident), "explanation": ex.get("summary"), "playbook": playbook,
        "step": step, "reasons": reasons,
        "observed": ex.get("observed"), "expected": ex.get("expected"),
        "lift": ex.get("lift"), "surprise": ex.get("surprise"),
        "negative_share": ex.get("negative_share"), "reach": ex.get("reach"),
        "top_hashtags": ex.get("top_hashtags"), "top_terms": ex.get("top_terms"),
        "assignee": assignee, "respond_by": when(respond_by) if respond_by else None,
        "staffing": staffing["summary"] if staffing else None, "idempotency_key": key,
    }
    at = incident.get("updated_window") or incident.get("last_window")
    event: dict[str, Any] = {
        "routing_key": dest.routing_key, "event_action": "trigger",
        "dedup_key": pagerduty_dedup_key(incident),
        "payload": {
            "summary": summary[:PAGERDUTY_SUMMARY_MAX], "source": f"crisiswatch/{brand}",
            "severity": PAGERDUTY_SEVERITY.get(sev, "info"),
            "timestamp": None if at is None else iso(at),
            "component": brand, "group": playbook,
            "class": ",".join(incident.get("kinds") or []) or "incident",
            "custom_details": {k: v for k, v in details.items() if v is not None}},
        "client": "crisiswatch",
    }
    link = dest.link(_id(incident))
    if link:
        event["client_url"] = link
        event["links"] = [{"href": link, "text": "The incident in crisiswatch"}]
    return orjson.dumps(event).decode()


def pagerduty_dedup_key(incident: dict[str, Any]) -> str:
    return _id(incident)[:PAGERDUTY_DEDUP_MAX]


def follow_up(dest: Destination, incident_id: str, action: str) -> str:
    """PagerDuty's ``acknowledge`` or ``resolve`` of the alert the triggers opened."""
    return orjson.dumps({"routing_key": dest.routing_key, "event_action": action,
                         "dedup_key": incident_id[:PAGERDUTY_DEDUP_MAX]}).decode()

