"""Imports as a DataFrame: one row per import, the same columns and dtypes every time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd
from pandas.api.types import pandas_dtype

if TYPE_CHECKING:
    from nexosis_pandas._job import ImportJob

__all__ = ["HISTORY_DTYPES", "history_frame"]

HISTORY_DTYPES: dict[str, str] = {
    "import_id": "string",
    "dataset_name": "string",
    "type": "string",
    "status": "string",
    "bucket": "string",
    "path": "string",
    "region": "string",
    "url": "string",
    "container": "string",
    "blob": "string",
    "requested": "datetime64[ns, UTC]",
    "started": "datetime64[ns, UTC]",
    "finished": "datetime64[ns, UTC]",
    "duration": "timedelta64[ns]",
    "error": "string",
    "n_messages": "int64",
}
"""The history frame's columns, in order, and their dtypes (the same with pandas 2 and 3)."""


def history_frame(jobs: Iterable[ImportJob]) -> pd.DataFrame:
    """Build the import history frame: one row per import, sorted by ``requested``.

    Where each import read from is in the columns of its ``type``: ``bucket``, ``path`` and
    ``region`` for S3, ``url`` for a URL (its scheme and host, as the server echoes it),
    ``container`` and ``blob`` for Azure; the others are ``<NA>``.

    ``requested``, ``started`` and ``finished`` are UTC timestamps taken from the status
    history (``NaT`` until the import gets there); ``duration`` is ``finished - requested``
    (``NaT`` while it runs); ``error`` joins the server's error messages (``""`` when there are
    none). The columns and dtypes are :data:`HISTORY_DTYPES`, also for no imports.

    Parameters
    ----------
    jobs
        The imports, in any order.

    Examples
    --------
    >>> history_frame([]).dtypes.to_dict()["requested"]
    datetime64[ns, UTC]
    >>> list(history_frame([]).columns)[:4]
    ['import_id', 'dataset_name', 'type', 'status']
    """
    rows = [_row(job) for job in jobs]
    columns: dict[str, Any] = {
        name: pd.Series([row[name] for row in rows], dtype=_source_dtype(dtype)).astype(
            pandas_dtype(dtype)
        )
        for name, dtype in HISTORY_DTYPES.items()
    }
    frame = pd.DataFrame(columns)
    frame = frame.sort_values("requested", kind="stable", na_position="last")
    return frame.reset_index(drop=True)


def _source_dtype(dtype: str) -> str:
    # Build from object first: None becomes NaT/<NA> whatever the target dtype is.
    return "object" if dtype != "int64" else "int64"


def _row(job: ImportJob) -> dict[str, Any]:
    params = job.parameters
    return {
        "import_id": job.import_id,
        "dataset_name": job.dataset_name,
        "type": job.type,
        "status": job.status.value,
        "bucket": params.get("bucket"),
        "path": params.get("path"),
        "region": params.get("region"),
        "url": params.get("url"),
        "container": params.get("container"),
        "blob": params.get("blob"),
        "requested": job.requested_date,
        "started": job.started,
        "finished": job.finished,
        "duration": job.duration,
        "error": job.error,
        "n_messages": len(job.messages),
    }
