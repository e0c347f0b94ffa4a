"""Who may call what: API keys with scopes, anonymous read for the local demo, and a
request rate limit per key.

Every endpoint states the scope it needs, ``dependencies=[Depends(require("read"))]``:

- ``read``: what the flow published (alerts, series, topics, stats, the live stream);
- ``ingest``: ``POST /mentions``, for machine feeds;
- ``operate``: acting on incidents (lifecycle, playbooks), labels that teach the sentiment
  model, the webhook outbox (its destinations may carry a receiver's secret);
- ``admin``: all of the above.

Keys travel as ``Authorization: Bearer <token>`` and nowhere else: a token in a URL ends
up in access logs, proxy logs and browser history, so query-string tokens are not read,
not even for ``GET /stream`` (EventSource cannot set headers; a browser uses ``fetch``
with a streamed body, or anonymous read on loopback). No key: 401 with
``WWW-Authenticate: Bearer``; a key without the scope: 403. Anonymous callers may only
read, and only when ``SecurityConfig.anonymous_read`` is on.

The limit is a token bucket in Redis (``Store.take_token``), not in the process: several
API processes behind one balancer must share a client's allowance.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal, NoReturn

import redis
from fastapi import HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.models import ErrorOut
from crisiswatch.store import Store

Scope = Literal["read", "ingest", "operate", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "ingest", "operate", "admin")
REALM = 'Bearer realm="crisiswatch"'
GUARD_RESPONSES: dict[int | str, dict] = {
    401: {"model": ErrorOut, "description": "no API key, or an unknown or revoked one"},
    403: {"model": ErrorOut, "description": "the API key lacks the scope"},
    429: {"model": ErrorOut, "description": "rate limit: retry after Retry-After seconds"},
}
log = logging.getLogger("crisiswatch.api")

# Declares the scheme in /openapi.json (the "Authorize" button of /docs); the header is
# parsed below, so that a malformed one is refused rather than read as no key at all.
_bearer = HTTPBearer(auto_error=False, description="an API key: crisiswatch keys create")


@dataclass(frozen=True)
class SecurityConfig:
    """What the CLI reads from the ``security`` settings; the defaults are the demo's."""

    anonymous_read: bool = True
    rate_per_second: float | None = 20.0
    burst: float = 100.0
    anonymous_rate_per_second: float | None = 10.0
    anonymous_burst: float = 50.0
    body_limit_bytes: int = 1_048_576
    cors_origins: tuple[str, ...] = ()


@dataclass(frozen=True)
class Principal:
    """The caller of a request: a key (by its public id and name) or anonymous."""

    key_id: str | None
    name: str
    scopes: frozenset[str]


def allows(scopes: frozenset[str] | list[str], scope: str) -> bool:
    return "admin" in scopes or scope in scopes


def require(scope: Scope) -> Callable[..., Principal]:
    """The dependency that lets a request through only with ``scope``; the caller ends
    up in ``request.state.principal``."""

    def check(request: Request,
              _: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]) -> Principal:
        config: SecurityConfig = request.app.state.security
        store: Store = request.app.state.store
        client = request.client.host if request.client else "unknown"
        header = request.headers.get("authorization")
        if header is None:
            if scope != "read" or not config.anonymous_read:
                _refuse(request, client, 401, f"this endpoint needs an API key with scope "
                        f"'{scope}': send 'Authorization: Bearer <token>'", REALM)
            principal = Principal(None, "anonymous", frozenset({"read"}))
            _limit(store, f"ip:{client}", config.anonymous_rate_per_second,
                   config.anonymous_burst, f"anonymous clients at {client}")
        else:
            kind, _, token = header.strip().partition(" ")
            if kind.lower() != "bearer" or not token.strip():
                _refuse(request, client, 401, "the Authorization header must be "
                        "'Bearer <token>'", f'{REALM}, error="invalid_request"')
            key = store.api_keys.verify(token.strip())
            if key is None:
                _refuse(request, client, 401, "unknown or revoked API key",
                        f'{REALM}, error="invalid_token"')
            principal = Principal(key["id"], key["name"], frozenset(key["scopes"]))
            if not allows(principal.scopes, scope):
                _refuse(request, client, 403, f"API key {key['name']!r} ({key['id']}) lacks "
                        f"scope '{scope}'; it has: {', '.join(sorted(principal.scopes))}",
                        f'{REALM}, error="insufficient_scope", scope="{scope}"',
                        key_id=key["id"])
            rate = key.get("rate_per_second") or config.rate_per_second
            _limit(store, f"key:{key['id']}", rate, key.get("burst") or config.burst,
                   f"API key {key['name']!r}")
        request.state.principal = principal
        return principal

    check.scope = scope  # type: ignore[attr-defined]  # read by tests that audit routes
    return check


def _refuse(request: Request, client: str, status: int, message: str, challenge: str,
            key_id: str | None = None) -> NoReturn:
    # The token is never logged; a known key is named by its public id.
    log.info("refused %s %s from %s: %s", request.method, request.url.path, client,
             f"{status} (key {key_id})" if key_id else status)
    raise HTTPException(status, message, headers={"WWW-Authenticate": challenge})


def _limit(store: Store, bucket: str, rate: float | None, burst: float, who: str) -> None:
    if rate is None:
        return
    try:
        wait = store.take_token(bucket, rate, burst)
    except redis.RedisError:
        # The limit protects the store; with the store down the endpoint answers 503 by
        # itself, and /metrics can still say so.
        return
    if wait > 0:
        retry = max(1, math.ceil(wait))
        raise HTTPException(429, f"rate limit for {who}: {rate:g} requests/s, bursts of "
                            f"{burst:g}; retry in {retry} s", headers={"Retry-After": str(retry)})
