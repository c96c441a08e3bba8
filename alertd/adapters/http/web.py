"""What alertd serves to browsers: the dispatch console at /console, the staff app at /app,
the SRO app at /sro (with the modules they share at /clients-common) and the API docs at /docs.

Everything comes from this server: the console's ES modules from `dispatch_console/`, and
Swagger UI from the copy vendored in `vendor/swagger-ui-dist` (see scripts/vendor_assets.sh).
Schools and dispatch centres often run closed networks; nothing here reaches for a CDN.
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, RedirectResponse

logger = logging.getLogger(__name__)

CONSOLE_PATH = "/console"
DOCS_PATH = "/docs"
DOCS_ASSETS = "/docs/assets"
SWAGGER_UI = Path(__file__).parent / "vendor" / "swagger-ui-dist"
# A source checkout (`pip install -e .`, ./dev) keeps the console beside the package.
CHECKOUT_CONSOLE = Path(__file__).resolve().parents[3] / "dispatch_console"
# The people's apps (installable PWAs, issue 8): plain ES modules under clients/, no build.
CHECKOUT_CLIENTS = Path(__file__).resolve().parents[3] / "clients"
CLIENT_APPS = {"/app": "staff_app", "/sro": "sro_app", "/clients-common": "web_common"}
mimetypes.add_type("application/manifest+json", ".webmanifest")

router = APIRouter(include_in_schema=False)


@router.get(DOCS_PATH)
async def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="alertd API",
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        oauth2_redirect_url=f"{DOCS_PATH}/oauth2-redirect",
        # Swagger UI would otherwise ask validator.swagger.io to check the document.
        swagger_ui_parameters={"validatorUrl": None, "deepLinking": True},
    )


@router.get(f"{DOCS_PATH}/oauth2-redirect")
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/")
async def home() -> RedirectResponse:
    """The server's root leads people to the console."""
    return RedirectResponse(f"{CONSOLE_PATH}/", status_code=307)


def install_web(app: FastAPI, *, console_dir: Path | None) -> None:
    """Serve the docs and, when its files are there, the console (`console_dir`, or the
    checkout's `dispatch_console/`). Call before the app starts."""
    app.include_router(router)
    app.mount(DOCS_ASSETS, StaticFiles(directory=SWAGGER_UI), name="docs-assets")
    directory = console_dir or CHECKOUT_CONSOLE
    if (directory / "index.html").is_file():
        app.mount(CONSOLE_PATH, StaticFiles(directory=directory, html=True), name="console")
    else:
        logger.warning("no dispatch console at %s: set ALERTD_CONSOLE_DIR", directory)
    for path, folder in CLIENT_APPS.items():
        app_dir = CHECKOUT_CLIENTS / folder
        if app_dir.is_dir():
            app.mount(path, StaticFiles(directory=app_dir, html=True), name=folder)
        else:
            logger.warning("no %s at %s", folder, app_dir)
