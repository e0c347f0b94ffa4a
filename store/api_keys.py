"""``ApiKeys``: API keys, stored as token digests."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

import orjson
from redis import Redis

TOKEN_PREFIX = "cw_"  # makes a leaked token recognisable to secret scanners


def token_digest(token: str) -> str:
    """SHA-256, not a slow password hash: tokens are 256 random bits, so there is nothing
    to brute-force, and checking one costs about a microsecond per request."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiKeys:
    """API keys; the token itself is never stored, only its digest:

    - ``p:apikeys``    hash: token digest -> key (JSON: id, name, scopes, created, rate,
      brands)
    - ``p:apikey_ids`` hash: key id -> token digest (to list and revoke by id)

    A copy of the database gives no usable token. The id (12 hex digits of the digest)
    names a key in lists, logs and revocations without revealing it.

    ``brands``: the brands a key may push mentions for (``POST /mentions``), sorted; None
    (and a key stored before the field existed, which lacks it) may push any brand.
    """

    def __init__(self, client: Redis, key: str, ids: str) -> None:
        self.r = client
        self.key, self.ids = key, ids

    def create(self, name: str, scopes: list[str], rate_per_second: float | None = None,
               burst: float | None = None, brands: list[str] | None = None
               ) -> tuple[str, dict[str, Any]]:
        """A new key: returns the token (shown once, then only its digest exists) and
        the stored record. No ``brands`` (None or empty): the key may push any brand."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        digest = token_digest(token)
        record = {"id": digest[:12], "name": name, "scopes": sorted(set(scopes)),
                  "created": time.time(), "rate_per_second": rate_per_second, "burst": burst,
                  "brands": sorted(set(brands)) if brands else None}
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
