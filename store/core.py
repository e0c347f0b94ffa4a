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

import functools
import time
from typing import Any

import redis

from crisiswatch.store.api_keys import ApiKeys
from crisiswatch.store.client import lua
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
    def __init__(self, client: redis.Redis, prefix: str = "cw", capped: int = 10_000) -> None:
        self.r = client
        self.p = prefix
        self.keys = KeySpace(prefix)
        self.capped = capped

    # -- writes ----------------------------------------------------------------------
    def writer(self) -> StoreWriter:
        return StoreWriter(self)

    @functools.cached_property
    def events(self) -> EventLog:
        return EventLog(self)

    @functools.cached_property
    def connectors(self) -> Connectors:
        return Connectors(self)

    @functools.cached_property
    def lifecycle(self) -> Lifecycle:
        return Lifecycle(self)

    @functools.cached_property
    def outbox(self) -> Outbox:
        return Outbox(self)

    @functools.cached_property
    def timers(self) -> Timers:
        return Timers(self)

    @functools.cached_property
    def labels(self) -> Labels:
        return Labels(self)

    @functools.cached_property
    def routine(self) -> RoutineTerms:
        return RoutineTerms(self)

    @functools.cached_property
    def feedback(self) -> Feedback:
        return Feedback(self.r, self.keys.feedback)

    @functools.cached_property
    def snoozes(self) -> Snoozes:
        return Snoozes(self)

    @functools.cached_property
    def api_keys(self) -> ApiKeys:
        return ApiKeys(self)

    @functools.cached_property
    def inputs(self) -> InputStreams:
        return InputStreams(self)

    @functools.cached_property
    def _bucket_script(self) -> Any:
        return self.r.register_script(lua("bucket"))

    @functools.cached_property
    def _incident_script(self) -> Any:
        return self.r.register_script(lua("incident"))

    @functools.cached_property
    def _claim(self) -> Any:
        return self.r.register_script(lua("claim"))

    @functools.cached_property
    def _topic_script(self) -> Any:
        return self.r.register_script(lua("topic"))

    @functools.cached_property
    def _wall_script(self) -> Any:
        return self.r.register_script(lua("wall"))

    @functools.cached_property
    def _dead_script(self) -> Any:
        return self.r.register_script(lua("mark_dead"))

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
