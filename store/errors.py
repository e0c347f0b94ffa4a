"""What the store raises, so that no module outside ``store/`` imports ``redis``.

- ``StoreError``: anything the store failed to do (the client library's base error);
- ``StoreUnavailable``: the store cannot be reached now (connection refused or lost,
  a timeout). It is a class to raise (the API's circuit breaker raises it without
  trying) and catches the client's own connection errors through ``UNAVAILABLE``;
- ``hung``: a timeout, the server took the connection and did not answer;
- ``TRANSIENT``: errors worth retrying after a pause (``UNAVAILABLE`` and a replica
  that is read-only while a failover promotes it).
"""

from __future__ import annotations

import redis

StoreError = redis.RedisError
ResponseError = redis.ResponseError  # the server refused a command


class StoreUnavailable(redis.ConnectionError):
    """The store cannot be reached now; raised by callers that know it without trying."""


UNAVAILABLE: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError)
TRANSIENT: tuple[type[Exception], ...] = (*UNAVAILABLE, redis.ReadOnlyError)


def hung(exc: BaseException) -> bool:
    """True if ``exc`` is a timeout: the server took the connection but did not answer
    (stopped, swapping, partitioned), as opposed to refusing it."""
    return isinstance(exc, redis.TimeoutError)


def unavailable(exc: BaseException) -> bool:
    """True if ``exc`` says the store cannot be reached (as opposed to a refused command)."""
    return isinstance(exc, UNAVAILABLE)
