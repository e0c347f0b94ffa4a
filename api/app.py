"""The FastAPI application over the store: assembled here, built from an ``ApiConfig``.

The app only reads what the flow published and what people do about it; it is given a
``Store`` by the composition root (the CLI) and never opens Redis itself, so tests point
it at any real server. ``create_app`` sets ``app.state`` once (the store, the config,
and the process's breaker, metrics registry and event fan-out, read by the routes
through ``api/deps.py``), adds the middleware and includes one router per resource.
"""

from __future__ import annotations

from importlib import metadata

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from crisiswatch.api import (
    alerts,
    brands,
    connectors,
    dashboard,
    digest,
    docs,
    errors,
    feedback,
    ingest,
    labels,
    lifecycle,
    operations,
    pipeline,
    reports,
    routine,
    snooze,
    stream,
    topics,
    wall,
    webhooks,
)
from crisiswatch.api.body_limit import BodyLimitMiddleware
from crisiswatch.api.breaker import StoreBreaker
from crisiswatch.api.config import ApiConfig
from crisiswatch.api.fanout import Fanout
from crisiswatch.api.metrics import LatencyMiddleware, registry_for
from crisiswatch.api.security import (
    GUARD_RESPONSES,
    HostCheckMiddleware,
    document_anonymous_read,
    reject_unknown_query,
)
from crisiswatch.store import Store

# In the order of the OpenAPI document's paths.
ROUTERS = (operations, lifecycle, webhooks, stream, labels, routine, feedback, snooze, wall,
           digest, topics, reports, ingest, connectors, pipeline, brands, alerts)


def create_app(store: Store, config: ApiConfig | None = None) -> FastAPI:
    """The app over ``store`` as ``config`` says (default: the local demo's guard, without
    playbooks or ingestion). Every route states its scope (``api/security.py``)."""
    config = config or ApiConfig()
    security = config.security
    app = FastAPI(
        title="crisiswatch",
        version=config.version or _installed_version(),
        description="Brand crisis detection on social media streams: explained alerts, "
        "per-brand series and pipeline health.",
        responses=GUARD_RESPONSES,
        dependencies=[Depends(reject_unknown_query)],
        docs_url=None,  # api/docs.py serves Swagger UI from the package, not a CDN
        redoc_url=None,
    )
    breaker = StoreBreaker()
    registry, http_metrics = registry_for(store, breaker)
    app.state.store = store
    app.state.config = config
    app.state.breaker = breaker
    app.state.metrics = registry
    app.state.fanout = Fanout(store)
    # Innermost first: the body limit, then latency (it sees 413s), then CORS (its
    # headers go on every answer, errors included, so a browser can read them).
    app.add_middleware(BodyLimitMiddleware, limit=security.body_limit_bytes)
    app.add_middleware(LatencyMiddleware, metrics=http_metrics)
    if security.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(security.cors_origins),
                           allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
                           expose_headers=["Retry-After"], max_age=600)
    app.add_middleware(HostCheckMiddleware, allowed=security.allowed_hosts)  # outermost
    for module in ROUTERS:
        app.include_router(module.router)
    dashboard.mount(app)
    docs.mount(app)
    errors.install(app)
    if security.anonymous_read:
        _document_anonymous_read(app)
    return app


def _installed_version() -> str:
    try:
        return metadata.version("crisiswatch")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _document_anonymous_read(app: FastAPI) -> None:
    """The OpenAPI document says which routes anonymous callers may read."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            document_anonymous_read(generate(), app.routes)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
