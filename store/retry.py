"""Riding out a Redis outage: back off, say so, carry on when it is back.

redis-py retries a command a few times within seconds (``store.connect``);
a restart or a failover takes longer, and an exception out of a sink or a source stops
the whole Bytewax flow. The flow's reads and writes are safe to repeat (the source
re-reads from its position, the store's writes are idempotent), so the flow waits for
Redis instead, with one log line per attempt so that an operator sees why it stalls.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from crisiswatch.store.errors import TRANSIENT

T = TypeVar("T")
log = logging.getLogger("crisiswatch.flow")

# Errors that go away by themselves: the server is down, restarting, loading its data
# (BusyLoadingError is a ConnectionError) or was just demoted to a replica.
# (``store.TRANSIENT``: the store names them, so that nothing else imports redis.)
__all__ = ["TRANSIENT", "Backoff", "until_done"]


@dataclass
class Backoff:
    """Exponential delays with jitter (processes that lost Redis together should not all
    come back in the same millisecond), capped, and reset after a success."""

    base: float = 0.1
    cap: float = 5.0
    attempts: int = 0
    since: float | None = None  # monotonic time of the first failure of this outage

    def failed(self, what: str, error: Exception) -> float:
        """Record a failure; returns the seconds to wait before the next attempt."""
        if self.since is None:
            self.since = time.monotonic()
        delay = min(self.cap, self.base * 2 ** self.attempts) * random.uniform(0.8, 1.2)
        self.attempts += 1
        log.warning("%s: Redis unavailable (%s: %s); attempt %d, retrying in %.1f s",
                    what, type(error).__name__, error, self.attempts, delay)
        return delay

    def succeeded(self, what: str) -> None:
        if self.since is not None:
            log.warning("%s: Redis is back after %.1f s and %d failed attempt(s)", what,
                        time.monotonic() - self.since, self.attempts)
        self.attempts, self.since = 0, None


def until_done(what: str, action: Callable[[], T]) -> T:
    """Run ``action`` until it gets through a Redis outage; for blocking callers (a sink
    has nothing else to do until its batch is written)."""
    backoff = Backoff()
    while True:
        try:
            result = action()
        except TRANSIENT as e:
            time.sleep(backoff.failed(what, e))
            continue
        backoff.succeeded(what)
        return result
