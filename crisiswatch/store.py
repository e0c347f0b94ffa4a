"""The one module that knows Redis keys.

Everything the flow publishes and the API reads goes through here. Writes are
idempotent by construction (hash fields and sorted-set members keyed by window start,
incident id or record position; counters written as absolute totals), because Bytewax
re-emits windows after recovery and a sink that appends would double count.

Keys, with prefix ``p`` (``cw`` by default):

- ``p:brands``                   set of brands seen
- ``p:series:{brand}``           hash: window start (epoch s) -> window record (JSON)
- ``p:series_idx:{brand}``       zset: window starts, for range queries
- ``p:alert:{id}``               string: the incident (JSON)
- ``p:alerts``                   zset: incident id by last window (newest last)
- ``p:alerts:{brand}``           zset: the same, per brand
- ``p:stats``                    hash: record outcomes (absolute totals) and flow status
- ``p:deadletters`` / ``p:late`` hash: record key -> record (JSON), capped
- ``p:deadletters_idx`` / ``p:late_idx`` zset: record key by arrival, for paging and caps
- ``p:events``                   stream: incident, lifecycle and topic events (``EventLog``)
- ``p:life:{id}``, ``p:audit:{id}``, ``p:act:{id}``: the people's side of an incident
  (``Lifecycle``); ``p:outbox*``, ``p:worker``: webhook delivery (``Outbox``);
  ``p:sla``: response clocks (``Timers``)
- ``p:labels``                   stream: sentiment labels people gave mentions (``Labels``)
- ``p:topic:{id}``               string: a complaint topic (JSON), merged and faded ones too
- ``p:topics:{brand}``           zset: topic id by last window, capped at ``TOPICS_KEPT``
- ``p:apikeys``, ``p:apikey_ids``: API keys, stored as token digests (``ApiKeys``)
- ``p:rate:{bucket}``            hash: a request rate limit's token bucket (``take_token``)
- ``p:input:{k}``                stream: mentions waiting for the flow, partition ``k``;
  ``p:input:partitions``: how many there are (``InputStreams``)
- ``p:connector:{name}``         hash: a live connector's cursor and record counts;
  ``p:connector:{name}:refused``: its refused frames, newest first; ``p:connectors``:
  the names of the connectors that ever committed (``Connectors``)
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import time
import zlib
from collections.abc import Callable
from typing import Any

import orjson
import redis

from detectors.lifecycle import Change, Message, Snapshot

STAT_FIELDS = ("read", "processed", "duplicate", "late", "dead_lettered", "fanout")


def connect(url: str, retries: int = 5, fast: bool = False) -> redis.Redis:
    """A client that retries briefly on connection errors instead of failing at once.
    ``retries=0`` is for callers that must see every failure (the input source: a read
    whose reply was lost has still advanced its consumer group). ``fast`` is the API's:
    one immediate retry (a connection dropped by a Redis restart is replaced at once)
    and short timeouts, so that a request during an outage is answered 503 within a
    second instead of after seconds of backoff; the flow and the worker wait instead."""
    from redis.backoff import ExponentialBackoff, NoBackoff
    from redis.retry import Retry

    if fast:
        retry, timeout, connect_timeout = Retry(NoBackoff(), retries=1), 5.0, 0.5
    else:
        retry = Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=retries)
        timeout, connect_timeout = 10.0, 5.0
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=connect_timeout,
        retry=retry,
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        health_check_interval=30,
    )


class Store:
    def __init__(self, client: redis.Redis, prefix: str = "cw", capped: int = 10_000) -> None:
        self.r = client
        self.p = prefix
        self.capped = capped

    # -- key names -------------------------------------------------------------------
    def _k(self, *parts: str) -> str:
        return ":".join((self.p, *parts))

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
    def api_keys(self) -> ApiKeys:
        return ApiKeys(self)

    @functools.cached_property
    def inputs(self) -> InputStreams:
        return InputStreams(self)

    @functools.cached_property
    def _bucket_script(self) -> Any:
        return self.r.register_script(_BUCKET_LUA)

    @functools.cached_property
    def _alert_script(self) -> Any:
        return self.r.register_script(_ALERT_LUA)

    @functools.cached_property
    def _claim(self) -> Any:
        return self.r.register_script(_CLAIM_LUA)

    @functools.cached_property
    def _topic_script(self) -> Any:
        return self.r.register_script(_TOPIC_LUA)

    @functools.cached_property
    def _dead_script(self) -> Any:
        return self.r.register_script(_DEAD_LUA)

    def publish(self, kind: str, data: dict[str, Any]) -> str:
        """Add an event to ``p:events`` (SSE clients and the activation worker read it)."""
        return self.events.publish(kind, data)

    def set_status(self, **fields: Any) -> None:
        self.r.hset(self._k("stats"), mapping={f"status_{k}": str(v) for k, v in fields.items()})

    def heartbeat(self) -> None:
        """The flow is alive with nothing to publish (an idle input stream): the same
        ``status_heartbeat`` that ``StoreWriter.stats`` writes with output."""
        self.r.hset(self._k("stats"), "status_heartbeat", f"{time.time():.3f}")

    def mark_flow_dead(self, pid: str, host: str, reason: str) -> bool:
        """Set the flow's status to ``dead`` if it still names that process (a flow
        started since then has written its own pid); True when it was changed."""
        return bool(self._dead_script(keys=[self._k("stats")], args=[pid, host, reason]))

    def take_token(self, bucket: str, rate_per_second: float, burst: float) -> float:
        """Spend one request from the token bucket ``bucket`` (refilled at
        ``rate_per_second`` up to ``burst``); returns 0 when allowed, else the seconds until
        a token is there. In Redis, so API processes behind one balancer share the limit."""
        return float(self._bucket_script(keys=[self._k("rate", bucket)],
                                         args=[rate_per_second, burst]))

    # -- reads -----------------------------------------------------------------------
    def ping(self) -> bool:
        return bool(self.r.ping())

    def brands(self) -> list[str]:
        return sorted(b.decode() for b in self.r.smembers(self._k("brands")))

    def series(self, brand: str, start: float | None = None, end: float | None = None,
               limit: int = 5000, newest: bool = False) -> list[dict[str, Any]]:
        """Window records in time order; with ``newest``, the last ``limit`` of them."""
        lo = "-inf" if start is None else start
        hi = "+inf" if end is None else end
        idx = self._k("series_idx", brand)
        if newest:
            starts = self.r.zrevrangebyscore(idx, hi, lo, start=0, num=limit)[::-1]
        else:
            starts = self.r.zrangebyscore(idx, lo, hi, start=0, num=limit)
        if not starts:
            return []
        raw = self.r.hmget(self._k("series", brand), starts)
        return [orjson.loads(x) for x in raw if x is not None]

    def alerts(self, brand: str | None = None, since: float | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
        index = self._k("alerts", brand) if brand else self._k("alerts")
        lo = "-inf" if since is None else since
        ids = self.r.zrevrangebyscore(index, "+inf", lo, start=0, num=limit)
        if not ids:
            return []
        raw = self.r.mget([self._k("alert", i.decode()) for i in ids])
        return self.lifecycle.merge([orjson.loads(x) for x in raw if x is not None])

    def alert(self, alert_id: str) -> dict[str, Any] | None:
        """The incident as people see it: the detector's document with the lifecycle
        (state, assignee, playbooks, sla, audit) merged in; ``detector_alert`` is the
        document alone."""
        found = self.detector_alert(alert_id)
        return self.lifecycle.merge([found])[0] if found else None

    def detector_alert(self, alert_id: str) -> dict[str, Any] | None:
        raw = self.r.get(self._k("alert", alert_id))
        return orjson.loads(raw) if raw else None

    def topics(self, brand: str, since: float | None = None, limit: int = 100,
               merged: bool = False) -> list[dict[str, Any]]:
        """The brand's topics seen at or after ``since``, by recent growth (the last
        window's count over its expected count), then recency and size; topics merged
        into another are left out unless asked for."""
        ids = self.r.zrevrangebyscore(self._k("topics", brand), "+inf",
                                      "-inf" if since is None else since)
        if not ids:
            return []
        found = [orjson.loads(x) for x in self.r.mget([self._k("topic", i.decode())
                                                      for i in ids]) if x is not None]
        found = [t for t in found if merged or t["state"] != "merged"]
        found.sort(key=lambda t: (-t["growth"], -t["last_window"], -t["size"], t["id"]))
        return found[:limit]

    def topic(self, topic_id: str) -> dict[str, Any] | None:
        raw = self.r.get(self._k("topic", topic_id))
        return orjson.loads(raw) if raw else None

    def stats(self) -> dict[str, Any]:
        raw = {k.decode(): v.decode() for k, v in self.r.hgetall(self._k("stats")).items()}
        out: dict[str, Any] = {f: int(raw.get(f, 0)) for f in STAT_FIELDS}
        out["status"] = {k[7:]: v for k, v in raw.items() if k.startswith("status_")}
        return out

    def deadletters(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._recent("deadletters", limit)

    def late(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._recent("late", limit)

    def _recent(self, name: str, limit: int) -> list[dict[str, Any]]:
        keys = self.r.zrevrange(self._k(f"{name}_idx"), 0, limit - 1)
        if not keys:
            return []
        return [orjson.loads(x) for x in self.r.hmget(self._k(name), keys) if x is not None]


class StoreWriter:
    """Collects a batch of writes into one pipelined round trip."""

    def __init__(self, store: Store) -> None:
        self.s = store
        self.pipe = store.r.pipeline(transaction=False)
        self._brands: set[str] = set()
        self._capped: set[str] = set()
        self._topic_brands: set[str] = set()

    def window(self, brand: str, start: float, record: dict[str, Any]) -> None:
        k = self.s._k
        self._brands.add(brand)
        self.pipe.hset(k("series", brand), str(int(start)), orjson.dumps(record))
        self.pipe.zadd(k("series_idx", brand), {str(int(start)): start})

    def alert(self, alert: dict[str, Any]) -> None:
        """Store an incident version and publish incident.opened/updated/resolved."""
        k = self.s._k
        self.s._alert_script(
            keys=[k("alert", alert["id"]), k("alerts"), k("alerts", alert["brand"]),
                  self.s.events.key],
            args=[orjson.dumps(alert), alert["id"], alert["last_window"], alert["state"],
                  alert["updated_window"], EVENTS_KEPT],
            client=self.pipe)

    def topic(self, record: dict[str, Any]) -> None:
        """Store a topic version; publish topic.opened / topic.merged / topic.faded when
        it first appears or changes state (not on every window: that would flood)."""
        k = self.s._k
        self._topic_brands.add(record["brand"])
        self.s._topic_script(
            keys=[k("topic", record["id"]), k("topics", record["brand"]), self.s.events.key],
            args=[orjson.dumps(record), record["id"], record["last_window"], record["state"],
                  record["updated_window"], EVENTS_KEPT],
            client=self.pipe)

    def event(self, kind: str, payload: dict[str, Any]) -> None:
        """Publish an event (e.g. ``topic.updated``) with this batch."""
        self.pipe.xadd(self.s.events.key, {"type": kind, "data": orjson.dumps(payload)},
                       maxlen=EVENTS_KEPT, approximate=True)

    def stats(self, totals: dict[str, int]) -> None:
        """The flow's totals, with a heartbeat (``status_heartbeat``, epoch seconds) that
        ``GET /health`` judges the flow's liveness by."""
        self.pipe.hset(self.s._k("stats"),
                       mapping={**totals, "status_heartbeat": f"{time.time():.3f}"})

    def deadletter(self, key: str, record: dict[str, Any]) -> None:
        self._capped_put("deadletters", key, record)

    def late(self, key: str, record: dict[str, Any]) -> None:
        self._capped_put("late", key, record)

    def _capped_put(self, name: str, key: str, record: dict[str, Any]) -> None:
        k = self.s._k
        self.pipe.hset(k(name), key, orjson.dumps(record))
        # NX: a record re-read after recovery keeps its first place in the order.
        self.pipe.zadd(k(f"{name}_idx"), {key: time.time()}, nx=True)
        self._capped.add(name)

    def execute(self) -> None:
        k = self.s._k
        if self._brands:
            self.pipe.sadd(k("brands"), *self._brands)
        self.pipe.execute()
        for name in self._capped:
            self._trim(name)
        for brand in self._topic_brands:
            self._trim_topics(brand)

    def _trim_topics(self, brand: str) -> None:
        k, r = self.s._k, self.s.r
        excess = r.zcard(k("topics", brand)) - TOPICS_KEPT
        if excess > 0:
            old = [m.decode() for m, _ in r.zpopmin(k("topics", brand), excess)]
            if old:
                r.delete(*(k("topic", m) for m in old))

    def _trim(self, name: str) -> None:
        k, r = self.s._k, self.s.r
        excess = r.zcard(k(f"{name}_idx")) - self.s.capped
        if excess > 0:
            old = [m for m, _ in r.zpopmin(k(f"{name}_idx"), excess)]
            if old:
                r.hdel(k(name), *old)


