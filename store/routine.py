"""``RoutineTerms``: terms people declared routine for a brand, from the API."""

from __future__ import annotations

import time
from typing import Any

import orjson
from redis import Redis


class RoutineTerms:
    """``p:routine``: one field per (brand, term), the JSON pair, so that neither a
    brand nor a term can be mistaken for a separator. A declaration may end
    (``until``); one past its end is no longer read, and is deleted when its brand's
    list is next read. The flow reads them all every few seconds
    (``flows.routine.RoutineRefresher``): a handful of entries, one HVALS."""

    def __init__(self, client: Redis, key: str) -> None:
        self.r = client
        self.key = key

    def put(self, brand: str, term: str, actor: str | None = None, reason: str | None = None,
            until: float | None = None, at: float | None = None) -> dict[str, Any]:
        entry = {"brand": brand, "term": term, "actor": actor, "reason": reason,
                 "at": time.time() if at is None else at, "until": until}
        self.r.hset(self.key, orjson.dumps([brand, term]), orjson.dumps(entry))
        return entry

    def remove(self, brand: str, term: str) -> bool:
        return bool(self.r.hdel(self.key, orjson.dumps([brand, term])))

    def of(self, brand: str, now: float | None = None) -> list[dict[str, Any]]:
        """The brand's declarations in force, by term; the ended ones are deleted."""
        now = time.time() if now is None else now
        mine, ended = [], []
        for field, value in self.r.hgetall(self.key).items():
            entry = orjson.loads(value)
            if entry["brand"] != brand:
                continue
            if _in_force(entry, now):
                mine.append(entry)
            else:
                ended.append(field)
        if ended:
            self.r.hdel(self.key, *ended)
        return sorted(mine, key=lambda e: e["term"])

    def in_force(self, now: float | None = None) -> dict[str, frozenset[str]]:
        """Every brand's routine terms now."""
        now = time.time() if now is None else now
        found: dict[str, set[str]] = {}
        for value in self.r.hvals(self.key):
            entry = orjson.loads(value)
            if _in_force(entry, now):
                found.setdefault(entry["brand"], set()).add(entry["term"])
        return {brand: frozenset(terms) for brand, terms in found.items()}


def _in_force(entry: dict[str, Any], now: float) -> bool:
    return entry["until"] is None or entry["until"] > now
