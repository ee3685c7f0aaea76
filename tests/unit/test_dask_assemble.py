"""Which parts make one object from many partitions (no cluster, no sockets)."""

from __future__ import annotations

import pytest

pytest.importorskip("dask.dataframe")

from nexosis_pandas._dask.assemble import Run, may_release, parts_and_runs
from nexosis_pandas._dask.worker import Piece
from nexosis_pandas._storage.upload import MIN_PART

K = 100  # part numbers per partition


def piece(number: int, size: int, *, own: int = 0, rows: int = 1, lead: int = 0) -> Piece:
    """A partition of ``size`` bytes kept back (all of it when it is small) and ``own`` parts."""
    first = number * K + 1
    return Piece(
        number=number,
        rows=rows,
        scans={},
        facts=None,
        bytes_uncompressed=0,
        bytes_written=0,
        parts=[(first + 1 + i, f"e{number}.{i}") for i in range(own)],
        head=(first, f"h{number}") if size >= MIN_PART else None,
        lead=lead,
        kept_size=size,
    )


def test_big_partitions_keep_their_own_heads() -> None:
    pieces = [piece(0, MIN_PART, own=2), piece(1, MIN_PART, own=1), piece(2, MIN_PART + 7)]
    parts, runs = parts_and_runs(pieces, K)
    assert runs == []
    assert parts == sorted(
        [(1, "h0"), (2, "e0.0"), (3, "e0.1"), (101, "h1"), (102, "e1.0"), (201, "h2")]
    )


def test_small_partitions_join_the_next_head() -> None:
    small = MIN_PART // 3
    pieces = [
        piece(0, small),
        piece(1, 0, rows=0),
        piece(2, small),
        piece(3, MIN_PART, own=1),
        piece(4, small),
    ]
    parts, runs = parts_and_runs(pieces, K)
    # 0, 2 and the head of 3 make one part of at least MIN_PART; 4 is the last, small part
    assert runs == [Run(1, (0, 2, 3), (0, 0, 0)), Run(401, (4,), (0,))]
    assert parts == [(302, "e3.0")]  # the head of 3 is in the run, not listed on its own


def test_a_json_separator_with_no_rows_before_it_is_left_out() -> None:
    # partition 0 holds only "[", so partition 1's leading ",\n" must go, even from its head
    pieces = [piece(0, 20, rows=0), piece(1, MIN_PART + 22, own=1, lead=22)]
    parts, runs = parts_and_runs(pieces, K)
    assert runs == [Run(1, (0, 1), (0, 22))]
    assert parts == [(102, "e1.0")]


def test_may_release_only_when_no_run_can_need_the_head() -> None:
    done = {0: piece(0, MIN_PART, own=1), 2: piece(2, MIN_PART, own=1), 3: piece(3, 10)}
    assert may_release(0, done)
    assert not may_release(2, done)  # partition 1 is not known yet
    assert not may_release(3, done)  # small: its bytes are its only copy
    done[1] = piece(1, 10)
    assert not may_release(2, done)  # 1 is small and waits for 2's head
