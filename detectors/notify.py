"""Webhook bodies: what a receiver gets when a playbook activates or escalates.

The body is rendered once, when the message is queued, and stored with it: every
retry sends the same bytes under the same idempotency key, so a receiver can drop a
repeat by its key and verify the signature over exactly what it received.

Two formats: ``json`` (the whole story, for machines and ticketing systems) and
``slack`` (an incoming-webhook message: ``text`` plus Block Kit ``blocks``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

SEVERITY_MARK = {"critical": ":rotating_light:", "warning": ":warning:",
                 "info": ":information_source:"}


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def incident_digest(incident: dict[str, Any]) -> dict[str, Any]:
    """The incident as a receiver needs it: identity, severity and the explanation."""
    keys = ("id", "brand", "kinds", "severity", "state", "first_window", "last_window",
            "window_s", "updated_window", "explanation")
    return {k: incident[k] for k in keys if k in incident}


def render(fmt: str, *, event: str, key: str, incident: dict[str, Any], playbook: str,
           description: str, step: int, actor: str, note: str, reasons: list[str],
           respond_by: float | None, staffing: dict[str, Any] | None,
           assignee: str | None) -> str:
    """The request body for one message, as text (stored and signed as is)."""
    if fmt == "slack":
        return _slack(event=event, incident=incident, playbook=playbook, step=step,
                      actor=actor, note=note, reasons=reasons, respond_by=respond_by,
                      staffing=staffing, assignee=assignee)
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


def _slack(*, event: str, incident: dict[str, Any], playbook: str, step: int, actor: str,
           note: str, reasons: list[str], respond_by: float | None,
           staffing: dict[str, Any] | None, assignee: str | None) -> str:
    sev = str(incident.get("severity", "info"))
    ex = incident.get("explanation") or {}
    what = "escalated" if event == "playbook.escalated" else "activated"
    head = (f"{SEVERITY_MARK.get(sev, '')} [{sev.upper()}] {incident.get('brand', '?')}: "
            f"playbook *{playbook}* {what}" + (f" (step {step})" if step else ""))
    lines = [ex.get("summary") or "(no summary)"]
    if reasons:
        lines.append("Why: " + "; ".join(reasons))
    if note:
        lines.append(f"Note from {actor}: {note}")
    fields = [
        f"*Kinds:* {', '.join(incident.get('kinds') or [])}",
        f"*Respond by:* {_when(respond_by)}",
        f"*Assignee:* {assignee or 'unassigned'}",
        f"*Incident:* `{incident.get('id', '?')}`",
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": head}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    if staffing:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"Staffing: {staffing['summary']}"}]})
    return orjson.dumps({"text": f"{head}\n{lines[0]}", "blocks": blocks}).decode()
