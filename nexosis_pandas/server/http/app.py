"""The application: the routers, the error envelope, the middleware and the offline docs.

:func:`create_app` builds a FastAPI app over a :class:`~nexosis_pandas.server.store.Store` and an
:class:`~nexosis_pandas.server.pool.ImportWorker`, kept on ``app.state`` for the routes'
dependencies (see :mod:`~nexosis_pandas.server.http.deps`).
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.security import APIKeyHeader

from nexosis_pandas._version import __version__
from nexosis_pandas.server.http import datasets, imports
from nexosis_pandas.server.http.deps import API_PREFIX
from nexosis_pandas.server.http.envelope import NexosisJSONResponse, install_error_handlers
from nexosis_pandas.server.http.middleware import NexosisMiddleware
from nexosis_pandas.server.pool import ImportWorker
from nexosis_pandas.server.store import Store

__all__ = ["create_app"]

api_key_header = APIKeyHeader(
    name="api-key", auto_error=False, description="Your Nexosis api key (the server's key)"
)


def create_app(*, store: Store, worker: ImportWorker, api_keys: Sequence[str]) -> FastAPI:
    """Build the Nexosis Imports API application.

    Parameters
    ----------
    store
        The store that holds imports and datasets.
    worker
        The pool that runs the imports.
    api_keys
        The keys a request may send in its ``api-key`` header.

    Returns
    -------
    FastAPI
        The application, wrapped in the middleware that checks keys and adds headers.
    """
    app = FastAPI(
        title="Nexosis Imports API (reference server)",
        version=__version__,
        description=(
            "A local, working copy of the Nexosis Imports API: import CSV or JSON files from S3 "
            "into datasets, follow each import, and read the datasets back. Send your key in "
            "the `api-key` header (use **Authorize**)."
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        default_response_class=NexosisJSONResponse,
    )
    app.state.store = store
    app.state.pool = worker
    _install_docs(app)
    install_error_handlers(app)
    api = APIRouter(prefix=API_PREFIX, dependencies=[Depends(api_key_header)])
    api.include_router(imports.router)
    api.include_router(datasets.router)
    app.include_router(api)
    app.add_middleware(
        NexosisMiddleware, api_keys=list(api_keys), dataset_count=store.dataset_count
    )
    return app


def _offline_docs_dir() -> pathlib.Path | None:
    try:
        import fastapi_offline
    except ImportError:
        return None
    static = pathlib.Path(fastapi_offline.__file__).parent / "static"
    return static if (static / "swagger-ui-bundle.js").exists() else None


def _install_docs(app: FastAPI) -> None:
    static = _offline_docs_dir()
    if static is not None:
        from fastapi.staticfiles import StaticFiles

        app.mount("/docs/static", StaticFiles(directory=static), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        if static is None:  # swagger-ui from its CDN: needs the internet
            return get_swagger_ui_html(openapi_url="/openapi.json", title=app.title)
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=app.title,
            swagger_js_url="/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/docs/static/swagger-ui.css",
            swagger_favicon_url="/docs/static/favicon.png",
        )

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/docs")
