"""Who may call what: API keys with scopes, anonymous read for the local demo, and a
request rate limit per key.

Every endpoint states the scope it needs, ``dependencies=[Depends(require("read"))]``:

- ``read``: what the flow published (alerts, series, topics, stats, the live stream);
- ``ingest``: ``POST /mentions``, for machine feeds (a key may be limited to some
  brands: ``Principal.brands``);
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

While Redis is unreachable or hung, the process's ``StoreBreaker`` (``api/breaker.py``)
answers 503 at once, and a route that needs no store (``GET /metrics``,
``require(..., store_optional=True)``) still honours a key this process verified lately.
"""

from __future__ import annotations

import fnmatch
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NoReturn
from urllib.parse import parse_qsl

import orjson
from fastapi import HTTPException, Request, Security
from fastapi.routing import iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as AsgiScope

from crisiswatch.api.breaker import StoreBreaker, StoreDown
from crisiswatch.api.deps import BreakerDep, SecurityDep, StoreDep
from crisiswatch.api.models import ErrorOut
from crisiswatch.store import Store, StoreError, token_digest

Scope = Literal["read", "ingest", "operate", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "ingest", "operate", "admin")
REALM = 'Bearer realm="crisiswatch"'
GUARD_RESPONSES: dict[int | str, dict] = {
    400: {"model": ErrorOut, "description": "a Host this API does not serve, a body that is "
          "not JSON, or a query parameter the endpoint does not take"},
    401: {"model": ErrorOut, "description": "no API key, or an unknown or revoked one"},
    403: {"model": ErrorOut, "description": "the API key lacks the scope"},
    429: {"model": ErrorOut, "description": "rate limit: retry after Retry-After seconds"},
}
log = logging.getLogger("crisiswatch.api")

# Declares the scheme in /openapi.json (the "Authorize" button of /docs); the header is
# parsed below, so that a malformed one is refused rather than read as no key at all.
_bearer = HTTPBearer(auto_error=False, description="an API key: crisiswatch keys create")


@dataclass(frozen=True)
class Principal:
    """The caller of a request: a key (by its public id and name) or anonymous.
    ``brands``: the only brands the key may push mentions for (``api/ingest.py``); None:
    any (anonymous callers cannot ingest at all)."""

    key_id: str | None
    name: str
    scopes: frozenset[str]
    brands: frozenset[str] | None = None


def allows(scopes: frozenset[str] | list[str], scope: str) -> bool:
    return "admin" in scopes or scope in scopes


def require(scope: Scope, store_optional: bool = False) -> Callable[..., Principal]:
    """The dependency that lets a request through only with ``scope``; the caller ends
    up in ``request.state.principal``. ``store_optional``: the route answers without the
    store, so an outage must not turn it into a 503."""

    def check(request: Request,
              _: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
              config: SecurityDep, store: StoreDep, breaker: BreakerDep) -> Principal:
        client = request.client.host if request.client else "unknown"
        header = request.headers.get("authorization")
        if header is None:
            if scope != "read" or not config.anonymous_read:
                _refuse(request, client, 401, f"this endpoint needs an API key with scope "
                        f"'{scope}': send 'Authorization: Bearer <token>'", REALM)
            if breaker.is_open() and not store_optional:
                raise StoreDown("the circuit breaker is open after a failed call")
            principal = Principal(None, "anonymous", frozenset({"read"}))
            _limit(store, breaker, f"ip:{client}", config.anonymous_rate_per_second,
                   config.anonymous_burst, f"anonymous clients at {client}")
        else:
            kind, _, token = header.strip().partition(" ")
            if kind.lower() != "bearer" or not token.strip():
                _refuse(request, client, 401, "the Authorization header must be "
                        "'Bearer <token>'", f'{REALM}, error="invalid_request"')
            key = _verify(store, breaker, token.strip(), store_optional)
            if key is None:
                _refuse(request, client, 401, "unknown or revoked API key",
                        f'{REALM}, error="invalid_token"')
            brands = key.get("brands")  # absent from keys made before it existed
            principal = Principal(key["id"], key["name"], frozenset(key["scopes"]),
                                  None if brands is None else frozenset(brands))
            if not allows(principal.scopes, scope):
                _refuse(request, client, 403, f"API key {key['name']!r} ({key['id']}) lacks "
                        f"scope '{scope}'; it has: {', '.join(sorted(principal.scopes))}",
                        f'{REALM}, error="insufficient_scope", scope="{scope}"',
                        key_id=key["id"])
            rate = key.get("rate_per_second") or config.rate_per_second
            _limit(store, breaker, f"key:{key['id']}", rate, key.get("burst") or config.burst,
                   f"API key {key['name']!r}")
        request.state.principal = principal
        return principal

    check.scope = scope  # type: ignore[attr-defined]  # read by tests that audit routes
    return check


