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

from nexosis_pandas.server.store.hashing import HashIndex, text_hashes
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

    Each batch is taken from once, so memory stays the size of the result; rows that follow one
    another are sliced, not copied, and ascending indices (the rows of a file imported again,
    in its order) are not reordered.
    """
    indices = np.asarray(indices, dtype=np.int64)
    if not len(indices):
        return pa.Table.from_batches([], schema=schema)
    if (np.diff(indices) > 0).all():
        return pa.Table.from_batches(_gather(batches, starts, indices, schema), schema=schema)
    order = np.argsort(indices, kind="stable")
    gathered = pa.Table.from_batches(
        _gather(batches, starts, indices[order], schema), schema=schema
    )
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return gathered.take(pa.array(inverse))


def _gather(
    batches: Sequence[pa.RecordBatch], starts: Any, ordered: np.ndarray, schema: pa.Schema
) -> list[pa.RecordBatch]:
    """The rows at ``ordered`` (ascending): a slice of each run of rows, or a take a batch."""
    which = np.searchsorted(starts, ordered, side="right") - 1
    local = ordered - np.asarray(starts)[which]
    breaks = np.flatnonzero((np.diff(which) != 0) | (np.diff(ordered) != 1)) + 1
    if len(breaks) <= len(ordered) // 256:  # long runs: slices, no copy
        firsts = np.concatenate([[0], breaks])
        sizes = np.diff(np.concatenate([firsts, [len(ordered)]]))
        return [
            conform(batches[int(which[f])].slice(int(local[f]), int(n)), schema)
            for f, n in zip(firsts, sizes, strict=True)
        ]
    pieces: list[pa.RecordBatch] = []
    bounds = np.flatnonzero(np.diff(which)) + 1
    for group in np.split(np.arange(len(ordered)), bounds):
        number = int(which[group[0]])
        pieces.append(conform(batches[number].take(pa.array(local[group])), schema))
    return pieces


def _key_hashes(keys: pa.Array) -> np.ndarray:
    """Each key's 64-bit hash (``uint64``): equal keys have equal hashes.

    Keys with one hash are compared before they are taken as one (a test makes them collide).
    """
    return text_hashes(keys)


def _hashes(keys: pa.Array) -> np.ndarray:
    return np.asarray(_key_hashes(keys)).astype(np.uint64, copy=False)


class _Collision(Exception):  # noqa: N818 - a signal, not an error
    """Two different keys share a hash: merge by the keys themselves."""


class _HashedKeys:
    """The staged rows' distinct keys, known by their hashes (sorted).

    ``winner[g]`` is the last staged row of key ``g`` and ``first[g]`` its first; ``match``
    gives each of a batch's rows its key's number, or -1.
    """

    def __init__(self, new: _Staged) -> None:
        hashes = np.empty(new.rows, dtype=np.uint64)
        for number, batch in enumerate(new.batches):
            hashes[new.starts[number] : new.starts[number + 1]] = _hashes(batch.column(KEY))
            if number % 16 == 15:  # the keys read so far leave the resident memory
                new.drop_pages()
        new.drop_pages()
        # Row numbers are int32 and the steps free what they are done with: at 3M rows each
        # array of row numbers is 12 MB, of hashes 24 MB.
        order = np.argsort(hashes).astype(np.int32)  # not stable: no hash repeats, mostly
        hashes.sort()  # in place: as ``order`` has them
        boundary = np.ones(len(hashes), dtype=bool)
        boundary[1:] = hashes[1:] != hashes[:-1]
        self.count = int(np.count_nonzero(boundary))
        if self.count == len(hashes):  # every key once (the common case): no copies
            self.index = HashIndex(hashes)
            self.first = self.winner = order
            return
        # A hash repeats: its rows in the order they were staged (first and last matter).
        unsorted = np.empty_like(hashes)
        unsorted[order] = hashes
        order = np.argsort(unsorted, kind="stable").astype(np.int32)
        del unsorted
        starts = np.flatnonzero(boundary).astype(np.int32)
        self.index = HashIndex(hashes[starts])
        del hashes
        self.first = order[starts]
        ends = np.empty_like(starts)
        ends[:-1], ends[-1:] = starts[1:], len(order)
        self.winner = order[ends - 1]
        # only rows whose hash another row shares can hold a different key
        shared = ~boundary
        shared[:-1] |= ~boundary[1:]
        rows = order[shared]
        group = np.cumsum(boundary, dtype=np.int32)[shared] - 1
        del order, starts, ends, boundary, shared
        _check_groups(new, rows, self.first[group])

    def match(self, keys: pa.Array) -> np.ndarray:
        found = self.index.find(_hashes(keys))
        if keys.null_count:
            found[~keys.is_valid().to_numpy(zero_copy_only=False)] = -1
        return found


def _check_groups(new: _Staged, rows: np.ndarray, firsts: np.ndarray) -> None:
    """Raise :class:`_Collision` unless each of ``rows`` has the key of its row in ``firsts``."""
    if not len(rows):
        return
    only_keys = [pa.RecordBatch.from_arrays([b.column(KEY)], names=[KEY]) for b in new.batches]
    schema = pa.schema([pa.field(KEY, pa.string())])
    for start in range(0, len(rows), BATCH_ROWS):
        these = take_rows(only_keys, new.starts, rows[start : start + BATCH_ROWS], schema)
        theirs = take_rows(only_keys, new.starts, firsts[start : start + BATCH_ROWS], schema)
        if not _all_equal(these.column(KEY), theirs.column(KEY)):
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
            if len(matched) == batch.num_rows:  # every row replaced: the batch is its rows
                writer.write(replacements)
                new.drop_pages()
                continue
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
