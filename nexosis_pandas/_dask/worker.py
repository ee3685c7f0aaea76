"""What runs on the Dask workers: each partition checked, encoded and uploaded where it lives.

Only small facts travel back to the client (row counts, scans, metadata, digests, key ranges,
part numbers and ETags); the rows never leave their worker.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from nexosis_pandas import columns as _columns
from nexosis_pandas._digest import frame_digest
from nexosis_pandas._encode.encoder import (
    ColumnScan,
    Compression,
    Encoding,
    Format,
    gzip_member,
    scan_columns,
)
from nexosis_pandas._frame import frame_to_import
from nexosis_pandas._storage.upload import MAX_PARTS, MIN_PART, PART_SIZE, Multipart
from nexosis_pandas._wire import ColumnMetadata
from nexosis_pandas.exceptions import ColumnError

__all__ = ["Facts", "Piece", "Plan", "Roles", "as_written", "partition_facts", "upload_partition"]

Roles = tuple[str | None, str | None, str | Sequence[str] | None]
"""``(target, timestamp, key)`` as the user named them."""

JSON_SEPARATOR = b",\n"
"""What goes between two partitions' rows in a JSON file."""

IN_FLIGHT = 2
"""Parts a worker's task sends at once while it goes on encoding."""


@dataclass(frozen=True)
class Plan:
    """Everything a worker needs for its partition (pickled into each task).

    ``scans=None`` lets each partition scan itself (one pass: the client redoes the few whose
    scans differ from the merged ones); ``roles`` makes the upload task check the partition as
    an import would before encoding it.
    """

    npartitions: int
    index: bool | None
    format: Format = "csv"
    compression: Compression = "gzip"
    scans: dict[str, ColumnScan] | None = None
    roles: Roles | None = None
    digest: bool = False
    upload: Multipart | None = None
    part_size: int = PART_SIZE
    threads: int = 1
    """Encoder threads per task (:meth:`~nexosis_pandas._dask.runner.Runner.threads_per_task`)."""

    @property
    def numbers_per_partition(self) -> int:
        """Part numbers each partition owns: ``i*k+1`` (its head) to ``(i+1)*k``."""
        return MAX_PARTS // self.npartitions

    def first_number(self, partition: int) -> int:
        return partition * self.numbers_per_partition + 1

    @property
    def identity(self) -> list[str]:
        """The columns that identify a row (key, with the timestamp), as the server upserts."""
        if self.roles is None or self.roles[2] is None:
            return []
        _, timestamp, key = self.roles
        names = [key] if isinstance(key, str) else list(key or [])
        return [*names, timestamp] if timestamp is not None else names


def as_written(part: pd.DataFrame, index: bool | None) -> tuple[pd.DataFrame, bool]:
    """The partition as its file holds it, and whether the encoder writes its index.

    ``index=None`` follows the import's rule (:func:`nexosis_pandas._frame.frame_to_import`): a
    partition's integer labels number rows and are left out, any other index is sent.
    """
    if index is None:
        return frame_to_import(part), False
    return part, index


def in_partition(number: int, npartitions: int, exc: ColumnError) -> ColumnError:
    return ColumnError(f"Partition {number} of {npartitions}: {exc}", column=exc.column)


@dataclass(frozen=True)
class Facts:
    """What the client learns about a partition's values; no row travels."""

    rows: int
    scans: dict[str, ColumnScan]
    metadata: ColumnMetadata | None = None
    digest: str | None = None
    key_range: tuple[Any, Any] | None = None
    """Least and greatest key, when the key is one column of ordered values."""


def partition_facts(part: pd.DataFrame, number: int, plan: Plan) -> Facts:
    """Check partition ``number`` as an import would; its scans, metadata, digest and key range."""
    frame, index = as_written(part, plan.index)
    try:
        scans = scan_columns(frame, index=index)
        metadata = None
        if plan.roles is not None:
            target, timestamp, key = plan.roles
            metadata = _columns.infer_column_metadata(
                frame, target=target, timestamp=timestamp, key=key
            )
    except ColumnError as exc:
        raise in_partition(number, plan.npartitions, exc) from None
    return Facts(
        rows=len(frame),
        scans=scans,
        metadata=metadata,
        digest=frame_digest(frame) if plan.digest else None,
        key_range=_key_range(frame, plan.identity),
    )


def _key_range(frame: pd.DataFrame, identity: list[str]) -> tuple[Any, Any] | None:
    if len(identity) != 1 or not len(frame):
        return None
    values = frame[identity[0]]
    try:
        low, high = values.min(), values.max()
        if not (low <= high):  # unordered values, or missing
            return None
    except (TypeError, ValueError):
        return None
    return low, high


@dataclass(frozen=True)
class Piece:
    """A partition after its upload task: its parts, and its first bytes kept back.

    The first bytes (at least :data:`MIN_PART`, or all of a smaller partition) are kept for a
    neighbour whose end is smaller than S3's least part: the client joins such ends with the
    next partition's head. A head of :data:`MIN_PART` bytes or more is also uploaded at once as
    the partition's first part number, the usual case, where no neighbour needs it.
    """

    number: int
    rows: int
    scans: dict[str, ColumnScan]
    facts: Facts | None
    bytes_uncompressed: int
    bytes_written: int
    parts: list[tuple[int, str]]
    head: tuple[int, str] | None
    lead: int
    """Bytes of the JSON separator at the start of the head (0 for CSV)."""
    kept_size: int
    kept: bytes = field(default=b"", repr=False)

    def summary(self) -> Piece:
        """The same without the kept bytes: what travels to the client."""
        return replace(self, kept=b"")


