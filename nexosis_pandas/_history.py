"""Imports as a DataFrame: one row per import, the same columns and dtypes every time."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import pandas_dtype

from nexosis_pandas._job import ImportJob
from nexosis_pandas._wire import Import, ImportStatus, lower_keys

__all__ = ["HISTORY_DTYPES", "ImportHistory", "history_frame", "history_table_frame"]

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


def history_frame(imports: Iterable[ImportJob | Mapping[str, Any]]) -> pd.DataFrame:
    """Build the import history frame: one row per import, sorted by ``requested``.

    Where each import read from is in the columns of its ``type``: ``bucket``, ``path`` and
    ``region`` for S3, ``url`` for a URL (its scheme and host, as the server echoes it),
    ``container`` and ``blob`` for Azure; the others are ``<NA>``.

    ``requested``, ``started`` and ``finished`` are UTC timestamps taken from the status
    history (``NaT`` until the import gets there); ``duration`` is ``finished - requested``
    (``NaT`` while it runs); ``error`` joins the server's error messages (``""`` when there are
    none). The columns and dtypes are :data:`HISTORY_DTYPES`, also for no imports.

    The imports' dates are parsed all at once; an import with a date that the bulk ISO-8601
    parser cannot read is parsed on its own, as :meth:`Import.from_wire
    <nexosis_pandas._wire.Import.from_wire>` does.

    Parameters
    ----------
    imports
        The imports, in any order: jobs, or Import JSON objects as the API sends them.

    Examples
    --------
    >>> history_frame([]).dtypes.to_dict()["requested"]
    datetime64[ns, UTC]
    >>> list(history_frame([]).columns)[:4]
    ['import_id', 'dataset_name', 'type', 'status']
    """
    wires = [item if isinstance(item, Mapping) else item.record.to_wire() for item in imports]
    rows = [_row(wire) for wire in wires]
    frame = _history(
        {name: [row[name] for row in rows] for name in HISTORY_DTYPES if name != "duration"},
        lambda position: _exact_dates(Import.from_wire(wires[position])),
    )
    assert frame is not None  # every date is read, one way or the other
    return frame


def history_table_frame(table: Any) -> pd.DataFrame | None:
    """The history frame of the server's history table (Arrow), or ``None`` if a date is odd.

    The table has a row per import, in the server's order, and the frame's columns but
    ``duration``, its dates as the wire writes them and ``error`` null when there is none
    (``GET /imports`` as an Arrow stream; the reference server offers it). The frame is the one
    :func:`history_frame` makes of the same imports; should a date need more than the bulk
    ISO-8601 parser, ``None`` tells the caller to read the imports as JSON.
    """
    values = {name: table.column(name).to_pylist() for name in HISTORY_DTYPES if name != "duration"}
    values["error"] = [error or "" for error in values["error"]]
    return _history(values, None)


def _history(
    values: dict[str, list[Any]],
    exact: Callable[[int], dict[str, pd.Timestamp | None]] | None,
) -> pd.DataFrame | None:
    """The frame of the imports' values (dates as text); a date the bulk parser cannot read is
    read by ``exact``, or makes the frame ``None`` without it."""
    columns: dict[str, Any] = {
        name: pd.Series(values[name], dtype=object).astype(pandas_dtype(dtype))
        for name, dtype in HISTORY_DTYPES.items()
        if name not in _DATES and name != "duration"
    }
    dates = {name: _parse_dates(values[name]) for name in _DATES}
    unread = np.zeros(len(values["import_id"]), dtype=bool)
    for name, parsed in dates.items():
        texts = pd.Series(values[name], dtype=object)
        unread |= (parsed.isna() & texts.notna()).to_numpy()
    if unread.any() and exact is None:
        return None
    for position in map(int, np.flatnonzero(unread)):  # parsed one by one, with its errors
        assert exact is not None
        stamps = exact(position)
        for name in _DATES:
            stamp = stamps[name]
            dates[name].iloc[position] = pd.NaT if stamp is None else stamp
    columns.update(dates)
    columns["duration"] = (dates["finished"] - dates["requested"]).astype(
        pandas_dtype(HISTORY_DTYPES["duration"])
    )
    frame = pd.DataFrame({name: columns[name] for name in HISTORY_DTYPES})
    frame = frame.sort_values("requested", kind="stable", na_position="last")
    return ImportHistory(frame.reset_index(drop=True))


_DATES = ("requested", "started", "finished")


def _parse_dates(texts: list[Any]) -> pd.Series:
    """ISO-8601 texts as UTC timestamps (``NaT`` for a missing one or one not read)."""
    strings = pd.Series([t if isinstance(t, str) else None for t in texts], dtype=object)
    parsed = pd.to_datetime(strings, utc=True, format="ISO8601", errors="coerce")
    return parsed.astype(pandas_dtype(HISTORY_DTYPES["requested"]))


def _row(wire: Mapping[str, Any]) -> dict[str, Any]:
    """An import's history row, its dates still as the wire wrote them.

    ``started`` is the last ``started`` entry of the status history; ``finished`` the last entry
    of the import's final status; entries without a date or a status are passed over, as
    :meth:`Import.from_wire <nexosis_pandas._wire.Import.from_wire>` does.
    """
    w = lower_keys(wire)
    status = ImportStatus(w.get("status") or "requested")
    params = {str(k): str(v) for k, v in (w.get("parameters") or {}).items()}
    started = finished = None
    for entry in w.get("statushistory") or []:
        if not isinstance(entry, Mapping):
            continue
        fields = lower_keys(entry)
        date, state = fields.get("date"), fields.get("status")
        if date is None or date == "" or not isinstance(state, str) or not state:
            continue
        change = ImportStatus(state)
        if change is ImportStatus.STARTED:
            started = date
        if status.is_terminal and change == status:
            finished = date
    messages = [lower_keys(m) for m in w.get("messages") or []]
    errors = [str(m.get("message", "")) for m in messages if str(m.get("severity", "")) == "error"]
    return {
        "import_id": str(w.get("importid", "")),
        "dataset_name": str(w.get("datasetname", "")),
        "type": str(w.get("type", "")),
        "status": status.value,
        **{name: params.get(name) for name in _SOURCE_FIELDS},
        "requested": w.get("requesteddate") or None,
        "started": started,
        "finished": finished,
        "error": "; ".join(errors),
        "n_messages": len(messages),
    }


_SOURCE_FIELDS = ("bucket", "path", "region", "url", "container", "blob")


def _exact_dates(record: Import) -> dict[str, pd.Timestamp | None]:
    job = ImportJob(record, None)  # type: ignore[arg-type]  # its dates need no client
    return {"requested": job.requested_date, "started": job.started, "finished": job.finished}
