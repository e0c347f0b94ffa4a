"""``Lifecycle``: what people and playbooks did with an incident."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
from redis import Redis

from crisiswatch.response.headline import stored_headline
from crisiswatch.response.lifecycle import Change, Snapshot
from crisiswatch.store.events import EVENTS_KEPT
from crisiswatch.store.keys import KeySpace
from crisiswatch.store.outbox import Outbox, Timers
from crisiswatch.store.snooze import Snoozes


class Lifecycle:
    """What people and playbooks did with an incident, beside the detector's document:

    - ``p:life:{id}``  hash: state (acknowledged/escalated/resolved), assignee,
      acknowledged_at, updated
    - ``p:audit:{id}`` list: audit entries (JSON), oldest first
    - ``p:act:{id}``   hash: playbook name -> activation record (JSON)
    """

    def __init__(self, client: Redis, keys: KeySpace, outbox: Outbox, timers: Timers,
                 snoozes: Snoozes) -> None:
        """``outbox`` and ``timers`` take a change's messages and clocks in the same
        transaction; ``snoozes`` say which incidents are held back when they are read."""
        self.r = client
        self.keys = keys
        self.outbox, self.timers, self.snoozes = outbox, timers, snoozes

    def _keys(self, incident_id: str) -> tuple[str, str, str]:
        k = self.keys
        return k.life(incident_id), k.audit(incident_id), k.act(incident_id)

    def snapshot(self, incident_id: str, client: Any = None) -> Snapshot:
        life, _, act = self._keys(incident_id)
        c = client if client is not None else self.r
        return _snapshot(incident_id, c.hgetall(life), c.hgetall(act))

    def audit(self, incident_id: str) -> list[dict[str, Any]]:
        return [orjson.loads(x) for x in self.r.lrange(self._keys(incident_id)[1], 0, -1)]

    def note(self, incident_id: str, entry: dict[str, Any]) -> None:
        """Append to the audit trail without a state change (delivery outcomes)."""
        self.r.rpush(self._keys(incident_id)[1], orjson.dumps(entry))

    def merge(self, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The read model: each detector document with the people's side merged in."""
        if not docs:
            return docs
        pipe = self.r.pipeline(transaction=False)
        for doc in docs:
            life, audit, act = self._keys(doc["id"])
            pipe.hgetall(life)
            pipe.lrange(audit, 0, -1)
            pipe.hgetall(act)
        pipe.hmget(self.keys.feedback, [doc["id"] for doc in docs])
        *raw, verdicts = pipe.execute()
        snoozes = self.snoozes.covering_all(docs)
        for n, doc in enumerate(docs):
            doc["snoozed"] = snoozes[n]
            doc["feedback"] = orjson.loads(verdicts[n]) if verdicts[n] else None
            life, audit, act = raw[3 * n: 3 * n + 3]
            snap = _snapshot(doc["id"], life, act)
            doc["headline"] = stored_headline(doc)
            doc["detector_state"] = doc["state"]
            doc["state"] = snap.state or doc["state"]
            doc["assignee"] = snap.assignee
            doc["playbooks"] = list(snap.activations.values())
            due = [a["respond_by"] for a in doc["playbooks"] if a.get("respond_by") is not None]
            doc["sla"] = {"respond_by": min(due) if due else None,
                          "acknowledged_at": snap.acknowledged_at,
                          "breaches": sum(int(a.get("breaches", 0)) for a in doc["playbooks"])}
            doc["audit"] = [orjson.loads(x) for x in audit]
        return docs

    def transact(self, incident_id: str,
                 decide: Callable[[Snapshot], Change | None]) -> Change | None:
        """Read the lifecycle, let ``decide`` (pure) say what changes, and write it all
        at once; if anyone wrote the lifecycle meanwhile, read again and decide again
        (``Redis.transaction``: WATCH, read, MULTI, EXEC, again on a WatchError)."""
        life, _, act = self._keys(incident_id)

        def attempt(pipe: Any) -> Change | None:
            change = decide(self.snapshot(incident_id, pipe))
            if change is None:
                pipe.reset()  # nothing to write: unwatch, and EXEC nothing
                return None
            pipe.multi()
            self._write(pipe, incident_id, change)
            return change

        return self.r.transaction(attempt, life, act, value_from_callable=True)

    def _write(self, pipe: Any, incident_id: str, change: Change) -> None:
        life, audit, act = self._keys(incident_id)
        fields: dict[str, Any] = {"updated": time.time()}
        if change.state is not None:
            fields["state"] = change.state
        if change.assignee is not None:
            fields["assignee"] = change.assignee
        if change.acknowledged_at is not None:
            fields["acknowledged_at"] = change.acknowledged_at
        pipe.hset(life, mapping=fields)
        if change.activations:
            pipe.hset(act, mapping={k: orjson.dumps(v) for k, v in change.activations.items()})
        if change.audit:
            pipe.rpush(audit, *(orjson.dumps(e) for e in change.audit))
        self.outbox.queue(pipe, change.messages)
        for name, due in change.timers.items():
            self.timers.set(pipe, incident_id, name, due)
        for kind, data in change.events:
            pipe.xadd(self.keys.events, {"type": kind, "data": orjson.dumps(data)},
                      maxlen=EVENTS_KEPT, approximate=True)


def _snapshot(incident_id: str, life: dict[bytes, bytes], act: dict[bytes, bytes]) -> Snapshot:
    life_s = {k.decode(): v.decode() for k, v in life.items()}
    ack = life_s.get("acknowledged_at")
    return Snapshot(incident_id=incident_id, state=life_s.get("state"),
                    assignee=life_s.get("assignee"),
                    acknowledged_at=float(ack) if ack else None,
                    activations={k.decode(): orjson.loads(v) for k, v in sorted(act.items())})
