"""``Feedback``: what a team said of an incident, useful or noise, and why."""

from __future__ import annotations

import time
from typing import Any

import orjson
from redis import Redis


class Feedback:
    """``p:feedback``: one field per incident, the latest verdict on it (a team may
    change its mind), with the incident's pattern copied in, so that the flow can read
    every brand's noise marks in one HVALS (``flows.routine.RoutineRefresher``) and the
    reports can count precision without reading each incident."""

    def __init__(self, r: Redis, key: str) -> None:
        self.r = r
        self.key = key

    def give(self, incident: dict[str, Any], verdict: str, reason: str | None,
             actor: str | None, note: str | None, at: float | None = None
             ) -> dict[str, Any]:
        explanation = incident.get("explanation") or {}
        entry = {"incident": incident["id"], "brand": incident["brand"],
                 "kinds": list(incident.get("kinds", ())), "severity": incident["severity"],
                 "first_window": incident.get("first_window"), "verdict": verdict,
                 "reason": reason, "actor": actor, "note": note,
                 "at": time.time() if at is None else at,
                 "pattern": explanation.get("pattern") or {}}
        return self.put(entry)

    def put(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Store a verdict as ``give`` made it (a backtest replays a team's feedback)."""
        self.r.hset(self.key, entry["incident"], orjson.dumps(entry))
        return entry

    def of(self, incident_id: str) -> dict[str, Any] | None:
        raw = self.r.hget(self.key, incident_id)
        return orjson.loads(raw) if raw else None

    def all(self, brand: str | None = None) -> list[dict[str, Any]]:
        """Every verdict (of one brand), oldest first."""
        entries = [orjson.loads(v) for v in self.r.hvals(self.key)]
        return sorted((e for e in entries if brand is None or e["brand"] == brand),
                      key=lambda e: (e["at"], e["incident"]))

    def noise(self) -> dict[str, list[dict[str, Any]]]:
        """The verdicts ``noise``, by brand."""
        out: dict[str, list[dict[str, Any]]] = {}
        for e in self.all():
            if e["verdict"] == "noise":
                out.setdefault(e["brand"], []).append(e)
        return out
