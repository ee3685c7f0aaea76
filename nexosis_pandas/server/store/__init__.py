"""The reference server's store: a SQLite registry and the datasets' Arrow segments.

::

    registry.py  imports, status history, messages, datasets and the segments they are made of
    segments.py  the segment files: fixed-size record batches of text columns, written
                 atomically; reading a page, reading a whole dataset
    upsert.py    merging an import's staged rows into a dataset by key
    hashing.py   the keys' hashes made from the Arrow buffers, and their look-up
"""

from nexosis_pandas.server.store.registry import (
    IMPORT_SORT_COLUMNS,
    DatasetRecord,
    ImportJobRow,
    OldDataDirError,
    Store,
    utc_now,
)

__all__ = [
    "IMPORT_SORT_COLUMNS",
    "DatasetRecord",
    "ImportJobRow",
    "OldDataDirError",
    "Store",
    "utc_now",
]
