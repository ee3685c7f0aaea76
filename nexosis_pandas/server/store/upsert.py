"""An upsert: staged rows merged into a dataset's rows by key, written as new segments.

:func:`merge_keyed` streams the dataset's segments once; memory holds a hash and three row
numbers per staged row and one record batch at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nexosis_pandas.server.store.segments import (
    BATCH_ROWS,
    KEY,
    SegmentWriter,
    conform,
    iter_batches,
    open_segment,
)

__all__ = ["merge_keyed", "take_rows"]


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
        # Row numbers are int32 and the steps free what they are done with: at 3M rows each
        # array of row numbers is 12 MB.
        order = np.argsort(hashes, kind="stable").astype(np.int32)
        hashes.sort()
        boundary = np.ones(len(hashes), dtype=bool)
        boundary[1:] = hashes[1:] != hashes[:-1]
        group = np.empty(len(hashes), dtype=np.int32)
        group[order] = np.cumsum(boundary, dtype=np.int32) - 1
        starts = np.flatnonzero(boundary).astype(np.int32)
        del boundary
        self.hashes = hashes[starts]
        del hashes
        self.count = len(starts)
        self.first = order[starts]
        ends = np.empty_like(starts)
        ends[:-1], ends[-1:] = starts[1:], len(order)
        self.winner = order[ends - 1]
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
        # the unseen keys' last rows, in the order of their first rows (distinct row numbers)
        by_first = np.full(new.rows, -1, dtype=np.int32)
        by_first[keys.first[~seen]] = keys.winner[~seen]
        fresh = by_first[by_first >= 0]
        del by_first
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
