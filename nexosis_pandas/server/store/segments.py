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
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "BATCH_ROWS",
    "KEY",
    "SUFFIX",
    "Part",
    "SegmentWriter",
    "conform",
    "iter_rows",
    "merge_keyed",
    "open_segment",
    "read_rows",
    "schema_for",
    "take_rows",
]

BATCH_ROWS = 65_536
"""Rows per record batch of a segment (the last batch of a segment may hold fewer)."""

KEY = "\x00key"
"""The hidden column holding each row's upsert key; no CSV or JSON column can be called so."""

SUFFIX = ".arrow"


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
        ``"zstd"`` for segments kept; ``None`` for staged rows that are read back at random.
    prefix
        The start of the file's name.
    """

    def __init__(
        self,
        directory: Path,
        schema: pa.Schema,
        *,
        compression: str | None = "zstd",
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


class _Staged:
    """Staged rows (uncompressed segments), taken from at random without concatenating them."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.segments = [open_segment(path) for path in paths]
        self.batches: list[pa.RecordBatch] = [
            segment.get_batch(index)
            for segment in self.segments
            for index in range(segment.num_record_batches)
        ]
        sizes = np.array([b.num_rows for b in self.batches], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(sizes)])
        self.rows = int(self.starts[-1])

    def drop_pages(self) -> None:
        for segment in self.segments:
            segment.drop_pages()

    def keys(self) -> pa.ChunkedArray:
        return pa.chunked_array([b.column(KEY) for b in self.batches], type=pa.string())


def take_rows(
    batches: Sequence[pa.RecordBatch], starts: Any, indices: Any, schema: pa.Schema
) -> pa.Table:
    """The rows at ``indices`` (positions across ``batches``, whose first rows are ``starts``).

    Each batch is taken from once, so memory stays the size of the result.
    """
    indices = np.asarray(indices, dtype=np.int64)
    if not len(indices):
        return pa.Table.from_batches([], schema=schema)
    order = np.argsort(indices, kind="stable")
    ordered = indices[order]
    which = np.searchsorted(starts, ordered, side="right") - 1
    pieces: list[pa.RecordBatch] = []
    bounds = np.flatnonzero(np.diff(which)) + 1
    for group in np.split(np.arange(len(ordered)), bounds):
        number = int(which[group[0]])
        local = ordered[group] - starts[number]
        pieces.append(conform(batches[number].take(pa.array(local)), schema))
    gathered = pa.Table.from_batches(pieces, schema=schema)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return gathered.take(pa.array(inverse))


def _key_hashes(keys: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Each key's 64-bit hash (Python's, the same within this process).

    Equal keys have equal hashes; keys with one hash are compared before they are taken as one.
    """
    return np.fromiter(
        map(hash, keys.to_numpy(zero_copy_only=False)), dtype=np.int64, count=len(keys)
    )


class _Collision(Exception):  # noqa: N818 - a signal, not an error
    """Two different keys share a hash: merge by the keys themselves."""


class _HashedKeys:
    """The staged rows' distinct keys, known by their hashes (sorted).

    ``winner[g]`` is the last staged row of key ``g`` and ``first[g]`` its first; ``match``
    gives each of a batch's rows its key's number, or -1.
    """

    def __init__(self, new: _Staged) -> None:
        hashes = np.empty(new.rows, dtype=np.int64)
        for number, batch in enumerate(new.batches):
            hashes[new.starts[number] : new.starts[number + 1]] = _key_hashes(batch.column(KEY))
        new.drop_pages()
        order = np.argsort(hashes, kind="stable").astype(np.int32)
        hashes.sort()
        boundary = np.ones(len(hashes), dtype=bool)
        boundary[1:] = hashes[1:] != hashes[:-1]
        starts = np.flatnonzero(boundary)
        del boundary
        self.hashes = hashes[starts]
        del hashes
        ends = np.empty_like(starts)
        ends[:-1], ends[-1:] = starts[1:], len(order)
        self.first = order[starts]
        self.winner = order[ends - 1]
        self.count = len(starts)
        group = np.empty(len(order), dtype=np.int32)
        group[order] = np.repeat(np.arange(self.count, dtype=np.int32), ends - starts)
        del order, starts, ends
        _check_groups(new, group, self.first)

    def match(self, keys: pa.Array) -> np.ndarray:
        if not self.count:
            return np.full(len(keys), -1)
        hashes = _key_hashes(keys)
        at = np.searchsorted(self.hashes, hashes)
        at[at == self.count] = 0
        found = (self.hashes[at] == hashes) & keys.is_valid().to_numpy(zero_copy_only=False)
        return np.where(found, at, -1)


def _check_groups(new: _Staged, group: np.ndarray, first: np.ndarray) -> None:
    """Raise :class:`_Collision` unless every staged row's key is its group's first row's."""
    only_keys = [pa.RecordBatch.from_arrays([b.column(KEY)], names=[KEY]) for b in new.batches]
    schema = pa.schema([pa.field(KEY, pa.string())])
    for number, batch in enumerate(only_keys):
        rows = group[new.starts[number] : new.starts[number + 1]]
        reference = take_rows(only_keys, new.starts, first[rows], schema).column(KEY)
        if not _all_equal(batch.column(KEY), reference):
            raise _Collision
        new.drop_pages()


