"""The one loading path: imports and ``PUT /data/{name}`` both end here.

:func:`load_rows` reads a file as batches of text columns, checks each batch against the
columns' data types (declared, or inferred as the batches go by), writes the batches to
segment files, and publishes them in one transaction together with the import's
``completed`` status: all rows or none.

A CSV file is read by Arrow's streaming CSV reader and checked a batch at a time with
``pyarrow.compute``. Whatever that fast path cannot vouch for (a value Arrow does not parse
the way Python does, a malformed row, quotes used in a way Arrow accepts but CSV does not) sends
the load back to the beginning of the file on the exact path: Python's ``csv`` module and a
value-by-value check whose error names the line, the column and the value. JSON files always
take the exact path.

The parts: this module stages and publishes a load (and reads the exact path);
:mod:`~nexosis_pandas.server.plan` checks batches and makes the upsert keys;
:mod:`~nexosis_pandas.server.csv_fast` is the fast path.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

import pyarrow as pa

from nexosis_pandas.server.columns import (
    ColumnSpec,
    MetadataError,
    merge_metadata,
    validate_metadata,
)
from nexosis_pandas.server.csv_fast import CSV_BLOCK, read_csv_fast
from nexosis_pandas.server.parsing import (
    ColumnsAfterData,
    Counted,
    FileFormatError,
    gunzipped,
    records,
)
from nexosis_pandas.server.plan import Inexact, Plan
from nexosis_pandas.server.store import Store
from nexosis_pandas.server.store.segments import COMPRESSION, KEY, SegmentWriter, schema_for
from nexosis_pandas.server.store.upsert import merge_keyed

__all__ = [
    "BATCH_ROWS",
    "CSV_BLOCK",
    "ImportCancelled",
    "LoadResult",
    "Progress",
    "load_rows",
]

BATCH_ROWS = 20_000
"""Rows checked at a time on the exact path; between batches a stop is noticed."""

Progress = Callable[[int, int], None]
"""Told ``(rows read, bytes read)`` as a load goes (bytes as they come from the source)."""


class ImportCancelled(Exception):  # noqa: N818 - a signal, not an error
    """The worker is stopping; the import stays ``started`` and is resumed on the next start."""


@dataclass(frozen=True)
class LoadResult:
    """What a load did: rows appended and replaced, and the columns' final metadata."""

    appended: int
    replaced: int
    columns: dict[str, ColumnSpec]


def load_rows(
    store: Store,
    *,
    dataset_name: str,
    columns: Mapping[str, ColumnSpec],
    open_binary: Callable[[], IO[bytes]],
    kind: str,
    import_id: str | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    progress: Progress | None = None,
) -> LoadResult:
    """Read every record, check it, and load all of them into the dataset, or none.

    Parameters
    ----------
    store
        Where the dataset lives.
    dataset_name
        The dataset to create or upsert into.
    columns
        The request's column metadata (validated); it overrides the file's and the dataset's.
    open_binary
        Opens the file (gzipped or not) from its beginning; called again when the load has to
        start over (the exact path, or a JSON file whose ``columns`` come after its ``data``).
        The stream is not closed.
    kind
        ``"csv"`` or ``"json"``.
    import_id
        The import to mark ``completed`` in the same transaction as the rows.
    cancelled
        Checked between batches; when true, :class:`ImportCancelled` is raised.
    progress
        Told how far the load has read, after each batch.

    Raises
    ------
    FileFormatError
        The file is malformed, or a value does not fit its column's data type.
    """
    file_columns: Any = None
    for _attempt in range(2):
        try:
            return _load_once(
                store,
                dataset_name=dataset_name,
                columns=columns,
                open_binary=open_binary,
                kind=kind,
                file_columns=file_columns,
                import_id=import_id,
                cancelled=cancelled,
                progress=progress,
            )
        except ColumnsAfterData as late:
            file_columns = late.columns
    raise AssertionError("unreachable")  # pragma: no cover


def _load_once(
    store: Store,
    *,
    dataset_name: str,
    columns: Mapping[str, ColumnSpec],
    open_binary: Callable[[], IO[bytes]],
    kind: str,
    file_columns: Any,
    import_id: str | None,
    cancelled: Callable[[], bool],
    progress: Progress | None,
) -> LoadResult:
    def attempt(read: Callable[[_Load, Counted], list[str]]) -> LoadResult:
        existing = store.get_dataset(dataset_name)
        load = _Load(
            store,
            dataset_name=dataset_name,
            existing=existing.columns if existing else {},
            request=columns,
            cancelled=cancelled,
            typed=kind == "json",
        )
        counted = Counted(open_binary(), progress)
        try:
            header = read(load, counted)
            return load.publish(header, import_id)
        finally:
            load.discard()

    if kind == "csv":
        try:
            return attempt(read_csv_fast)
        except Inexact:
            pass
    return attempt(
        lambda load, counted: _read_exact(load, counted, kind=kind, file_columns=file_columns)
    )