# -- activation: events, lifecycle, webhook outbox, response clocks ---------------------
#
# These classes hang off ``Store`` (``store.events``, ``store.lifecycle``, ``store.outbox``,
# ``store.timers``) so that every key name stays in this module.

EVENTS_KEPT = 10_000  # entries of p:events: the window a reconnecting client can catch up
TOPICS_KEPT = 1_000  # topics per brand; the least recently seen go first

# Writes a topic version like _ALERT_LUA writes an incident: an identical or older
# version changes nothing; an event goes out when the topic appears or changes state.
_TOPIC_LUA = """
local old = redis.call('GET', KEYS[1])
if old == ARGV[1] then return false end
local kind = 'topic.opened'
if old then
  local prev = cjson.decode(old)
  local prev_at = tonumber(prev['updated_window'])
  if prev_at ~= nil and prev_at > tonumber(ARGV[5]) then return false end
  kind = false
  if prev['state'] ~= ARGV[4] then kind = 'topic.' .. ARGV[4] end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
if kind then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], '*', 'type', kind, 'data', ARGV[1])
end
return 1
"""
DELIVERY_LOG_KEPT = 1_000

# Writes an incident version and publishes its event in one step, so a reader of the
# stream never sees an event for a version that is not stored, nor a version without its
# event. An identical re-emission (Bytewax recovery) and an older version arriving after
# a newer one (a replay from a snapshot) change nothing and publish nothing.
_ALERT_LUA = """
local old = redis.call('GET', KEYS[1])
if old == ARGV[1] then return false end
local kind = 'incident.opened'
if old then
  local prev = cjson.decode(old)
  local prev_at = tonumber(prev['updated_window'])
  if prev_at ~= nil and prev_at > tonumber(ARGV[5]) then return false end
  kind = 'incident.updated'
  if ARGV[4] == 'resolved' and prev['state'] ~= 'resolved' then kind = 'incident.resolved' end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
return redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[6], '*', 'type', kind, 'data', ARGV[1])
"""

