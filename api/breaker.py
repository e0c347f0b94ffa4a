"""A circuit breaker on the store, one per API process.

While Redis is unreachable or hung, the breaker answers 503 at once for ``BREAKER_S``
after a failed call instead of letting every request wait for its own timeout; and it
remembers the keys this process verified in the last ``VERIFIED_KEPT_S``, which a route
that needs no store (``GET /metrics``) may still honour: a key cannot have been revoked
since, because revoking needs the store (``api/security.py``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from crisiswatch.store import StoreUnavailable, hung

BREAKER_S = 1.0  # after a failed store call, requests are answered 503 at once this long
VERIFIED_KEPT_S = 600.0
VERIFIED_KEPT = 1000


@dataclass
class StoreBreaker:
    """A circuit breaker on the store, shared by the requests of one API process."""

    clock: Callable[[], float] = time.monotonic
    open_until: float = float("-inf")
    # why it last opened: "down" (refused, lost) or "hung" (a command timed out)
    cause: Literal["down", "hung"] = "down"
    # token digest -> (key, when verified): keys honoured by store-optional routes
    verified: OrderedDict[str, tuple[dict[str, Any], float]] = field(
        default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def is_open(self) -> bool:
        return self.clock() < self.open_until

    def trip(self, error: Exception) -> None:
        """A store call failed with ``error``: open for ``BREAKER_S`` (a refusal by the
        open breaker itself does not extend it, or polling would keep it open). A
        timeout trips it as a refusal does: every request then fails at once, instead of
        each waiting out its own timeout against a hung server."""
        if not isinstance(error, StoreDown):
            self.cause = "hung" if hung(error) else "down"
            self.open_until = self.clock() + BREAKER_S

    def remember(self, digest: str, key: dict[str, Any]) -> None:
        with self.lock:
            self.verified[digest] = (key, self.clock())
            self.verified.move_to_end(digest)
            while len(self.verified) > VERIFIED_KEPT:
                self.verified.popitem(last=False)

    def recall(self, digest: str) -> dict[str, Any] | None:
        with self.lock:
            found = self.verified.get(digest)
        if found is None or self.clock() - found[1] > VERIFIED_KEPT_S:
            return None
        return found[0]


class StoreDown(StoreUnavailable):
    """Raised without calling Redis while the breaker is open (answered 503)."""
