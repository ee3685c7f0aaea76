"""The reference Nexosis Imports API: a real service that runs on your machine.

``ReferenceServer`` starts it in a background thread; ``nexosis-pandas serve`` from a shell.
Needs the ``server`` extra (FastAPI, uvicorn).

The parts::

    app.py      routes, the error envelope, api-key check and account headers (FastAPI)
    store.py    imports, their history and messages, datasets and rows (SQLite, WAL)
    worker.py   the import pool: read from S3 (s3fs), check, stage, load all rows or none
    parsing.py  streaming CSV and JSON readers, gzip detected by its magic bytes
    columns.py  column metadata validation, defaults and inference; value type checks
"""

from nexosis_pandas.server.runner import ListenError, ReferenceServer

__all__ = ["ListenError", "ReferenceServer"]
