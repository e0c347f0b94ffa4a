"""``Snoozes``: incidents and brands that people muted for a while, from the API.

A snooze holds back what would page people (automatic playbooks and their escalation
steps) until it ends by itself; it hides nothing: the incident stays on the dashboard,
marked snoozed. The activation worker asks ``covering`` before it activates or escalates
and, when a snooze ends, looks again at the incidents it held back (``ended``).
"""

from __future__ import annotations

import time
from typing import Any, Literal

import orjson
from redis import Redis

from crisiswatch.response.lifecycle import entry
from crisiswatch.store.events import EventLog
from crisiswatch.store.keys import KeySpace

Scope = Literal["alert", "brand"]
LOG_KEPT = 1_000


class Snoozes:
    """``p:snooze``: hash, one field per [scope, target] (JSON) -> the snooze (JSON:
    scope, target, actor, reason, at, until); ``p:snooze:log``: list of every snooze,
    take-back and end, newest first (capped at ``LOG_KEPT``). An incident's own are also
    in its audit trail, and each is published (``snooze.set`` / ``snooze.ended``) for
    the live views."""

    def __init__(self, client: Redis, keys: KeySpace, events: EventLog) -> None:
        self.r = client
        self.keys = keys
        self.events = events
        self.key = keys.snoozes
        self.log_key = keys.snooze_log

    def put(self, scope: Scope, target: str, until: float, actor: str, reason: str = "",
            now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        snooze = {"scope": scope, "target": target, "actor": actor, "reason": reason,
                  "at": now, "until": until}
        self.r.hset(self.key, _field(scope, target), orjson.dumps(snooze))
        self._record(snooze, "snoozed", actor, reason, now)
        return snooze

    def remove(self, scope: Scope, target: str, actor: str, reason: str = "",
               now: float | None = None) -> dict[str, Any] | None:
        """Take a snooze back before its end; None when there was none in force."""
        now = time.time() if now is None else now
        found = self.get(scope, target, now)
        if found is None or not self.r.hdel(self.key, _field(scope, target)):
            return None
        self._record(found, "unsnoozed", actor, reason, now)
        return found

    def get(self, scope: Scope, target: str, now: float | None = None) -> dict[str, Any] | None:
        raw = self.r.hget(self.key, _field(scope, target))
        found = orjson.loads(raw) if raw else None
        return found if found and _in_force(found, now) else None

    def covering(self, incident: dict[str, Any], now: float | None = None
                 ) -> dict[str, Any] | None:
        """The snooze in force over the incident (its own or its brand's), the one that
        ends last; None when nothing holds it back."""
        return self.covering_all([incident], now)[0]

    def covering_all(self, incidents: list[dict[str, Any]], now: float | None = None
                     ) -> list[dict[str, Any] | None]:
        """``covering`` for many incidents in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        for a in incidents:
            pipe.hmget(self.key, [_field("alert", str(a.get("id"))),
                                  _field("brand", str(a.get("brand")))])
        out = []
        for raw in pipe.execute():
            found = [s for s in (orjson.loads(x) for x in raw if x) if _in_force(s, now)]
            out.append(max(found, key=lambda s: s["until"]) if found else None)
        return out

    def active(self, now: float | None = None) -> list[dict[str, Any]]:
        """Every snooze in force, ending soonest first."""
        found = [orjson.loads(x) for x in self.r.hvals(self.key)]
        return sorted((s for s in found if _in_force(s, now)), key=lambda s: s["until"])

    def ended(self, now: float | None = None) -> list[dict[str, Any]]:
        """Take out the snoozes that ran out and return them, each to one caller only
        (two workers: the HDEL decides), with ``snooze.ended`` recorded."""
        now = time.time() if now is None else now
        done = []
        for field, raw in self.r.hgetall(self.key).items():
            snooze = orjson.loads(raw)
            if not _in_force(snooze, now) and self.r.hdel(self.key, field):
                self._record(snooze, "snooze.ended", "crisiswatch", "", now)
                done.append(snooze)
        return done

    def log(self, limit: int = 100) -> list[dict[str, Any]]:
        return [orjson.loads(x) for x in self.r.lrange(self.log_key, 0, limit - 1)]

    def _record(self, snooze: dict[str, Any], action: str, actor: str, note: str,
                now: float) -> None:
        audit = entry(now, actor, action, note, scope=snooze["scope"],
                      target=snooze["target"], until=snooze["until"])
        with self.r.pipeline(transaction=True) as pipe:
            pipe.lpush(self.log_key, orjson.dumps(audit))
            pipe.ltrim(self.log_key, 0, LOG_KEPT - 1)
            if snooze["scope"] == "alert":
                pipe.rpush(self.keys.audit(snooze["target"]), orjson.dumps(audit))
            pipe.execute()
        kind = "snooze.ended" if action == "snooze.ended" else "snooze.set"
        self.events.publish(kind, {**snooze, "action": action, "actor": actor,
                                     "id": snooze["target"] if snooze["scope"] == "alert"
                                     else None})


def _field(scope: str, target: str) -> bytes:
    return orjson.dumps([scope, target])


def _in_force(snooze: dict[str, Any], now: float | None) -> bool:
    return snooze["until"] > (time.time() if now is None else now)
