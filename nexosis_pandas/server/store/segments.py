"""A dataset's rows on disk: Arrow IPC files ("segments") of fixed-size record batches.

Every column is stored as text (``string``, null where the value is missing): values are kept
as they arrived and rendered by the column's data type when read back. A hidden column,
:data:`KEY`, holds each row's upsert key (null when the dataset has no key columns).

Every record batch of a segment holds :data:`BATCH_ROWS` rows except its last, so the batch
that holds row ``i`` of a segment is ``i // BATCH_ROWS``: reading a page costs the same at
any offset. A segment is written to ``NAME.tmp``, fsynced and renamed to ``NAME``; it is part
of a dataset only once the registry (SQLite) lists it, in the same transaction that completes
the import. Files the registry does not list are removed when the store opens.

Segments are read through memory maps. A mapped page a reader has touched counts in the
server's resident memory until it is dropped, so the readers that go through a whole dataset
(an upsert, the Arrow stream) drop each segment's pages as they move on: the page cache keeps
them, and a page needed again is mapped again.
"""

from __future__ import annotations

import mmap
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pyarrow as pa

__all__ = [
    "BATCH_ROWS",
    "COMPRESSION",
    "KEY",
    "SUFFIX",
    "Part",
    "SegmentWriter",
    "conform",
    "iter_batches",
    "iter_rows",
    "open_segment",
    "read_rows",
    "schema_for",
]

BATCH_ROWS = 65_536
"""Rows per record batch of a segment (the last batch of a segment may hold fewer)."""

KEY = "\x00key"
"""The hidden column holding each row's upsert key; no CSV or JSON column can be called so."""

SUFFIX = ".arrow"

COMPRESSION = "lz4"
"""How kept segments are compressed: LZ4 reads back several times faster than zstd, for files
about 1.7 times the size. Staged rows, read back at random, are not compressed."""


def schema_for(names: Sequence[str]) -> pa.Schema:
    """The schema of a segment with these columns (all text) and the key column."""
    return pa.schema([pa.field(n, pa.string()) for n in names] + [pa.field(KEY, pa.string())])