# Claims due members of a schedule (zset member -> due time) by moving their due time
# to the end of a lease: a worker that dies mid-way loses the lease and the member comes
# due again, so nothing is lost; a live worker holds it, so nothing runs twice at once.
# With a hash in KEYS[2], returns [member, value, attempts, ...] and counts attempts.
_CLAIM_LUA = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id)
  if KEYS[2] then
    local value = redis.call('HGET', KEYS[2], id)
    if value then
      table.insert(out, id)
      table.insert(out, value)
      table.insert(out, redis.call('HINCRBY', KEYS[3], id, 1))
    else
      redis.call('ZREM', KEYS[1], id)
    end
  else
    table.insert(out, id)
  end
end
return out
"""


def _event(entry_id: bytes, fields: dict[bytes, bytes] | None) -> dict[str, Any] | None:
    if not fields:
        return None  # trimmed from the stream while pending
    return {"id": entry_id.decode(), "type": fields[b"type"].decode(),
            "data": orjson.loads(fields[b"data"])}


class EventLog:
    """``p:events``: a Redis stream of everything that happened, for ``GET /stream`` and
    for the activation worker (a consumer group, so a restarted worker resumes where it
    stopped and re-reads what it had not acknowledged)."""

    def __init__(self, store: Store) -> None:
        self.r = store.r
        self.key = store._k("events")

    def publish(self, kind: str, data: dict[str, Any]) -> str:
        entry_id = self.r.xadd(self.key, {"type": kind, "data": orjson.dumps(data)},
                               maxlen=EVENTS_KEPT, approximate=True)
        return entry_id.decode()

    def after(self, last_id: str, count: int = 100,
              block_ms: int | None = None) -> list[dict[str, Any]]:
        """Events strictly after ``last_id`` ("0" = the oldest kept), oldest first."""
        found = self.r.xread({self.key: last_id}, count=count, block=block_ms)
        if not found:
            return []
        return [e for e in (_event(i, f) for i, f in found[0][1]) if e is not None]

    def last_id(self) -> str:
        last = self.r.xrevrange(self.key, count=1)
        return last[0][0].decode() if last else "0-0"

    def first_id(self) -> str | None:
        """The oldest event kept (None: no events), to tell a client it came back late."""
        first = self.r.xrange(self.key, count=1)
        return first[0][0].decode() if first else None

    def first_times(self, kind: str, ids: set[str], page: int = 1000) -> dict[str, float]:
        """Wall time (epoch s) of the first ``kind`` event about each of ``ids`` that the
        kept history still holds: Redis stamps an entry id with its clock when the event
        is published, so ``incident.opened`` says when people could first have known.
        Reads the history oldest first and stops once every id is found."""
        found: dict[str, float] = {}
        cursor = "-"
        while len(found) < len(ids):
            batch = self.r.xrange(self.key, min=cursor, count=page)
            for entry_id, fields in batch:
                if fields.get(b"type", b"").decode() != kind:
                    continue
                about = orjson.loads(fields[b"data"]).get("id")
                if about in ids and about not in found:
                    found[about] = int(entry_id.split(b"-")[0]) / 1000
            if len(batch) < page:
                break
            cursor = "(" + batch[-1][0].decode()
        return found

    def ensure_group(self, group: str) -> None:
        """Create the consumer group at the start of the kept history, once."""
        try:
            self.r.xgroup_create(self.key, group, id="0", mkstream=True)
        except redis.ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise

    def read_group(self, group: str, consumer: str, count: int = 100,
                   block_ms: int | None = None, pending: bool = False
                   ) -> list[tuple[str, dict[str, Any] | None]]:
        """New events for this consumer, or (``pending``) those it read and never
        acknowledged; an entry trimmed meanwhile comes back as (id, None)."""
        found = self.r.xreadgroup(group, consumer, {self.key: "0" if pending else ">"},
                                  count=count, block=None if pending else block_ms)
        if not found:
            return []
        return [(i.decode(), _event(i, f)) for i, f in found[0][1]]

    def ack(self, group: str, ids: list[str]) -> None:
        if ids:
            self.r.xack(self.key, group, *ids)


class Lifecycle:
    """What people and playbooks did with an incident, beside the detector's document:

    - ``p:life:{id}``  hash: state (acknowledged/escalated/resolved), assignee,
      acknowledged_at, updated
    - ``p:audit:{id}`` list: audit entries (JSON), oldest first
    - ``p:act:{id}``   hash: playbook name -> activation record (JSON)
    """

    def __init__(self, store: Store) -> None:
        self.s = store

    def _keys(self, alert_id: str) -> tuple[str, str, str]:
        k = self.s._k
        return k("life", alert_id), k("audit", alert_id), k("act", alert_id)

    def snapshot(self, alert_id: str, client: Any = None) -> Snapshot:
        life, _, act = self._keys(alert_id)
        c = client if client is not None else self.s.r
        return _snapshot(alert_id, c.hgetall(life), c.hgetall(act))

    def audit(self, alert_id: str) -> list[dict[str, Any]]:
        return [orjson.loads(x) for x in self.s.r.lrange(self._keys(alert_id)[1], 0, -1)]

    def note(self, alert_id: str, entry: dict[str, Any]) -> None:
        """Append to the audit trail without a state change (delivery outcomes)."""
        self.s.r.rpush(self._keys(alert_id)[1], orjson.dumps(entry))

    def merge(self, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The read model: each detector document with the people's side merged in."""
        if not docs:
            return docs
        pipe = self.s.r.pipeline(transaction=False)
        for doc in docs:
            life, audit, act = self._keys(doc["id"])
            pipe.hgetall(life)
            pipe.lrange(audit, 0, -1)
            pipe.hgetall(act)
        raw = pipe.execute()
        for n, doc in enumerate(docs):
            life, audit, act = raw[3 * n: 3 * n + 3]
            snap = _snapshot(doc["id"], life, act)
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

    def transact(self, alert_id: str,
                 decide: Callable[[Snapshot], Change | None]) -> Change | None:
        """Read the lifecycle, let ``decide`` (pure) say what changes, and write it all
        at once; if anyone wrote the lifecycle meanwhile, read again and decide again."""
        life, _, act = self._keys(alert_id)
        with self.s.r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(life, act)
                    change = decide(self.snapshot(alert_id, pipe))
                    if change is None:
                        pipe.reset()
                        return None
                    pipe.multi()
                    self._write(pipe, alert_id, change)
                    pipe.execute()
                    return change
                except redis.WatchError:
                    continue

    def _write(self, pipe: Any, alert_id: str, change: Change) -> None:
        life, audit, act = self._keys(alert_id)
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
        self.s.outbox.queue(pipe, change.messages)
        for name, due in change.timers.items():
            self.s.timers.set(pipe, alert_id, name, due)
        for kind, data in change.events:
            pipe.xadd(self.s.events.key, {"type": kind, "data": orjson.dumps(data)},
                      maxlen=EVENTS_KEPT, approximate=True)


