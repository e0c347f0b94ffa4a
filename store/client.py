"""Connecting to Redis, and the server-side scripts (``store/lua/*.lua``)."""

from __future__ import annotations

import functools
from importlib import resources

import redis
from redis.commands.core import Script

Client = redis.Redis  # what ``connect`` returns; the type callers annotate with
FAST_TIMEOUT_S = 0.5  # the API's connect and command timeout: 503 within about a second


def connect(url: str, retries: int = 5, fast: bool = False) -> redis.Redis:
    """A client that retries briefly on connection errors instead of failing at once.
    ``retries=0`` is for callers that must see every failure (the input source: a read
    whose reply was lost has still advanced its consumer group). ``fast`` is the API's:
    one immediate retry of a dropped connection (a Redis restart replaces it at once),
    none of a timeout, and ``FAST_TIMEOUT_S`` timeouts, so that a request while Redis
    is down or hung is answered 503 within a second instead of after seconds of
    backoff; the flow and the worker wait instead."""
    from redis.backoff import ExponentialBackoff, NoBackoff
    from redis.retry import Retry

    if fast:
        # A hung server (SIGSTOP, a long fork, a partition) accepts connections and never
        # answers: only a short command timeout, not retried, bounds the wait. Blocking
        # reads on this client must block for less (``api/stream.py`` polls instead).
        retryable: list[type[Exception]] = [redis.ConnectionError]
        retry = Retry(NoBackoff(), retries=1, supported_errors=tuple(retryable))
        timeout, connect_timeout = FAST_TIMEOUT_S, FAST_TIMEOUT_S
    else:
        retryable = [redis.ConnectionError, redis.TimeoutError]
        retry = Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=retries)
        timeout, connect_timeout = 10.0, 5.0
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=connect_timeout,
        retry=retry,
        retry_on_error=retryable,
        health_check_interval=30,
    )


@functools.cache
def lua(name: str) -> str:
    """The text of ``store/lua/{name}.lua`` (package data)."""
    return resources.files("crisiswatch.store").joinpath("lua", f"{name}.lua").read_text()


def script(client: redis.Redis, name: str) -> Script:
    """``store/lua/{name}.lua`` registered with ``client`` (no round trip here: it runs by
    its SHA, and is loaded where the server does not have it yet)."""
    return client.register_script(lua(name))
