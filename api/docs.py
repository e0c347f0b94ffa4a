"""``GET /docs``: Swagger UI served from the package, never from a CDN.

FastAPI's default page loads Swagger UI's script and style from jsDelivr, which many
operator networks cannot reach (and which then runs third-party code beside an API key
pasted into "Authorize"). The ``swagger-ui-bundle-v2`` wheel ships Swagger UI's files; they
are served under ``/docs/assets``. Without that package the docs page is off (404) and
``/openapi.json`` still describes the API. ReDoc is off: it has no packaged copy.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"


def swagger_files() -> Path | None:
    """Swagger UI's files from the installed package, or None."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    path = Path(swagger_ui_path)
    return path if (path / "swagger-ui-bundle.js").is_file() else None


def mount(app: FastAPI) -> bool:
    """Serve ``/docs`` from the packaged files; False (and no page) without them. The
    app must be created with ``docs_url=None, redoc_url=None``."""
    files = swagger_files()
    if files is None:
        return False
    app.mount(ASSETS, StaticFiles(directory=files), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png")

    return True