def _snapshot(alert_id: str, life: dict[bytes, bytes], act: dict[bytes, bytes]) -> Snapshot:
    life_s = {k.decode(): v.decode() for k, v in life.items()}
    ack = life_s.get("acknowledged_at")
    return Snapshot(incident_id=alert_id, state=life_s.get("state"),
                    assignee=life_s.get("assignee"),
                    acknowledged_at=float(ack) if ack else None,
                    activations={k.decode(): orjson.loads(v) for k, v in sorted(act.items())})


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

    def __init__(self, store: Store) -> None:
        self.s = store
        k = store._k
        self.msgs, self.due = k("outbox"), k("outbox", "due")
        self.attempts, self.errors = k("outbox", "attempts"), k("outbox", "errors")
        self.dead_h, self.dead_idx = k("outbox", "dead"), k("outbox", "dead_idx")
        self.log, self.counts_h = k("outbox", "log"), k("outbox", "stats")
        self.worker_h = k("worker")

    def queue(self, pipe: Any, messages: list[Message], now: float | None = None) -> None:
        """Add messages inside the caller's transaction (due at once)."""
        for m in messages:
            pipe.hset(self.msgs, m.id, orjson.dumps(m.to_dict()))
            pipe.zadd(self.due, {m.id: now if now is not None else m.created}, nx=True)

    def enqueue(self, messages: list[Message]) -> None:
        with self.s.r.pipeline(transaction=True) as pipe:
            self.queue(pipe, messages)
            pipe.execute()

    def claim(self, now: float, lease_s: float, n: int) -> list[tuple[dict[str, Any], int]]:
        """Up to ``n`` due messages, leased to the caller for ``lease_s`` seconds."""
        raw = self.s._claim(keys=[self.due, self.msgs, self.attempts],
                            args=[now, now + lease_s, n])
        return [(orjson.loads(raw[i + 1]), int(raw[i + 2])) for i in range(0, len(raw), 3)]

    def delivered(self, msg_id: str, outcome: dict[str, Any]) -> None:
        with self.s.r.pipeline(transaction=True) as pipe:
            pipe.zrem(self.due, msg_id)
            pipe.hdel(self.msgs, msg_id)
            pipe.hdel(self.attempts, msg_id)
            pipe.hdel(self.errors, msg_id)
            self._logged(pipe, outcome, "delivered")
            pipe.execute()

    def waiting(self, msg_id: str) -> bool:
        """Still in the outbox (neither delivered nor dead)."""
        return bool(self.s.r.hexists(self.msgs, msg_id))

    def defer(self, msg_id: str, due: float) -> None:
        """Not now, and not an attempt: the claim that counted one is taken back."""
        with self.s.r.pipeline(transaction=True) as pipe:
            pipe.hincrby(self.attempts, msg_id, -1)
            pipe.zadd(self.due, {msg_id: due}, xx=True)
            pipe.execute()

    def retry(self, msg_id: str, due: float, error: str) -> None:
        with self.s.r.pipeline(transaction=True) as pipe:
            pipe.hset(self.errors, msg_id, error)
            pipe.zadd(self.due, {msg_id: due}, xx=True)
            pipe.hincrby(self.counts_h, "retried", 1)
            pipe.execute()

    def kill(self, message: dict[str, Any], attempts: int, error: str, now: float) -> None:
        """Move a message to the dead letters, where a person can see and re-drive it."""
        dead = {"message": message, "attempts": attempts, "error": error, "at": now}
        with self.s.r.pipeline(transaction=True) as pipe:
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
        before drops the repeat by its idempotency key."""
        with self.s.r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(self.dead_h)
                    raw = pipe.hget(self.dead_h, msg_id)
                    if raw is None:
                        pipe.reset()
                        return None
                    dead = orjson.loads(raw)
                    pipe.multi()
                    pipe.hdel(self.dead_h, msg_id)
                    pipe.zrem(self.dead_idx, msg_id)
                    pipe.hset(self.msgs, msg_id, orjson.dumps(dead["message"]))
                    pipe.zadd(self.due, {msg_id: now})
                    pipe.hincrby(self.counts_h, "redriven", 1)
                    pipe.execute()
                    return dead["message"]
                except redis.WatchError:
                    continue

    def _logged(self, pipe: Any, outcome: dict[str, Any], result: str) -> None:
        pipe.lpush(self.log, orjson.dumps({**outcome, "result": result}))
        pipe.ltrim(self.log, 0, DELIVERY_LOG_KEPT - 1)
        pipe.hincrby(self.counts_h, result, 1)

    def pending(self, limit: int = 100) -> list[dict[str, Any]]:
        """Queued messages, next due first, with attempts and last error."""
        rows = self.s.r.zrange(self.due, 0, limit - 1, withscores=True)
        if not rows:
            return []
        ids = [i for i, _ in rows]
        pipe = self.s.r.pipeline(transaction=False)
        pipe.hmget(self.msgs, ids)
        pipe.hmget(self.attempts, ids)
        pipe.hmget(self.errors, ids)
        msgs, attempts, errors = pipe.execute()
        return [{"message": orjson.loads(m), "due": due, "attempts": int(a or 0),
                 "error": e.decode() if e else None}
                for (_, due), m, a, e in zip(rows, msgs, attempts, errors, strict=True) if m]

    def dead(self, limit: int = 100) -> list[dict[str, Any]]:
        ids = self.s.r.zrevrange(self.dead_idx, 0, limit - 1)
        if not ids:
            return []
        return [orjson.loads(x) for x in self.s.r.hmget(self.dead_h, ids) if x is not None]

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        return [orjson.loads(x) for x in self.s.r.lrange(self.log, 0, limit - 1)]

    def totals(self) -> dict[str, int]:
        """Outcomes since the start: delivered, retried, dead, redriven."""
        raw = self.s.r.hgetall(self.counts_h)
        return {f: int(raw.get(f.encode(), 0)) for f in ("delivered", "retried", "dead",
                                                         "redriven")}

    def counts(self) -> dict[str, int]:
        pipe = self.s.r.pipeline(transaction=False)
        pipe.hgetall(self.counts_h)
        pipe.zcard(self.due)
        pipe.hlen(self.dead_h)
        totals, queued, dead = pipe.execute()
        out = {f: int(totals.get(f.encode(), 0)) for f in ("delivered", "retried", "redriven")}
        return {**out, "queued": queued, "dead": dead}

    def set_worker(self, **fields: Any) -> None:
        self.s.r.hset(self.worker_h, mapping={k: str(v) for k, v in fields.items()})

    def worker(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.s.r.hgetall(self.worker_h).items()}


class Timers:
    """Response clocks: ``p:sla`` zset, member ``{incident id}|{playbook}`` -> due time.
    In Redis, not in a process, so a clock keeps running through a worker restart."""

    def __init__(self, store: Store) -> None:
        self.s = store
        self.key = store._k("sla")

    def set(self, pipe: Any, alert_id: str, playbook: str, due: float | None) -> None:
        member = f"{alert_id}|{playbook}"
        if due is None:
            pipe.zrem(self.key, member)
        else:
            pipe.zadd(self.key, {member: due})

    def claim(self, now: float, lease_s: float, n: int = 100) -> list[tuple[str, str]]:
        """Clocks that ran out, leased like outbox messages: (incident id, playbook)."""
        raw = self.s._claim(keys=[self.key], args=[now, now + lease_s, n])
        return [tuple(m.decode().split("|", 1)) for m in raw]  # type: ignore[misc]

    def due(self, alert_id: str, playbook: str) -> float | None:
        return self.s.r.zscore(self.key, f"{alert_id}|{playbook}")

    def count(self) -> int:
        return self.s.r.zcard(self.key)


# -- sentiment labels ---------------------------------------------------------------------

LABELS_KEPT = 100_000  # entries of p:labels; a flow that fell further behind misses the oldest


class Labels:
    """``p:labels``: a capped Redis stream of the sentiment labels people give mentions
    (``POST /mentions/{id}/label``). The flow reads it after the last id it learned from
    and teaches the sentiment model; the stream id orders labels and is the receipt."""

    def __init__(self, store: Store) -> None:
        self.r = store.r
        self.key = store._k("labels")

    def add(self, mention_id: str, label: str, text: str, actor: str | None = None,
            ts: float | None = None) -> dict[str, Any]:
        """Append one label; returns the stored entry with its stream id."""
        entry = {"mention_id": mention_id, "label": label, "text": text, "actor": actor,
                 "ts": time.time() if ts is None else ts}
        entry_id = self.r.xadd(self.key, {"data": orjson.dumps(entry)}, maxlen=LABELS_KEPT,
                               approximate=True)
        return {"id": entry_id.decode(), **entry}

    def after(self, last_id: str = "0", count: int = 1000) -> list[dict[str, Any]]:
        """Labels strictly after ``last_id`` ("0" = the oldest kept), oldest first, each
        with its stream ``id`` (pass the last one back to read on)."""
        found = self.r.xread({self.key: last_id}, count=count)
        if not found:
            return []
        return [{"id": i.decode(), **orjson.loads(f[b"data"])} for i, f in found[0][1]]

    def count(self) -> int:
        return int(self.r.xlen(self.key))


# -- API keys and rate limits ---------------------------------------------------------------

TOKEN_PREFIX = "cw_"  # makes a leaked token recognisable to secret scanners


def token_digest(token: str) -> str:
    """SHA-256, not a slow password hash: tokens are 256 random bits, so there is nothing
    to brute-force, and checking one costs about a microsecond per request."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiKeys:
    """API keys; the token itself is never stored, only its digest:

    - ``p:apikeys``    hash: token digest -> key (JSON: id, name, scopes, created, rate)
    - ``p:apikey_ids`` hash: key id -> token digest (to list and revoke by id)

    A copy of the database gives no usable token. The id (12 hex digits of the digest)
    names a key in lists, logs and revocations without revealing it.
    """

    def __init__(self, store: Store) -> None:
        self.r = store.r
        self.key, self.ids = store._k("apikeys"), store._k("apikey_ids")

    def create(self, name: str, scopes: list[str], rate_per_second: float | None = None,
               burst: float | None = None) -> tuple[str, dict[str, Any]]:
        """A new key: returns the token (shown once, then only its digest exists) and
        the stored record."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        digest = token_digest(token)
        record = {"id": digest[:12], "name": name, "scopes": sorted(set(scopes)),
                  "created": time.time(), "rate_per_second": rate_per_second, "burst": burst}
        with self.r.pipeline(transaction=True) as pipe:
            pipe.hset(self.key, digest, orjson.dumps(record))
            pipe.hset(self.ids, record["id"], digest)
            pipe.execute()
        return token, record

    def verify(self, token: str) -> dict[str, Any] | None:
        """The key a token belongs to, or None (unknown or revoked)."""
        raw = self.r.hget(self.key, token_digest(token))
        return orjson.loads(raw) if raw else None

    def list(self) -> list[dict[str, Any]]:
        keys = [orjson.loads(v) for v in self.r.hvals(self.key)]
        return sorted(keys, key=lambda k: (k["created"], k["id"]))

    def revoke(self, key_id: str) -> dict[str, Any] | None:
        """Delete a key at once (the next request with it gets 401); returns it, or None."""
        digest = self.r.hget(self.ids, key_id)
        if digest is None:
            return None
        with self.r.pipeline(transaction=True) as pipe:
            pipe.hget(self.key, digest)
            pipe.hdel(self.key, digest)
            pipe.hdel(self.ids, key_id)
            raw, _, _ = pipe.execute()
        return orjson.loads(raw) if raw else None


# The flow's status says ``dead`` only if it is still the status of the process found
# gone: compare-and-set, so a restarted flow's ``running`` is never overwritten.
_DEAD_LUA = """
local f = redis.call('HMGET', KEYS[1], 'status_pid', 'status_host', 'status_state')
if f[1] ~= ARGV[1] or f[2] ~= ARGV[2] or f[3] ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'status_state', 'dead', 'status_error', ARGV[3])
return 1
"""

# A token bucket per client, on the server's clock (API hosts' clocks may disagree).
# Returns "0" when a token was taken, else the seconds until one is there (as a string:
# Redis truncates Lua numbers to integers). The bucket expires once it would be full.
_BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


# -- the input streams: POST /mentions ► the flow ---------------------------------------------

INPUT_GROUP = "flow"  # the consumer group the flow reads the input streams with
DEFAULT_PARTITIONS = 4
INPUT_FIELD = b"m"  # an entry holds one raw mention (JSON) under this field


class LayoutMismatch(Exception):
    """The input streams were set up with another partition count than configured."""


def shard_of(brand: str, partitions: int) -> int:
    """A brand's input partition. CRC-32, not ``hash()`` (salted per process), so every
    API process and every run agrees, and one brand's mentions stay in one stream, in the
    order they came: the flow's event-time windows need each brand's order kept."""
    return zlib.crc32(brand.encode()) % partitions


Entry = tuple[str, bytes]  # (stream entry id, raw mention)


class InputStreams:
    """Mentions waiting for the flow: ``p:input:{k}`` for k < partitions, and
    ``p:input:partitions``, the count they were set up with.

    The count is pinned in Redis by the first process that uses the streams: an API that
    appended to 8 streams while the flow read 4 would lose every mention in the other 4,
    so a process configured otherwise is refused (``pin``) instead.
    """

    def __init__(self, store: Store) -> None:
        self.s = store
        self.r = store.r
        self._count: int | None = None

    def key(self, k: int) -> str:
        return self.s._k("input", str(k))

    def pin(self, partitions: int) -> int:
        """Set the partition count if none is set; refuse another count than the set one."""
        self.r.set(self.s._k("input", "partitions"), partitions, nx=True)
        found = int(self.r.get(self.s._k("input", "partitions")) or partitions)
        if found != partitions:
            raise LayoutMismatch(
                f"the input streams {self.key(0)}… were set up with {found} partitions "
                f"({self.s._k('input', 'partitions')}) but {partitions} are configured "
                f"(ingest.partitions): a changed count moves brands between streams and "
                f"invalidates the flow's recovery data. Configure {found}, or drain the "
                f"streams and delete that key first.")
        self._count = found
        return found

    def partitions(self) -> int:
        """The pinned count (pinning the default if there is none yet)."""
        if self._count is None:
            raw = self.r.get(self.s._k("input", "partitions"))
            self._count = int(raw) if raw is not None else self.pin(DEFAULT_PARTITIONS)
        return self._count

    def append(self, records: list[tuple[str, bytes]]) -> list[str]:
        """Append ``(brand, raw mention)`` records to their brands' streams, all or none
        (one MULTI/EXEC); returns the entry ids."""
        with self.r.pipeline(transaction=True) as pipe:
            self.queue(pipe, records)
            return [i.decode() for i in pipe.execute()]

    def queue(self, pipe: Any, records: list[tuple[str, bytes]]) -> None:
        """Append inside the caller's transaction (a connector commits its cursor with
        the entries it read up to it)."""
        n = self.partitions()
        for brand, raw in records:
            pipe.xadd(self.key(shard_of(brand, n)), {INPUT_FIELD: raw})

    def partition(self, k: int, consumer: str | None = None) -> InputPartition:
        return InputPartition(self.r, self.key(k), consumer or f"part-{k}")


class InputPartition:
    """One input stream as the flow reads it: consumer group ``INPUT_GROUP``, one consumer
    per partition (named for it, so a partition that moves to another process keeps its
    pending entries)."""

    def __init__(self, client: redis.Redis, key: str, consumer: str) -> None:
        self.r = client
        self.key = key
        self.consumer = consumer

    def ensure_group(self) -> None:
        """Create the stream and the group at its start, so entries appended before the
        flow ever ran are read too."""
        try:
            self.r.xgroup_create(self.key, INPUT_GROUP, id="0", mkstream=True)
        except redis.ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise

    def new(self, count: int) -> list[Entry]:
        """Entries never delivered to the group; they become pending for this consumer."""
        found = self.r.xreadgroup(INPUT_GROUP, self.consumer, {self.key: ">"}, count=count)
        return _entries(found[0][1]) if found else []

    def between(self, low: str | None, through: str, count: int,
                inclusive: bool = False) -> list[Entry]:
        """Entries after ``low`` (None = from the start) up to ``through``, acknowledged
        or not: what a restarted reader reads again."""
        start = "-" if low is None else low if inclusive else f"({low}"
        return _entries(self.r.xrange(self.key, start, through, count=count))

    def group_info(self) -> dict[str, Any] | None:
        try:
            groups = self.r.xinfo_groups(self.key)
        except redis.ResponseError:  # no such stream
            return None
        for g in groups:
            name = g["name"].decode() if isinstance(g["name"], bytes) else g["name"]
            if name == INPUT_GROUP:
                return g
        return None

    def delivered_through(self) -> str | None:
        """The newest entry id the group has handed out (None: no group or nothing yet)."""
        g = self.group_info()
        last = g["last-delivered-id"] if g else None
        last = last.decode() if isinstance(last, bytes) else last
        return None if last in (None, "0-0") else last

    def first_pending(self) -> str | None:
        found = self.r.xpending_range(self.key, INPUT_GROUP, "-", "+", 1, self.consumer)
        return _id(found[0]["message_id"]) if found else None

    def ack_through(self, last: str, page: int = 10_000) -> int:
        """Acknowledge this consumer's pending entries up to ``last``; returns how many."""
        done = 0
        while True:
            found = self.r.xpending_range(self.key, INPUT_GROUP, "-", last, page, self.consumer)
            if not found:
                return done
            done += self.r.xack(self.key, INPUT_GROUP, *(f["message_id"] for f in found))
            if len(found) < page:
                return done

    def trim_before(self, first_kept: str) -> None:
        """Drop entries older than ``first_kept`` (approximately: whole internal nodes
        only, which is what makes trimming cheap)."""
        self.r.xtrim(self.key, minid=first_kept, approximate=True)


