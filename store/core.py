"""``Store``: the one object the flow, the API and the worker hold.

Everything the flow publishes and the API reads goes through it. Writes are idempotent
by construction (hash fields and sorted-set members keyed by window start, incident id
or record position; counters written as absolute totals), because Bytewax re-emits
windows after recovery and a sink that appends would double count. The key names are
in ``store/keys.py``; each concern has its module (``reads``, ``writer``, ``events``,
``lifecycle``, ``outbox``, ``labels``, ``routine``, ``feedback``, ``api_keys``, ``inputs``,
``connectors``).
"""

from __future__ import annotations

import time
from typing import Any

import redis

from crisiswatch.store.api_keys import ApiKeys
from crisiswatch.store.client import script
from crisiswatch.store.connectors import Connectors
from crisiswatch.store.events import EventLog
from crisiswatch.store.feedback import Feedback
from crisiswatch.store.inputs import InputStreams
from crisiswatch.store.keys import KeySpace
from crisiswatch.store.labels import Labels
from crisiswatch.store.lifecycle import Lifecycle
from crisiswatch.store.outbox import Outbox, Timers
from crisiswatch.store.reads import Reads
from crisiswatch.store.routine import RoutineTerms
from crisiswatch.store.snooze import Snoozes
from crisiswatch.store.writer import StoreWriter


class Store(Reads):
    """The facade: it builds each concern's object from what that object needs (the
    client, its keys, the scripts it runs, the objects it writes through), so none of
    them knows the facade. Building one costs no round trip."""

    def __init__(self, client: redis.Redis, prefix: str = "cw", capped: int = 10_000) -> None:
        keys = KeySpace(prefix)
        self.p = prefix
        self.capped = capped
        claim = script(client, "claim")
        self.events = EventLog(client, keys.events)
        self.inputs = InputStreams(client, keys)
        self.connectors = Connectors(client, keys, self.inputs)
        self.outbox = Outbox(client, keys, claim)
        self.timers = Timers(client, keys.sla, claim)
        self.snoozes = Snoozes(client, keys, self.events)
        self.labels = Labels(client, keys.labels)
        self.routine = RoutineTerms(client, keys.routine)
        self.feedback = Feedback(client, keys.feedback)
        self.api_keys = ApiKeys(client, keys.apikeys, keys.apikey_ids)
        super().__init__(client, keys,
                         Lifecycle(client, keys, self.outbox, self.timers, self.snoozes),
                         script(client, "wall"))
        self._incident_script = script(client, "incident")
        self._topic_script = script(client, "topic")
        self._bucket_script = script(client, "bucket")
        self._dead_script = script(client, "mark_dead")

    # -- writes ----------------------------------------------------------------------
    def writer(self) -> StoreWriter:
        return StoreWriter(self.r, self.keys, self.capped, self._incident_script,
                           self._topic_script)

    def publish(self, kind: str, data: dict[str, Any]) -> str:
        """Add an event to ``p:events`` (SSE clients and the activation worker read it)."""
        return self.events.publish(kind, data)

    def claim_digest(self, team: str, period_end: float) -> bool:
        """Record that ``team``'s digest up to ``period_end`` is sent; False when it
        already was (by this worker before a restart, or by another one)."""
        key = self.keys.digests

        def attempt(pipe: Any) -> bool:
            last = pipe.hget(key, team)
            if last is not None and float(last) >= period_end:
                pipe.reset()
                return False
            pipe.multi()
            pipe.hset(key, team, repr(period_end))
            return True

        return bool(self.r.transaction(attempt, key, value_from_callable=True))

    def set_status(self, **fields: Any) -> None:
        self.r.hset(self.keys.stats, mapping={f"status_{k}": str(v) for k, v in fields.items()})

    def heartbeat(self) -> None:
        """The flow is alive with nothing to publish (an idle input stream): the same
        ``status_heartbeat`` that ``StoreWriter.stats`` writes with output."""
        self.r.hset(self.keys.stats, "status_heartbeat", f"{time.time():.3f}")

    def mark_flow_dead(self, pid: str, host: str, reason: str) -> bool:
        """Set the flow's status to ``dead`` if it still names that process (a flow
        started since then has written its own pid); True when it was changed."""
        return bool(self._dead_script(keys=[self.keys.stats], args=[pid, host, reason]))

    def take_token(self, bucket: str, rate_per_second: float, burst: float) -> float:
        """Spend one request from the token bucket ``bucket`` (refilled at
        ``rate_per_second`` up to ``burst``); returns 0 when allowed, else the seconds until
        a token is there. In Redis, so API processes behind one balancer share the limit."""
        return float(self._bucket_script(keys=[self.keys.rate(bucket)],
                                         args=[rate_per_second, burst]))
