"""Imports as a DataFrame: one row per import, the same columns and dtypes every time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd
from pandas.api.types import pandas_dtype

if TYPE_CHECKING:
    from nexosis_pandas._job import ImportJob

__all__ = ["HISTORY_DTYPES", "ImportHistory", "history_frame"]

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


class ImportHistory(pd.DataFrame):
    """The import history: a plain DataFrame, full and typed, that a notebook shows at a glance.

    Its notebook rendering shows what a person reads: short ids, the source as
    ``s3://bucket/key``, the URL's scheme and host, or ``az://container/blob`` (as the job and
    the progress summary show it), times to the second,
    the import's duration in seconds ("Import", the server's time from request to end), and
    the first line of an error. The data is untouched: every column keeps its full value and
    dtype, and any operation on it returns a plain ``DataFrame``.
    """

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    def _repr_html_(self) -> str | None:
        from nexosis_pandas._html import escape, status_colour

        if not set(HISTORY_DTYPES) <= set(self.columns):  # pragma: no cover - edited in place
            return pd.DataFrame(self).to_html()
        if self.empty:
            return "<p><i>No imports</i> (an empty history with the usual columns)</p>"
        limit = pd.get_option("display.max_rows") or len(self)
        shown = (
            self
            if len(self) <= limit
            else pd.concat([self.head(limit // 2), self.tail(limit // 2)])
        )
        view = pd.DataFrame(
            {
                "import": shown["import_id"].str.slice(0, 8) + "…",
                "dataset": shown["dataset_name"].map(escape),
                "status": [
                    f'<span style="color:{status_colour(str(v))};font-weight:bold">'
                    f"{escape(v)}</span>"
                    for v in shown["status"]
                ],
                "requested (UTC)": shown["requested"]
                .dt.strftime("%Y-%m-%d %H:%M:%S")
                .fillna("&ndash;"),
                "Import (s)": [
                    "running" if pd.isna(d) else f"{d.total_seconds():.1f}"
                    for d in shown["duration"]
                ],
                "error": [
                    escape(str(e).splitlines()[0][:100]) if e else "" for e in shown["error"]
                ],
                "source": [
                    escape(_source(row)) or "&ndash;"
                    for row in shown[["bucket", "path", "url", "container", "blob"]].itertuples()
                ],
            },
            index=shown.index,
        )
        if not shown["error"].fillna("").str.len().gt(0).any():
            view = view.drop(columns="error")
        view = view.map(lambda v: f'<span style="white-space:nowrap">{v}</span>')
        count = f"{len(self)} import" + ("s" if len(self) > 1 else "")
        note = (
            f"<p><small>{count}; the full ids and every column "
            f"({', '.join(self.columns)}) are in the DataFrame.</small></p>"
        )
        table = view.to_html(escape=False, border=0, justify="left")
        if len(shown) < len(self):
            note = note.replace("</small>", f" Showing the first and last {limit // 2}.</small>")
        return f'<div style="overflow-x:auto">{table}</div>{note}'


def _source(row: Any) -> str:
    """Where an import read from, in one line (``ImportJob.source`` for a history row)."""
    if not pd.isna(row.bucket):
        return f"s3://{row.bucket}/{row.path}"
    if not pd.isna(row.container):
        return f"az://{row.container}/{row.blob}"
    return "" if pd.isna(row.url) else str(row.url)


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
    return ImportHistory(frame.reset_index(drop=True))


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
