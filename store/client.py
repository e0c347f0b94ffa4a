"""Connecting to Redis, and the server-side scripts (``store/lua/*.lua``)."""

from __future__ import annotations

import functools
from importlib import resources

import redis

Client = redis.Redis  # what ``connect`` returns; the type callers annotate with


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


@functools.cache
def lua(name: str) -> str:
    """The text of ``store/lua/{name}.lua`` (package data)."""
    return resources.files("store").joinpath("lua", f"{name}.lua").read_text()
