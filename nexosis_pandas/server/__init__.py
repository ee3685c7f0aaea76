"""The reference Nexosis Imports API: a real service that runs on your machine.

``ReferenceServer`` starts it in a background thread; ``nexosis-pandas serve`` from a shell.
Needs the ``server`` extra (FastAPI, uvicorn).

The parts::

    runner.py   ReferenceServer: store, pool and web server started and stopped in order
    http/       the application: one router per resource, the error envelope, dependencies
    pool.py     the import pool: imports run requested -> started -> completed | failed
    sources/    where files come from, one module per import type (s3, url, azure)
    loading.py  the one loading path (imports and PUT /data): check, stage, load all or none
    plan.py     a load's per-column checks (batches at once, or value by value) and upsert keys
    csv_fast.py the fast CSV path: Arrow's streaming reader, its quotes watched
    store/      the registry (SQLite, WAL) and the datasets' Arrow segments
    parsing.py  streaming CSV and JSON readers, gzip detected by its magic bytes
    columns.py  column metadata validation, defaults and inference; value type checks
"""

from nexosis_pandas.server.runner import DataDirInUseError, ListenError, ReferenceServer

__all__ = ["DataDirInUseError", "ListenError", "ReferenceServer"]
