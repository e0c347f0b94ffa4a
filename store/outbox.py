"""``Outbox`` (webhook messages from queued to delivered or dead) and ``Timers``
(response clocks): what the activation worker works through."""

from __future__ import annotations

from typing import Any

import orjson
from redis import Redis

from crisiswatch.response.lifecycle import Message
from crisiswatch.store.client import Script
from crisiswatch.store.keys import KeySpace

DELIVERY_LOG_KEPT = 1_000


class Outbox:
    """Webhook messages from queued to delivered or dead, never lost on the way:

    - ``p:outbox``          hash: message id -> message (JSON) until delivered or dead
    - ``p:outbox:due``      zset: message id -> next attempt (or end of a delivery lease)
    - ``p:outbox:attempts`` hash: message id -> attempts so far
    - ``p:outbox:errors``   hash: message id -> last error
    - ``p:outbox:dead``     hash: message id -> dead letter (message, attempts, error)
    - ``p:outbox:dead_idx`` zset: message id by time of death
    - ``p:outbox:log``      list: recent outcomes, newest first (capped)
    - ``p:outbox:stats``    hash: delivered / retried / dead / redriven totals
    - ``p:worker``          hash: the activation worker's last heartbeat
    """

    def __init__(self, client: Redis, keys: KeySpace, claim: Script) -> None:
        """``claim``: the lease script (``lua/claim.lua``), shared with ``Timers``."""
        self.r = client
        self._claim = claim
        k = keys
        self.msgs, self.due = k.outbox(), k.outbox("due")
        self.attempts, self.errors = k.outbox("attempts"), k.outbox("errors")
        self.dead_h, self.dead_idx = k.outbox("dead"), k.outbox("dead_idx")
        self.log, self.counts_h = k.outbox("log"), k.outbox("stats")
        self.worker_h = k.worker

    def queue(self, pipe: Any, messages: list[Message], now: float | None = None) -> None:
        """Add messages inside the caller's transaction (due at once)."""
        for m in messages:
            pipe.hset(self.msgs, m.id, orjson.dumps(m.to_dict()))
            pipe.zadd(self.due, {m.id: now if now is not None else m.created}, nx=True)

    def enqueue(self, messages: list[Message]) -> None:
        with self.r.pipeline(transaction=True) as pipe:
            self.queue(pipe, messages)
            pipe.execute()

    def claim(self, now: float, lease_s: float, n: int) -> list[tuple[dict[str, Any], int]]:
        """Up to ``n`` due messages, leased to the caller for ``lease_s`` seconds."""
        raw = self._claim(keys=[self.due, self.msgs, self.attempts],
                            args=[now, now + lease_s, n])
        return [(orjson.loads(raw[i + 1]), int(raw[i + 2])) for i in range(0, len(raw), 3)]

    def delivered(self, msg_id: str, outcome: dict[str, Any]) -> None:
        with self.r.pipeline(transaction=True) as pipe:
            pipe.zrem(self.due, msg_id)
            pipe.hdel(self.msgs, msg_id)
            pipe.hdel(self.attempts, msg_id)
            pipe.hdel(self.errors, msg_id)
            self._logged(pipe, outcome, "delivered")
            pipe.execute()

    def waiting(self, msg_id: str) -> bool:
        """Still in the outbox (neither delivered nor dead)."""
        return bool(self.r.hexists(self.msgs, msg_id))

    def defer(self, msg_id: str, due: float) -> None:
        """Not now, and not an attempt: the claim that counted one is taken back."""
        with self.r.pipeline(transaction=True) as pipe:
            pipe.hincrby(self.attempts, msg_id, -1)
            pipe.zadd(self.due, {msg_id: due}, xx=True)
            pipe.execute()

    def retry(self, msg_id: str, due: float, error: str) -> None:
        with self.r.pipeline(transaction=True) as pipe:
            pipe.hset(self.errors, msg_id, error)
            pipe.zadd(self.due, {msg_id: due}, xx=True)
            pipe.hincrby(self.counts_h, "retried", 1)
            pipe.execute()

    def kill(self, message: dict[str, Any], attempts: int, error: str, now: float) -> None:
        """Move a message to the dead letters, where a person can see and re-drive it."""
        dead = {"message": message, "attempts": attempts, "error": error, "at": now}
        with self.r.pipeline(transaction=True) as pipe:
            pipe.zrem(self.due, message["id"])
            pipe.hdel(self.msgs, message["id"])
            pipe.hdel(self.attempts, message["id"])
            pipe.hdel(self.errors, message["id"])
            pipe.hset(self.dead_h, message["id"], orjson.dumps(dead))
            pipe.zadd(self.dead_idx, {message["id"]: now})
            self._logged(pipe, {"id": message["id"], "destination": message["destination"],
                                "attempts": attempts, "error": error, "at": now}, "dead")
            pipe.execute()

    def redrive(self, msg_id: str, now: float) -> dict[str, Any] | None:
        """Queue a dead message again, same id and body: a receiver that did get it
        before drops the repeat by its idempotency key. Optimistic (``Redis.transaction``
        watching the dead letters): a concurrent re-drive of the same message loses."""

        def attempt(pipe: Any) -> dict[str, Any] | None:
            raw = pipe.hget(self.dead_h, msg_id)
            if raw is None:
                pipe.reset()  # nothing to re-drive: unwatch, and EXEC nothing
                return None
            dead = orjson.loads(raw)
            pipe.multi()
            pipe.hdel(self.dead_h, msg_id)
            pipe.zrem(self.dead_idx, msg_id)
            pipe.hset(self.msgs, msg_id, orjson.dumps(dead["message"]))
            pipe.zadd(self.due, {msg_id: now})
            pipe.hincrby(self.counts_h, "redriven", 1)
            return dead["message"]

        return self.r.transaction(attempt, self.dead_h, value_from_callable=True)

    def _logged(self, pipe: Any, outcome: dict[str, Any], result: str) -> None:
        pipe.lpush(self.log, orjson.dumps({**outcome, "result": result}))
        pipe.ltrim(self.log, 0, DELIVERY_LOG_KEPT - 1)
        pipe.hincrby(self.counts_h, result, 1)

    def pending(self, limit: int = 100) -> list[dict[str, Any]]:
        """Queued messages, next due first, with attempts and last error."""
        rows = self.r.zrange(self.due, 0, limit - 1, withscores=True)
        if not rows:
            return []
        ids = [i for i, _ in rows]
        pipe = self.r.pipeline(transaction=False)
        pipe.hmget(self.msgs, ids)
        pipe.hmget(self.attempts, ids)
        pipe.hmget(self.errors, ids)
        msgs, attempts, errors = pipe.execute()
        return [{"message": orjson.loads(m), "due": due, "attempts": int(a or 0),
                 "error": e.decode() if e else None}
                for (_, due), m, a, e in zip(rows, msgs, attempts, errors, strict=True) if m]

    def dead(self, limit: int = 100) -> list[dict[str, Any]]:
        ids = self.r.zrevrange(self.dead_idx, 0, limit - 1)
        if not ids:
            return []
        return [orjson.loads(x) for x in self.r.hmget(self.dead_h, ids) if x is not None]

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        return [orjson.loads(x) for x in self.r.lrange(self.log, 0, limit - 1)]

    def totals(self) -> dict[str, int]:
        """Outcomes since the start: delivered, retried, dead, redriven."""
        raw = self.r.hgetall(self.counts_h)
        return {f: int(raw.get(f.encode(), 0)) for f in ("delivered", "retried", "dead",
                                                         "redriven")}

    def counts(self) -> dict[str, int]:
        pipe = self.r.pipeline(transaction=False)
        pipe.hgetall(self.counts_h)
        pipe.zcard(self.due)
        pipe.hlen(self.dead_h)
        totals, queued, dead = pipe.execute()
        out = {f: int(totals.get(f.encode(), 0)) for f in ("delivered", "retried", "redriven")}
        return {**out, "queued": queued, "dead": dead}

    def set_worker(self, **fields: Any) -> None:
        self.r.hset(self.worker_h, mapping={k: str(v) for k, v in fields.items()})

    def worker(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.r.hgetall(self.worker_h).items()}


class Timers:
    """Response clocks: ``p:sla`` zset, member ``{incident id}|{playbook}`` -> due time.
    In Redis, not in a process, so a clock keeps running through a worker restart."""

    def __init__(self, client: Redis, key: str, claim: Script) -> None:
        self.r = client
        self.key = key
        self._claim = claim

    def set(self, pipe: Any, incident_id: str, playbook: str, due: float | None) -> None:
        member = f"{incident_id}|{playbook}"
        if due is None:
            pipe.zrem(self.key, member)
        else:
            pipe.zadd(self.key, {member: due})

    def claim(self, now: float, lease_s: float, n: int = 100) -> list[tuple[str, str]]:
        """Clocks that ran out, leased like outbox messages: (incident id, playbook)."""
        raw = self._claim(keys=[self.key], args=[now, now + lease_s, n])
        return [tuple(m.decode().split("|", 1)) for m in raw]  # type: ignore[misc]

    def due(self, incident_id: str, playbook: str) -> float | None:
        return self.r.zscore(self.key, f"{incident_id}|{playbook}")

    def count(self) -> int:
        return self.r.zcard(self.key)
