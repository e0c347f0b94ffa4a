"""FastAPI application over the store.

The app only reads what the flow published; it is given a ``Store`` by the composition
root (the CLI) and never opens Redis itself, so tests point it at any real server.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from crisiswatch.api import (
    connectors,
    digest,
    docs,
    feedback,
    ingest,
    labels,
    lifecycle,
    operations,
    reports,
    routine,
    snooze,
    stream,
    topics,
    wall,
    webhooks,
)
from crisiswatch.api.body_limit import BodyLimitMiddleware
from crisiswatch.api.models import (
    AlertOut,
    BrandOut,
    ErrorOut,
    RecordOut,
    SeriesOut,
    Severity,
    StatsOut,
)
from crisiswatch.api.params import TimeParam, parse_time
from crisiswatch.api.security import (
    GUARD_RESPONSES,
    HostCheckMiddleware,
    SecurityConfig,
    StoreBreaker,
    document_anonymous_read,
    reject_unknown_query,
    require,
)
from crisiswatch.detectors.types import SEVERITY_RANK
from crisiswatch.store import Store, StoreError, unavailable

STATIC = Path(__file__).parent / "static"
ERRORS = {404: {"model": ErrorOut}, 422: {"model": ErrorOut}, 503: {"model": ErrorOut}}
READ = [Depends(require("read"))]

def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"status": status, "message": message}}, status_code=status,
                        headers=headers)


def _installed_version() -> str:
    try:
        return metadata.version("crisiswatch")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def create_app(store: Store, security: SecurityConfig | None = None,
               stale_after_s: float = 60.0, version: str | None = None) -> FastAPI:
    """The app over ``store``. Every route states its scope (``api/security.py``);
    ``security`` defaults to the local demo's (anonymous read, keys to write);
    ``version`` (the composition root's) defaults to the installed package's."""
    security = security or SecurityConfig()
    app = FastAPI(
        title="crisiswatch",
        version=version or _installed_version(),
        description="Brand crisis detection on social media streams: explained alerts, "
        "per-brand series and pipeline health.",
        responses=GUARD_RESPONSES,
        dependencies=[Depends(reject_unknown_query)],
        docs_url=None,  # api/docs.py serves Swagger UI from the package, not a CDN
        redoc_url=None,
    )
    # Feature routers (api/<feature>.py, each an APIRouter) read the store from here.
    app.state.store = store
    app.state.security = security
    app.state.breaker = StoreBreaker()
    # Innermost first: the body limit, then latency (it sees 413s), then CORS (its
    # headers go on every answer, errors included, so a browser can read them).
    app.add_middleware(BodyLimitMiddleware, limit=security.body_limit_bytes)
    operations.instrument(app, store, stale_after_s)
    if security.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(security.cors_origins),
                           allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
                           expose_headers=["Retry-After"], max_age=600)
    app.add_middleware(HostCheckMiddleware, allowed=security.allowed_hosts)  # outermost
    app.include_router(operations.router)
    app.include_router(lifecycle.router)
    app.include_router(webhooks.router)
    app.include_router(stream.router)
    app.include_router(labels.router)
    app.include_router(routine.router)
    app.include_router(feedback.router)
    app.include_router(snooze.router)
    app.include_router(wall.router)
    app.include_router(digest.router)
    app.include_router(topics.router)
    app.include_router(reports.router)
    app.include_router(ingest.router)
    app.include_router(connectors.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")  # the dashboard's files
    docs.mount(app)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        msg = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        return _error(422, msg)

    @app.exception_handler(StoreError)
    async def store_down(request: Request, exc: StoreError) -> JSONResponse:
        if unavailable(exc):
            request.app.state.breaker.trip(exc)  # the next requests fail fast, not slowly
        return _error(503, f"the store (Redis) is unavailable: {type(exc).__name__}; retry "
                      "shortly", {"Retry-After": "1"})

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/stats", response_model=StatsOut, responses=ERRORS, tags=["operations"],
             dependencies=READ)
    def stats() -> StatsOut:
        s = store.stats()
        accounted = s["processed"] + s["duplicate"] + s["late"] + s["dead_lettered"]
        return StatsOut(**s, in_flight=s["read"] + s["fanout"] - accounted)

    @app.get("/brands", response_model=list[BrandOut], responses=ERRORS, tags=["brands"],
             dependencies=READ)
    def brands() -> list[BrandOut]:
        out = []
        for brand in store.brands():
            last = store.series(brand, limit=1, newest=True)
            open_alerts = sum(a["state"] != "resolved" for a in store.alerts(brand=brand))
            out.append(BrandOut(brand=brand, open_alerts=open_alerts,
                                last_window_start=last[0]["window_start"] if last else None))
        return out

    # ``:path``: a brand may hold '/' ("AT&T/Mobile"); sent as %2F it arrives decoded
    @app.get("/brands/{brand:path}/series", response_model=SeriesOut, responses=ERRORS,
             tags=["brands"], dependencies=READ)
    def series(brand: str, from_: Annotated[TimeParam, Query(alias="from")] = None,
               to: TimeParam = None,
               limit: Annotated[int, Query(ge=1, le=50_000)] = 5000) -> SeriesOut:
        """Closed windows of the brand in time order (windows without mentions are
        absent), each with the detector's expected count and score."""
        if brand not in store.brands():
            raise HTTPException(404, f"unknown brand {brand!r}; GET /brands lists them")
        points = store.series(brand, parse_time(from_, "from"), parse_time(to, "to"), limit)
        return SeriesOut(brand=brand, points=points)

    @app.get("/alerts", response_model=list[AlertOut], responses=ERRORS, tags=["alerts"],
             dependencies=READ)
    def alerts(
        brand: str | None = None,
        since: Annotated[TimeParam, Query(description="alerts active at or after this time")]
        = None,
        severity: Annotated[Severity | None, Query(description="minimum severity")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict]:
        found = store.alerts(brand=brand, since=parse_time(since, "since"), limit=limit)
        if severity is not None:
            floor = SEVERITY_RANK[severity]
            found = [a for a in found if SEVERITY_RANK[a["severity"]] >= floor]
        return found

    @app.get("/alerts/{alert_id}", response_model=AlertOut, responses=ERRORS, tags=["alerts"],
             dependencies=READ)
    def alert(alert_id: str) -> dict:
        found = store.alert(alert_id)
        if found is None:
            raise HTTPException(404, f"no alert with id {alert_id!r}")
        return found

    @app.get("/deadletters", response_model=list[RecordOut], responses=ERRORS,
             tags=["operations"], dependencies=READ)
    def deadletters(limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> list[dict]:
        """Records that could not become mentions, newest first, with the reason."""
        return store.deadletters(limit)

    @app.get("/late", response_model=list[RecordOut], responses=ERRORS, tags=["operations"],
             dependencies=READ)
    def late(limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> list[dict]:
        """Mentions that arrived after their window closed, newest first."""
        return store.late(limit)

    if security.anonymous_read:
        generate = app.openapi

        def openapi() -> dict:
            if app.openapi_schema is None:
                document_anonymous_read(generate(), app.routes)
            return app.openapi_schema  # type: ignore[return-value]

        app.openapi = openapi  # type: ignore[method-assign]
    return app
