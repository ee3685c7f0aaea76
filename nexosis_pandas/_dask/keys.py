"""A key repeated across partitions, found without gathering the keys on the client.

Each partition checks its own key (:func:`nexosis_pandas.columns.infer_column_metadata`); across
partitions, the least and greatest key of each (:attr:`Facts.key_range`) settle the usual case
of ordered, non-overlapping keys at no cost. Otherwise each worker hashes its partition's keys
into buckets, one task per bucket looks for a hash seen twice, and the few partitions holding
such a hash are asked for the key values behind it, so the error names a real value (two
different keys with one 64-bit hash are not taken for a repeat).
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from nexosis_pandas._dask.runner import Runner
from nexosis_pandas._dask.worker import Facts, Plan, as_written
from nexosis_pandas.exceptions import ColumnError

__all__ = ["check_keys_across_partitions"]

MAX_BUCKETS = 16
SHOWN = 20  # repeated hashes looked up for their values


def _disjoint(facts: Sequence[Facts]) -> bool:
    ranges = [f.key_range for f in facts if f.rows]
    if any(r is None for r in ranges):
        return False
    try:
        ordered = sorted((r for r in ranges if r is not None), key=operator.itemgetter(0))
        return all(a[1] < b[0] for a, b in itertools.pairwise(ordered))
    except TypeError:  # ranges of values that do not compare with each other
        return False


def _hashes(frame: pd.DataFrame, identity: list[str]) -> np.ndarray:
    return pd.util.hash_pandas_object(frame[identity], index=False).to_numpy()


def hashed_buckets(part: pd.DataFrame, number: int, plan: Plan, buckets: int) -> list[np.ndarray]:
    """The partition's key hashes, split into ``buckets`` by value."""
    hashes = _hashes(as_written(part, plan.index)[0], plan.identity)
    which = hashes % np.uint64(buckets)
    return [hashes[which == b] for b in range(buckets)]


def repeated(*arrays: np.ndarray) -> np.ndarray:
    """The hashes seen more than once in one bucket's arrays (the first :data:`SHOWN`)."""
    values = np.sort(np.concatenate(arrays)) if arrays else np.array([], dtype=np.uint64)
    twice = values[1:][values[1:] == values[:-1]]
    return np.unique(twice)[:SHOWN]


def rows_with(part: pd.DataFrame, number: int, plan: Plan, hashes: np.ndarray) -> pd.DataFrame:
    """The key values of the partition's rows whose hash is one of ``hashes``."""
    frame = as_written(part, plan.index)[0]
    found = frame.loc[np.isin(_hashes(frame, plan.identity), hashes), plan.identity]
    return found.assign(_partition=number)


def _plain(value: Any) -> Any:
    """numpy scalars as Python's, so the message shows ``7``, not ``np.int64(7)``."""
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value.item() if isinstance(value, np.generic) else value


def check_keys_across_partitions(
    runner: Runner, ddf: Any, plan: Plan, facts: Sequence[Facts]
) -> None:
    """Raise :class:`ColumnError` when a key (with the timestamp) is in two partitions.

    Each partition has already been checked on its own.
    """
    identity = plan.identity
    if not identity or ddf.npartitions < 2 or _disjoint(facts):
        return
    buckets = min(ddf.npartitions, MAX_BUCKETS)
    hashed = runner.per_partition(ddf, hashed_buckets, plan, buckets)
    splits = [
        [runner.submit(operator.getitem, hashed[i], b) for i in sorted(hashed)]
        for b in range(buckets)
    ]
    found = [runner.submit(repeated, *split) for split in splits]
    hashes = np.unique(np.concatenate([f.result() for f in found]))[:SHOWN]
    if not len(hashes):
        return
    rows = pd.concat(
        [h.result() for h in runner.per_partition(ddf, rows_with, plan, hashes).values()],
        ignore_index=True,
    )
    where = rows.groupby(identity, dropna=False, sort=True)["_partition"].agg(list)
    where = where[where.map(len) > 1]
    if where.empty:  # different keys that share a hash
        return
    value, partitions = _plain(where.index[0]), sorted(set(where.iloc[0]))
    _, timestamp, key = plan.roles or (None, None, None)
    names = [key] if isinstance(key, str) else list(key or [])
    label = names[0] if len(names) == 1 else names
    with_time = f" with timestamp={timestamp!r}" if timestamp is not None else ""
    kind = "key value" if len(identity) == 1 else f"({', '.join(identity)}) combination"
    first_value = value[0] if isinstance(value, tuple) else value
    raise ColumnError(
        f"key={label!r}{with_time} must identify each row, but the {kind} {value!r} is in "
        f"partitions {' and '.join(map(str, partitions))} (of {ddf.npartitions}). Find the "
        f"repeated rows with ddf[ddf[{names[0]!r}] == {first_value!r}].compute(), then correct "
        "them or choose another key.",
        column=names[0],
    )
