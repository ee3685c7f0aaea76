"""The HTTP face of the reference server: one module per resource, the envelope, the wiring.

::

    app.py         create_app: routers, error handlers, middleware, offline docs
    deps.py        what routes depend on (store, pool, paging), through FastAPI's Depends
    envelope.py    ApiError and the one error envelope for every failure
    middleware.py  canonical paths and queries, the api-key check, account headers
    imports.py     POST /imports/s3, GET /imports/{id}, GET /imports
    datasets.py    GET /data, GET|PUT|DELETE /data/{name}
"""

from nexosis_pandas.server.http.app import create_app

__all__ = ["create_app"]