def _id(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _entries(rows: list[tuple[bytes, dict[bytes, bytes]]]) -> list[Entry]:
    return [(_id(i), fields.get(INPUT_FIELD, b"")) for i, fields in rows]


REFUSED_KEPT = 1_000  # refused frames kept per connector for a person to inspect
CONNECTOR_COUNTS = ("frames", "queued", "unmatched", "ignored", "refused", "reconnects",
                    "rate_limited")


class Connectors:
    """What a live connector (``flows/live.py``) has read, and where to resume.

    ``commit`` writes the mentions of a batch to the input streams, the platform cursor
    after that batch and the batch's counts in one MULTI/EXEC: the cursor can never be
    ahead of the mentions it covers (nothing lost) nor behind them by more than the
    batch being written when the connector died (read again, counted as duplicates).
    """

    def __init__(self, store: Store) -> None:
        self.s = store

    def key(self, name: str) -> str:
        return self.s._k("connector", name)

    def cursor(self, name: str) -> str | None:
        raw = self.s.r.hget(self.key(name), "cursor")
        return raw.decode() if raw is not None else None

    def commit(self, name: str, records: list[tuple[str, bytes]], cursor: str | None,
               counts: dict[str, int], refused: list[dict[str, Any]]) -> None:
        key = self.key(name)
        with self.s.r.pipeline(transaction=True) as pipe:
            pipe.sadd(self.s._k("connectors"), name)
            self.s.inputs.queue(pipe, records)
            if cursor is not None:
                pipe.hset(key, "cursor", cursor)
            for field, n in counts.items():
                if n:
                    pipe.hincrby(key, field, n)
            if refused:
                pipe.lpush(f"{key}:refused", *(orjson.dumps(r) for r in refused))
                pipe.ltrim(f"{key}:refused", 0, REFUSED_KEPT - 1)
            pipe.execute()

    def names(self) -> list[str]:
        return sorted(x.decode() for x in self.s.r.smembers(self.s._k("connectors")))

    def counts(self, name: str) -> dict[str, int]:
        """The outcome totals (zero when none yet) and ``ignored.WHY`` by reason."""
        raw = self.s.r.hgetall(self.key(name))
        found = {k.decode(): int(v) for k, v in raw.items() if k != b"cursor"}
        return {**dict.fromkeys(CONNECTOR_COUNTS, 0), **found}

    def refused(self, name: str, limit: int = 100) -> list[dict[str, Any]]:
        return [orjson.loads(x) for x in self.s.r.lrange(f"{self.key(name)}:refused", 0,
                                                          limit - 1)]