def reject_unknown_query(request: Request) -> None:
    """A query parameter the endpoint does not take is refused (400), not ignored: a
    misspelt ``?sevrity=critical`` would otherwise answer every alert, and look right."""
    route = request.scope.get("route")
    allowed = getattr(route, "query_names", None)
    if allowed is None:
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            return
        allowed = frozenset(_query_names(dependant))
        route.query_names = allowed  # type: ignore[union-attr]  # once per route
    # a token sent in the URL is ignored (never a credential) and answered as if absent
    # names as written, a blank one ('?=1') included, which the parsed params drop
    names = {k for k, _ in parse_qsl(request.url.query, keep_blank_values=True)}
    unknown = sorted((names | set(request.query_params)) - allowed - {"access_token"})
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        raise HTTPException(400, f"unknown query parameter(s) {', '.join(map(repr, unknown))}; "
                            f"this endpoint takes: {takes}")


def _query_names(dependant: Any) -> Iterator[str]:
    yield from (p.alias for p in dependant.query_params)
    for sub in dependant.dependencies:
        yield from _query_names(sub)


def route_scopes(app_routes: list[Any]) -> Iterator[tuple[str, set[str], set[str]]]:
    """(path, methods, scopes required) of every API route, routers' routes included."""
    for context in iter_route_contexts(app_routes):
        dependant = getattr(context.route, "dependant", None)
        if dependant is not None:
            yield context.path_format, set(context.methods or ()), set(_scopes(dependant))


def _scopes(dependant: Any) -> Iterator[str]:
    scope = getattr(dependant.call, "scope", None)
    if scope:
        yield scope
    for sub in dependant.dependencies:
        yield from _scopes(sub)


def document_anonymous_read(schema: dict[str, Any], app_routes: list[Any]) -> None:
    """Mark the key optional (``security: [{HTTPBearer}, {}]``) on the routes anonymous
    callers may read, so that the schema says what the API does."""
    for path, methods, scopes in route_scopes(app_routes):
        if scopes != {"read"}:
            continue
        for method in methods:
            op = schema["paths"].get(path, {}).get(method.lower())
            if op is not None and {} not in op.setdefault("security", []):
                op["security"].append({})


def _refuse(request: Request, client: str, status: int, message: str, challenge: str,
            key_id: str | None = None) -> NoReturn:
    # The token is never logged; a known key is named by its public id.
    log.info("refused %s %s from %s: %s", request.method, request.url.path, client,
             f"{status} (key {key_id})" if key_id else status)
    raise HTTPException(status, message, headers={"WWW-Authenticate": challenge})


def _verify(store: Store, breaker: StoreBreaker, token: str,
            store_optional: bool) -> dict[str, Any] | None:
    digest = token_digest(token)
    try:
        if breaker.is_open():
            raise StoreDown("the circuit breaker is open after a failed call")
        key = store.api_keys.verify(token)
    except StoreError as e:
        breaker.trip(e)
        key = breaker.recall(digest) if store_optional else None
        if key is None:
            raise
        return key
    if key is not None:
        breaker.remember(digest, key)
    return key


def _limit(store: Store, breaker: StoreBreaker, bucket: str, rate: float | None,
           burst: float, who: str) -> None:
    if rate is None or breaker.is_open():
        return
    try:
        wait = store.take_token(bucket, rate, burst)
    except StoreError as e:
        # The limit protects the store; with the store down the endpoint answers 503 by
        # itself (at once: the breaker is open now), and /metrics can still report.
        breaker.trip(e)
        return
    if wait > 0:
        retry = max(1, math.ceil(wait))
        raise HTTPException(429, f"rate limit for {who}: {rate:g} requests/s, bursts of "
                            f"{burst:g}; retry in {retry} s", headers={"Retry-After": str(retry)})


class HostCheckMiddleware:
    """Refuse (400) a request whose ``Host`` is not one this API serves. A web page on
    ``evil.example`` that rebinds its name to 127.0.0.1 sends ``Host: evil.example``:
    without this check the browser would let it read the local, anonymous-read API.
    A request with several ``Host`` headers is refused too: a proxy may judge the first
    and this server the last."""

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = tuple(a.lower().strip("[]") for a in allowed)

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            hosts = [v for k, v in scope["headers"] if k == b"host"]
            host = host_of(hosts[0].decode("latin-1")) if hosts else ""
            if len(hosts) > 1:  # which one a proxy and this server read differs
                problem = f"{len(hosts)} Host headers: send one"
            elif "*" in self.allowed or any(fnmatch.fnmatchcase(host, a)
                                            for a in self.allowed):
                problem = None
            else:
                problem = f"Host {host!r} is not served here (security.allowed_hosts)"
            if problem is not None:
                body = orjson.dumps({"error": {"status": 400, "message": problem}})
                await send({"type": "http.response.start", "status": 400, "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def host_of(header: str) -> str:
    """The name in a Host header, without its port (``[::1]:8000`` -> ``::1``)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.rpartition(":")[0] if header.count(":") == 1 else header