# -- one attempt: stage the batches, then publish them -------------------------------------------
class _Load:
    """One attempt at loading a file: the plan, the staged segments, their publication."""

    def __init__(
        self,
        store: Store,
        *,
        dataset_name: str,
        existing: Mapping[str, ColumnSpec],
        request: Mapping[str, ColumnSpec],
        cancelled: Callable[[], bool],
        typed: bool = False,
    ) -> None:
        self.store = store
        self.typed = typed
        self.dataset_name = dataset_name
        self.existing = existing
        self.request = request
        self.cancelled = cancelled
        self.plan: Plan | None = None
        self.names: list[str] = []
        self.rows = 0
        self._writer: SegmentWriter | None = None
        self._staged: list[SegmentWriter] = []
        self._outputs: list[SegmentWriter] = []

    def start(self, file_columns: Any) -> Plan:
        """The plan, made once the file's own column metadata (if any) is known."""
        if self.plan is None:
            try:
                in_file = validate_metadata(file_columns)
            except MetadataError as exc:
                raise FileFormatError(f"The file's column metadata is invalid: {exc}") from None
            declared = merge_metadata(merge_metadata(self.existing, in_file), self.request)
            self.plan = Plan(declared, typed=self.typed)
        return self.plan

    @property
    def keyed(self) -> bool:
        return bool(self.plan and self.plan.key_columns)

    def add(self, batch: pa.RecordBatch) -> None:
        """Stage a checked batch of text columns."""
        assert self.plan is not None
        if not batch.num_rows:
            return
        names = batch.schema.names
        if self._writer is None or not set(names) <= set(self.names):
            self.names = list(dict.fromkeys([*self.names, *names]))
            self._close_writer()
            directory = self.store.staging_dir if self.keyed else self.store.segments_dir
            self._writer = SegmentWriter(
                directory,
                schema_for(self.names),
                compression=None if self.keyed else COMPRESSION,
            )
        keyed = pa.RecordBatch.from_arrays(
            [*batch.columns, self.plan.keys(batch)], names=[*names, KEY]
        )
        self._writer.write(keyed)
        self.rows += batch.num_rows
        if self.cancelled():
            raise ImportCancelled

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.finish()
            self._staged.append(self._writer)
            self._writer = None

    def publish(self, header: Sequence[str], import_id: str | None) -> LoadResult:
        """Publish the staged rows: appended, or upserted by key; the import completed."""
        plan = self.start(None)
        self._close_writer()
        final = plan.final_metadata(header)
        store = self.store
        with store.dataset_lock(self.dataset_name):
            if self.keyed:
                dataset = store.get_dataset(self.dataset_name)
                parts = store.parts(dataset.id) if dataset else []
                names = list(dict.fromkeys([*(dataset.columns if dataset else {}), *final]))
                self._outputs, appended, replaced = merge_keyed(
                    [p.path for p in parts],
                    [w.path for w in self._staged],
                    schema_for(names),
                    store.segments_dir,
                )
                files = [(w.path, w.rows) for w in self._outputs]
            else:
                files = [(w.path, w.rows) for w in self._staged]
                appended, replaced = self.rows, 0
            store.publish(
                dataset_name=self.dataset_name,
                columns=final,
                files=files,
                replace=self.keyed,
                import_id=import_id,
                messages=[
                    (
                        "informational",
                        f"Imported {self.rows} rows into dataset {self.dataset_name!r}: "
                        f"{appended} appended, {replaced} replaced",
                    )
                ],
            )
        if not self.keyed:
            self._staged = []  # published: they are the dataset's now
        self._outputs = []
        return LoadResult(appended=appended, replaced=replaced, columns=final)

    def discard(self) -> None:
        """Remove every file this attempt wrote that is not part of a dataset."""
        for writer in [*self._staged, *self._outputs, *([self._writer] if self._writer else [])]:
            writer.discard()
        self._staged, self._outputs, self._writer = [], [], None


# -- the exact path: Python's readers, value by value --------------------------------------------
def _read_exact(load: _Load, counted: Counted, *, kind: str, file_columns: Any) -> list[str]:
    text = io.TextIOWrapper(gunzipped(counted), encoding="utf-8-sig", newline="")
    try:
        reader = records(text, kind, ignore_file_columns=file_columns is not None)
        lines: list[int] = []
        rows: list[dict[str, Any]] = []
        plan: Plan | None = None

        def flush(plan: Plan) -> None:
            plan.check_rows(lines, rows)
            load.add(_text_batch(rows, reader.header))
            counted.add_rows(len(rows))
            lines.clear()
            rows.clear()

        for line, row in reader:
            if plan is None:
                plan = load.start(file_columns if file_columns is not None else reader.file_columns)
            lines.append(line)
            rows.append(row)
            if len(rows) >= BATCH_ROWS:
                flush(plan)
        if plan is None:
            plan = load.start(file_columns if file_columns is not None else reader.file_columns)
        if rows:
            flush(plan)
        # a JSON file without records names no column: the declared ones are the columns
        return list(reader.header) or list(plan.declared)
    finally:
        text.detach()


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _text_batch(rows: list[dict[str, Any]], header: Sequence[str]) -> pa.RecordBatch:
    names = list(dict.fromkeys(header))
    for row in rows:
        if row.keys() - set(names):
            names.extend(n for n in row if n not in names)
    arrays = [pa.array([_as_text(row.get(n)) for row in rows], pa.string()) for n in names]
    return pa.RecordBatch.from_arrays(arrays, names=names)
