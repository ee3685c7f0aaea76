"""The client's side of one object from many partitions: which parts make it, in order.

Pure logic over the partitions' :class:`~nexosis_pandas._dask.worker.Piece` summaries, so it is
tested without a cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nexosis_pandas._dask.worker import Piece
from nexosis_pandas._storage.upload import MIN_PART

__all__ = ["Run", "may_release", "parts_and_runs"]


@dataclass(frozen=True)
class Run:
    """Kept bytes of consecutive partitions, joined into one part numbered ``number``."""

    number: int
    members: tuple[int, ...]
    skips: tuple[int, ...]
    """Bytes left out at the start of each member's kept bytes (a JSON separator with no rows
    before it)."""


def parts_and_runs(
    pieces: Sequence[Piece], numbers_per_partition: int
) -> tuple[list[tuple[int, str]], list[Run]]:
    """The parts already uploaded that the object keeps, and the runs still to upload.

    Walking the partitions in order, a partition's head that was uploaded stays its own part
    unless smaller partitions before it wait for bytes to reach :data:`MIN_PART`; then the
    waiting ends and the head join into one run. Every run but the last holds at least
    :data:`MIN_PART` bytes, and a run that reaches a partition with parts of its own ends
    there (its head is :data:`MIN_PART`), so every part but the last is big enough for S3.
    """
    parts: list[tuple[int, str]] = []
    runs: list[Run] = []
    members: list[int] = []
    skips: list[int] = []
    size = 0
    rows_before = False
    for piece in pieces:
        skip = piece.lead if not rows_before else 0
        rows_before = rows_before or piece.rows > 0
        parts += piece.parts
        length = piece.kept_size - skip
        if length == 0:
            continue
        if not members and piece.head is not None and not skip:
            parts.append(piece.head)
            continue
        members.append(piece.number)
        skips.append(skip)
        size += length
        if size >= MIN_PART:
            runs.append(Run(members[0] * numbers_per_partition + 1, tuple(members), tuple(skips)))
            members, skips, size = [], [], 0
    if members:
        runs.append(Run(members[0] * numbers_per_partition + 1, tuple(members), tuple(skips)))
    return sorted(parts), runs


def may_release(number: int, done: Mapping[int, Piece]) -> bool:
    """Whether partition ``number``'s kept bytes are surely its own part: its head was uploaded
    and the partition before it (if any) ended with a part of its own, so no run needs them."""
    piece = done.get(number)
    if piece is None or piece.head is None:
        return False
    before = done.get(number - 1)
    return number == 0 or (before is not None and before.head is not None)
