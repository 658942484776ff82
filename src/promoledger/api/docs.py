"""``/docs`` (Swagger UI) and ``/redoc`` with their assets served by promoledger itself.

FastAPI's default pages load their JavaScript, CSS, favicon and fonts from public CDNs, so they
are blank on a machine without internet access. The assets come from the ``fastapi-offline``
package (Swagger UI and ReDoc bundles) and are mounted under ``/docs-assets``; like the pages and
``/openapi.json`` they need no credentials, and none of them exist when
``PROMOLEDGER_PUBLIC_DOCS`` is off.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

ASSETS = "/docs-assets"
DOCS = "/docs"
REDOC = "/redoc"


def assets_directory() -> Path:
    return Path(str(files("fastapi_offline").joinpath("static")))


def install(app: FastAPI, *, openapi_url: str) -> None:
    """Serve ``/docs``, ``/redoc`` and their assets (call only when the docs are public)."""
    app.mount(ASSETS, StaticFiles(directory=assets_directory()), name="docs-assets")
    title = app.title

    @app.get(DOCS, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
        )

    @app.get(REDOC, include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )

    # What FastAPI would have recorded had it served them itself (tests and tools read these).
    app.docs_url, app.redoc_url = DOCS, REDOC