def conform(batch: pa.RecordBatch | pa.Table, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with exactly ``schema``'s columns, in its order; missing ones are all null."""
    if isinstance(batch, pa.Table):
        batch = batch.combine_chunks().to_batches()[0] if batch.num_rows else _empty(schema)
    if batch.schema.equals(schema):
        return batch
    have = set(batch.schema.names)
    columns = [
        batch.column(f.name) if f.name in have else pa.nulls(batch.num_rows, pa.string())
        for f in schema
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)


class SegmentWriter:
    """Writes rows into a new segment file in ``directory`` in batches of :data:`BATCH_ROWS`.

    Nothing is visible under the final name until :meth:`finish`; :meth:`discard` removes the
    file whatever state it is in.

    Parameters
    ----------
    directory
        Where the file goes.
    schema
        Its columns (see :func:`schema_for`); batches written are conformed to it.
    compression
        :data:`COMPRESSION` for segments kept; ``None`` for staged rows, read back at random.
    prefix
        The start of the file's name.
    """

    def __init__(
        self,
        directory: Path,
        schema: pa.Schema,
        *,
        compression: str | None = COMPRESSION,
        prefix: str = "",
    ) -> None:
        self.path = Path(directory) / f"{prefix}{uuid.uuid4().hex}{SUFFIX}"
        self.temp = self.path.with_name(self.path.name + ".tmp")
        self.schema = schema
        self.rows = 0
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._file = open(self.temp, "wb")  # noqa: SIM115 - closed by finish or discard
        options = pa.ipc.IpcWriteOptions(compression=compression)
        self._writer = pa.ipc.new_file(self._file, schema, options=options)

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Add rows (their columns are matched to the schema by name)."""
        if not batch.num_rows:
            return
        self._pending.append(conform(batch, self.schema))
        self._pending_rows += batch.num_rows
        self.rows += batch.num_rows
        while self._pending_rows >= BATCH_ROWS:
            self._flush(BATCH_ROWS)

    def _flush(self, rows: int) -> None:
        table = pa.Table.from_batches(self._pending, schema=self.schema)
        head = table.slice(0, rows).combine_chunks()
        rest = table.slice(rows)
        self._writer.write_table(head, max_chunksize=rows)
        self._pending = rest.combine_chunks().to_batches() if rest.num_rows else []
        self._pending_rows = rest.num_rows

    def finish(self) -> Path:
        """Write what is left, make the file durable and give it its final name."""
        if self._pending_rows:
            self._flush(self._pending_rows)
        self._writer.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.temp, self.path)
        _fsync_directory(self.path.parent)
        return self.path

    def discard(self) -> None:
        """Close and delete the file (under either name)."""
        try:
            if not self._file.closed:
                self._writer.close()
        except (OSError, pa.ArrowException):
            pass
        if not self._file.closed:
            self._file.close()
        self.temp.unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    if os.name != "posix":  # pragma: no cover - a directory cannot be opened elsewhere
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Segment:
    """A segment file, memory-mapped: a batch is read only when asked for.

    Batches of an uncompressed segment are views of the map, valid as long as they live.
    """

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as file:
            self._map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        self._reader = pa.ipc.open_file(pa.BufferReader(pa.py_buffer(self._map)))
        self.num_record_batches: int = self._reader.num_record_batches

    def get_batch(self, index: int) -> pa.RecordBatch:
        """Record batch ``index`` (decompressed when the segment is)."""
        return self._reader.get_batch(index)

    def drop_pages(self) -> None:
        """Let go of the pages read so far (they stay in the page cache); data stays valid."""
        if hasattr(mmap, "MADV_DONTNEED"):
            self._map.madvise(mmap.MADV_DONTNEED)


def open_segment(path: Path) -> Segment:
    """The segment file at ``path``, memory-mapped."""
    return Segment(path)


class Part:
    """A segment's place in a dataset: its file, its first row and its number of rows."""

    __slots__ = ("first_row", "path", "rows")

    def __init__(self, path: Path, first_row: int, rows: int) -> None:
        self.path = path
        self.first_row = first_row
        self.rows = rows


def read_rows(parts: Sequence[Part], offset: int, limit: int, names: Sequence[str]) -> pa.Table:
    """Rows ``offset`` to ``offset + limit`` of the dataset made of ``parts`` (in order).

    Only the record batches that hold those rows are read. The columns are ``names``.
    """
    schema = pa.schema([pa.field(n, pa.string()) for n in names])
    pieces: list[pa.RecordBatch] = []
    end = offset + limit
    for part in parts:
        start, stop = max(offset, part.first_row), min(end, part.first_row + part.rows)
        if start >= stop:
            continue
        reader = open_segment(part.path)
        local, local_end = start - part.first_row, stop - part.first_row
        for index in range(local // BATCH_ROWS, (local_end - 1) // BATCH_ROWS + 1):
            batch = reader.get_batch(index)
            base = index * BATCH_ROWS
            lo, hi = max(local - base, 0), min(local_end - base, batch.num_rows)
            pieces.append(conform(batch.slice(lo, hi - lo), schema))
    return pa.Table.from_batches(pieces, schema=schema)


def iter_rows(
    parts: Sequence[Part], names: Sequence[str], offset: int = 0
) -> Iterator[pa.RecordBatch]:
    """The dataset's rows from row ``offset`` on, a record batch at a time, as ``names``.

    The files are opened (mapped) at once, so an upsert that replaces them meanwhile does
    not take them away from the reader.
    """
    schema = pa.schema([pa.field(n, pa.string()) for n in names])
    opened = [
        (open_segment(part.path), max(offset - part.first_row, 0))
        for part in parts
        if part.first_row + part.rows > offset
    ]

    def batches() -> Iterator[pa.RecordBatch]:
        for reader, skip in opened:
            for index in range(skip // BATCH_ROWS, reader.num_record_batches):
                batch = reader.get_batch(index)
                start = max(skip - index * BATCH_ROWS, 0)
                yield conform(batch.slice(start) if start else batch, schema)
                reader.drop_pages()

    return batches()


def iter_batches(paths: Iterable[Path]) -> Iterator[pa.RecordBatch]:
    """Every record batch of the files, in order (each file's pages dropped as it goes)."""
    for path in paths:
        reader = open_segment(path)
        for index in range(reader.num_record_batches):
            yield reader.get_batch(index)
            reader.drop_pages()
