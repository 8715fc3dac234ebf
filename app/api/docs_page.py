"""The API docs page (Swagger UI), served with its scripts and styles from the package.

Northstar never loads anything from the internet, so Swagger UI's assets come from the
`swagger-ui-bundle` package (the files Swagger UI publishes, nothing else) under
`/api/v1/docs/assets/`, not from FastAPI's default CDN.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"


def install_docs_page(app: FastAPI, docs_path: str) -> None:
    """Serve Swagger UI at `docs_path` from local assets (create the app with docs_url=None)."""
    assets = f"{docs_path}/assets"
    app.mount(assets, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get(docs_path, include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "",
            title=f"{app.title}: API",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon-32x32.png",
            oauth2_redirect_url=OAUTH2_REDIRECT_PATH,
        )

    @app.get(OAUTH2_REDIRECT_PATH, include_in_schema=False)
    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.state.docs_paths = (docs_path, OAUTH2_REDIRECT_PATH)
