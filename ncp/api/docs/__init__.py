"""The API's interactive documentation, served from the installed packages only.

Why not FastAPI's default ``/api/docs``: it loads Swagger UI's script and style from a public
CDN into the portal's origin, with no integrity check and no CSP, and shows a blank page on a
machine without Internet access. Here the assets come from the ``swagger-ui-bundle`` wheel
(pinned in constraints.txt), the page's only script is our own file (no inline script), and a
CSP limits the page to our origin. The page is on in development and off in production unless
``NCP_API_DOCS=true``; the OpenAPI document itself follows the same switch.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response

PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
            "base-uri 'none'; form-action 'none'")
#: The Swagger UI files the page needs (nothing else of the bundle is reachable).
ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript",
          "favicon-32x32.png": "image/png"}

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - API</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
<link rel="icon" href="/api/docs/assets/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script></body></html>
"""


def _bundle() -> Path:
    import swagger_ui_bundle  # imported here: only a deployment that serves the docs needs it

    return Path(str(swagger_ui_bundle.swagger_ui_path))


def install(app: FastAPI) -> None:
    """Add ``/api/docs`` (page, init script, the few assets) to ``app``."""
    headers = {"Content-Security-Policy": PAGE_CSP, "X-Content-Type-Options": "nosniff",
               "Cache-Control": "no-store"}
    init_js = resources.files("ncp.api.docs").joinpath("init.js").read_bytes()
    page = _PAGE.format(title=app.title)

    @app.get("/api/docs", include_in_schema=False)
    def docs_page() -> HTMLResponse:
        return HTMLResponse(page, headers=headers)

    @app.get("/api/docs/init.js", include_in_schema=False)
    def docs_init() -> Response:
        return Response(init_js, media_type="text/javascript", headers=headers)

    @app.get("/api/docs/assets/{name}", include_in_schema=False)
    def docs_asset(name: str) -> Response:
        if name not in ASSETS:
            return Response(status_code=404)
        return FileResponse(_bundle() / name, media_type=ASSETS[name], headers=headers)
