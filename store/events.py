"""``EventLog``: ``p:events``, the stream of everything that happened."""

from __future__ import annotations

from typing import Any

import orjson
import redis

EVENTS_KEPT = 10_000  # entries of p:events: the window a reconnecting client can catch up


def _event(entry_id: bytes, fields: dict[bytes, bytes] | None) -> dict[str, Any] | None:
    if not fields:
        return None  # trimmed from the stream while pending
    return {"id": entry_id.decode(), "type": fields[b"type"].decode(),
            "data": orjson.loads(fields[b"data"])}


def ensure_group(client: redis.Redis, key: str, group: str) -> None:
    """Create the consumer group at the start of the stream (creating the stream), once."""
    try:
        client.xgroup_create(key, group, id="0", mkstream=True)
    except redis.ResponseError as e:
        if "BUSYGROUP" not in str(e):
            raise


class EventLog:
    """``p:events``: a Redis stream of everything that happened, for ``GET /stream`` and
    for the activation worker (a consumer group, so a restarted worker resumes where it
    stopped and re-reads what it had not acknowledged)."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self.r = client
        self.key = key

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
        ensure_group(self.r, self.key, group)

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