def upload_partition(part: pd.DataFrame, number: int, plan: Plan) -> Piece:
    """Encode partition ``number`` and send its parts (see :class:`Piece`)."""
    facts = partition_facts(part, number, plan) if plan.scans is None else None
    scans = facts.scans if facts is not None else (plan.scans or {})
    frame, index = as_written(part, plan.index)
    last_partition = number == plan.npartitions - 1
    try:
        encoding = Encoding(
            frame,
            format=plan.format,
            index=index,
            header=number == 0,
            footer=last_partition,
            scans=scans,
            digest=False,
        )
    except ColumnError as exc:
        raise in_partition(number, plan.npartitions, exc) from None
    before = JSON_SEPARATOR if plan.format == "json" and number > 0 and len(frame) else b""
    lead = len(gzip_member(before) if plan.compression == "gzip" and before else before)
    assert plan.upload is not None
    first = plan.first_number(number)
    last = first + plan.numbers_per_partition - 1
    keep = MIN_PART + lead
    kept, buffer = bytearray(), bytearray()
    parts: list[Future[tuple[int, str]]] = []
    head: Future[tuple[int, str]] | None = None
    written = 0
    blocks = encoding.blocks(plan.compression, threads=plan.threads, before=before)
    with _Sender(plan.upload) as sender:

        def send(body: bytes) -> None:
            number_ = first + 1 + len(parts)
            if number_ > last:
                raise ValueError(
                    f"Partition {number} of {plan.npartitions} needs more than "
                    f"{plan.numbers_per_partition - 1} parts of {plan.part_size} bytes; "
                    "repartition the frame into smaller partitions (ddf.repartition(...))."
                )
            parts.append(sender.send(number_, body))

        try:
            for _, block in blocks:
                written += len(block)
                room = keep - len(kept)
                if room > 0:
                    kept += block[:room]
                    block = block[room:]
                buffer += block
                if head is None and len(buffer) >= MIN_PART:  # the head is final: send it now
                    head = sender.send(first, bytes(kept))
                # a part leaves only with MIN_PART bytes behind it, so the last part is big enough
                while len(buffer) >= plan.part_size + MIN_PART:
                    send(_copy(buffer, plan.part_size))
                    del buffer[: plan.part_size]
            if head is not None:
                send(_copy(buffer, len(buffer)))
            else:
                kept += buffer
                if len(kept) >= MIN_PART:
                    head = sender.send(first, bytes(kept))
        finally:
            blocks.close()
        with _leaving_while_sending():
            sent = [part.result() for part in parts]
            head_part = head.result() if head is not None else None
    return Piece(
        number=number,
        rows=encoding.rows,
        scans=scans,
        facts=facts,
        bytes_uncompressed=encoding.bytes_uncompressed,
        bytes_written=written,
        parts=sent,
        head=head_part,
        lead=lead,
        kept_size=len(kept),
        kept=bytes(kept),
    )


_LEAVING = threading.Semaphore(1)


@contextmanager
def _leaving_while_sending() -> Iterator[None]:
    """On a Dask worker, leave the worker's thread pool (``distributed.secede``) while the last
    parts go out, so the worker starts encoding the next partition meanwhile.

    One task of a process leaves at a time (the others wait in their slot), so a worker holds
    at most one more partition's last parts.
    """
    if not _LEAVING.acquire(blocking=False):
        yield
        return
    try:
        from distributed import get_worker, secede

        get_worker()
        secede()
    except (ImportError, ValueError):  # not on a Dask worker: nothing to leave
        pass
    try:
        yield
    finally:
        _LEAVING.release()


def _copy(buffer: bytearray, size: int) -> bytes:
    """The first ``size`` bytes of ``buffer``, copied once."""
    with memoryview(buffer) as view:
        return bytes(view[:size])


class _Sender:
    """Sends parts from threads of its own, at most :data:`IN_FLIGHT` at once, so the encoder
    goes on while S3 takes a part; a failed part stops the partition at the next one."""

    def __init__(self, upload: Multipart) -> None:
        self._upload, self._fs = upload, upload.filesystem()
        self._pool = ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="nexosis-part")
        self._waiting: deque[Future[tuple[int, str]]] = deque()

    def send(self, number: int, body: bytes) -> Future[tuple[int, str]]:
        future = self._pool.submit(self._upload.send, number, body, self._fs)
        self._waiting.append(future)
        while len(self._waiting) > IN_FLIGHT:
            self._waiting.popleft().result()
        return future

    def __enter__(self) -> _Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        for future in self._waiting:
            future.cancel()
        self._pool.shutdown(wait=True)


def summary(piece: Piece) -> Piece:
    return piece.summary()


def upload_run(upload: Multipart, number: int, skips: list[int], *pieces: Piece) -> tuple[int, str]:
    """Upload the kept bytes of consecutive partitions, less their first ``skips``, as one part."""
    return upload.send(number, b"".join(p.kept[s:] for p, s in zip(pieces, skips, strict=True)))
