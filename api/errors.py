"""Every error answers ``{"error": {"status", "message"}}`` (``ErrorOut``), whether a
route, FastAPI's validation or the store raised it; a store that cannot be reached is a
503 with ``Retry-After``, and trips the process's breaker so that the next requests fail
fast instead of each waiting out its own timeout."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from crisiswatch.api.deps import get_breaker
from crisiswatch.store import StoreError, unavailable


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"status": status, "message": message}}, status_code=status,
                        headers=headers)


async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    return error(exc.status_code, str(exc.detail), exc.headers)


async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    msg = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return error(422, msg)


async def store_down(request: Request, exc: StoreError) -> JSONResponse:
    if unavailable(exc):
        breaker = await get_breaker(request)
        breaker.trip(exc)  # the next requests fail fast, not slowly
    return error(503, f"the store (Redis) is unavailable: {type(exc).__name__}; retry "
                 "shortly", {"Retry-After": "1"})


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StoreError, store_down)  # type: ignore[arg-type]