def _all_equal(left: Any, right: Any) -> bool:
    return bool(pc.all(pc.fill_null(pc.equal(left, right), False)).as_py() is not False)


class _TextKeys:
    """The staged rows' distinct keys, as text: slower and larger, exact without a check."""

    def __init__(self, new: _Staged) -> None:
        keys = new.keys()
        self.unique = pc.unique(keys)  # in the order of first appearance
        group = pc.index_in(keys, value_set=self.unique).to_numpy(zero_copy_only=False)
        reversed_first = np.unique(group[::-1], return_index=True)[1]
        self.winner = (new.rows - 1 - reversed_first).astype(np.int64)
        self.first = np.arange(len(self.unique))
        self.count = len(self.unique)

    def match(self, keys: pa.Array) -> np.ndarray:
        found = pc.index_in(keys, value_set=self.unique)
        numbers: np.ndarray = pc.fill_null(found, -1).to_numpy().astype(np.int64)
        return numbers


def merge_keyed(
    existing: Sequence[Path],
    staged: Sequence[Path],
    schema: pa.Schema,
    directory: Path,
) -> tuple[list[SegmentWriter], int, int]:
    """Upsert staged rows into a dataset's rows by key, writing the result as new segments.

    A staged row whose key matches an existing row replaces it in place; the others are
    appended in the order their key first appears. When a key appears more than once among
    the staged rows, the last one wins, at the place of the first. Memory holds a hash and
    three row numbers per staged row and one batch at a time, never the dataset or the keys'
    text. Rows matched by hash are compared by key; should two keys ever share a hash, the
    merge starts again with the keys' text.

    Returns
    -------
    tuple
        The finished writers (their files not yet registered), rows appended, rows replaced.
    """
    new = _Staged(staged)
    try:
        return _merge(existing, new, _HashedKeys(new), schema, directory)
    except _Collision:
        return _merge(existing, new, _TextKeys(new), schema, directory)


def _merge(
    existing: Sequence[Path],
    new: _Staged,
    keys: _HashedKeys | _TextKeys,
    schema: pa.Schema,
    directory: Path,
) -> tuple[list[SegmentWriter], int, int]:
    seen = np.zeros(keys.count, dtype=bool)
    writer = SegmentWriter(directory, schema)
    try:
        for batch in iter_batches(existing):
            batch = conform(batch, schema)
            found = keys.match(batch.column(KEY))
            mask = found >= 0
            if not mask.any():
                writer.write(batch)
                continue
            matched = found[mask]
            seen[matched] = True
            replacements = take_rows(new.batches, new.starts, keys.winner[matched], schema)
            if not _all_equal(replacements.column(KEY), batch.column(KEY).filter(pa.array(mask))):
                raise _Collision
            # Row j of the result: the batch's own row, or the next replacement where matched.
            position = np.arange(batch.num_rows, dtype=np.int64)
            position[mask] = batch.num_rows + np.arange(len(matched), dtype=np.int64)
            combined = pa.concat_tables([pa.Table.from_batches([batch]), replacements])
            writer.write(combined.take(pa.array(position)))
            new.drop_pages()
        unseen = np.flatnonzero(~seen)
        fresh = keys.winner[unseen[np.argsort(keys.first[unseen], kind="stable")]]
        for start in range(0, len(fresh), BATCH_ROWS):
            writer.write(
                take_rows(new.batches, new.starts, fresh[start : start + BATCH_ROWS], schema)
            )
            new.drop_pages()
        writer.finish()
    except BaseException:
        writer.discard()
        raise
    appended = len(fresh)
    return [writer], appended, new.rows - appended
